"""The allocator: every contract's daily rate on each of its routes, planned when the network's
discrete state changes and reused for any state already seen.

The sharing rule, stated once:
1. Priority classes are served in order (1 first) on what the classes before them left.
2. Within a class, contracts share bottlenecks pro rata to their nominations, max-min fair:
   all shares rise together; those a bottleneck stops are fixed there and the rest rise on
   (progressive filling, a linear programme per level).
3. Then whatever capacity remains is filled to carry as much as possible, at least cost
   (tariffs and transit fees): a multi-commodity min-cost max-flow, solved with HiGHS.

Step 3 makes a plan at least as good as max-flow when a contract may use any route.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sim.engine.topology import ContractSpec, Topology, TransitSpec

#: Cost added per link so that, among equal tariffs, the plan prefers fewer links and never
#: carries crude round a cycle; USD/t.
_LINK_TIEBREAK_USD_PER_T = 1e-3
#: Weight of a tonne delivered against a dollar of cost, so that quantity always comes first.
_DELIVERY_WEIGHT = 1e6
#: Largest priority class given full max-min fairness (see `_pro_rata_floors`).
_MAX_FAIR_CLASS = 12
#: Flows below this are solver noise, t/day.
_FLOW_EPS_T_PER_DAY = 1e-6


@dataclass(frozen=True)
class PlanRequest:
    """The discrete network state a plan depends on; hashable, so plans can be reused."""

    #: Nominated rate of each contract (by contract index), t/day; 0 when inactive.
    contract_rates_t_per_day: tuple[float, ...]
    #: Available capacity of each link (by link index), t/day.
    link_capacities_t_per_day: tuple[float, ...]
    #: Rate each transit quota still allows this month (by transit index), t/day; inf = none.
    quota_rates_t_per_day: tuple[float, ...]


@dataclass(frozen=True)
class Plan:
    """Daily rate of each contract on each route: `routes[c]` is ((link indices), t/day) pairs."""

    routes: tuple[tuple[tuple[tuple[int, ...], float], ...], ...]


class _Column(NamedTuple):
    """A variable of the programme: a contract's flow on a declared route, or, for a contract
    free to route, on one link (then `links` holds that link alone)."""

    pos: int
    is_route: bool
    links: tuple[int, ...]


class _Residual:
    def __init__(self, topology: Topology, request: PlanRequest):
        self.link = list(request.link_capacities_t_per_day)
        self.field = dict(topology.field_limits_t_per_day)
        self.quota = list(request.quota_rates_t_per_day)


#: The fields of the compiled network the allocator reads (a test records every read on the
#: shipped scenarios and fails if one is missing here). Links' capacities and contracts' rates
#: reach it through the `PlanRequest`; prices, assays, linefill, cargoes never do.
PLANNING_FIELDS: dict[str, tuple[str, ...]] = {
    "LinkSpec": ("index", "kind", "from_node", "to_node", "tariff_usd_per_t"),
    "ContractSpec": ("index", "origin", "source", "destination", "routes", "priority"),
    "TransitSpec": ("index", "links", "origins", "quota_t_per_month", "tariff_usd_per_t", "halted"),
}


def planning_inputs(topology: Topology) -> tuple:
    """Everything of `topology` a plan depends on, hashable: networks with equal planning
    inputs get equal plans for equal requests, so they may share one plan cache (sweep runs
    that differ only in prices, voyage delays or valuation do)."""

    def values(specs: tuple, kind: str) -> tuple:
        names = PLANNING_FIELDS[kind]
        return tuple(tuple(getattr(spec, name) for name in names) for spec in specs)

    return (
        values(topology.links, "LinkSpec"),
        values(topology.contracts, "ContractSpec"),
        values(topology.transit, "TransitSpec"),
        tuple(sorted(topology.field_limits_t_per_day.items())),
    )


class Allocator:
    """Plans allocations with a cache keyed by the request."""

    def __init__(self, topology: Topology):
        self.topology = topology
        self._cache: dict[PlanRequest, Plan] = {}
        self.plans_computed = 0
        self.plans_reused = 0
        self.solve_seconds = 0.0

    def plan(self, request: PlanRequest) -> Plan:
        cached = self._cache.get(request)
        if cached is not None:
            self.plans_reused += 1
            return cached
        started = time.perf_counter()
        plan = self._solve(request)
        self.solve_seconds += time.perf_counter() - started
        self.plans_computed += 1
        self._cache[request] = plan
        return plan

    def _solve(self, request: PlanRequest) -> Plan:
        topo = self.topology
        residual = _Residual(topo, request)
        routes: list[tuple[tuple[tuple[int, ...], float], ...]] = [()] * len(topo.contracts)
        by_priority: dict[int, list[ContractSpec]] = defaultdict(list)
        for c in topo.contracts:
            if request.contract_rates_t_per_day[c.index] > _FLOW_EPS_T_PER_DAY:
                by_priority[c.priority].append(c)
        for priority in sorted(by_priority):
            contracts = by_priority[priority]
            solved = _whole_nominations(topo, contracts, request, residual)
            if solved is None:
                solved = _ClassProgramme(topo, contracts, request, residual).solve()
            for index, paths in solved.items():
                routes[index] = paths
        return Plan(tuple(routes))


def _whole_nominations(
    topo: Topology, contracts: list[ContractSpec], request: PlanRequest, residual: _Residual
) -> dict[int, tuple[tuple[tuple[int, ...], float], ...]] | None:
    """The plan without a programme when it is forced: every contract has one declared route,
    none of it halted, and all nominations fit at once. Then each gets its whole nomination on
    its only route, which is what the programmes would find. None when that does not hold."""
    load = [0.0] * len(residual.link)
    field = dict.fromkeys(residual.field, 0.0)
    quota = [0.0] * len(residual.quota)
    for c in contracts:
        if c.routes is None or len(c.routes) != 1:
            return None
        route, rate = c.routes[0], request.contract_rates_t_per_day[c.index]
        for link in route:
            load[link] += rate
        if c.source in field:
            field[c.source] += rate
        if not _count_quotas(topo, c, route, rate, quota):
            return None
    fits = (
        all(used <= cap for used, cap in zip(load, residual.link, strict=True))
        and all(used <= residual.field[f] for f, used in field.items())
        and all(used <= cap for used, cap in zip(quota, residual.quota, strict=True))
    )
    if not fits:
        return None
    for i, used in enumerate(load):
        residual.link[i] -= used
    for f, used in field.items():
        residual.field[f] -= used
    for i, used in enumerate(quota):
        residual.quota[i] -= used
    return {
        c.index: ((route, request.contract_rates_t_per_day[c.index]),)
        for c in contracts
        for route in c.routes or ()
    }


def _count_quotas(
    topo: Topology, c: ContractSpec, route: tuple[int, ...], rate: float, quota: list[float]
) -> bool:
    """Add what `rate` on `route` counts against each quota; False if a halt forbids the route."""
    for t in topo.transit:
        if t.applies_to(c.origin):
            if t.halted and t.links.intersection(route):
                return False
            if t.quota_t_per_month is not None:
                quota[t.index] += rate * t.entries_on(route)
    return True


class _ClassProgramme:
    """The linear programmes for one priority class on the residual network."""

    def __init__(
        self,
        topo: Topology,
        contracts: list[ContractSpec],
        request: PlanRequest,
        residual: _Residual,
    ):
        self.topo = topo
        self.contracts = contracts
        self.rates = [request.contract_rates_t_per_day[c.index] for c in contracts]
        self.residual = residual
        self._build()

    # -- building -------------------------------------------------------------------------
    def _excluded_links(self, c: ContractSpec) -> frozenset[int]:
        """Links this contract may not use now: halted for its origin, or without capacity."""
        out = {i for i, cap in enumerate(self.residual.link) if cap <= _FLOW_EPS_T_PER_DAY}
        for t in self.topo.transit:
            if t.halted and t.applies_to(c.origin):
                out |= t.links
            elif t.quota_t_per_month is not None and t.applies_to(c.origin):
                if self.residual.quota[t.index] <= _FLOW_EPS_T_PER_DAY:
                    out |= t.links  # using any member link means entering the set
        return frozenset(out)

    def _counted(self, t: TransitSpec, c: ContractSpec) -> bool:
        """Whether crude of contract c is counted (quota) or charged (fee) by condition t."""
        return t.applies_to(c.origin) and (
            t.quota_t_per_month is not None or t.tariff_usd_per_t > 0
        )

    def _entry_columns(self) -> list[tuple[int, int, str]]:
        """Auxiliary columns for free-routing contracts: tonnes entering set t at node n.

        Entering tonnes at n ≥ (member links out of n) − (member links into n): exact at the
        optimum, since both the quota and the fee push the entry variable down.
        """
        out: list[tuple[int, int, str]] = []
        for t in self.topo.transit:
            for pos, c in enumerate(self.contracts):
                if c.routes is not None or not self._counted(t, c):
                    continue
                nodes = sorted(
                    {
                        self.topo.links[col.links[0]].from_node
                        for col in self.columns
                        if col.pos == pos and col.links[0] in t.links
                    }
                )
                out.extend((t.index, pos, node) for node in nodes)
        return out

    def _build(self) -> None:
        """The programme: flow columns, one y per contract, entry columns; equalities (routes
        sum to y, edge flows conserve); inequalities (capacity, production, entries, quotas);
        costs."""
        self._build_columns()
        n = self.aux0 + len(self.aux)
        self.n = n
        eq_rows, eq_count = self._equalities()
        self.a_eq = _sparse(eq_rows, eq_count, n)
        self.b_eq = np.zeros(eq_count)
        ub_rows: list[tuple[int, int, float]] = []
        b_ub: list[float] = []
        self._capacity_rows(ub_rows, b_ub)
        self._entry_rows(ub_rows, b_ub)
        self._quota_rows(ub_rows, b_ub)
        self.ub_rows = ub_rows
        self.b_ub = np.array(b_ub, dtype=float)
        self._costs()

    def _build_columns(self) -> None:
        """Columns: one per (contract, route) or (contract, link), then one y per contract,
        then the entry columns."""
        self.columns: list[_Column] = []
        for pos, c in enumerate(self.contracts):
            excluded = self._excluded_links(c)
            if c.routes is not None:
                for route in c.routes:
                    if not excluded.intersection(route):
                        self.columns.append(_Column(pos, True, route))
            else:
                for link in self.topo.allowed_edges(c, excluded):
                    self.columns.append(_Column(pos, False, (link,)))
        self.n_flow = len(self.columns)
        self.y0 = self.n_flow  # first y column
        self.aux = self._entry_columns()
        self.aux0 = self.n_flow + len(self.contracts)  # first entry column

    def _equalities(self) -> tuple[list[tuple[int, int, float]], int]:
        """Routes sum to y; edge flows conserve, with y leaving the source and reaching the
        destination."""
        eq_rows: list[tuple[int, int, float]] = []
        eq_count = 0
        for pos, c in enumerate(self.contracts):
            y = self.y0 + pos
            cols = [j for j, col in enumerate(self.columns) if col.pos == pos]
            if c.routes is not None:
                eq_rows.extend((eq_count, j, 1.0) for j in cols)
                eq_rows.append((eq_count, y, -1.0))
                eq_count += 1
                continue
            nodes: dict[str, int] = {}
            for j in cols:
                spec = self.topo.links[self.columns[j].links[0]]
                for node, sign in ((spec.from_node, 1.0), (spec.to_node, -1.0)):
                    row = nodes.setdefault(node, eq_count + len(nodes))
                    eq_rows.append((row, j, sign))
            for node in (c.source, c.destination):
                row = nodes.setdefault(node, eq_count + len(nodes))
                eq_rows.append((row, y, -1.0 if node == c.source else 1.0))
            eq_count += len(nodes)
        return eq_rows, eq_count

    def _capacity_rows(self, ub_rows: list[tuple[int, int, float]], b_ub: list[float]) -> None:
        """Link capacity and field production."""
        link_rows: dict[int, int] = {}
        for j, col in enumerate(self.columns):
            for link in col.links:
                row = link_rows.setdefault(link, len(link_rows))
                ub_rows.append((row, j, 1.0))
        b_ub.extend(self.residual.link[link] for link in link_rows)
        self.link_rows = link_rows
        self.field_rows: dict[str, int] = {}
        for pos, c in enumerate(self.contracts):
            if c.source in self.residual.field:
                row = self.field_rows.setdefault(c.source, len(b_ub))
                if row == len(b_ub):
                    b_ub.append(self.residual.field[c.source])
                ub_rows.append((row, self.y0 + pos, 1.0))

    def _entry_rows(self, ub_rows: list[tuple[int, int, float]], b_ub: list[float]) -> None:
        """Entry columns bound the tonnes a free-routing contract brings into a set at a node."""
        for k, (t_index, pos, node) in enumerate(self.aux):
            members = self.topo.transit[t_index].links
            row = len(b_ub)
            b_ub.append(0.0)
            ub_rows.append((row, self.aux0 + k, -1.0))
            for j, col in enumerate(self.columns):
                if col.pos != pos or col.is_route or col.links[0] not in members:
                    continue
                spec = self.topo.links[col.links[0]]
                if spec.from_node == node:
                    ub_rows.append((row, j, 1.0))
                elif spec.to_node == node:
                    ub_rows.append((row, j, -1.0))

    def _quota_rows(self, ub_rows: list[tuple[int, int, float]], b_ub: list[float]) -> None:
        """Used-up quotas (those with tonnes left are enforced by the step)."""
        self.quota_rows: dict[int, int] = {}
        for t in self.topo.transit:
            if t.quota_t_per_month is None or math.isinf(self.residual.quota[t.index]):
                continue
            entries = []
            for j, col in enumerate(self.columns):
                if col.is_route and t.applies_to(self.contracts[col.pos].origin):
                    hits = t.entries_on(col.links)
                    if hits:
                        entries.append((j, float(hits)))
            entries += [
                (self.aux0 + k, 1.0)
                for k, (t_index, _, _) in enumerate(self.aux)
                if t_index == t.index
            ]
            if entries:
                row = len(b_ub)
                self.quota_rows[t.index] = row
                b_ub.append(self.residual.quota[t.index])
                ub_rows.extend((row, j, w) for j, w in entries)

    def _costs(self) -> None:
        """Tariffs and transit fees per tonne of each column, with the per-link tie-break."""
        self.cost = np.zeros(self.n)
        for j, col in enumerate(self.columns):
            c = self.contracts[col.pos]
            self.cost[j] = sum(
                self.topo.links[link].tariff_usd_per_t + _LINK_TIEBREAK_USD_PER_T
                for link in col.links
            )
            if col.is_route:
                self.cost[j] += sum(
                    t.tariff_usd_per_t * t.entries_on(col.links)
                    for t in self.topo.transit
                    if t.applies_to(c.origin)
                )
        for k, (t_index, _, _) in enumerate(self.aux):
            self.cost[self.aux0 + k] = self.topo.transit[t_index].tariff_usd_per_t

    # -- solving --------------------------------------------------------------------------
    def _bounds(self, extra: int = 0) -> list[tuple[float, float | None]]:
        bounds: list[tuple[float, float | None]] = [(0.0, None)] * self.n_flow
        bounds += [(0.0, rate) for rate in self.rates]
        bounds += [(0.0, None)] * len(self.aux)
        return bounds + [(0.0, 1.0)] * extra

    def _linprog(self, objective: np.ndarray, extra_rows, extra_b, bounds):
        """Solve with the class's constraints plus `extra_rows` (≤ `extra_b`)."""
        from scipy.optimize import linprog  # imported where solved: forced plans need none

        n = len(objective)
        rows = list(self.ub_rows) + extra_rows
        b = list(self.b_ub) + extra_b
        res = linprog(
            objective,
            A_ub=_sparse(rows, len(b), n) if b else None,
            b_ub=np.array(b) if b else None,
            A_eq=_pad(self.a_eq, n),
            b_eq=self.b_eq,
            bounds=bounds,
            method="highs",
        )
        if res.status != 0:
            raise RuntimeError(f"allocator: programme failed: {res.message}")
        return res.x

    def _max_share(self, active: list[int], fixed: dict[int, float]) -> float:
        """Largest t with every active contract at ≥ t × its nomination, the fixed at ≥ theirs."""
        t_col = self.n
        rows: list[tuple[int, int, float]] = []
        b: list[float] = []
        for pos in active:
            row = len(self.b_ub) + len(b)
            rows += [(row, t_col, self.rates[pos]), (row, self.y0 + pos, -1.0)]
            b.append(0.0)
        bounds = self._bounds(extra=1)
        for pos, value in fixed.items():
            bounds[self.y0 + pos] = (value, self.rates[pos])
        objective = np.zeros(self.n + 1)
        objective[t_col] = -1.0
        x = self._linprog(objective, rows, b, bounds)
        return max(0.0, min(1.0, float(x[t_col]) - 1e-9))

    def _can_grow(self, pos: int, active: list[int], share: float, fixed: dict[int, float]):
        """Whether contract `pos` can carry more than `share` of its nomination while every
        other active one keeps that share and the fixed keep theirs."""
        bounds = self._bounds()
        for other in active:
            bounds[self.y0 + other] = (share * self.rates[other], self.rates[other])
        for other, value in fixed.items():
            bounds[self.y0 + other] = (value, self.rates[other])
        objective = np.zeros(self.n)
        objective[self.y0 + pos] = -1.0
        x = self._linprog(objective, [], [], bounds)
        return float(x[self.y0 + pos]) > share * self.rates[pos] + _FLOW_EPS_T_PER_DAY * 10

    def _pro_rata_floors(self) -> dict[int, float]:
        """Max-min fair lower bound of each contract's rate, t/day (progressive filling).

        Raise every contract's share of its nomination together; when some can go no further
        (a bottleneck binds them), fix them there and keep raising the others. Classes of more
        than `_MAX_FAIR_CLASS` contracts get one common share only (the programmes per level
        grow with the class), and leftover capacity then goes where it is cheapest.
        """
        carried = sorted({col.pos for col in self.columns})  # contracts with something to use
        if len(carried) <= 1:
            return {}
        fixed: dict[int, float] = {}
        active = carried
        while active:
            share = self._max_share(active, fixed)
            if share >= 1.0 - 1e-9 or len(carried) > _MAX_FAIR_CLASS:
                fixed.update({pos: share * self.rates[pos] for pos in active})
                break
            growing = [pos for pos in active if self._can_grow(pos, active, share, fixed)]
            if len(growing) == len(active):  # cannot happen at the optimum; stop safely
                growing = []
            fixed.update({pos: share * self.rates[pos] for pos in active if pos not in growing})
            active = growing
        return fixed

    def solve(self) -> dict[int, tuple[tuple[tuple[int, ...], float], ...]]:
        if self.n_flow == 0:
            return {}
        floors = self._pro_rata_floors()
        objective = self.cost.copy()
        objective[self.y0 : self.aux0] = -_DELIVERY_WEIGHT
        bounds = self._bounds()
        for pos, floor in floors.items():
            rate = self.rates[pos]
            bounds[self.y0 + pos] = (min(rate, max(0.0, floor - 1e-9 * rate)), rate)
        from scipy.optimize import linprog

        res = linprog(
            objective,
            A_ub=_sparse(self.ub_rows, len(self.b_ub), self.n) if len(self.b_ub) else None,
            b_ub=self.b_ub if len(self.b_ub) else None,
            A_eq=self.a_eq,
            b_eq=self.b_eq,
            bounds=bounds,
            method="highs",
        )
        if res.status != 0:
            raise RuntimeError(f"allocator: flow programme failed: {res.message}")
        x = np.where(res.x > _FLOW_EPS_T_PER_DAY, res.x, 0.0)
        return self._paths_and_consume(x)

    def _paths_and_consume(
        self, x: np.ndarray
    ) -> dict[int, tuple[tuple[tuple[int, ...], float], ...]]:
        out: dict[int, tuple[tuple[tuple[int, ...], float], ...]] = {}
        for pos, c in enumerate(self.contracts):
            cols = [j for j, col in enumerate(self.columns) if col.pos == pos and x[j] > 0]
            paths: list[tuple[tuple[int, ...], float]]
            if c.routes is not None:
                paths = [(self.columns[j].links, float(x[j])) for j in cols]
            else:
                edge_flow = {self.columns[j].links[0]: float(x[j]) for j in cols}
                paths = _decompose(self.topo, c, edge_flow)
            paths = [(p, r) for p, r in paths if r > _FLOW_EPS_T_PER_DAY]
            out[c.index] = tuple(paths)
            for path, rate in paths:
                for link in path:
                    self.residual.link[link] = max(0.0, self.residual.link[link] - rate)
                for t in self.topo.transit:
                    if t.quota_t_per_month is not None and t.applies_to(c.origin):
                        self.residual.quota[t.index] = max(
                            0.0, self.residual.quota[t.index] - t.entries_on(path) * rate
                        )
            if c.source in self.residual.field:
                total = sum(rate for _, rate in paths)
                self.residual.field[c.source] = max(0.0, self.residual.field[c.source] - total)
        return out


