"""The array path: many replications of one scenario stepped at once, replications as a numpy
array axis (issue 12, item 2).

It runs the same daily rules as the event path (sim.engine) for what the shipped status quo
and its risk regime use: pipelines (full lines, batches followed by origin and grade; lines
shared with third parties, whose background flow pushes the shippers' crude on), refineries
with their run planner and unit stops, contracts with monthly nominations and make-up of
missed tonnes, swaps (the crude handed in leaves, the swap's origin is handed out), transit
quotas (cut to what the month still allows, counted, a used-up quota planned around until the
month turns), cargoes and the port tanks they land in (each replication's cargo timeline runs
the event path's own `Shipping` processes in plain Python, see sim.array_cargo; contracts drawing
from a port's tanks are cut to its stock and drawn with its mix here, their cargo costs booked
per draw), rail corridors (each corridor's trains a ring of load-step slots, see sim.array_rail:
due `transit_days` after loading, unloaded first in the step up to the refinery's room, in load
order, the rest waiting; routes loading rail count against the refinery's room as the event
path counts them; crude on rail is in the refinery's plan and in the final inventory), the
allocator's plans (one call per distinct request, cached), and
scheduled or random disruptions of links, refineries, ports, contracts, countries and prices
drawn from the engine's own `disruption:<name>` streams, so replication r here is replication r
there. Recording keeps the recorder's totals as arrays and builds each replication's rows with
the recorder's own code (sim.recording), so the tables are the same tables.

What it cannot do (rail corridors loaded by several routes or not running from a source to a
refinery, disruptions of transit conditions (quota factors, fee changes) or of cargo options
(directly or through their country), contamination (of cargoes too), contracts free to route,
steps other than one day, the per-day series)
is found up front by `unsupported`; the runner then says so once and uses the event path.

The event path stays the reference: tests/test_array_path.py checks every shipped scenario this
path accepts against it, table by table, to `ARRAY_RELATIVE_TOLERANCE`.

Why numpy and not numba (issue 12 asks): the step is a few hundred array operations a day
over (replications × crude keys); at 2,048 replications a chunk that is ≈ 0.44 ms CPU per
replication-year stepping, ≈ 17× the plain numpy step of bench/bench_array.py, which moves
tonnes only (no batches by crude key, no make-up, no plans, no books). Numba could fuse the
per-replication loops (the lines' head walks above all) and close much of that gap, but it is
not a dependency of this project (an LLVM toolchain, a compile at first call); the end-to-end
target (10,000 base replication-years in < 10 s) is met without it.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import math
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from sim.array_cargo import PortArrays, PortBooks, cargo_runs, merge_costs
from sim.array_rail import RailArrays
from sim.economics.valuation import PRICED_PRODUCTS
from sim.engine.allocator import Allocator, Plan, PlanRequest
from sim.engine.conditions import QUOTA_EPS_T, Conditions, PriceSetter
from sim.engine.crude import Tank, split_mix_key
from sim.engine.disruptions import repair_days
from sim.engine.network_step import NetworkStep, RoutePlan, Sink, executable
from sim.engine.records import DisruptionRecord, EventRecord, Prices, RunEnd
from sim.engine.simulation import build_network
from sim.engine.topology import ContractSpec, DisruptionSpec, Topology
from sim.kinds import Effect, EventKind, TargetKind
from sim.randomness import replication_seed_sequence, stream
from sim.recording.recorder import DisruptionSpell, Recorder, RefineryTotals
from sim.recording.result import ReplicationResult
from sim.recording.valuation import RunValuation
from sim.registry import COST_COMPONENTS
from sim.scenario.schema import Scenario
from sim.units import days_in_month, first_of_next_month, month_key

#: The array path's rows equal the event path's to this relative difference (tested).
ARRAY_RELATIVE_TOLERANCE = 1e-9
#: Replications stepped together: memory grows with this, not with the replications run.
CHUNK_REPLICATIONS = 2048
#: Rows a line's ring of entries starts with (it doubles when its crude takes longer).
PIPE_SLOTS = 64
#: As the recorder: a run below target by less than this is not a cut, t.
_CUT_TOLERANCE_T = 1e-6
#: As sim.engine.makeup.
_MAKEUP_RELATIVE_TOLERANCE = 1e-9
_MAKEUP_ABSOLUTE_T = 1e-6
#: Hop code of a swap's hand-in (the crude leaves the network); a refinery's is -1 - its index.
_HAND_IN = -(2**31)
#: Each effect's combining rule and neutral value (properties: looked up once, not per switch).
_COMBINE = {e: (e.combine, e.neutral) for e in Effect}
#: The parts of a valuation total (as sim.recording.valuation).
_VALUED = ("tonnes_t", "worth_usd", "sulphur_usd", "processing_usd")
_SUPPORTED_EFFECTS = {
    TargetKind.LINK: {Effect.CAPACITY_FACTOR},
    TargetKind.REFINERY: {Effect.CAPACITY_FACTOR},
    TargetKind.PORT: {Effect.CAPACITY_FACTOR},
    TargetKind.CONTRACT: {Effect.VOLUME_FACTOR, Effect.PRICE_ADD_USD_PER_BBL},
    TargetKind.PRICE: {Effect.PRICE_ADD_USD_PER_BBL},
}


# ---------------------------------------------------------------------------- what it does
def unsupported(scenario: Scenario, topology: Topology) -> list[str]:
    """What of `scenario` the array path cannot run (empty: it runs all of it)."""
    out = []
    if scenario.scenario.step_days != 1.0:
        out.append(f"step_days = {scenario.scenario.step_days:g} (the array path steps 1 day)")
    dirty = [c.name for c in topology.cargoes if c.contaminant_ppm > 0]
    if dirty:
        out.append("contaminated cargoes: " + ", ".join(dirty))
    used = {link for c in topology.contracts for route in c.routes or () for link in route}
    out += _rail_problems(topology)
    out += [problem for c in topology.contracts for problem in _contract_problems(c, topology)]
    idle_shared = [
        x.name
        for x in topology.links
        if x.kind == "pipeline" and x.third_party_t_per_day > 0 and x.index not in used
    ]
    if idle_shared:
        out.append("lines shared with third parties that no route uses: " + ", ".join(idle_shared))
    for d in topology.disruptions:
        for _, kind, effects in d.parts:
            bad = [e.value for e, _ in effects if e not in _SUPPORTED_EFFECTS.get(kind, ())]
            if bad:
                out.append(f"disruption {d.name}: {', '.join(bad)} on a {kind.value}")
    return out


def _rail_problems(topology: Topology) -> list[str]:
    """Rail corridors the array path's trains (sim.array_rail) cannot follow: one loaded by
    several routes (several parcels a step, unloaded in an order a slot cannot keep), one
    loaded from a line's outflow (several parcels of different crude a step) or ending
    elsewhere than at a refinery."""
    out = []
    for x in topology.links:
        if x.kind == "pipeline":
            continue
        routes = [r for c in topology.contracts for r in c.routes or () if x.index in r]
        if len(routes) > 1:
            out.append(f"rail corridor {x.name} loaded by {len(routes)} routes")
        elif routes and (routes[0][0] != x.index or x.to_node not in topology.refineries):
            out.append(f"rail corridor {x.name} not running from a source to a refinery")
    return out


def _contract_problems(c: ContractSpec, topology: Topology) -> list[str]:
    out = []
    if c.routes is None:
        out.append(f"contract {c.name} without declared routes")
    if c.contaminant_ppm > 0:
        out.append(f"contaminated crude of contract {c.name}")
    return out


# ---------------------------------------------------------------------------- static layout
@dataclass(frozen=True)
class _Layout:
    """The scenario's routes, links and crude keys as array indices (built once)."""

    routes: list[RoutePlan]
    route_index: dict[tuple[int, tuple[int, ...]], int]
    route_contract: np.ndarray
    route_refinery: np.ndarray
    #: Links that carry any route, upstream first.
    link_order: list[int]
    through: dict[int, list[int]]
    injected: dict[int, list[int]]
    #: Routes whose swap hands crude out into each link (the swap's origin, the contract's grade).
    handed_out: dict[int, list[int]]
    #: (from link, next link or refinery index as -1 - n) → routes making that hop.
    hops: dict[tuple[int, int], list[int]]
    keys: list[str]
    contract_mix: np.ndarray
    #: Crude handed out under each contract's swap, by key (zeros: no swap).
    swap_mix: np.ndarray
    linefill_mix: np.ndarray
    stock_mix: np.ndarray
    refineries: list[str]
    #: Each port's routes (drawing from its tanks), by port index (as `topology.ports`).
    port_routes: dict[int, list[int]]
    #: Each port's tanks at day 0: tonnes by crude key.
    port_stock_by_key_t: np.ndarray
    #: Lines shared with third parties (their background flow moves every step), and the
    #: crude key of the third parties' crude in them (-1: none).
    shared: frozenset[int] = frozenset()
    third_key: int = -1


def _vector(mix: dict[str, float], keys: list[str]) -> np.ndarray:
    out = np.zeros(len(keys))
    for key, share in mix.items():
        out[keys.index(key)] = share
    return out


