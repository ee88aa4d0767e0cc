"""The daily network step: crude moves along the planned routes, in one fixed order.

`NetworkStep.step(dt)` is deterministic: it reads the plan and the state and nothing else (no
clock, no random numbers, no files), and the order of every loop is fixed by the scenario's
order of links, contracts and refineries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sim.engine.allocator import Plan
from sim.engine.crude import Parcel, PipelineFIFO, Tank, blend
from sim.engine.refinery import Refinery
from sim.engine.topology import Topology


@dataclass(frozen=True)
class RoutePlan:
    """One (contract, route) pair of a plan, ready to execute."""

    contract: int
    links: tuple[int, ...]
    rate_t_per_day: float
    destination: str
    source: str


@dataclass
class ExecutablePlan:
    """A plan unpacked for the daily step: routes, link order and next hops."""

    plan: Plan
    routes: list[RoutePlan]
    #: Links that carry flow, upstream before downstream.
    link_order: list[int]
    #: Transport cost of each route: link tariffs plus transit fees, USD/t.
    route_cost_usd_per_t: list[float]


def _link_order(routes: list[RoutePlan], n_links: int) -> list[int]:
    used = sorted({link for r in routes for link in r.links})
    after: dict[int, set[int]] = defaultdict(set)
    for r in routes:
        for a, b in zip(r.links, r.links[1:], strict=False):
            after[a].add(b)
    indegree = dict.fromkeys(used, 0)
    for a in used:
        for b in after[a]:
            indegree[b] += 1
    ready = [link for link in used if indegree[link] == 0]
    order = []
    while ready:
        ready.sort()
        link = ready.pop(0)
        order.append(link)
        for b in sorted(after[link]):
            indegree[b] -= 1
            if indegree[b] == 0:
                ready.append(b)
    if len(order) != len(used):
        raise RuntimeError("allocator produced routes that feed each other in a cycle")
    return order


def executable(plan: Plan, topology: Topology) -> ExecutablePlan:
    routes = [
        RoutePlan(c.index, links, rate, c.destination, c.source)
        for c in topology.contracts
        for links, rate in plan.routes[c.index]
    ]
    costs = []
    for r in routes:
        origin = topology.contracts[r.contract].origin
        cost = sum(topology.links[link].tariff_usd_per_t for link in r.links)
        for t in topology.transit:
            if t.applies_to(origin):
                cost += t.tariff_usd_per_t * sum(1 for link in r.links if link in t.entry_links)
        costs.append(cost)
    return ExecutablePlan(plan, routes, _link_order(routes, len(topology.links)), costs)


@dataclass
class StepResult:
    """What one step moved, t (all over the step)."""

    shipped_by_route: list[float]
    link_flow: dict[int, Parcel]
    received: dict[str, float]
    quarantined: dict[str, float]
    runs: dict[str, Parcel]
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (asset, event, detail)


class NetworkStep:
    """The network's continuous state and the step that advances it."""

    def __init__(
        self,
        topology: Topology,
        fifos: list[PipelineFIFO],
        refineries: dict[str, Refinery],
        ports: dict[str, Tank],
        contract_mix: list[dict[str, float]],
    ):
        self.topology = topology
        self.fifos = fifos
        self.refineries = refineries
        self.ports = ports
        self.contract_mix = contract_mix

    def step(self, plan: ExecutablePlan, dt: float, now_days: float) -> StepResult:
        topo = self.topology
        contracts = topo.contracts
        routes = plan.routes
        volumes = [r.rate_t_per_day * dt for r in routes]
        # 1. Sources with tanks (ports) cannot send more than they hold.
        for port, tank in self.ports.items():
            idx = [i for i, r in enumerate(routes) if r.source == port]
            want = sum(volumes[i] for i in idx)
            if want > tank.stock_t:
                scale = tank.stock_t / want
                for i in idx:
                    volumes[i] *= scale
        # 2. Refineries cannot take more than their tanks have room for.
        planned_in: dict[str, float] = defaultdict(float)
        for r, v in zip(routes, volumes, strict=True):
            planned_in[r.destination] += v
        for name, want in planned_in.items():
            limit = self.refineries[name].receipt_limit_t(want, dt)
            if want > limit:
                scale = max(0.0, limit) / want
                for i, r in enumerate(routes):
                    if r.destination == name:
                        volumes[i] *= scale
        # 3. Inject at the sources and move through the lines, upstream first.
        inputs: dict[int, list[Parcel]] = defaultdict(list)
        hops: dict[int, dict[object, float]] = defaultdict(lambda: defaultdict(float))
        drawn: dict[str, dict[int, float]] = defaultdict(dict)
        for i, (r, v) in enumerate(zip(routes, volumes, strict=True)):
            if v <= 0:
                continue
            if r.source in self.ports:
                drawn[r.source][i] = v
            else:
                c = contracts[r.contract]
                inputs[r.links[0]].append(Parcel(v, c.contaminant_ppm, self.contract_mix[c.index]))
            for a, b in zip(r.links, r.links[1:], strict=False):
                hops[a][b] += v
            hops[r.links[-1]][r.destination] += v
        for port, by_route in drawn.items():
            parcel = self.ports[port].draw(sum(by_route.values()))
            for i, v in by_route.items():
                inputs[routes[i].links[0]].append(Parcel(v, parcel.ppm, parcel.mix))
        arriving: dict[str, list[Parcel]] = defaultdict(list)
        link_flow: dict[int, Parcel] = {}
        for link in plan.link_order:
            parts = inputs.get(link)
            if not parts:
                continue
            out = self.fifos[link].push(blend(parts, now_days), now_days)
            link_flow[link] = out
            total = out.tonnes_t
            if total <= 0:
                continue
            for hop, v in hops[link].items():
                share = Parcel(out.tonnes_t * v / total, out.ppm, out.mix)
                if isinstance(hop, int):
                    inputs[hop].append(share)
                else:
                    arriving[hop].append(share)  # type: ignore[index]
        # 4. Refineries refuse contaminated crude, receive the rest and run.
        result = StepResult(volumes, link_flow, {}, {}, {})
        for name, refinery in self.refineries.items():
            accepted, rejected = [], 0.0
            for p in arriving.get(name, ()):
                if p.ppm > refinery.spec.contaminant_limit_ppm:
                    rejected += p.tonnes_t
                else:
                    accepted.append(p)
            refinery.quarantined_t += rejected
            _, ran, event = refinery.take_in_and_run(accepted, dt)
            if event:
                result.events.append((name, event, ""))
            result.received[name] = sum(p.tonnes_t for p in accepted)
            result.quarantined[name] = rejected
            result.runs[name] = ran
        return result

    def linefill_t(self) -> float:
        return sum(f.content_t() for f in self.fifos)