def _decompose(
    topo: Topology, c: ContractSpec, edge_flow: dict[int, float]
) -> list[tuple[tuple[int, ...], float]]:
    """Split a contract's link flows into source-to-destination paths (flow decomposition)."""
    flow = dict(edge_flow)
    out_links: dict[str, list[int]] = defaultdict(list)
    for link in sorted(flow):
        out_links[topo.links[link].from_node].append(link)
    paths: list[tuple[tuple[int, ...], float]] = []
    while True:
        node, path, seen = c.source, [], {c.source}
        while node != c.destination:
            nxt = next((link for link in out_links[node] if flow[link] > _FLOW_EPS_T_PER_DAY), None)
            if nxt is None:
                break
            path.append(nxt)
            node = topo.links[nxt].to_node
            if node in seen:  # a cycle: cannot happen at a min-cost optimum; drop it.
                break
            seen.add(node)
        if node != c.destination or not path:
            return paths
        rate = min(flow[link] for link in path)
        for link in path:
            flow[link] -= rate
        paths.append((tuple(path), rate))


def _sparse(rows: list[tuple[int, int, float]], n_rows: int, n_cols: int):
    from scipy.sparse import coo_matrix

    if not rows:
        return coo_matrix((n_rows, n_cols)).tocsr()
    r, c, v = zip(*rows, strict=True)
    return coo_matrix((v, (r, c)), shape=(n_rows, n_cols)).tocsr()


def _pad(matrix, n_cols: int):
    from scipy.sparse import coo_matrix

    m = matrix.tocoo()
    return coo_matrix((m.data, (m.row, m.col)), shape=(m.shape[0], n_cols)).tocsr()