def _layout(scenario: Scenario, topology: Topology) -> _Layout:
    network = build_network(scenario, topology, None)
    refineries = list(network.refineries)
    pairs = [(c.index, links) for c in topology.contracts for links in c.routes or ()]
    plan = Plan(
        tuple(tuple((lk, 1.0) for ci, lk in pairs if ci == c.index) for c in topology.contracts)
    )
    routes = executable(plan, topology).routes
    through: dict[int, list[int]] = defaultdict(list)
    injected: dict[int, list[int]] = defaultdict(list)
    handed_out: dict[int, list[int]] = defaultdict(list)
    hops: dict[tuple[int, int], list[int]] = defaultdict(list)
    for q, r in enumerate(routes):
        injected[r.links[0]].append(q)
        if r.swap_split is not None:
            handed_out[r.links[r.swap_split]].append(q)
        for a, b in r.next_hops():
            through[a].append(q)
            if isinstance(b, int):
                nxt = b
            else:
                nxt = _HAND_IN if b is Sink.SWAP_HAND_IN else -1 - refineries.index(str(b))
            hops[(a, nxt)].append(q)
    keys: list[str] = []
    mixes = [
        *topology.contract_mix,
        *topology.swap_mix,
        *(f.queue[0].mix for f in network.fifos if f.queue),  # type: ignore[union-attr]
        *(r.tank.by_mix_t for r in network.refineries.values()),
        *(t.by_mix_t for t in network.ports.values()),
        *topology.cargo_mix,
    ]
    backgrounds = [getattr(f, "background_mix", None) for f in network.fifos]
    for mix in [*mixes, *(b for b in backgrounds if b)]:
        keys += [k for k in mix if k not in keys]
    order = _topological([r.next_hops() for r in routes])
    third = [keys.index(next(iter(b))) for b in backgrounds if b]
    return _Layout(
        routes=routes,
        route_index={(r.contract, r.links): q for q, r in enumerate(routes)},
        route_contract=np.array([r.contract for r in routes], dtype=int),
        route_refinery=np.array([refineries.index(r.destination) for r in routes], dtype=int),
        link_order=order,
        through=dict(through),
        injected=dict(injected),
        handed_out=dict(handed_out),
        hops=dict(hops),
        keys=keys,
        contract_mix=np.array([_vector(m, keys) for m in topology.contract_mix]),
        swap_mix=np.array([_vector(m, keys) for m in topology.swap_mix]),
        linefill_mix=np.array(
            [
                _vector(f.queue[0].mix, keys) if f.queue else np.zeros(len(keys))  # type: ignore[union-attr]
                for f in network.fifos
            ]
        ),
        stock_mix=np.array(
            [
                _vector({k: t / r.tank.stock_t for k, t in r.tank.by_mix_t.items()}, keys)
                if r.tank.stock_t > 0
                else np.zeros(len(keys))
                for r in network.refineries.values()
            ]
        ),
        refineries=refineries,
        port_routes={
            p: [q for q, r in enumerate(routes) if r.source == name]
            for p, name in enumerate(topology.ports)
        },
        port_stock_by_key_t=np.array(
            [_vector(t.by_mix_t, keys) for t in network.ports.values()]
        ).reshape(len(topology.ports), len(keys)),
        shared=frozenset(i for i, b in enumerate(backgrounds) if b and i in through),
        third_key=third[0] if third else -1,
    )


def _topological(hop_lists: list[list[tuple[int, Any]]]) -> list[int]:
    used = sorted({a for hops in hop_lists for a, _ in hops})
    after: dict[int, set[int]] = defaultdict(set)
    for hops in hop_lists:
        for a, b in hops:
            if isinstance(b, int):
                after[a].add(b)
    indegree = dict.fromkeys(used, 0)
    for a in used:
        for b in after[a]:
            indegree[b] += 1
    ready, order = [x for x in used if indegree[x] == 0], []
    while ready:
        ready.sort()
        link = ready.pop(0)
        order.append(link)
        for b in sorted(after[link]):
            indegree[b] -= 1
            if indegree[b] == 0:
                ready.append(b)
    return order


# ---------------------------------------------------------------------------- disruptions
def _switch_times(
    topology: Topology, seed_sequence: np.random.SeedSequence, end_days: float, horizon: float
) -> list[tuple[float, int, bool]]:
    """(time, disruption index, on) of every switch SimPy would process before `end_days`,
    drawn as sim.engine.disruptions draws them."""
    out: list[tuple[float, int, bool]] = []
    for i, d in enumerate(topology.disruptions):
        if d.random is None:
            assert d.start_day is not None and d.duration_days is not None
            start = 0.0 + d.start_day
            if start < end_days:
                out.append((start, i, True))
                stop = start + d.duration_days
                if stop < end_days:
                    out.append((stop, i, False))
            continue
        rng = stream(seed_sequence, f"disruption:{d.name}")
        t = 0.0
        while True:
            t = t + float(rng.exponential(d.random.mtbf_days))
            if t >= end_days or t >= horizon:
                break
            out.append((t, i, True))
            t = t + repair_days(rng, d.random)
            if t >= end_days:
                break
            out.append((t, i, False))
    out.sort(key=lambda s: s[0])
    return out


class _Books:
    """One replication's discrete state and records kept in Python (they change rarely)."""

    __slots__ = (
        "_counter",
        "events",
        "spells",
        "open_spells",
        "active",
        "shock",
        "price_key_dirty",
    )

    def __init__(self, counter: Iterator[int]) -> None:
        #: (time, order logged in the chunk, record); `counter` is shared by the chunk's books,
        #: so events of one instant keep the order they happened in.
        self._counter = counter
        self.events: list[tuple[float, int, EventRecord]] = []
        self.spells: list[DisruptionSpell] = []
        self.open_spells: dict[str, DisruptionSpell] = {}
        self.active: dict[tuple[str, Effect], dict[str, float]] = {}
        #: Price shocks in force: (series or contract, USD/bbl), sorted.
        self.shock: tuple[tuple[str, str, float], ...] = ()
        self.price_key_dirty = False

    def log(self, time_days: float, asset: str, kind: EventKind, detail: str = "") -> None:
        self.events.append(
            (time_days, next(self._counter), EventRecord(time_days, asset, kind, detail))
        )


# ---------------------------------------------------------------------------- the runner
class ArrayPath:
    """Runs replications of one scenario on the array path (see the module's text)."""

    def __init__(self, scenario: Scenario, topology: Topology, allocator: Allocator):
        self.scenario = scenario
        self.topology = topology
        self.allocator = allocator
        self.layout = _layout(scenario, topology)
        self.horizon = float(scenario.scenario.horizon_days)
        self.steps = round(self.horizon / scenario.scenario.step_days)
        self.prices = PriceSetter(scenario.prices, topology)
        self._price_cache: dict[tuple, Prices] = {}
        #: Plans as rate vectors by route, by request bytes.
        self._plan_rows: dict[bytes, int] = {}
        self._plan_table: list[np.ndarray] = []
        self._plan_array: np.ndarray | None = None
        self._plan_present: list[np.ndarray] = []
        self._present_array = np.zeros((0, 0), dtype=bool)
        self._background_cache: dict[tuple[int, float], float] = {}
        self._caps_cache: dict[tuple[int, float], float] = {}
        network = build_network(scenario, topology, None)
        self._template = Recorder(scenario, topology, network, 0, False)
        self._valuation = RunValuation(scenario)
        self._specs = [topology.refineries[n] for n in self.layout.refineries]
        self._port_stock_t = sum(t.stock_t for t in network.ports.values())
        self._idle_linefill_t = sum(
            network.fifos[i].content_t()
            for i in range(len(topology.links))
            if i not in self.layout.through
        )
        self._months = self._month_starts()
        #: Times each route's tonnes enter the network (2 for a swap).
        self.supply_entries = np.array([r.supply_entries for r in self.layout.routes], dtype=float)
        transit = topology.transit
        #: Entries each route counts against each transit quota (rows: transit conditions).
        self.quota_counts = np.zeros((len(transit), len(self.layout.routes)))
        for q, route in enumerate(self.layout.routes):
            for t, entries in route.quota_hits:
                self.quota_counts[t, q] = entries
        #: Each condition's monthly quota, t (inf: none; no disruption changes it on this path).
        self.quota_t_per_month = np.array(
            [math.inf if t.quota_t_per_month is None else t.quota_t_per_month for t in transit]
        )
        #: The conditions with a quota, in the order the event path cuts to them.
        self.quota_order = [t.index for t in transit if t.quota_t_per_month is not None]
        #: What a disruption's start says in events.csv (as `Disruptions.switch` writes it).
        self.start_detail = {
            d.name: f"{d.name}: " + ", ".join(f"{e.value}={v:g}" for e, v in d.effects)
            for d in topology.disruptions
        }
        lay = self.layout
        #: The port each route draws from (routes from sources without tanks are absent).
        self.port_of_route = {q: p for p, qs in lay.port_routes.items() for q in qs}
        #: Per carrying link: the routes injected there from a port's tanks, and the port.
        self.port_moves = {
            a: [
                (q, p)
                for q in lay.injected.get(a, ())
                if (p := self.port_of_route.get(q)) is not None
            ]
            for a in lay.link_order
        }
        #: Rail corridors carrying crude (their trains in `_Chunk.rails`), and those
        #: unloading into each refinery (by index), in the event path's order.
        self.rail_links = [a for a in lay.link_order if topology.links[a].kind == "rail"]
        self.rail_into: dict[int, list[int]] = defaultdict(list)
        for a in self.rail_links:
            self.rail_into[lay.refineries.index(topology.links[a].to_node)].append(a)
        #: Each port's tank capacity, t.
        self.port_capacity_t = np.array([x.tank_capacity_t for x in topology.ports.values()])
        #: Each carrying link's hops: [(next link or -1 - refinery, routes making that hop)].
        self.hop_list = {
            a: [(nxt, np.array(qs)) for (frm, nxt), qs in lay.hops.items() if frm == a]
            for a in lay.link_order
        }
        #: Per carrying link, upstream first: (link, [(route injected here, its crude by
        #: key)], routes through it, [(next link or -1 - refinery, routes making that hop)]).
        self.moves = [
            (
                a,
                [
                    *(
                        (q, lay.contract_mix[lay.routes[q].contract])
                        for q in lay.injected.get(a, ())
                        if q not in self.port_of_route
                    ),
                    *((q, lay.swap_mix[lay.routes[q].contract]) for q in lay.handed_out.get(a, ())),
                ],
                np.array(lay.through[a]),
                [(nxt, np.array(qs)) for (frm, nxt), qs in lay.hops.items() if frm == a],
            )
            for a in lay.link_order
        ]

    def run(self, replications: list[int]) -> list[ReplicationResult]:
        out: list[ReplicationResult] = []
        for start in range(0, len(replications), CHUNK_REPLICATIONS):
            out += self._run_chunk(replications[start : start + CHUNK_REPLICATIONS])
        return out

    def _month_starts(self) -> list[tuple[int, dt.date]]:
        """(step, first day) of each month turn within the horizon (as the months process)."""
        start = self.scenario.scenario.start_date
        month = start.replace(day=1)
        out: list[tuple[int, dt.date]] = []
        while True:
            month = first_of_next_month(month)
            day = (month - start).days
            if day >= self.horizon:
                return out
            out.append((day, month))

    # -- prices and plans --------------------------------------------------------------
    def prices_for(self, month: dt.date, shock: tuple[tuple[str, str, float], ...]) -> Prices:
        key = (month, shock)
        prices = self._price_cache.get(key)
        if prices is None:
            cond = Conditions.at_start(self.topology, self.scenario.scenario.start_date)
            cond.month_start = month
            for kind, target, value in shock:
                book = (
                    cond.price_add_usd_per_bbl
                    if kind == "series"
                    else cond.differential_add_usd_per_bbl
                )
                book[target] = value
            self.prices.update(cond)
            prices = self._price_cache[key] = cond.prices
        return prices

    def background_t_per_day(self, link: int, factors: np.ndarray) -> np.ndarray:
        """The third parties' flow on a shared line at these capacity factors, t/day."""
        out = np.empty_like(factors)
        spec = self.topology.links[link]
        for value in np.unique(factors):
            key = (link, float(value))
            rate = self._background_cache.get(key)
            if rate is None:
                rate = self._background_cache[key] = spec.third_party_flow_t_per_day(float(value))
            out[factors == value] = rate
        return out

    def link_caps(self, factors: np.ndarray) -> np.ndarray:
        """Capacity each link leaves the simulated contracts at these factors, t/day."""
        out = np.empty_like(factors)
        for i, link in enumerate(self.topology.links):
            column = factors[:, i]
            for value in np.unique(column):
                key = (i, float(value))
                cap = self._caps_cache.get(key)
                if cap is None:
                    cap = self._caps_cache[key] = link.available_t_per_day(float(value))
                out[column == value, i] = cap
        return out

    def plan_rows(self, rates: np.ndarray, caps: np.ndarray, quotas: np.ndarray) -> np.ndarray:
        """Index into the plan table of each replication's request (the allocator solves each
        distinct request once, as it does for the event path); `quotas` is the rate each
        transit quota allows (0 used up, inf otherwise, as `Simulation._plan_request`)."""
        request = np.ascontiguousarray(np.concatenate([rates, caps, quotas], axis=1))
        out = np.empty(len(request), dtype=int)
        for r, row in enumerate(request):
            key = row.tobytes()
            index = self._plan_rows.get(key)
            if index is None:
                plan = self.allocator.plan(
                    PlanRequest(
                        tuple(float(x) for x in rates[r]),
                        tuple(float(x) for x in caps[r]),
                        tuple(float(x) for x in quotas[r]),
                    )
                )
                vector = np.zeros(len(self.layout.routes))
                present = np.zeros(len(self.layout.routes), dtype=bool)
                for c, pairs in enumerate(plan.routes):
                    for links, rate in pairs:
                        vector[self.layout.route_index[(c, links)]] = rate
                        present[self.layout.route_index[(c, links)]] = True
                index = self._plan_rows[key] = len(self._plan_table)
                self._plan_table.append(vector)
                self._plan_present.append(present)
            out[r] = index
        return out

    def plan_array(self) -> np.ndarray:
        """The plan table as one array (rows: plans, columns: routes), t/day."""
        if self._plan_array is None or len(self._plan_array) != len(self._plan_table):
            self._plan_array = np.array(self._plan_table)
            self._present_array = np.array(self._plan_present)
        return self._plan_array

    def present_array(self) -> np.ndarray:
        """Which routes each plan lists (rows: plans, columns: routes)."""
        self.plan_array()
        return self._present_array

    def value_rows(self, refinery: str, runs_t: np.ndarray, month: str, days: float) -> np.ndarray:
        """`sim.economics.valuation.value_runs` for many runs at once: `runs_t` by replication
        and crude key; returns (tonnes, gross worth, sulphur cost, processing cost) by
        replication and key, the same sums as its `by_crude`."""
        scenario, keys = self.scenario, self.layout.keys
        config = scenario.refinery_configs[scenario.refineries()[refinery].configuration or ""]
        grades = [scenario.grades[split_mix_key(k)[1]] for k in keys]
        assays = [g.assay for g in grades]
        used = np.asarray((runs_t > 0).any(axis=0)).tolist()
        if any(a is None for a, u in zip(assays, used, strict=True) if u):
            raise ValueError(f"a crude run at {refinery} has no assay: it cannot be valued")

        def fraction(name: str) -> np.ndarray:
            return np.array([getattr(a, name) if a is not None else 0.0 for a in assays])

        t = np.where(runs_t > 0, runs_t, 0.0)
        total = t.sum(axis=1)
        vgo, residue = (
            t * fraction("vacuum_gas_oil_mass_frac"),
            t * fraction("vacuum_residue_mass_frac"),
        )
        capacity_t = config.conversion_capacity_t_per_day * days
        vgo_t, residue_t = vgo.sum(axis=1), residue.sum(axis=1)
        vgo_conv = np.minimum(capacity_t, vgo_t)
        residue_conv = np.minimum(capacity_t - vgo_conv, residue_t)
        vgo_share = np.where(vgo_t > 0, vgo_conv / np.where(vgo_t > 0, vgo_t, 1.0), 0.0)
        residue_share = np.where(
            residue_t > 0, residue_conv / np.where(residue_t > 0, residue_t, 1.0), 0.0
        )
        sulphur = np.array([g.sulphur_pct or 0.0 for g in grades])
        blend = (t * sulphur).sum(axis=1) / np.where(total > 0, total, 1.0)
        over = blend > config.sulphur_limit_pct
        naphtha = t * fraction("naphtha_mass_frac")
        vc, rc = vgo * vgo_share[:, None], residue * residue_share[:, None]
        yv, yr = config.vacuum_gas_oil_yields, config.vacuum_residue_yields
        g = config.naphtha_to_gasoline_mass_frac
        products = {
            "gasoline": g * naphtha + vc * yv.gasoline_mass_frac + rc * yr.gasoline_mass_frac,
            "diesel": t * fraction("middle_distillates_mass_frac")
            + vc * yv.diesel_mass_frac
            + rc * yr.diesel_mass_frac,
            "naphtha": (1.0 - g) * naphtha,
            "fuel_oil": (vgo - vc)
            + (residue - rc)
            + vc * yv.fuel_oil_mass_frac
            + rc * yr.fuel_oil_mass_frac,
            "coke": vc * yv.coke_mass_frac + rc * yr.coke_mass_frac,
        }
        prices = self._valuation.valuer.prices_usd_per_t(month)
        worth = sum(products[p] * prices[p] for p in PRICED_PRODUCTS)
        excess = config.sulphur_cost_usd_per_t_per_pct * t * (sulphur - config.sulphur_limit_pct)
        out = np.zeros((*t.shape, len(_VALUED)))
        out[..., 0] = t
        out[..., 1] = worth
        out[..., 2] = np.where(over[:, None], excess, 0.0)
        out[..., 3] = t * config.processing_cost_usd_per_t
        return out

    def _run_chunk(self, replications: list[int]) -> list[ReplicationResult]:
        started = time.process_time()
        chunk = _Chunk(self, replications)
        chunk.run()
        seconds = (time.process_time() - started) / max(1, len(replications))
        return [chunk.result(i, seconds) for i in range(len(replications))]


class _Pipes:
    """Every carrying line's batches as cumulative tonnes (and tonnes by crude key) at the
    end of each entry, one entry per step: what leaves at the head over a step is the
    difference of the cumulative curve at the head's two positions (a full line).

    Entries live in a ring of `slots` rows (entry e in row e mod slots), grown when the
    entries between the furthest-behind head and the tail no longer fit: memory follows the
    transit time of the line, not the horizon.
    """

    def __init__(self, n: int, linefill_t: float, mix: np.ndarray):
        slots = PIPE_SLOTS
        self.n, self.k, self.slots = n, len(mix), slots
        self.cum_t = np.zeros((slots, n))
        self.cum_c = np.zeros((slots, n, self.k))
        self.cum_t[1] = linefill_t
        self.cum_c[1] = linefill_t * mix
        self.entries = 2
        self.rows = np.arange(n)
        #: Entry each replication's head is in (the first ending at or past the head).
        self.head = np.ones(n, dtype=int)
        self.head_t = np.zeros(n)
        self.head_c = np.zeros((n, self.k))

    def _grow(self) -> None:
        first, last = int(self.head.min()) - 1, self.entries - 1
        slots = 2 * self.slots
        cum_t, cum_c = np.zeros((slots, self.n)), np.zeros((slots, self.n, self.k))
        for e in range(first, last + 1):
            cum_t[e % slots] = self.cum_t[e % self.slots]
            cum_c[e % slots] = self.cum_c[e % self.slots]
        self.cum_t, self.cum_c, self.slots = cum_t, cum_c, slots

    def push(self, in_t: np.ndarray, in_c: np.ndarray) -> np.ndarray:
        """Tonnes by key leaving the head when `in_t` (by key `in_c`) enter at the tail."""
        self._append(in_t, in_c)
        return self._pop(in_t)

    def _append(self, in_t: np.ndarray, in_c: np.ndarray) -> None:
        """A new entry at the tail."""
        e = self.entries
        if e - int(self.head.min()) + 2 > self.slots:
            self._grow()
        slots = self.slots
        np.add(self.cum_t[(e - 1) % slots], in_t, out=self.cum_t[e % slots])
        np.add(self.cum_c[(e - 1) % slots], in_c, out=self.cum_c[e % slots])
        self.entries = e + 1

    def _locate(self, new: np.ndarray, head: np.ndarray) -> np.ndarray:
        """The entry each position `new` is in, walking on from `head` (no change)."""
        slots, n, e, rows = self.slots, self.n, self.entries, self.rows
        flat_t = self.cum_t.reshape(-1)
        behind = (flat_t[(head % slots) * n + rows] < new) & (head < e - 1)
        while behind.any():
            head = head + behind
            behind = (flat_t[(head % slots) * n + rows] < new) & (head < e - 1)
        return head

    def _cum_at(self, new: np.ndarray, head: np.ndarray) -> np.ndarray:
        """Cumulative tonnes by key at positions `new`, in entries `head`."""
        slots, n, rows = self.slots, self.n, self.rows
        flat_t = self.cum_t.reshape(-1)
        flat_c = self.cum_c.reshape(-1, self.k)
        at, before = (head % slots) * n + rows, ((head - 1) % slots) * n + rows
        low_t, high_t = flat_t[before], flat_t[at]
        length = high_t - low_t
        frac = np.where(length > 0, (new - low_t) / np.where(length > 0, length, 1.0), 1.0)
        frac = np.clip(frac, 0.0, 1.0)[:, None]
        low_c, high_c = flat_c[before], flat_c[at]
        return low_c + frac * (high_c - low_c)

    def _pop(self, out_t: np.ndarray) -> np.ndarray:
        """Tonnes by key leaving the head when `out_t` leave."""
        new = self.head_t + out_t
        head = self._locate(new, self.head)
        at_head = self._cum_at(new, head)
        out = at_head - self.head_c
        self.head, self.head_t, self.head_c = head, new, at_head
        return out


class _Unfollowable(Exception):
    """A chunk met something the array path does not replay exactly; its replications run
    on the event path instead."""


class _SharedPipe(_Pipes):
    """A line shared with third parties (sim.engine.crude `PipelineFIFO.push_shared`): each
    step the simulated shippers' crude and then the third parties' batch enter as two
    entries; the third parties' crude leaving at the head leaves the network there."""

    def __init__(self, n: int, linefill_t: float, mix: np.ndarray, third: int):
        super().__init__(n, linefill_t, mix)
        self.linefill_t, self.mix, self.third = linefill_t, mix, third
        #: The day-0 linefill is one entry until the first step lays it out.
        self.unsplit = True

    def lay_out(self, own_t: np.ndarray, background_t: np.ndarray) -> None:
        """`PipelineFIFO._lay_out`: alternating batches in the first step's proportions."""
        step_t = own_t + background_t
        if not (step_t > 0).all():
            raise _Unfollowable("a shared line starts without flow")
        self.unsplit = False
        total = self.linefill_t
        pairs = np.minimum(10_000, np.ceil(total / step_t)).astype(int)
        chunk = total / pairs
        own = chunk * own_t / step_t
        most = int(pairs.max())
        self.slots = max(PIPE_SLOTS, 1 << (2 * most + 64).bit_length())
        self.cum_t = np.zeros((self.slots, self.n))
        self.cum_c = np.zeros((self.slots, self.n, self.k))
        self.entries = 1
        third = np.zeros(self.k)
        third[self.third] = 1.0
        for i in range(most):
            here = i < pairs
            a = np.where(here, own, 0.0)
            b = np.where(here, chunk - own, 0.0)
            self._append(a, a[:, None] * self.mix)
            self._append(b, b[:, None] * third)
        self.head = np.ones(self.n, dtype=int)

    def own_ahead(self, tonnes_t: np.ndarray) -> np.ndarray:
        """`PipelineFIFO.own_in_head`: of the next `tonnes_t` leaving (within the content),
        the simulated shippers' tonnes."""
        tail_t = self.cum_t[(self.entries - 1) % self.slots]
        end = np.minimum(self.head_t + tonnes_t, tail_t)
        third_at = self._third_at(end, self._locate(end, self.head))
        head_own = self.head_t - self.head_c[:, self.third]
        return (end - third_at) - head_own

    def _third_at(self, new: np.ndarray, head: np.ndarray) -> np.ndarray:
        """`_cum_at` of the third parties' key alone (one column, not every key)."""
        slots, n, rows = self.slots, self.n, self.rows
        flat_t = self.cum_t.reshape(-1)
        third = self.cum_c[..., self.third].reshape(-1)
        at, before = (head % slots) * n + rows, ((head - 1) % slots) * n + rows
        low_t, high_t = flat_t[before], flat_t[at]
        length = high_t - low_t
        frac = np.where(length > 0, (new - low_t) / np.where(length > 0, length, 1.0), 1.0)
        frac = np.clip(frac, 0.0, 1.0)
        low_c, high_c = third[before], third[at]
        return low_c + frac * (high_c - low_c)

    def until_own(self, own_t: np.ndarray) -> np.ndarray:
        """`PipelineFIFO.push_until_own`: tonnes that can leave before more than `own_t` of
        the simulated shippers' crude has (third-party batches pass whole): the first entry
        from the head holding shippers' crude whose end reaches the goal, found over every
        live entry at once."""
        head, rows = self.head, self.rows
        head_own = self.head_t - self.head_c[:, self.third]
        goal = head_own + own_t
        first, last = int(head.min()), self.entries - 1
        entries = np.arange(first, last + 1)
        ends = entries % self.slots
        starts = (entries - 1) % self.slots
        own_end = self.cum_t[ends] - self.cum_c[ends, :, self.third]
        at_head = entries[:, None] == head[None, :]
        own_start = np.where(
            at_head, head_own[None, :], self.cum_t[starts] - self.cum_c[starts, :, self.third]
        )
        start_t = np.where(at_head, self.head_t[None, :], self.cum_t[starts])
        reach = (entries[:, None] >= head[None, :]) & (own_end >= goal) & (own_end - own_start > 0)
        found = reach.any(axis=0)
        j = reach.argmax(axis=0)
        inside = start_t[j, rows] + (goal - own_start[j, rows]) - self.head_t
        beyond = (self.cum_t[last % self.slots] - self.head_t) + (goal - own_end[-1])
        return np.where(found, inside, beyond)

    def push_shared(
        self, own_t: np.ndarray, own_c: np.ndarray, background_t: np.ndarray
    ) -> np.ndarray:
        """The shippers' crude, then the third parties' batch, in at the tail; returns what
        leaves at the head by key (third parties' key included)."""
        if self.unsplit:
            self.lay_out(own_t, background_t)
        third = np.zeros((self.n, self.k))
        third[:, self.third] = background_t
        self._append(own_t, own_c)
        self._append(background_t, third)
        return self._pop(own_t + background_t)


class _Chunk:
    """The state of `len(replications)` replications stepped together."""

    def __init__(self, path: ArrayPath, replications: list[int]):
        self.path = path
        lay = path.layout
        topo = path.topology
        self.replications = replications
        n, steps = len(replications), path.steps
        self.n = n
        n_ref, n_c, n_k = len(lay.refineries), len(topo.contracts), len(lay.keys)
        specs = path._specs
        counter = itertools.count()
        self.books = [_Books(counter) for _ in replications]
        #: Events of every replication alike (month turns, contract dates), kept once.
        self.common = _Books(counter)
        seed = path.scenario.scenario.seed
        end = path.horizon + path.scenario.scenario.step_days / 2
        self.switches: dict[int, list[tuple[int, float, int, bool]]] = defaultdict(list)
        sequences = [replication_seed_sequence(seed, rep) for rep in replications]
        for r, sequence in enumerate(sequences):
            for t, d, on in _switch_times(topo, sequence, end, path.horizon):
                self.switches[math.ceil(t)].append((r, t, d, on))
        self.link_factor = np.ones((n, len(topo.links)))
        self.volume_factor = np.ones((n, n_c))
        self.capacity_factor = np.ones((n, n_ref))
        self.active = np.array([c.start_day <= 0 < c.end_day for c in topo.contracts])
        self.month = path.scenario.scenario.start_date.replace(day=1)
        self.purchase_usd_per_t = np.zeros((n, n_c))
        self.crude_usd_per_t = np.zeros((n, n_c))
        self._set_prices(range(n))
        self.pipes = {
            a: _SharedPipe(n, topo.links[a].linefill_t, lay.linefill_mix[a], lay.third_key)
            if a in lay.shared
            else _Pipes(n, topo.links[a].linefill_t, lay.linefill_mix[a])
            for a in lay.link_order
        }
        #: Where each link's outflow went last, by share of each of its hops, and whether it
        #: has gone anywhere yet (a shared line pushes its shippers' crude on after they stop).
        self.last_shares = {a: np.zeros((n, len(path.hop_list[a]))) for a in lay.link_order}
        self.last_valid = {a: np.zeros(n, dtype=bool) for a in lay.link_order}
        #: Each rail corridor's loaded trains, and what they unloaded this step into each
        #: refinery (t, t by key).
        self.rails = {a: RailArrays(n, n_k, topo.links[a].transit_days) for a in path.rail_links}
        self.rail_in_t = np.zeros((n, n_ref))
        self.rail_in_by_key_t = np.zeros((n, n_ref, n_k))
        #: Receipts each refinery can still take this step (shared lines' extra crude), t.
        self.room_left_t = np.zeros((n, n_ref))
        self.third_party_in_t = np.zeros(n)
        self.third_party_out_t = np.zeros(n)
        #: Crude handed in under swaps (it leaves the simulated network), t.
        self.swapped_out_t = np.zeros(n)
        # Refineries.
        self.stock_t = np.array([[s.initial_stock_t for s in specs]] * n, dtype=float)
        self.stock_by_key_t = np.array(
            [[s.initial_stock_t * lay.stock_mix[i] for i, s in enumerate(specs)]] * n
        ).reshape(n, n_ref, n_k)
        self.online = np.ones((n, n_ref), dtype=bool)
        # Ports' tanks, and each replication's cargo timeline (sim.array_cargo).
        self.ports = PortArrays(
            n,
            np.array([x.initial_stock_t for x in topo.ports.values()], dtype=float),
            lay.port_stock_by_key_t,
            path.port_capacity_t,
        )
        #: The crude drawn from each port's tanks this step, by key (shares of 1).
        self.port_mix = np.zeros((n, len(topo.ports), n_k))
        #: Each port's cost books, every replication's (sim.array_cargo).
        self.port_books = {
            name: PortBooks(n, name, topo, [lay.routes[q] for q in lay.port_routes[p]])
            for p, name in enumerate(topo.ports)
        }
        self.cargo_runs = (
            cargo_runs(
                topo,
                path.scenario.scenario.start_date,
                path.horizon,
                path.prices,
                sequences,
                lay.refineries,
                lambda: self.stock_t,
                self.ports,
                lay.keys,
                [b.log for b in self.books],
                self.port_books,
            )
            if topo.cargoes
            else []
        )
        self.restart_allowed = np.zeros((n, n_ref), dtype=bool)
        self.restart_ready_days = np.full((n, n_ref), math.inf)
        self.initial_inventory_t = (
            self.stock_t.sum(axis=1)[0]
            + path._port_stock_t
            + sum(topo.links[a].linefill_t for a in lay.link_order)
            + path._idle_linefill_t
        )
        # Make-up.
        self.owed_t = np.zeros((n, n_c))
        self.window_end_days = np.full((n, n_c), np.nan)
        self.nominated_t = np.zeros((n, n_c))
        self.contract_shipped_t = np.zeros((n, n_c))
        self.makeup_t = np.zeros((n, n_c))
        # Recording.
        self.intake_t = np.zeros((n, n_ref))
        self.runs_t = np.zeros((n, n_ref))
        self.unserved_t = np.zeros((n, n_ref))
        self.cut_days = np.zeros((n, n_ref), dtype=int)
        self.min_stock_t = self.stock_t.copy()
        self.stock_integral_t_days = np.zeros((n, n_ref))
        self.low_stock_days = np.zeros((n, n_ref))
        self.cut = np.zeros((n, steps), dtype=bool)
        self.route_t = np.zeros((n, len(lay.routes)))
        self.route_crude_usd = np.zeros((n, len(lay.routes)))
        self.purchase_usd = np.zeros((n, n_c))
        self.transport_usd = np.zeros((n, n_c))
        self.link_out_by_key_t = {a: np.zeros((n, n_k)) for a in lay.link_order}
        self.month_runs_by_key_t = np.zeros((n, n_ref, n_k))
        self.month_days = 0.0
        self.valued_month = path.scenario.scenario.start_date.replace(day=1)
        self.month_close_days = self._close_days()
        #: Valuation totals (`RunValuation.totals`) by replication, refinery, crude key and
        #: part, and whether each (refinery, key) has a row.
        self.valued_parts = np.zeros((n, n_ref, n_k, len(_VALUED)))
        self.valued_booked = np.zeros((n, n_ref, n_k), dtype=bool)
        self.plan_row = np.full(n, -1)
        self.plans_used = np.zeros(n, dtype=int)
        # Transit quotas (`Conditions.quota_used_t`, `Simulation.quota_spent`).
        self.quota_used_t = np.zeros((n, len(topo.transit)))
        self.quota_spent = np.zeros((n, len(topo.transit)), dtype=bool)
        self._request: np.ndarray | None = None

    # -- discrete changes ------------------------------------------------------------
    def _set_prices(self, rows: Any) -> None:
        groups: dict[tuple, list[int]] = defaultdict(list)
        for r in rows:
            groups[self.books[r].shock].append(r)
        for shock, members in groups.items():
            prices = self.path.prices_for(self.month, shock)
            self.purchase_usd_per_t[members] = prices.purchase_usd_per_t
            self.crude_usd_per_t[members] = prices.crude_usd_per_t

    def _before_step(self, k: int) -> None:
        """What SimPy runs at or before day k: month turns, contract dates, disruptions,
        restarts allowed."""
        self._calendar(k)
        dirty = []
        for r, t, d, on in self.switches.get(k, ()):
            self._switch(r, t, self.path.topology.disruptions[d], on)
            dirty.append(r)
        repriced = [r for r in set(dirty) if self.books[r].price_key_dirty]
        if repriced:
            self._set_prices(repriced)
            for r in repriced:
                self.books[r].price_key_dirty = False
        ready = self.restart_ready_days <= k
        if ready.any():
            self.restart_allowed |= ready
            self.restart_ready_days[ready] = math.inf
        for run in self.cargo_runs:  # tankers: every event due by day k, then the step
            run.advance(float(k))
            run.clock_now = float(k)

    def _calendar(self, k: int) -> None:
        """Month turns and contract dates due by day k (the same in every replication)."""
        path = self.path
        for day, month in path._months:
            if day == k:
                self.month = month
                # A new month's quotas: nothing used, nothing spent.
                self.quota_used_t[:] = 0.0
                self.quota_spent[:] = False
                self.common.log(float(day), "network", EventKind.MONTH_START, month_key(month))
                self._set_prices(range(self.n))
        for c in path.topology.contracts:
            if c.start_day > 0 and math.ceil(c.start_day) == k:
                self.active[c.index] = True
                self.common.log(float(c.start_day), c.name, EventKind.CONTRACT_START)
            if c.end_day < path.horizon and math.ceil(c.end_day) == k:
                self.active[c.index] = False
                self.common.log(float(c.end_day), c.name, EventKind.CONTRACT_END)

    def _switch(
        self, r: int, t: float, d: DisruptionSpec, on: bool, happened: float | None = None
    ) -> None:
        """As `Disruptions.switch`, for replication r; logged at t, in force for tankers from
        `happened` (default t: they differ after the horizon, where the clock is ahead)."""
        book = self.books[r]
        for target, kind, effects in d.parts:
            for effect, value in effects:
                active = book.active.setdefault((target, effect), {})
                if on:
                    active[d.name] = value
                else:
                    active.pop(d.name, None)
                combine, neutral = _COMBINE[effect]
                combined = combine.apply(active.values(), neutral)
                self._apply(r, kind, target, effect, combined)
                if self.cargo_runs and kind in (TargetKind.PORT, TargetKind.PRICE):
                    at = t if happened is None else happened
                    self.cargo_runs[r].change_at(at, kind.value, target, combined)
        record = DisruptionRecord(t, d.name, d.target, d.target_kind, d.effects, on)
        if on:
            spell = DisruptionSpell(record)
            book.spells.append(spell)
            book.open_spells[d.name] = spell
            book.log(t, d.target, EventKind.DISRUPTION_START, self.path.start_detail[d.name])
        else:
            book.open_spells.pop(d.name).end_days = t
            book.log(t, d.target, EventKind.DISRUPTION_END, d.name)

    def _apply(self, r: int, kind: TargetKind, target: str, effect: Effect, value: float) -> None:
        topo, book = self.path.topology, self.books[r]
        if kind is TargetKind.LINK:
            self.link_factor[r, topo.link_index[target]] = value
        elif kind is TargetKind.REFINERY:
            self.capacity_factor[r, self.path.layout.refineries.index(target)] = value
        elif kind is TargetKind.CONTRACT and effect is Effect.VOLUME_FACTOR:
            index = next(c.index for c in topo.contracts if c.name == target)
            self.volume_factor[r, index] = value
        elif effect is Effect.PRICE_ADD_USD_PER_BBL:
            series = "series" if kind is TargetKind.PRICE else "contract"
            shock = {(s, x): v for s, x, v in book.shock}
            shock[(series, target)] = value
            book.shock = tuple(sorted((s, x, v) for (s, x), v in shock.items() if v != 0.0))
            book.price_key_dirty = True
        # A port's factor is read by tankers only (`_switch` tells their timelines).

    # -- the step --------------------------------------------------------------------
    def run(self) -> None:
        for k in range(self.path.steps):
            self._before_step(k)
            self._step(k, float(k))
        # Switches after the last step (SimPy runs to half a step past the horizon).
        for k in sorted(x for x in self.switches if x >= self.path.steps):
            for r, t, d, on in self.switches[k]:
                # The clock has reached the horizon: the event path's `now` is at least that.
                at = max(t, self.path.horizon)
                self._switch(r, at, self.path.topology.disruptions[d], on, happened=t)
        # Tankers until SimPy stops, half a step past the horizon (the clock is at its end).
        for run in self.cargo_runs:
            run.clock_now = self.path.horizon
            run.advance(self.path.horizon + 0.5, inclusive=False)
        self._close_month()
        #: Crude left on rail at the end (in the final inventory), t.
        self.rail_content_t = sum((x.content_t() for x in self.rails.values()), np.zeros(self.n))

    def _plan(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(route rates, nominations, nominations with volume factors) for this step."""
        path, topo = self.path, self.path.topology
        month_days = days_in_month(self.month)
        nominal = np.array(
            [
                c.volume_t_per_month / month_days if self.active[c.index] else 0.0
                for c in topo.contracts
            ]
        )
        planned = nominal * self.volume_factor
        share = np.array([c.makeup_max_share for c in topo.contracts])
        extra = np.where(np.isnan(self.window_end_days), 0.0, share * nominal)
        # A quota with tonnes left does not bound the plan (the step stops its crude exactly);
        # one used up is a rate of 0 (`Simulation._plan_request`).
        quotas = np.where(self._quota_left_t() <= QUOTA_EPS_T, 0.0, math.inf)
        request = np.concatenate(
            [planned + extra, path.link_caps(self.link_factor), quotas], axis=1
        )
        if self._request is None:
            changed = np.ones(self.n, dtype=bool)
        else:
            changed = (request != self._request).any(axis=1)
        if changed.any():
            rows = np.nonzero(changed)[0]
            n_c, n_l = len(topo.contracts), len(topo.links)
            new = path.plan_rows(
                request[rows, :n_c],
                request[rows, n_c : n_c + n_l],
                request[rows, n_c + n_l :],
            )
            moved = new != self.plan_row[rows]
            self.plans_used[rows[moved]] += 1
            self.plan_row[rows] = new
            self._request = request
        rates = path.plan_array()[self.plan_row]
        return rates, nominal, planned

    def _step(self, k: int, now: float) -> None:
        lay = self.path.layout
        if now >= self.month_close_days:
            self._close_month()
        rates, nominal, planned = self._plan()
        planned_run = self._plan_runs(rates)
        volumes = rates * 1.0
        self._cut_to_caps(volumes, planned)
        self._cut_to_quotas(volumes)
        self._cut_to_port_stocks(volumes)
        self._cut_to_room(k, volumes, planned_run)
        drawn_t = self._draw_ports(volumes)
        received_t, received_c = self._move(k, volumes, rates)
        run_t = self._deliver(now, received_t, received_c, planned_run)
        self._record(k, now, volumes, received_t, run_t)
        shipped = np.zeros((self.n, len(self.path.topology.contracts)))
        np.add.at(shipped.T, lay.route_contract, volumes.T)
        self._count_contracts(now, nominal, shipped)
        self._count_quotas(now, volumes)
        if self.cargo_runs:
            self._book_port_draws(drawn_t, volumes)

    def _cut_to_port_stocks(self, volumes: np.ndarray) -> None:
        """Sources with tanks (ports) cannot send more than they hold."""
        for p, idx in self.path.layout.port_routes.items():
            if not idx:
                continue
            stock = self.ports.stock_t[:, p]
            want = volumes[:, idx].sum(axis=1)
            over = want > stock
            if over.any():
                volumes[np.ix_(over, idx)] *= (stock[over] / want[over])[:, None]

    def _draw_ports(self, volumes: np.ndarray) -> np.ndarray:
        """`Tank.draw` of every port for its routes' tonnes: the crude leaves with the tanks'
        mix. Returns the tonnes drawn (replications × ports)."""
        ports = self.ports
        drawn_t = np.zeros_like(ports.stock_t)
        for p, idx in self.path.layout.port_routes.items():
            if not idx:
                continue
            stock = ports.stock_t[:, p]
            take = np.minimum(volumes[:, idx].sum(axis=1), stock)
            drawing = (take > 0) & (stock > 0)
            safe = np.where(drawing, stock, 1.0)
            self.port_mix[:, p] = np.where(
                drawing[:, None], ports.by_key_t[:, p] / safe[:, None], 0.0
            )
            keep = np.where(drawing, 1.0 - take / safe, 1.0)
            ports.by_key_t[:, p] *= keep[:, None]
            ports.stock_t[:, p] = np.where(drawing, stock - take, stock)
            drawn_t[:, p] = np.where(drawing, take, 0.0)
        return drawn_t

    def _book_port_draws(self, drawn_t: np.ndarray, volumes: np.ndarray) -> None:
        """The drawn crude's cargo costs, to the routes it took (`Shipping.book_port_draw`)."""
        for p, (idx, books) in enumerate(
            zip(self.path.layout.port_routes.values(), self.port_books.values(), strict=True)
        ):
            if idx:
                books.draw(drawn_t[:, p], self.ports.stock_t[:, p], volumes[:, idx])

    def _ceiling(self) -> np.ndarray:
        target = np.array([s.target_run_t_per_day for s in self.path._specs])
        capacity = np.array([s.capacity_t_per_day for s in self.path._specs])
        derated = np.minimum(target, capacity * self.capacity_factor)
        return np.where(self.capacity_factor < 1.0, derated, target)

    def _planned_rate(self, expected: np.ndarray) -> np.ndarray:
        """P of each refinery (sim.engine.refinery), t/day."""
        specs = self.path._specs
        floor = np.array(
            [
                max(s.min_operating_stock_t, s.cover_target_days * s.target_run_t_per_day)
                for s in specs
            ]
        )
        lookahead = np.array([s.lookahead_days if s.lookahead_days > 0 else 1.0 for s in specs])
        above = np.maximum(self.stock_t - floor, 0.0)
        return expected + above / lookahead

    def _plan_runs(self, rates: np.ndarray) -> np.ndarray:
        """Each refinery's planned run rate for the step, t/day (`Refinery.plan`)."""
        lay, specs = self.path.layout, self.path._specs
        expected = np.zeros((self.n, len(specs)))
        for q in range(len(lay.routes)):
            expected[:, lay.route_refinery[q]] += self._expected_route(q, rates)
        for n, links in self.path.rail_into.items():
            if specs[n].lookahead_days > 0:  # and crude already on rail to it
                for a in links:
                    expected[:, n] += self.rails[a].content_t() / specs[n].lookahead_days
        self.expected = expected
        ceiling = self._ceiling()
        plans = np.array([s.lookahead_days > 0 for s in specs])
        minimum = np.array([s.min_technical_rate_t_per_day for s in specs])
        planned = np.minimum(ceiling, np.maximum(self._planned_rate(expected), minimum))
        return np.where(plans, planned, ceiling)

    def _expected_route(self, q: int, rates: np.ndarray) -> np.ndarray:
        """What route q brings over the look-ahead, t/day: from a port, no more than the port's
        stock (shared by planned rate) allows (`NetworkStep._expected_t_per_day`)."""
        p = self.path.port_of_route.get(q)
        if p is None:
            return rates[:, q]
        lay = self.path.layout
        spec = self.path._specs[lay.route_refinery[q]]
        drawn = rates[:, lay.port_routes[p]].sum(axis=1)
        safe = np.where(drawn > 0, drawn, 1.0)
        stock = np.where(drawn > 0, self.ports.stock_t[:, p] * rates[:, q] / safe, 0.0)
        lookahead = spec.lookahead_days if spec.lookahead_days > 0 else 1.0
        return np.minimum(rates[:, q], stock / lookahead)

    def _cut_to_caps(self, volumes: np.ndarray, planned: np.ndarray) -> None:
        """Make-up never ships more than is owed (`NetworkStep._cut_to_caps`)."""
        open_ = ~np.isnan(self.window_end_days)
        if not open_.any():
            return
        cap = np.where(open_, planned * 1.0 + self.owed_t, np.inf)
        for c in range(cap.shape[1]):
            idx = np.nonzero(self.path.layout.route_contract == c)[0]
            if not len(idx):
                continue
            want = volumes[:, idx].sum(axis=1)
            over = want > cap[:, c]
            if over.any():
                scale = np.maximum(0.0, cap[over, c]) / want[over]
                volumes[np.ix_(over, idx)] *= scale[:, None]

    def _quota_left_t(self) -> np.ndarray:
        """What each transit quota still allows this month, t (`Conditions.quota_left_t`)."""
        return self.path.quota_t_per_month - self.quota_used_t

    def _cut_to_quotas(self, volumes: np.ndarray) -> None:
        """Scale the routes counted against each quota to what it still allows, quota after
        quota (`NetworkStep._cut_to_quotas`)."""
        left = self._quota_left_t()
        for t in self.path.quota_order:
            counts = self.path.quota_counts[t]
            idx = np.nonzero(counts)[0]
            if not len(idx):
                continue
            want = (volumes[:, idx] * counts[idx]).sum(axis=1)
            over = want > left[:, t]
            if over.any():
                scale = np.maximum(0.0, left[over, t]) / want[over]
                volumes[np.ix_(over, idx)] *= scale[:, None]

    def _count_quotas(self, now: float, volumes: np.ndarray) -> None:
        """Count the step's shipments against the quotas; a quota used up is logged once a
        month (`Simulation._count_quotas`)."""
        path = self.path
        if not path.quota_order:
            return
        self.quota_used_t += volumes @ path.quota_counts.T
        spent = (self._quota_left_t() <= QUOTA_EPS_T) & ~self.quota_spent
        for t in path.quota_order:
            for r in np.nonzero(spent[:, t])[0]:
                self.quota_spent[r, t] = True
                name = path.topology.transit[t].name
                self.books[r].log(now + 1.0, name, EventKind.QUOTA_EXHAUSTED, month_key(self.month))

    def _feasible(self, n: int, inflow: np.ndarray, planned_run: np.ndarray) -> np.ndarray:
        """`Refinery.feasible_run_t` of refinery n, t."""
        above = np.maximum(self.stock_t[:, n] - self.path._specs[n].min_operating_stock_t, 0.0)
        return np.minimum(inflow + above, planned_run[:, n] * 1.0)

    def _may_restart(self, n: int, run: np.ndarray) -> np.ndarray:
        """`Refinery._may_restart` of refinery n."""
        s = self.path._specs[n]
        will = (run >= s.min_technical_rate_t_per_day * 1.0) & (run > 0)
        rate = self._planned_rate(self.expected)[:, n] if s.lookahead_days > 0 else run / 1.0
        margin = min(
            s.min_technical_rate_t_per_day * (1.0 + s.restart_margin_share),
            s.target_run_t_per_day,
        )
        return self.restart_allowed[:, n] & will & (rate >= margin * (1.0 - 1e-12))

    def _cut_to_room(self, k: int, volumes: np.ndarray, planned_run: np.ndarray) -> None:
        """Trains due unload first; refineries take no more than their tanks have room for
        (`receipt_limit_t`), so trains that do not fit wait and pipeline receipts are cut
        (`NetworkStep._cut_to_refinery_room`). Routes loading rail count as receipts there."""
        lay = self.path.layout
        for n, s in enumerate(self.path._specs):
            idx = np.nonzero(lay.route_refinery == n)[0]
            want = np.zeros(self.n)
            for q in idx:
                want = want + volumes[:, q]
            trains = self.path.rail_into.get(n, ())
            rail_t = np.zeros(self.n)
            for a in trains:
                rail_t = rail_t + self.rails[a].due_t(k)
            run = self._feasible(n, want + rail_t, planned_run)
            stopped = ~self.online[:, n] & ~self._may_restart(n, run)
            run = np.where(stopped, 0.0, run)
            limit = np.maximum(s.tank_capacity_t - self.stock_t[:, n], 0.0) + run
            if trains:
                limit = limit - self._unload(n, trains, rail_t, limit)
            over = want > limit
            if over.any():
                scale = np.maximum(0.0, limit[over]) / want[over]
                volumes[np.ix_(over, idx)] *= np.where(scale < 1.0, scale, 1.0)[:, None]
            got = np.zeros(self.n)
            for q in idx:
                got = got + volumes[:, q]
            self.room_left_t[:, n] = np.maximum(0.0, limit - got)

    def _unload(
        self, n: int, trains: list[int] | tuple[()], due_t: np.ndarray, limit: np.ndarray
    ) -> np.ndarray:
        """Unload the trains due into refinery n, in order and no more than `limit` where all
        of them do not fit (`NetworkStep._unload_what_fits`); returns the tonnes unloaded."""
        room = np.where(due_t > limit, np.maximum(0.0, limit), np.inf)
        got_t = np.zeros(self.n)
        got_by_key_t = np.zeros((self.n, len(self.path.layout.keys)))
        for a in trains:
            out_t, out_by_key_t = self.rails[a].unload(room)
            room = room - out_t
            got_t = got_t + out_t
            got_by_key_t += out_by_key_t
            # A corridor's flow is what it unloaded (`NetworkStep._move_and_deliver`).
            self.link_out_by_key_t[a] += out_by_key_t
        self.rail_in_t[:, n] = got_t
        self.rail_in_by_key_t[:, n] = got_by_key_t
        return got_t

    def _shares(
        self, volumes: np.ndarray, rates: np.ndarray, present: np.ndarray
    ) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per link: (share of its outflow to each hop, whether it has hops, whether the plan
        routes anything through it): by this step's volumes, else the plan's rates, else where
        it went last (`NetworkStep._hops`)."""
        out: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for a, _, through, _ in self.path.moves:
            hops = self.path.hop_list[a]
            total_v = volumes[:, through].sum(axis=1)
            total_r = rates[:, through].sum(axis=1)
            shares = self.last_shares[a].copy()
            by_r = (total_v <= 0) & (total_r > 0)
            by_v = total_v > 0
            for i, (_, qs) in enumerate(hops):
                if by_r.any():
                    shares[by_r, i] = rates[np.ix_(by_r, qs)].sum(axis=1) / total_r[by_r]
                if by_v.any():
                    shares[by_v, i] = volumes[np.ix_(by_v, qs)].sum(axis=1) / total_v[by_v]
            valid = by_v | by_r | self.last_valid[a]
            out[a] = (shares, np.asarray(valid), np.asarray(present[:, through].any(axis=1)))
        return out

    def _room_through(self, a: int, shares: dict) -> np.ndarray:
        """`NetworkStep._room_through`: most tonnes that can go on from link `a` this step."""
        share_a, _, _ = shares[a]
        most = np.full(self.n, np.inf)
        for i, (nxt, _) in enumerate(self.path.hop_list[a]):
            if nxt == _HAND_IN or nxt in self.rails:
                continue  # a swap's hand-in and rail loads take what comes (`_room_through`)
            share = share_a[:, i]
            positive = share > 0
            if nxt < 0:
                room = self.room_left_t[:, -1 - nxt]
            else:
                room = np.where(shares[nxt][1], self._room_through(nxt, shares), 0.0)
            value = room / np.where(positive, share, 1.0)
            most = np.where(positive, np.minimum(most, value), most)
        return most

    def _use_room(self, tonnes: np.ndarray, a: int, shares: dict) -> None:
        """`NetworkStep._use_room`: `tonnes` going on from link `a` take refineries' room."""
        share_a, _, _ = shares[a]
        for i, (nxt, _) in enumerate(self.path.hop_list[a]):
            if nxt == _HAND_IN or nxt in self.rails:
                continue
            part = tonnes * share_a[:, i]
            if nxt < 0:
                self.room_left_t[:, -1 - nxt] = np.maximum(
                    0.0, self.room_left_t[:, -1 - nxt] - part
                )
            else:
                self._use_room(np.where(shares[nxt][1], part, 0.0), nxt, shares)

    def _push_shared(
        self, a: int, t: np.ndarray, c: np.ndarray, shares: dict
    ) -> tuple[np.ndarray, np.ndarray]:
        """`NetworkStep._push_shared`: (the shippers' tonnes leaving, by key)."""
        pipe = self.pipes[a]
        assert isinstance(pipe, _SharedPipe)
        _, valid, _ = shares[a]
        background = self.path.background_t_per_day(a, self.link_factor[:, a]) * 1.0
        if not pipe.unsplit:
            limited = pipe.own_ahead(t + background) > t + 1e-9
            if limited.any():
                room = np.where(valid, self._room_through(a, shares), 0.0)
                most = pipe.until_own(t + room)
                cut = np.maximum(0.0, np.minimum(background, most - t))
                background = np.where(limited, cut, background)
        out_c = pipe.push_shared(t, c, background)
        third = out_c[:, pipe.third].copy()
        out_c[:, pipe.third] = 0.0
        self.third_party_in_t += background
        self.third_party_out_t += third
        out_t = (t + background) - third
        extra = out_t - t
        going = (extra > 1e-9) & valid
        if going.any():
            self._use_room(np.where(going, extra, 0.0), a, shares)
        return out_t, out_c

    def _move(
        self, k: int, volumes: np.ndarray, rates: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Crude through the lines, upstream first, and onto rail; what each refinery receives
        (t, by key), the trains unloaded this step included."""
        path, lay = self.path, self.path.layout
        n_ref, n_k = len(lay.refineries), len(lay.keys)
        in_t: dict[int, np.ndarray] = {}
        in_c: dict[int, np.ndarray] = {}
        received_t = np.zeros((self.n, n_ref))
        received_c = np.zeros((self.n, n_ref, n_k))
        shares = self._shares(volumes, rates, path.present_array()[self.plan_row])
        for a, injected, _, _ in path.moves:
            t = in_t.get(a, 0.0) + np.zeros(self.n)
            c = in_c.get(a, 0.0) + np.zeros((self.n, n_k))
            for q, mix in injected:
                v = volumes[:, q]
                t = t + v
                c = c + v[:, None] * mix
            for q, p in path.port_moves.get(a, ()):
                v = volumes[:, q]
                t = t + v
                c = c + v[:, None] * self.port_mix[:, p]
            if a in self.rails:  # loaded now, unloaded `transit_days` later
                self.rails[a].load(k, t, c)
                continue
            if a in lay.shared:
                out_t, out_c = self._push_shared(a, t, c, shares)
            else:
                out_t, out_c = t, self.pipes[a].push(t, c)
            self.link_out_by_key_t[a] += out_c
            share_a, valid, planned = shares[a]
            moved = planned & ((t > 0) | (a in lay.shared)) & valid
            self.last_shares[a][moved] = share_a[moved]
            self.last_valid[a] |= moved
            for i, (nxt, _) in enumerate(path.hop_list[a]):
                share = np.where(valid, share_a[:, i], 0.0)
                if nxt >= 0:
                    in_t[nxt] = in_t.get(nxt, 0.0) + share * out_t
                    in_c[nxt] = in_c.get(nxt, 0.0) + share[:, None] * out_c
                elif nxt == _HAND_IN:
                    self.swapped_out_t += share * out_t
                else:
                    received_t[:, -1 - nxt] += share * out_t
                    received_c[:, -1 - nxt] += share[:, None] * out_c
        if self.rails:
            received_t += self.rail_in_t
            received_c += self.rail_in_by_key_t
        return received_t, received_c

    def _deliver(
        self, now: float, received_t: np.ndarray, received_c: np.ndarray, planned_run: np.ndarray
    ) -> np.ndarray:
        """`Refinery.take_in_and_run` for every refinery; returns the runs, t."""
        names = self.path.layout.refineries
        run = np.zeros_like(received_t)
        for n, s in enumerate(self.path._specs):
            ran = self._feasible(n, received_t[:, n], planned_run)
            will = (ran >= s.min_technical_rate_t_per_day * 1.0) & (ran > 0)
            overflow = self.stock_t[:, n] + received_t[:, n] > s.tank_capacity_t
            online = self.online[:, n]
            stop = online & (s.min_technical_rate_t_per_day > 0) & ~will & ~overflow
            restart = ~online & self._may_restart(n, ran)
            run[:, n] = np.where(stop | (~online & ~restart), 0.0, ran)
            for r in np.nonzero(stop)[0]:
                self.books[r].log(now, names[n], EventKind.UNIT_STOP)
                self.restart_ready_days[r, n] = now + s.restart_days
            for r in np.nonzero(restart)[0]:
                self.books[r].log(now, names[n], EventKind.UNIT_RESTART)
            self.restart_allowed[stop, n] = False
            self.online[:, n] = (online & ~stop) | restart
        # The tanks: receive, then draw the run with the tanks' mix (`Tank.draw`).
        self.stock_by_key_t += received_c
        stock = self.stock_t + received_t
        run = np.minimum(run, stock)
        drawing = (run > 0) & (stock > 0)
        run = np.where(drawing, run, 0.0)
        safe = np.where(drawing, stock, 1.0)
        mix = np.where(drawing[..., None], self.stock_by_key_t / safe[..., None], 0.0)
        keep = np.where(drawing, 1.0 - run / safe, 1.0)
        self.stock_by_key_t = self.stock_by_key_t * keep[..., None]
        self.stock_t = np.where(drawing, stock - run, stock)
        self.month_runs_by_key_t += mix * run[..., None]
        return run

    def _record(
        self, k: int, now: float, volumes: np.ndarray, received: np.ndarray, run: np.ndarray
    ) -> None:
        """The recorder's running totals (`Recorder.on_step`)."""
        path, lay = self.path, self.path.layout
        self.month_days += 1.0
        specs = path._specs
        target = np.array([s.target_run_t_per_day for s in specs]) * 1.0
        low_level = np.array(
            [path.scenario.scenario.low_stock_days * s.target_run_t_per_day for s in specs]
        )
        end = self.stock_t
        start = end - received + run
        self.intake_t += received
        self.runs_t += run
        self.unserved_t += np.where(run < target, target - run, 0.0)
        low = np.where(end < start, end, start)
        self.min_stock_t = np.minimum(self.min_stock_t, low)
        self.stock_integral_t_days += 0.5 * (start + end) * 1.0
        self.low_stock_days += _time_below(start, end, low_level)
        self.cut[:, k] = (run < target - _CUT_TOLERANCE_T).any(axis=1)
        self.cut_days += run < target - _CUT_TOLERANCE_T
        self.route_t += volumes
        self.route_crude_usd += volumes * self.crude_usd_per_t[:, lay.route_contract]
        costs = np.array([r.cost_usd_per_t for r in lay.routes])
        for q in range(len(lay.routes)):
            c = lay.route_contract[q]
            self.purchase_usd[:, c] += volumes[:, q] * self.purchase_usd_per_t[:, c]
            self.transport_usd[:, c] += volumes[:, q] * costs[q]

    def _close_month(self) -> None:
        """Value each replication's runs of the month (`RunValuation.close_month`), every
        replication at once (`value_rows`)."""
        path = self.path
        month = month_key(self.valued_month)
        for n, name in enumerate(path.layout.refineries):
            if name not in path._valuation.refineries:
                continue
            runs = self.month_runs_by_key_t[:, n]
            parts = path.value_rows(name, runs, month, self.month_days)
            self.valued_parts[:, n] += parts
            self.valued_booked[:, n] |= runs > 0
        self.month_runs_by_key_t[:] = 0.0
        self.month_days = 0.0
        self.valued_month = first_of_next_month(self.valued_month)
        self.month_close_days = self._close_days()

    def _close_days(self) -> float:
        """When the valued month closes (`RunValuation.step`), days."""
        start = self.path.scenario.scenario.start_date
        return float((first_of_next_month(self.valued_month) - start).days) - 1e-9

    def _count_contracts(self, now: float, nominal: np.ndarray, shipped: np.ndarray) -> None:
        """Missed tonnes and make-up windows (`MakeUp.record`)."""
        topo = self.path.topology
        self.nominated_t += nominal * 1.0
        self.contract_shipped_t += shipped
        for c in [c.index for c in topo.contracts if c.makeup_max_share > 0]:
            due = nominal[c] * 1.0
            short = due - shipped[:, c]
            tolerance = _MAKEUP_RELATIVE_TOLERANCE * due + _MAKEUP_ABSOLUTE_T
            is_open = ~np.isnan(self.window_end_days[:, c])
            missed = short > tolerance
            self.owed_t[missed, c] += short[missed]
            made_rows = ~missed & (short < 0) & is_open
            made = np.minimum(-short, self.owed_t[:, c])
            self.makeup_t[made_rows, c] += made[made_rows]
            self.owed_t[made_rows, c] -= made[made_rows]
            self._windows(c, now, float(nominal[c]), short <= tolerance, is_open)

    def _windows(
        self, c: int, now: float, nominal: float, full: np.ndarray, is_open: np.ndarray
    ) -> None:
        """As `MakeUp._windows`, for every replication that owes tonnes or has a window open:
        the masks find the (rare) openings and closings, which are then booked one by one."""
        contract = self.path.topology.contracts[c]
        owed, end = self.owed_t[:, c], self.window_end_days[:, c]
        paid = owed <= _MAKEUP_ABSOLUTE_T
        opening = ~is_open & full & (nominal > 0) & ~paid
        done = is_open & paid
        lost = is_open & ~paid & (now + 1.0 >= end - 1e-9)
        for r in np.nonzero(opening)[0]:
            self.window_end_days[r, c] = now + 1.0 + contract.makeup_window_days
            detail = (
                f"{owed[r]:.0f} t missed; up to {contract.makeup_max_share * nominal:.0f} t/day "
                f"extra for {contract.makeup_window_days:g} days"
            )
            self.books[r].log(now + 1.0, contract.name, EventKind.MAKEUP_START, detail)
        for r in np.nonzero(done | lost)[0]:
            detail = (
                "all made up" if done[r] else f"window closed: {owed[r]:.0f} t not made up, lost"
            )
            self.books[r].log(now + 1.0, contract.name, EventKind.MAKEUP_END, detail)
        closing = done | lost
        self.owed_t[closing, c] = 0.0
        self.window_end_days[closing, c] = np.nan

    # -- results ---------------------------------------------------------------------
    def result(self, r: int, seconds: float) -> ReplicationResult:
        """Replication r's rows, made by the recorder's own code from these totals."""
        path, lay, topo = self.path, self.path.layout, self.path.topology
        rec = copy.copy(path._template)
        rec.replication = self.replications[r]
        rec.network = cast(
            NetworkStep, _FinalNetwork(path, self.stock_t[r], self.stock_by_key_t[r])
        )
        rec.refinery = {}
        for n, name in enumerate(lay.refineries):
            tot = RefineryTotals(0.0)
            tot.intake_t = float(self.intake_t[r, n])
            tot.runs_t = float(self.runs_t[r, n])
            tot.unserved_t = float(self.unserved_t[r, n])
            tot.cut_days = int(self.cut_days[r, n])
            tot.min_stock_t = float(self.min_stock_t[r, n])
            tot.stock_integral_t_days = float(self.stock_integral_t_days[r, n])
            tot.low_stock_days = float(self.low_stock_days[r, n])
            rec.refinery[name] = tot
        rec.shipped_t = [0.0] * len(topo.contracts)
        for q in range(len(lay.routes)):
            rec.shipped_t[lay.route_contract[q]] += float(self.route_t[r, q])
        rec.purchase_usd = [float(x) for x in self.purchase_usd[r]]
        rec.transport_usd = [float(x) for x in self.transport_usd[r]]
        # A swap's tonnes enter twice: at its source, and handed out (`RoutePlan.supply_entries`).
        rec.supplied_t = float((self.route_t[r] * path.supply_entries).sum())
        rec.costs = self._cost_book(r)
        shipping = self.cargo_runs[r].shipping if self.cargo_runs else None
        if self.cargo_runs:
            for books in self.port_books.values():
                merge_costs(rec.costs, books.costs(r))
        book = self.books[r]
        rec.events = [e for _, _, e in sorted([*book.events, *self.common.events])]
        rec.disruption_spells = book.spells
        rec._open_spells = {}
        rec.daily = []
        rec.cargoes = self.cargo_runs[r].cargoes if self.cargo_runs else []
        rec.cut_spells, rec._cut_since = _spells(self.cut[r])
        rec._link_mix_t = [{} for _ in topo.links]
        for a, out in self.link_out_by_key_t.items():
            rec._link_mix_t[a] = {i: [{lay.keys[i]: 1.0}, float(t)] for i, t in enumerate(out[r])}
        rec.steps = path.steps
        rec._open_plan = None
        valuation = copy.copy(path._valuation)
        valuation._runs = {n: defaultdict(float) for n in valuation.refineries}
        valuation._run_accs = list(valuation._runs.items())
        valuation.totals = {
            (name, lay.keys[i]): dict(
                zip(_VALUED, map(float, self.valued_parts[r, n, i]), strict=True)
            )
            for n, name in enumerate(lay.refineries)
            for i in np.nonzero(self.valued_booked[r, n])[0]
        }
        rec.valuation = valuation
        rec.end = RunEnd(
            end_days=path.horizon,
            initial_inventory_t=float(self.initial_inventory_t),
            final_inventory_t=float(
                self.stock_t[r].sum()
                + self.ports.stock_t[r].sum()
                + sum(topo.links[a].linefill_t for a in lay.link_order)
                + path._idle_linefill_t
                + float(self.rail_content_t[r])
            ),
            lots_landed_t=shipping.lots_landed_t if shipping else 0.0,
            swapped_out_t=float(self.swapped_out_t[r]),
            third_party_in_t=float(self.third_party_in_t[r]),
            third_party_out_t=float(self.third_party_out_t[r]),
            cargoes_discharged=shipping.discharged if shipping else 0,
            nominated_t=tuple(float(x) for x in self.nominated_t[r]),
            contract_shipped_t=tuple(float(x) for x in self.contract_shipped_t[r]),
            makeup_t=tuple(float(x) for x in self.makeup_t[r]),
            cargoes_open=sum(shipping.open_cargoes) if shipping else 0,
            steps=path.steps,
            plans_used=int(self.plans_used[r]),
            simpy_events=0,
            engine_seconds=seconds,
        )
        return rec.result()

    def _cost_book(self, r: int) -> dict[tuple[str, str, tuple[str, ...]], dict[str, float]]:
        lay, topo = self.path.layout, self.path.topology
        book: dict[tuple[str, str, tuple[str, ...]], dict[str, float]] = {}
        for q, route in enumerate(lay.routes):
            tonnes = float(self.route_t[r, q])
            # Crude drawn from a port's tanks is booked when drawn, with its cargoes' costs.
            if tonnes <= 0 or not route.supply_entries:
                continue
            c = topo.contracts[route.contract]
            key = (route.destination, c.origin, route.link_names)
            row = book.setdefault(key, dict.fromkeys(("tonnes_t", *COST_COMPONENTS), 0.0))
            row["tonnes_t"] += tonnes
            row["crude_usd"] += float(self.route_crude_usd[r, q])
            row["premium_usd"] += tonnes * c.premium_usd_per_t
            for k, per_t in route.cost_components_usd_per_t.items():
                row[k] += per_t * tonnes
        return book


class _FinalRefinery:
    """What the recorder's rows read of a refinery at the end of a replication."""

    def __init__(self, spec: Any, stock_t: float, by_mix_t: dict[str, float]):
        self.spec = spec
        self.tank = Tank(spec.tank_capacity_t, 0.0, {})
        self.tank.stock_t = stock_t
        self.tank.by_mix_t = by_mix_t
        self.quarantined_t = 0.0
        self.offspec_run_t = 0.0
        self.reverse_pumped_t = 0.0
        self.quarantine_stock_t = 0.0


class _FinalNetwork:
    def __init__(self, path: ArrayPath, stock: np.ndarray, stock_c: np.ndarray):
        keys = path.layout.keys
        self.refineries = {
            name: _FinalRefinery(
                path._specs[n],
                float(stock[n]),
                {keys[i]: float(t) for i, t in enumerate(stock_c[n]) if t != 0},
            )
            for n, name in enumerate(path.layout.refineries)
        }


def _time_below(start: np.ndarray, end: np.ndarray, level: np.ndarray) -> np.ndarray:
    """`recorder._time_below` for arrays, over a step of one day."""
    both = (start < level) & (end < level)
    low, high = np.minimum(start, end), np.maximum(start, end)
    crossing = (np.minimum(start, end) < level) & ~both
    span = np.where(high > low, high - low, 1.0)
    return np.where(both, 1.0, np.where(crossing, (level - low) / span, 0.0))


def _spells(cut: np.ndarray) -> tuple[list[tuple[float, float]], float | None]:
    """The recorder's run-cut spells from a replication's per-step cut flags."""
    spells: list[tuple[float, float]] = []
    if not cut.any():
        return spells, None
    edges = np.diff(np.concatenate([[0], cut.astype(int), [0]]))
    starts, stops = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    since = None
    for a, b in zip(starts, stops, strict=True):
        if b >= len(cut):
            since = float(a)
        else:
            spells.append((float(a), float(b)))
    return spells, since
