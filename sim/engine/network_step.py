"""The daily network step: crude moves along the planned routes, in one fixed order.

`NetworkStep.step(dt)` is deterministic: it reads the plan and the state and nothing else (no
clock, no random numbers, no files), and the order of every loop is fixed by the scenario's
order of links, contracts and refineries.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from sim.engine.allocator import Plan
from sim.engine.crude import Parcel, PipelineFIFO, RailQueue, Tank
from sim.engine.refinery import Refinery
from sim.engine.topology import ContractSpec, Topology
from sim.kinds import EventKind


class Sink(Enum):
    """Where a line's outflow goes when it is not a link or a refinery."""

    #: A swap's crude leaves the simulated network here (handed in to the other party).
    SWAP_HAND_IN = "swap_hand_in"


#: Where a link's outflow goes next: a link (its index), a refinery (its name) or a sink.
Hop = int | str | Sink


@dataclass(frozen=True)
class RoutePlan:
    """One (contract, route) pair of a plan, ready to execute."""

    contract: int
    links: tuple[int, ...]
    rate_t_per_day: float
    destination: str
    source: str
    #: The route's link names, in order (the route column of costs.csv).
    link_names: tuple[str, ...] = ()
    #: Swap: position of the first link after the hand-over (None: the crude travels).
    swap_split: int | None = None
    #: Times the route's tonnes enter the network: 0 from a port's tanks (they entered when
    #: landed), 1 from a source without tanks, 2 for a swap (the crude at its source, and the
    #: crude handed out).
    supply_entries: int = 1
    #: (transit index, times counted) for each transit quota the route counts against.
    quota_hits: tuple[tuple[int, int], ...] = ()
    #: Transport cost components along the route, USD/t (pipeline, rail, transit fees).
    cost_components_usd_per_t: dict[str, float] = field(default_factory=dict)
    #: Their sum: the route's transport cost, USD/t.
    cost_usd_per_t: float = 0.0
    #: Contaminant level of the crude the route puts into its last link, ppm.
    ppm: float = 0.0

    def next_hops(self) -> list[tuple[int, Hop]]:
        """(link, where its outflow goes next): the next link, the refinery, or the swap."""
        nxt: list[Hop] = [*self.links[1:], self.destination]
        if self.swap_split is not None:
            nxt[self.swap_split - 1] = Sink.SWAP_HAND_IN
        return list(zip(self.links, nxt, strict=True))


@dataclass(frozen=True)
class Injection:
    """Crude put into a link at a source without tanks, for one or more routes (grouped when
    they put the same crude into the same link: one parcel instead of several)."""

    link: int
    ppm: float
    mix: dict[str, float]
    routes: list[int]


@dataclass(frozen=True)
class ExecutablePlan:
    """A plan unpacked once for the daily step, so the step only does arithmetic."""

    plan: Plan
    routes: list[RoutePlan]
    #: Planned rate of each route, t/day.
    rates_t_per_day: list[float]
    #: Links that carry flow, upstream before downstream.
    link_order: list[int]
    #: Routes drawing from each port's tanks.
    routes_by_port: dict[str, list[int]]
    #: Routes delivering to each refinery.
    routes_by_refinery: dict[str, list[int]]
    injections: list[Injection]
    #: For each link, where its outflow goes and in what share, at planned rates.
    hop_shares: dict[int, list[tuple[Hop, float]]]
    #: Routes of each contract (by contract index).
    routes_by_contract: dict[int, list[int]] = field(default_factory=dict)
    #: Planned arrivals at each refinery by routes from sources without tanks, t/day (full
    #: lines deliver at the head what enters at the tail).
    inflow_t_per_day: dict[str, float] = field(default_factory=dict)
    #: Routes from a port's tanks to each refinery.
    port_routes_by_refinery: dict[str, list[int]] = field(default_factory=dict)
    #: Routes from sources without tanks to each refinery, all of pipelines.
    line_routes_by_refinery: dict[str, list[int]] = field(default_factory=dict)
    #: Planned flow through each link, t/day.
    link_rate_t_per_day: dict[int, float] = field(default_factory=dict)
    #: Highest contaminant level of the crude any route puts in, ppm.
    max_route_ppm: float = 0.0


def _hop_shares(
    routes: list[RoutePlan], volumes: list[float]
) -> dict[int, list[tuple[Hop, float]]]:
    """Share of each link's outflow going to each next link or refinery, by route volume."""
    hops: dict[int, dict[Hop, float]] = {}
    for r, v in zip(routes, volumes, strict=True):
        if v <= 0:
            continue
        for a, b in r.next_hops():
            hops.setdefault(a, {})
            hops[a][b] = hops[a].get(b, 0.0) + v
    out = {}
    for a, by_hop in hops.items():
        total = sum(by_hop.values())
        out[a] = [(hop, v / total) for hop, v in by_hop.items()]
    return out


def _link_order(routes: list[RoutePlan]) -> list[int]:
    """Links that carry flow, each after every link that feeds it (Kahn, lowest index first)."""
    used = sorted({link for r in routes for link in r.links})
    after: dict[int, set[int]] = defaultdict(set)
    for r in routes:
        for a, b in r.next_hops():
            if isinstance(b, int):
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


def _split(c: ContractSpec, links: tuple[int, ...]) -> int | None:
    if not c.swap_splits or c.routes is None:
        return None
    return c.swap_splits[c.routes.index(links)]


def _route(
    topology: Topology,
    c: ContractSpec,
    links: tuple[int, ...],
    rate: float,
    added_ppm: list[float],
    fee_add: list[float],
) -> RoutePlan:
    """One route of a contract, with its costs, quota counts and contamination worked out."""
    split = _split(c, links)
    specs = [topology.links[link] for link in links]
    hits = []
    for t in topology.transit:
        if t.quota_t_per_month is not None and t.applies_to(c.origin):
            n = t.entries_on(links)
            if n:
                hits.append((t.index, n))
    components = {
        "pipeline_usd": sum(x.tariff_usd_per_t for x in specs if x.kind == "pipeline"),
        "rail_usd": sum(x.tariff_usd_per_t for x in specs if x.kind == "rail"),
        "transit_fee_usd": sum(
            (t.tariff_usd_per_t + fee_add[t.index]) * t.entries_on(links)
            for t in topology.transit
            if t.applies_to(c.origin)
        )
        + (c.swap_fee_usd_per_t if split is not None else 0.0),
    }
    from_tanks = c.source in topology.ports
    return RoutePlan(
        contract=c.index,
        links=links,
        rate_t_per_day=rate,
        destination=c.destination,
        source=c.source,
        link_names=tuple(x.name for x in specs),
        swap_split=split,
        supply_entries=0 if from_tanks else (2 if split is not None else 1),
        quota_hits=tuple(hits),
        cost_components_usd_per_t=components,
        # A route's transport cost is the sum of its components (one computation, two views).
        cost_usd_per_t=sum(components.values()),
        ppm=0.0 if split is not None else c.contaminant_ppm + added_ppm[c.index],
    )


def executable(
    plan: Plan,
    topology: Topology,
    added_ppm: list[float] | None = None,
    fee_add: list[float] | None = None,
) -> ExecutablePlan:
    """Unpack `plan` for the daily step, with any contamination added to contracts' crude
    (`added_ppm`, by contract) and fee changes of transit conditions (`fee_add`, by condition)
    in force."""
    added_ppm = added_ppm or [0.0] * len(topology.contracts)
    fee_add = fee_add or [0.0] * len(topology.transit)
    routes = [
        _route(topology, c, links, rate, added_ppm, fee_add)
        for c in topology.contracts
        for links, rate in plan.routes[c.index]
    ]
    rates = [r.rate_t_per_day for r in routes]
    by_port: dict[str, list[int]] = {}
    by_refinery: dict[str, list[int]] = {}
    by_contract: dict[int, list[int]] = {}
    inflow: dict[str, float] = {}
    port_to_refinery: dict[str, list[int]] = {}
    groups: dict[tuple[int, float, int], Injection] = {}
    for i, r in enumerate(routes):
        by_refinery.setdefault(r.destination, []).append(i)
        by_contract.setdefault(r.contract, []).append(i)
        c = topology.contracts[r.contract]
        if r.source in topology.ports:
            by_port.setdefault(r.source, []).append(i)
            port_to_refinery.setdefault(r.destination, []).append(i)
        else:
            inflow[r.destination] = inflow.get(r.destination, 0.0) + r.rate_t_per_day
            mix = topology.contract_mix[c.index]
            ppm = c.contaminant_ppm + added_ppm[c.index]
            key = (r.links[0], ppm, id(mix))
            groups.setdefault(key, Injection(r.links[0], ppm, mix, [])).routes.append(i)
        if r.swap_split is not None:  # the same tonnes handed out, clean, of another origin
            link, mix = r.links[r.swap_split], topology.swap_mix[c.index]
            groups.setdefault((link, 0.0, id(mix)), Injection(link, 0.0, mix, [])).routes.append(i)
    line_routes: dict[str, list[int]] = {}
    link_rate: dict[int, float] = {}
    for i, r in enumerate(routes):
        for link in r.links:
            link_rate[link] = link_rate.get(link, 0.0) + r.rate_t_per_day
        if r.source not in topology.ports and r.swap_split is None:
            if all(topology.links[link].kind == "pipeline" for link in r.links):
                line_routes.setdefault(r.destination, []).append(i)
    return ExecutablePlan(
        plan=plan,
        routes=routes,
        rates_t_per_day=rates,
        link_order=_link_order(routes),
        routes_by_port=by_port,
        routes_by_refinery=by_refinery,
        injections=list(groups.values()),
        hop_shares=_hop_shares(routes, rates),
        routes_by_contract=by_contract,
        inflow_t_per_day=inflow,
        port_routes_by_refinery=port_to_refinery,
        line_routes_by_refinery=line_routes,
        link_rate_t_per_day=link_rate,
        max_route_ppm=max((r.ppm for r in routes), default=0.0),
    )


@dataclass(frozen=True)
class QuietPlan:
    """What a plan ships in a quiet step of `dt` days (`NetworkStep.quiet_step`): the step's
    volumes and the sums its checks compare, each summed as the full step sums it."""

    #: Tonnes of each route over the step (planned rate × dt), t.
    volumes: tuple[float, ...]
    #: (transit condition, tonnes its quota counts over the step) for each quota.
    quota_want_t: tuple[tuple[int, float], ...]
    #: (port, tonnes drawn from its tanks over the step) for each port routes draw from.
    port_want_t: tuple[tuple[str, float], ...]
    #: (refinery, planned receipts over the step, t; None: no route delivers to it), for every
    #: refinery in network order.
    refinery_want_t: tuple[tuple[str, float | None], ...]


def quiet_plan(plan: ExecutablePlan, n_transit: int, refineries: list[str], dt: float) -> QuietPlan:
    """The fixed figures of `plan`'s quiet steps of `dt` days (`refineries` in network order)."""
    volumes = [rate * dt for rate in plan.rates_t_per_day]
    quota_want = []
    for t_index in range(n_transit):
        counted = [
            (i, n)
            for i, route in enumerate(plan.routes)
            for t, n in route.quota_hits
            if t == t_index and volumes[i] > 0
        ]
        quota_want.append((t_index, sum(volumes[i] * n for i, n in counted)))
    return QuietPlan(
        volumes=tuple(volumes),
        quota_want_t=tuple(quota_want),
        port_want_t=tuple(
            (port, sum(volumes[i] for i in idx)) for port, idx in plan.routes_by_port.items()
        ),
        refinery_want_t=tuple(
            (
                name,
                sum(volumes[i] for i in idx)
                if (idx := plan.routes_by_refinery.get(name))
                else None,
            )
            for name in refineries
        ),
    )


@dataclass
class StepResult:
    """What one step moved, t (all over the step)."""

    shipped_by_route: list[float]
    link_flow: dict[int, list[Parcel]]
    received: dict[str, float]
    quarantined: dict[str, float]
    runs: dict[str, Parcel]
    #: (refinery, what happened to its crude unit or its contaminated crude, detail).
    events: list[tuple[str, EventKind, str]] = field(default_factory=list)
    #: False when every route shipped exactly its planned rate × step.
    scaled: bool = False
    #: Tonnes loaded onto each rail corridor this step.
    rail_loaded: dict[int, float] = field(default_factory=dict)
    #: Tonnes drawn from each port's tanks this step.
    port_drawn_t: dict[str, float] = field(default_factory=dict)
    #: Tonnes handed in under swaps this step (they leave the simulated network).
    swapped_out_t: float = 0.0
    #: Third parties' crude put into and leaving the shared lines this step, t.
    third_party_in_t: float = 0.0
    third_party_out_t: float = 0.0
    #: Simulated crude pushed into each shared line this step (what leaves may differ), t.
    shared_in_t: dict[int, float] = field(default_factory=dict)


#: A source of a link's or refinery's parcels in `_LineClocks`: the injections at it.
_INJECTED = -1


class _LineClocks:
    """Per-line clocks for quiet days of one plan: a line whose parcels in are the same as
    on the day before, and whose head batch lasts, repeats that day's push (it adds the same
    tonnes to its tail batch and takes them from its head batch, `PipelineFIFO.repeat`) and
    sends out the same parcels; only the lines below one whose batch changes push again.

    It is built from a quiet day moved by `_inject` and `_move` (their parcels into every
    link, refinery and swap, and out of every line), so the order of the parcels, and with
    it every sum, is theirs. Per line and sink it keeps where its parcels came from (the
    injections, then each upstream line in link order) and how many came from each.
    """

    def __init__(
        self,
        plan: ExecutablePlan,
        dt: float,
        volumes: list[float],
        fifos: dict[int, PipelineFIFO],
        inputs: dict[Hop, list[Parcel]],
        link_flow: dict[int, list[Parcel]],
        push_shared: Callable[[int, list[Parcel], float], list[Parcel]] | None = None,
        shared: frozenset[int] = frozenset(),
    ):
        self.plan, self.dt, self.fifos = plan, dt, fifos
        #: Lines shared with third parties push every day (`push_shared(link, parts, now)`:
        #: the network's own push, with its bookkeeping); they never repeat.
        self.push_shared, self.shared = push_shared, shared
        self.order = [link for link in plan.link_order if inputs.get(link) or link in shared]
        if any(plan.hop_shares.get(link) is None for link in self.order):
            raise _NotSteady  # a line with no hops of its own in the plan
        injected: dict[Hop, int] = {}
        for inj in plan.injections:  # as `_inject` makes them
            idx = inj.routes
            v = volumes[idx[0]] if len(idx) == 1 else sum(volumes[i] for i in idx)
            if v > 0:
                injected[inj.link] = injected.get(inj.link, 0) + 1
        #: Where each link's or sink's parcels come from, in the order they are handed in.
        self.sources: dict[Hop, list[int]] = {target: [_INJECTED] for target in injected}
        hops = {link: plan.hop_shares.get(link) or [] for link in self.order}
        for link in self.order:
            for hop, _ in hops[link]:
                self.sources.setdefault(hop, []).append(link)
        self.single_hop = {link: len(hops[link]) == 1 for link in self.order}
        self.downstream = {link: [hop for hop, _ in hops[link]] for link in self.order}
        self.share = {(link, hop): share for link in self.order for hop, share in hops[link]}
        #: The parcels in (and, per source, how many) of every link and sink, as last moved.
        self.parts: dict[Hop, list[Parcel]] = {link: [] for link in shared}
        self.counts: dict[Hop, list[int]] = {}
        for target, sources in self.sources.items():
            counts = [
                injected.get(target, 0) if src == _INJECTED else len(link_flow[src])
                for src in sources
            ]
            parts = inputs.get(target, [])
            if sum(counts) != len(parts):
                raise _NotSteady
            self.parts[target], self.counts[target] = list(parts), counts
        #: The parcels out of every line, as last moved.
        self.link_flow: dict[int, list[Parcel]] = {link: link_flow[link] for link in self.order}
        #: (tonnes, head batch, tail batch) of each line that would repeat its last push.
        self.repeats: dict[int, tuple[float, Parcel, Parcel] | None] = {
            link: None if link in shared else self._repeat(link) for link in self.order
        }
        self.sinks = [t for t in self.sources if not isinstance(t, int)]
        self.swapped_out_t = sum(p.tonnes_t for p in self.parts.get(Sink.SWAP_HAND_IN, ()))

    def _repeat(self, link: int) -> tuple[float, Parcel, Parcel] | None:
        fifo = self.fifos[link]
        tonnes = fifo.repeat_tonnes(self.parts[link], self.link_flow[link])
        return None if tonnes is None else (tonnes, fifo.queue[0], fifo.queue[-1])

    def _rebuild(self, target: Hop, pushed: dict[int, list[Parcel]]) -> list[Parcel]:
        """A link's or sink's parcels in today: those of lines that pushed again today handed
        on as `NetworkStep._hand_on` hands them, the rest as last time."""
        old, counts = self.parts[target], self.counts[target]
        parts: list[Parcel] = []
        new_counts = []
        at = 0
        for src, count in zip(self.sources[target], counts, strict=True):
            out = pushed.get(src) if src != _INJECTED else None
            if out is None:
                parts.extend(old[at : at + count])
                new_counts.append(count)
            elif self.single_hop[src]:
                parts.extend(out)
                new_counts.append(len(out))
            else:
                share = self.share[(src, target)]
                parts.extend(Parcel(p.tonnes_t * share, p.ppm, p.mix, p.entered_days) for p in out)
                new_counts.append(len(out))
            at += count
        self.parts[target], self.counts[target] = parts, new_counts
        return parts

    def advance(self, now_days: float) -> None:
        """Move every line one quiet day (what `_inject` and `_move` would do)."""
        #: Lines whose parcels out differ from the day before, with today's.
        pushed: dict[int, list[Parcel]] = {}
        #: Links and sinks some of whose parcels in come from such a line.
        fed_anew: set[Hop] = set()
        fifos, repeats, downstream = self.fifos, self.repeats, self.downstream
        shared, link_flow = self.shared, self.link_flow
        for link in self.order:
            again = link in fed_anew
            parts = self._rebuild(link, pushed) if again else self.parts[link]
            if link in shared:
                assert self.push_shared is not None
                out = self.push_shared(link, parts, now_days)
            else:
                repeat = repeats[link]
                if not again and repeat is not None and fifos[link].repeat(*repeat):
                    continue
                if not parts:  # nothing came in (`_move` passes it by): nothing goes on
                    pushed[link] = []
                    link_flow.pop(link, None)
                    repeats[link] = None
                    fed_anew.update(downstream[link])
                    continue
                out = fifos[link].push(parts, now_days)
            before = link_flow.get(link)
            link_flow[link] = out
            if link not in shared:
                repeats[link] = self._repeat(link)
            if before is not None and _same_crude(before, out):
                continue  # the lines and refineries below get what they got the day before
            pushed[link] = out
            fed_anew.update(downstream[link])
        if pushed:
            for sink in self.sinks:
                if sink in fed_anew:
                    self._rebuild(sink, pushed)
            self.swapped_out_t = sum(p.tonnes_t for p in self.parts.get(Sink.SWAP_HAND_IN, ()))


def _same_crude(before: list[Parcel], now: list[Parcel]) -> bool:
    """Whether parcels are the same crude and tonnes as before, parcel for parcel: all that a
    line, a refinery or a swap reads of what comes in (not when it entered the line above)."""
    if len(before) != len(now):
        return False
    for a, b in zip(before, now, strict=True):
        if a.tonnes_t != b.tonnes_t or a.ppm != b.ppm or a.mix is not b.mix:
            return False
    return True


class _NotSteady(Exception):
    """The day's moves cannot be told apart by source (`_LineClocks` is not used)."""


class NetworkStep:
    """The network's continuous state and the step that advances it."""

    def __init__(
        self,
        topology: Topology,
        fifos: list[PipelineFIFO | RailQueue],
        refineries: dict[str, Refinery],
        ports: dict[str, Tank],
    ):
        self.topology = topology
        self.fifos = fifos
        self.refineries = refineries
        self.ports = ports
        self.rail_links = [link for link in topology.links if link.kind == "rail"]
        self.rail_index = {link.index for link in self.rail_links}
        #: Contamination injected into the crude entering a link (disruptions), ppm.
        self.link_added_ppm: dict[int, float] = {}
        self.rail_into: dict[str, list[int]] = {}
        for link in self.rail_links:
            self.rail_into.setdefault(link.to_node, []).append(link.index)
        #: Lines, rail corridors and port tanks crude can reach each refinery from.
        self.upstream: dict[str, tuple[list[int], list[str]]] = {
            name: self._upstream(name) for name in refineries
        }
        #: Above this level each refinery refuses crude in the current step, ppm (inf: it
        #: takes everything in, unnoticed, during a detection delay).
        self._refuse_ppm: dict[str, float] = {}
        self._max_ppm = 0.0
        self._all_clean = False
        #: Whether contaminated crude may be in the lines (so their contents are read).
        self._watch_lines = False
        #: The plan and step length of the last quiet step, and their fixed figures.
        self._quiet: tuple[ExecutablePlan, float, QuietPlan] | None = None
        #: Per-line clocks of the quiet days of the current plan (None: none yet).
        self._steady: _LineClocks | None = None
        #: The last step's parcels into each link and refinery (read by `_line_clocks`).
        self._moved: dict[Hop, list[Parcel]] = {}
        #: Pipelines shared with third parties: their background flow moves every step.
        self.shared = [
            link.index
            for link in topology.links
            if link.kind == "pipeline" and link.third_party_t_per_day > 0
        ]
        #: Capacity factor in force on each link (the simulation's conditions' list).
        self.link_factor: list[float] = [1.0] * len(topology.links)
        #: Where each link's outflow went last: a shared line keeps pushing its shippers' crude
        #: out after they stop injecting, and it goes where theirs went.
        self._last_hops: dict[int, list[tuple[Hop, float]]] = {}
        #: Receipts each refinery could still take this step, t (shared lines only).
        self._room_left_t: dict[str, float] = {}
        #: Quarantine room each refinery has left this step after its planned refused receipts,
        #: t: only refineries with a limited quarantine that refuse crude now (shared lines only).
        #: Crude pushed out of a shared line that such a refinery will refuse must fit it.
        self._quarantine_left_t: dict[str, float] = {}
        #: (capacity factor, third parties' flow under it, t/day) by shared line.
        self._background_rate: dict[int, tuple[float, float]] = {}
        #: Third parties' tonnes into and out of the shared lines this step.
        self._third_party_t = [0.0, 0.0]
        #: The simulated crude pushed into each shared line this step, t.
        self._shared_in_t: dict[int, float] = {}

    def step(
        self,
        plan: ExecutablePlan,
        dt: float,
        now_days: float,
        quota_left_t: list[float] | None = None,
        contract_cap_t: list[float] | None = None,
    ) -> StepResult:
        """Advance the network by `dt` days from `now_days`; `quota_left_t[t]` is what transit
        condition t's monthly quota still allows (None: no quotas); `contract_cap_t[c]` is the
        most contract c may ship this step (None: no caps)."""
        self._steady = None  # a full step may change any line: quiet days start again
        # 0. Refineries: reverse pumping, contamination found, runs planned.
        events = self._start_refineries(plan, dt, now_days)
        volumes = [rate * dt for rate in plan.rates_t_per_day]
        # 1. Make-up never ships more than is owed; a transit quota stops its crude exactly
        #    when the month's tonnes are used up.
        scaled = contract_cap_t is not None and self._cut_to_caps(plan, volumes, contract_cap_t)
        if quota_left_t is not None:
            scaled = self._cut_to_quotas(plan, volumes, quota_left_t) or scaled
        # 2. Sources with tanks (ports) cannot send more than they hold.
        scaled = self._cut_to_port_stocks(plan, volumes) or scaled
        # 3. Trains due now unload first; refineries take no more than their tanks have room
        #    for, so trains that do not fit wait, and pipeline receipts are cut.
        rail_in, cut = self._cut_to_refinery_room(plan, volumes, dt, now_days)
        scaled = cut or scaled
        hop_shares = _hop_shares(plan.routes, volumes) if scaled else plan.hop_shares
        return self._move_and_deliver(
            plan, volumes, hop_shares, rail_in, events, scaled, dt, now_days
        )

    def _move_and_deliver(
        self,
        plan: ExecutablePlan,
        volumes: list[float],
        hop_shares: dict[int, list[tuple[Hop, float]]],
        rail_in: dict[str, list[tuple[int, Parcel]]],
        events: list[tuple[str, EventKind, str]],
        scaled: bool,
        dt: float,
        now_days: float,
    ) -> StepResult:
        """Stages 4 and 5 of `step` (and of `quiet_step`): the step's tonnes moved."""
        # 4. Inject at the sources and move through the lines, upstream first.
        inputs, port_drawn = self._inject(plan, volumes)
        self._third_party_t = [0.0, 0.0]
        self._shared_in_t = {}
        link_flow, rail_loaded = self._move(plan, inputs, hop_shares, dt, now_days)
        for trains in rail_in.values():
            for link, p in trains:
                link_flow.setdefault(link, []).append(p)  # a corridor's flow: what it unloaded
        result = StepResult(
            volumes,
            link_flow,
            {},
            {},
            {},
            events=events,
            scaled=scaled,
            rail_loaded=rail_loaded,
            port_drawn_t=port_drawn,
            swapped_out_t=sum(p.tonnes_t for p in inputs.get(Sink.SWAP_HAND_IN, ())),
            third_party_in_t=self._third_party_t[0],
            third_party_out_t=self._third_party_t[1],
            shared_in_t=self._shared_in_t,
        )
        # 5. Refineries refuse contaminated crude, receive the rest and run.
        self._deliver(inputs, rail_in, dt, now_days, result)
        self._moved = inputs
        return result

    def quiet(self, plan: ExecutablePlan) -> bool:
        """Whether the next step may be quiet: no contaminated crude anywhere it can reach (no
        route, disruption or port tank brings any, none is in the lines, no refinery has any
        in its tanks or quarantine or is on alert)."""
        return (
            plan.max_route_ppm == 0.0
            and not self.link_added_ppm
            and not self._watch_lines
            and not any(t.ppm > 0 for t in self.ports.values())
            and not any(r.needs_start_step for r in self.refineries.values())
        )

    def quiet_step(
        self,
        plan: ExecutablePlan,
        dt: float,
        now_days: float,
        quota_left_t: list[float] | None = None,
    ) -> StepResult | None:
        """`step` on a quiet day (`quiet(plan)` holds, no make-up caps), or None when the day is
        not quiet after all: a quota, a port's stock or a refinery's room would cut the plan,
        or a train due would be refused or wait. None leaves the state as the full step finds
        it.

        A quiet day ships the plan as planned, so its checks only compare the plan's fixed
        sums with what is left, and the stages that cannot act are skipped; everything that
        moves crude is the full step's own code, so the tonnes are the same to the last bit.
        """
        quiet = self._quiet
        if quiet is None or quiet[0] is not plan or quiet[1] != dt:
            names = list(self.refineries)
            quiet = (plan, dt, quiet_plan(plan, len(self.topology.transit), names, dt))
            self._quiet = quiet
        fixed = quiet[2]
        if not self._sources_quiet(fixed, quota_left_t):
            return None
        # 0. As `_start_refineries` on a clean network (idempotent: a full step after a None
        #    sets the same figures again).
        self._max_ppm = 0.0
        self._all_clean = True
        refuse_ppm = self._refuse_ppm
        refineries = self.refineries
        for name, refinery in refineries.items():
            refuses = refinery.refuses_contaminated(now_days)
            refuse_ppm[name] = refinery.limit_ppm if refuses else math.inf
            if refinery.plans:
                refinery.plan(self._expected_t_per_day(plan, name, refinery))
        # 3. Refineries take all that arrives, trains due first (nothing is refused); with
        #    shared lines, the room each has left is kept as `_cut_to_refinery_room` keeps it.
        if not self._room_for_all(fixed, dt, now_days):
            return None
        rail_in = self._unload_trains(now_days) if self.rail_links else {}
        # 4. and 5. as in `step`: no event, nothing scaled. Lines that only repeat
        #    yesterday's push are moved by their own clocks (`_LineClocks`).
        volumes = list(fixed.volumes)
        clocks = self._steady
        if clocks is not None and clocks.plan is plan and clocks.dt == dt:
            self._third_party_t = [0.0, 0.0]
            self._shared_in_t = {}
            clocks.advance(now_days)
            link_flow = dict(clocks.link_flow)
            for trains in rail_in.values():
                for link, p in trains:
                    link_flow.setdefault(link, []).append(p)  # what a corridor unloaded
            result = StepResult(
                volumes,
                link_flow,
                {},
                {},
                {},
                events=[],
                scaled=False,
                rail_loaded={},
                port_drawn_t={},
                swapped_out_t=clocks.swapped_out_t,
                third_party_in_t=self._third_party_t[0],
                third_party_out_t=self._third_party_t[1],
                shared_in_t=self._shared_in_t,
            )
            self._deliver(clocks.parts, rail_in, dt, now_days, result)
            return result
        result = self._move_and_deliver(
            plan, volumes, plan.hop_shares, rail_in, [], False, dt, now_days
        )
        self._steady = self._line_clocks(plan, dt, volumes, self._moved, result.link_flow)
        return result

    def _line_clocks(
        self,
        plan: ExecutablePlan,
        dt: float,
        volumes: list[float],
        inputs: dict[Hop, list[Parcel]],
        link_flow: dict[int, list[Parcel]],
    ) -> _LineClocks | None:
        """After a quiet day moved in full: per-line clocks for the next quiet days of the same
        plan, unless the plan loads rail, draws from port tanks, or leaves a shared line out."""
        carried = set(plan.link_order)
        if (
            plan.routes_by_port
            or any(link in self.rail_index for link in carried)
            # A shared line the plan sends nothing through moves after the rest (`_move`).
            or any(link not in carried for link in self.shared)
        ):
            return None
        fifos = {link: self._pipe(link) for link in plan.link_order}

        def push_shared(link: int, parts: list[Parcel], now: float) -> list[Parcel]:
            """What `_move` does with a shared line (the plan's hops, or its last ones)."""
            hops = plan.hop_shares.get(link) or self._last_hops.get(link)
            out = self._push_shared(link, parts, hops, plan.hop_shares, plan, dt, now)
            if hops is not None and self._last_hops.get(link) is not hops:
                self._last_hops[link] = hops
            return out

        try:
            return _LineClocks(
                plan, dt, volumes, fifos, inputs, link_flow, push_shared, frozenset(self.shared)
            )
        except _NotSteady:
            return None

    def _trains_due(self, now_days: float) -> dict[str, list[Parcel]]:
        """The trains `_unload_trains` would unload now, by refinery (a look, no change)."""
        due: dict[str, list[Parcel]] = {}
        limit = now_days + 1e-9
        for link in self.rail_links:
            for at, p in self._rail(link.index).queue:
                if at > limit:
                    break
                due.setdefault(link.to_node, []).append(p)
        return due

    def _unload_trains(self, now_days: float) -> dict[str, list[tuple[int, Parcel]]]:
        """Every train due now, by refinery (as stage 3 of `step` unloads them)."""
        rail_in: dict[str, list[tuple[int, Parcel]]] = {}
        for link in self.rail_links:
            due = self._rail(link.index).due(now_days)
            if due:
                rail_in.setdefault(link.to_node, []).extend((link.index, p) for p in due)
        return rail_in

    def _room_for_all(self, fixed: QuietPlan, dt: float, now_days: float) -> bool:
        """Whether every refinery accepts every train due and all its planned receipts, with
        the same sums as `_cut_to_refinery_room` (which would cut nothing); keeps the room
        left for the shared lines."""
        due = self._trains_due(now_days) if self.rail_links else {}
        room_left = self._room_left_t if self.shared else None
        refineries, refuse = self.refineries, self._refuse_ppm
        for name, want in fixed.refinery_want_t:
            refinery = refineries[name]
            trains = due.get(name, ())
            if want is None and not trains:
                if room_left is not None:
                    room_left[name] = refinery.receipt_limit_t(0.0, dt)
                continue
            planned = 0 if want is None else want  # `sum` of no routes is the integer 0
            rail_t = 0.0
            if trains:
                refuse_ppm = refuse[name]
                if any(p.ppm > refuse_ppm for p in trains):
                    return False  # crude to refuse: not a quiet day
                rail_t = sum(p.tonnes_t for p in trains if p.ppm <= refuse_ppm)
            limit = refinery.receipt_limit_t(planned + rail_t, dt)
            if trains and rail_t > limit:
                return False  # trains that do not fit wait: not a quiet day
            limit -= rail_t
            if planned > limit:
                return False
            if room_left is not None:
                room_left[name] = max(0.0, limit - planned)
        return True

    def _sources_quiet(self, fixed: QuietPlan, quota_left_t: list[float] | None) -> bool:
        """Whether no quota and no port's stock cuts the plan (the checks of stages 1 and 2)."""
        if quota_left_t is not None:
            for t, want in fixed.quota_want_t:
                if want > quota_left_t[t]:
                    return False
        ports = self.ports
        return not any(want > ports[port].stock_t for port, want in fixed.port_want_t)

    def _upstream(self, refinery: str) -> tuple[list[int], list[str]]:
        """Links (and port tanks) from which crude can flow to `refinery`, in link order."""
        links: set[int] = set()
        nodes, stack = {refinery}, [refinery]
        while stack:
            node = stack.pop()
            for i in self.topology.in_links[node]:
                links.add(i)
                upstream = self.topology.links[i].from_node
                if upstream not in nodes:
                    nodes.add(upstream)
                    stack.append(upstream)
        return sorted(links), [n for n in self.ports if n in nodes]

    def _upstream_clean(self, name: str, limit_ppm: float) -> bool:
        """Whether no line, train or port tank that can bring crude to `name` holds crude
        above `limit_ppm`."""
        links, ports = self.upstream[name]
        for link in links:
            fifo = self.fifos[link]
            if isinstance(fifo, RailQueue):
                if any(p.ppm > limit_ppm for _, p in fifo.queue):
                    return False
            elif any(p.ppm > limit_ppm for p in fifo.queue):
                return False
        return all(self.ports[port].ppm <= limit_ppm for port in ports)

    def _start_refineries(
        self, plan: ExecutablePlan, dt: float, now_days: float
    ) -> list[tuple[str, EventKind, str]]:
        events: list[tuple[str, EventKind, str]] = []
        # Highest contaminant level anywhere in the lines or going into them. Lines only get
        # contaminated crude from routes, disruptions or port tanks that carry it, so a clean
        # network skips reading the lines, and every per-route look below.
        entering = plan.max_route_ppm
        if self.link_added_ppm:
            entering += sum(self.link_added_ppm.values())
        dirty_port = bool(self.ports) and any(t.ppm > 0 for t in self.ports.values())
        if entering > 0 or dirty_port:
            self._watch_lines = True
        if self._watch_lines:
            in_lines = max(
                (p.ppm for f in self.fifos if isinstance(f, PipelineFIFO) for p in f.queue),
                default=0.0,
            )
            self._watch_lines = entering > 0 or in_lines > 0
            self._max_ppm = max(entering, in_lines)
        else:
            self._max_ppm = 0.0
        # Every parcel this step can move (lines, routes, ports, disruptions) is at 0 ppm.
        self._all_clean = self._max_ppm == 0.0 and not dirty_port
        refuse_ppm = self._refuse_ppm
        for name, refinery in self.refineries.items():
            if refinery.needs_start_step:
                if refinery.alert and self._upstream_clean(name, refinery.limit_ppm):
                    refinery.end_alert()
                for kind, detail in refinery.start_step(now_days, dt):
                    events.append((name, kind, detail))
            refuses = refinery.refuses_contaminated(now_days)
            refuse_ppm[name] = refinery.limit_ppm if refuses else math.inf
            if refinery.plans:
                refinery.plan(self._expected_t_per_day(plan, name, refinery))
        return events

    def _expected_t_per_day(self, plan: ExecutablePlan, name: str, refinery: Refinery) -> float:
        """Arrivals a refinery expects over the look-ahead from the plan in force, t/day: the
        planned rates of routes from sources without tanks, less the crude it knows it will
        refuse at the head of its lines (and, when its quarantine cannot take all of that over
        the look-ahead, less the clean crude that cannot pass it in time); routes from ports no
        more than the port's stock (shared by planned rate) allows; and crude already on rail
        to it."""
        lookahead_days = refinery.lookahead_days
        rate = plan.inflow_t_per_day.get(name, 0.0)
        refuse_ppm = self._refuse_ppm[name]
        if self._max_ppm > refuse_ppm:
            refused = dirty_rate = 0.0
            for i in plan.line_routes_by_refinery.get(name, ()):
                dirty = self._refused_ahead_t(plan, i, lookahead_days, refuse_ppm)
                if dirty > 0:
                    refused += dirty
                    dirty_rate += plan.rates_t_per_day[i]
            rate -= refused / lookahead_days
            room = refinery.quarantine_room_t()
            if refused > room:
                # The lines run at their planned rate until the quarantine is full, then at the
                # reverse-pumping rate: the clean crude behind arrives only after that.
                pump = refinery.spec.reverse_pumping_t_per_day
                stalled = (refused - room) / pump if pump > 0 else math.inf
                clean_days = max(0.0, lookahead_days - room / dirty_rate - stalled)
                behind = dirty_rate * lookahead_days - refused
                rate -= max(0.0, behind - dirty_rate * clean_days) / lookahead_days
        port_routes = plan.port_routes_by_refinery.get(name)
        if port_routes:
            rates = plan.rates_t_per_day
            for i in port_routes:
                port = plan.routes[i].source
                drawn = sum(rates[j] for j in plan.routes_by_port[port])
                stock = self.ports[port].stock_t * rates[i] / drawn if drawn > 0 else 0.0
                rate += min(rates[i], stock / lookahead_days)
        for link in self.rail_into.get(name, ()):
            rate += self.fifos[link].content_t() / lookahead_days
        return rate

    def _refused_ahead_t(
        self, plan: ExecutablePlan, i: int, days: float, refuse_ppm: float
    ) -> float:
        """Of the tonnes a route will deliver over the next `days` at its planned rate, those
        above `refuse_ppm`, t: read from the lines' contents, the last line first, each line's
        crude shared between the routes through it by planned rate."""
        route = plan.routes[i]
        rate = plan.rates_t_per_day[i]
        links = route.links
        inflow_ppm = route.ppm + sum(self.link_added_ppm.get(link, 0.0) for link in links)
        if rate <= 0 or (
            inflow_ppm <= refuse_ppm
            and not any(p.ppm > refuse_ppm for link in links for p in self._pipe(link).queue)
        ):
            return 0.0
        need, refused = rate * days, 0.0
        for link in reversed(links):
            share = rate / plan.link_rate_t_per_day[link]
            line = self._pipe(link)
            take = min(need / share, line.content_t())
            refused += share * line.dirty_in_head(take, refuse_ppm, math.inf)
            need -= share * take
            if need <= 0:
                return refused
        return refused + (need if inflow_ppm > refuse_ppm else 0.0)

    def _cut_to_caps(self, plan: ExecutablePlan, volumes: list[float], caps: list[float]) -> bool:
        """Scale each contract's routes to its cap for the step; True if any was cut."""
        scaled = False
        for c, idx in plan.routes_by_contract.items():
            cap = caps[c]
            want = sum(volumes[i] for i in idx)
            if want > cap:
                scaled = True
                for i in idx:
                    volumes[i] *= max(0.0, cap) / want
        return scaled

    def _cut_to_quotas(
        self, plan: ExecutablePlan, volumes: list[float], quota_left_t: list[float]
    ) -> bool:
        """Scale the routes counted against each quota to what it still allows; True if cut."""
        scaled = False
        for t_index, left in enumerate(quota_left_t):
            counted = [
                (i, n)
                for i, route in enumerate(plan.routes)
                for t, n in route.quota_hits
                if t == t_index and volumes[i] > 0
            ]
            want = sum(volumes[i] * n for i, n in counted)
            if want > left:
                scaled = True
                for i, _ in counted:
                    volumes[i] *= max(0.0, left) / want
        return scaled

    def _cut_to_port_stocks(self, plan: ExecutablePlan, volumes: list[float]) -> bool:
        scaled = False
        for port, idx in plan.routes_by_port.items():
            stock = self.ports[port].stock_t
            want = sum(volumes[i] for i in idx)
            if want > stock:
                scaled = True
                for i in idx:
                    volumes[i] *= stock / want
        return scaled

    def _cut_to_refinery_room(  # noqa: C901 — trains and pipelines in one pass: the hot path
        self, plan: ExecutablePlan, volumes: list[float], dt: float, now_days: float
    ) -> tuple[dict[str, list[tuple[int, Parcel]]], bool]:
        """Trains due at each refinery (those that fit) and whether pipeline receipts were cut."""
        rail_in: dict[str, list[tuple[int, Parcel]]] = {}
        for link in self.rail_links:
            due = self._rail(link.index).due(now_days)
            if due:
                rail_in.setdefault(link.to_node, []).extend((link.index, p) for p in due)
        scaled = False
        shared = bool(self.shared)
        if shared and self._quarantine_left_t:
            self._quarantine_left_t = {}
        for name, refinery in self.refineries.items():
            idx = plan.routes_by_refinery.get(name, ())
            trains = rail_in.get(name, ())
            if not idx and not trains:
                if shared:
                    self._room_left_t[name] = refinery.receipt_limit_t(0.0, dt)
                    if refinery.quarantine_limited and self._refuse_ppm[name] < math.inf:
                        self._quarantine_left_t[name] = refinery.quarantine_room_t()
                continue
            want = sum(volumes[i] for i in idx)
            refuse_ppm = self._refuse_ppm[name]
            # Crude the refinery will refuse takes no room in its tanks, but room in quarantine.
            quarantine_room = math.inf
            if refinery.quarantine_limited and refuse_ppm < math.inf:
                quarantine_room = refinery.quarantine_room_t()
            rail_t = refused_rail_t = 0.0
            if trains:
                rail_t = sum(p.tonnes_t for _, p in trains if p.ppm <= refuse_ppm)
                refused_rail_t = sum(p.tonnes_t for _, p in trains if p.ppm > refuse_ppm)
            limit = refinery.receipt_limit_t(want + rail_t, dt)
            if trains and (rail_t > limit or refused_rail_t > quarantine_room):
                rail_in[name] = self._unload_what_fits(
                    list(trains), max(0.0, limit), quarantine_room, refuse_ppm, now_days
                )
                rail_t = sum(p.tonnes_t for _, p in rail_in[name] if p.ppm <= refuse_ppm)
                refused_rail_t = sum(p.tonnes_t for _, p in rail_in[name] if p.ppm > refuse_ppm)
            limit -= rail_t
            quarantine_room -= refused_rail_t
            if quarantine_room < math.inf:
                # Lines bringing crude to be refused deliver no more than the quarantine can
                # take: the rest stays in them (and holds back what is behind it).
                dirty = [i for i in idx if self._may_refuse(plan.routes[i], refuse_ppm)]
                if dirty and self._cut_to_quarantine(
                    plan, volumes, dirty, refuse_ppm, max(0.0, quarantine_room)
                ):
                    scaled = True
                    want = sum(volumes[i] for i in idx)
            if want > limit:
                scale = self._scale_to_room(
                    plan, volumes, list(idx), want, max(0.0, limit), refuse_ppm
                )
                if scale < 1.0:
                    scaled = True
                    for i in idx:
                        volumes[i] *= scale
            if shared:
                self._room_left_t[name] = max(0.0, limit - sum(volumes[i] for i in idx))
                if quarantine_room < math.inf:
                    # What the planned routes (as cut) will have refused is already spoken for.
                    dirty = [i for i in idx if self._may_refuse(plan.routes[i], refuse_ppm)]
                    refused = (
                        self._split_at_heads(plan, volumes, set(), 1.0, dirty, refuse_ppm)[1]
                        if dirty
                        else 0.0
                    )
                    self._quarantine_left_t[name] = max(0.0, quarantine_room - refused)
        return rail_in, scaled

    def _inject(
        self, plan: ExecutablePlan, volumes: list[float]
    ) -> tuple[dict[Hop, list[Parcel]], dict[str, float]]:
        """Parcels entering each first link: at sources without tanks, and drawn from ports."""
        inputs: dict[Hop, list[Parcel]] = {}
        for inj in plan.injections:
            idx = inj.routes
            v = volumes[idx[0]] if len(idx) == 1 else sum(volumes[i] for i in idx)
            if v > 0:
                inputs.setdefault(inj.link, []).append(Parcel(v, inj.ppm, inj.mix))
        port_drawn: dict[str, float] = {}
        for port, idx in plan.routes_by_port.items():
            parcel = self.ports[port].draw(sum(volumes[i] for i in idx))
            port_drawn[port] = parcel.tonnes_t
            for i in idx:
                if volumes[i] > 0:
                    link = plan.routes[i].links[0]
                    inputs.setdefault(link, []).append(Parcel(volumes[i], parcel.ppm, parcel.mix))
        return inputs, port_drawn

    def _move(
        self,
        plan: ExecutablePlan,
        inputs: dict[Hop, list[Parcel]],
        hop_shares: dict[int, list[tuple[Hop, float]]],
        dt: float,
        now_days: float,
    ) -> tuple[dict[int, list[Parcel]], dict[int, float]]:
        """Push each link's inputs through it, upstream first, handing its outflow on."""
        link_flow: dict[int, list[Parcel]] = {}
        rail_loaded: dict[int, float] = {}
        fifos = self.fifos
        added = self.link_added_ppm
        rail = self.rail_index
        shared = self.shared
        last_hops = self._last_hops
        get_input = inputs.get
        for link in plan.link_order:
            parts = get_input(link)
            if not parts:
                if not shared or link not in shared:
                    continue
                parts = []
            if added and added.get(link):
                add = added[link]
                parts = [Parcel(p.tonnes_t, p.ppm + add, p.mix, p.entered_days) for p in parts]
            if rail and link in rail:  # loaded now, unloaded `transit_days` later
                fifos[link].push(parts, now_days)
                rail_loaded[link] = sum(p.tonnes_t for p in parts)
                continue
            hops = hop_shares.get(link) or plan.hop_shares.get(link) or last_hops.get(link)
            if shared and link in shared:
                out = self._push_shared(link, parts, hops, hop_shares, plan, dt, now_days)
            else:
                out = fifos[link].push(parts, now_days)
            link_flow[link] = out
            if hops is None:  # nothing left the line (a shared line its shippers never used)
                continue
            if shared and last_hops.get(link) is not hops:
                last_hops[link] = hops
            if len(hops) == 1:  # the parcels left the line: hand them on as they are
                hop = hops[0][0]
                target = get_input(hop)
                if target is None:
                    inputs[hop] = out.copy()
                else:
                    target.extend(out)
                continue
            self._hand_on(out, hops, inputs)
        if shared:
            self._move_unplanned(plan, inputs, link_flow, dt, now_days)
        return link_flow, rail_loaded

    @staticmethod
    def _hand_on(
        out: list[Parcel], hops: list[tuple[Hop, float]], inputs: dict[Hop, list[Parcel]]
    ) -> None:
        """Parcels that left a line go on to its next links or refineries, by share."""
        if len(hops) == 1:  # the parcels left the line: hand them on as they are
            hop = hops[0][0]
            target = inputs.get(hop)
            if target is None:
                inputs[hop] = out.copy()
            else:
                target.extend(out)
            return
        for hop, share in hops:
            target = inputs.setdefault(hop, [])
            for p in out:
                target.append(Parcel(p.tonnes_t * share, p.ppm, p.mix, p.entered_days))

    def _move_unplanned(
        self,
        plan: ExecutablePlan,
        inputs: dict[Hop, list[Parcel]],
        link_flow: dict[int, list[Parcel]],
        dt: float,
        now_days: float,
    ) -> None:
        """Shared lines the plan sends nothing through still carry the third parties' flow,
        which pushes the simulated shippers' crude out of them; it goes where theirs last went,
        through lines that then move only it."""
        pending = [link for link in self.shared if link not in plan.link_order]
        # Only this crude: a planned line's own inputs of the step have already gone through.
        fresh: dict[Hop, list[Parcel]] = {}
        while pending:
            link = pending.pop(0)
            hops = self._last_hops.get(link)
            parts = fresh.pop(link, [])
            if link in self.shared:
                out = self._push_shared(link, parts, hops, {}, plan, dt, now_days)
            elif link in self.rail_index:
                self.fifos[link].push(parts, now_days)
                continue
            else:
                out = self.fifos[link].push(parts, now_days)
            link_flow.setdefault(link, []).extend(out)
            if hops is None or not out:
                continue
            self._hand_on(out, hops, fresh)
            pending.extend(h for h, _ in hops if isinstance(h, int) and h not in pending)
        for hop, parcels in fresh.items():  # refineries and swaps
            inputs.setdefault(hop, []).extend(parcels)

    def _push_shared(
        self,
        link: int,
        parts: list[Parcel],
        hops: list[tuple[Hop, float]] | None,
        hop_shares: dict[int, list[tuple[Hop, float]]],
        plan: ExecutablePlan,
        dt: float,
        now_days: float,
    ) -> list[Parcel]:
        """Push a shared line: the simulated shippers' parts with the third parties' flow of
        the step (by the line's sharing rule under its derate). What of the shippers' crude
        leaves beyond what they put in (their earlier crude pushed out by the third parties'
        flow) goes on only as far as the refineries downstream can take it this step; the
        rest stays in the line, which then moves that much less third-party crude."""
        fifo = self._pipe(link)
        factor = self.link_factor[link]
        rate = self._background_rate.get(link)
        if rate is None or rate[0] != factor:  # worked out again only when a derate changes
            rate = (factor, self.topology.links[link].third_party_flow_t_per_day(factor))
            self._background_rate[link] = rate
        background_t = rate[1] * dt
        own_in = parts[0].tonnes_t if len(parts) == 1 else sum(p.tonnes_t for p in parts)
        if not fifo.unsplit and fifo.own_in_head(own_in + background_t) > own_in + 1e-9:
            room = 0.0
            if hops is not None:
                # The highest level the crude pushed out may have (None: no quarantine bounds).
                ppm_out = None
                if self._quarantine_left_t:
                    inflow_ppm = max((p.ppm for p in parts), default=0.0)
                    ppm_out = fifo.own_max_ppm_in_head(own_in + background_t, inflow_ppm)
                room = self._room_through(hops, hop_shares, plan, ppm_out)
            most = fifo.push_until_own(own_in + room)
            background_t = max(0.0, min(background_t, most - own_in))
        ppm = self.link_added_ppm.get(link, 0.0) if self.link_added_ppm else 0.0
        assert fifo.background_mix is not None
        background = Parcel(background_t, ppm, fifo.background_mix, now_days)
        out, third_out = fifo.push_shared(parts, background, now_days)
        self._third_party_t[0] += background_t
        self._shared_in_t[link] = self._shared_in_t.get(link, 0.0) + own_in
        self._third_party_t[1] += third_out
        extra = (out[0].tonnes_t if len(out) == 1 else sum(p.tonnes_t for p in out)) - own_in
        if extra > 1e-9 and hops is not None:
            ppm_left = max((p.ppm for p in out), default=0.0) if self._quarantine_left_t else None
            self._use_room(extra, hops, hop_shares, plan, ppm_left)
        return out

    def _hops(
        self, link: int, hop_shares: dict[int, list[tuple[Hop, float]]], plan: ExecutablePlan
    ) -> list[tuple[Hop, float]] | None:
        return hop_shares.get(link) or plan.hop_shares.get(link) or self._last_hops.get(link)

    def _room_through(
        self,
        hops: list[tuple[Hop, float]],
        hop_shares: dict[int, list[tuple[Hop, float]]],
        plan: ExecutablePlan,
        ppm: float | None = None,
    ) -> float:
        """Most tonnes that can go on through `hops` this step: full lines pass them on the
        same step, so the refineries at the end bound them (rail loads and swaps do not).
        `ppm` is the highest level of the crude going on (None: not looked at); a refinery that
        may refuse what arrives takes no more than its quarantine has room for."""
        most = math.inf
        for hop, share in hops:
            if share <= 0:
                continue
            if isinstance(hop, str):
                room = self._room_left_t.get(hop, 0.0)
                if ppm is not None and self._may_quarantine(hop, ppm):
                    room = min(room, self._quarantine_left_t[hop])
                most = min(most, room / share)
            elif isinstance(hop, int) and hop not in self.rail_index:
                nxt = self._hops(hop, hop_shares, plan)
                room = (
                    self._room_through(nxt, hop_shares, plan, self._ppm_after(hop, ppm))
                    if nxt is not None
                    else 0.0
                )
                most = min(most, room / share)
        return most

    def _ppm_after(self, link: int, ppm: float | None) -> float | None:
        """The highest level crude may have as it leaves pipeline `link` when crude of at most
        `ppm` goes in: what leaves a full line is what was at its head, so any of its crude
        (None stays None: levels are not looked at)."""
        if ppm is None:
            return None
        added = self.link_added_ppm.get(link, 0.0) if self.link_added_ppm else 0.0
        return max(ppm + added, max((p.ppm for p in self._pipe(link).queue), default=0.0))

    def _may_quarantine(self, name: str, ppm: float) -> bool:
        """Whether refinery `name` refuses crude of `ppm` into a limited quarantine now."""
        return name in self._quarantine_left_t and ppm > self._refuse_ppm[name]

    def _use_room(
        self,
        tonnes_t: float,
        hops: list[tuple[Hop, float]],
        hop_shares: dict[int, list[tuple[Hop, float]]],
        plan: ExecutablePlan,
        ppm: float | None = None,
    ) -> None:
        """Take `tonnes_t` going on through `hops` off the refineries' room left (and off the
        quarantine room of those that may refuse crude of `ppm`, as `_room_through`)."""
        for hop, share in hops:
            if isinstance(hop, str):
                left = self._room_left_t.get(hop, 0.0)
                self._room_left_t[hop] = max(0.0, left - tonnes_t * share)
                if ppm is not None and self._may_quarantine(hop, ppm):
                    left = self._quarantine_left_t[hop]
                    self._quarantine_left_t[hop] = max(0.0, left - tonnes_t * share)
            elif isinstance(hop, int) and hop not in self.rail_index:
                nxt = self._hops(hop, hop_shares, plan)
                if nxt is not None:
                    ppm_next = self._ppm_after(hop, ppm)
                    self._use_room(tonnes_t * share, nxt, hop_shares, plan, ppm_next)

    def _deliver(
        self,
        inputs: dict[Hop, list[Parcel]],
        rail_in: dict[str, list[tuple[int, Parcel]]],
        dt: float,
        now_days: float,
        result: StepResult,
    ) -> None:
        """Each refinery refuses crude above its contaminant limit (or, during a detection
        delay, takes it in unnoticed), takes the rest in and runs."""
        refuse = self._refuse_ppm
        clean = self._all_clean
        received_by, quarantined_by, runs_by = result.received, result.quarantined, result.runs
        for name, refinery in self.refineries.items():
            rejected, dirty = 0.0, 0.0
            limit_ppm = refinery.limit_ppm
            refuse_ppm = refuse[name]
            arriving = inputs.get(name, [])
            if rail_in and name in rail_in:
                arriving = [*arriving, *(p for _, p in rail_in[name])]
            if clean and not rail_in:
                # Every parcel is at 0 ppm (levels are ≥ 0): all is accepted, none is dirty.
                accepted = arriving
            else:
                accepted = []
                for p in arriving:
                    if p.ppm > refuse_ppm:
                        rejected += p.tonnes_t
                        continue
                    accepted.append(p)
                    if p.ppm > limit_ppm:
                        dirty += p.tonnes_t
            if rejected > 0:
                refinery.quarantine(rejected)
            if dirty > 0:
                refinery.take_in_contaminated(dirty, now_days)
            received, ran, event = refinery.take_in_and_run(accepted, dt)
            if event is not None:
                result.events.append((name, event, ""))
            received_by[name] = received
            quarantined_by[name] = rejected
            runs_by[name] = ran

    def _rail(self, link: int) -> RailQueue:
        fifo = self.fifos[link]
        assert isinstance(fifo, RailQueue)
        return fifo

    def _pipe(self, link: int) -> PipelineFIFO:
        fifo = self.fifos[link]
        assert isinstance(fifo, PipelineFIFO)
        return fifo

    def _may_refuse(self, route: RoutePlan, refuse_ppm: float) -> bool:
        """Whether a route may bring crude above `refuse_ppm` this step: its crude as it enters
        the route is above it, or the head of its last line holds such crude."""
        added = self.link_added_ppm
        inflow_ppm = route.ppm + (sum(added.get(link, 0.0) for link in route.links) if added else 0)
        return inflow_ppm > refuse_ppm or (
            route.links[-1] not in self.rail_index
            and any(p.ppm > refuse_ppm for p in self._pipe(route.links[-1]).queue)
        )

    def _split_at_heads(
        self,
        plan: ExecutablePlan,
        volumes: list[float],
        scaled: set[int],
        share: float,
        measured: list[int],
        refuse_ppm: float,
    ) -> tuple[float, float]:
        """(accepted, refused) tonnes the `measured` routes deliver when the `scaled` routes ship
        `share` of their volumes: what leaves the head of each one's last line above
        `refuse_ppm` is refused, shared between the routes through that line by volume."""
        routes = plan.routes
        through: dict[int, float] = {}
        for i, r in enumerate(routes):
            v = volumes[i] * (share if i in scaled else 1.0)
            for link in r.links:
                through[link] = through.get(link, 0.0) + v
        accepted = refused = 0.0
        for i in measured:
            last = routes[i].links[-1]
            v = volumes[i] * (share if i in scaled else 1.0)
            if last in self.rail_index or through[last] <= 0:
                accepted += v
                continue
            inflow_ppm = routes[i].ppm + sum(
                self.link_added_ppm.get(link, 0.0) for link in routes[i].links
            )
            dirty = self._pipe(last).dirty_in_head(through[last], refuse_ppm, inflow_ppm)
            accepted += v * (1.0 - dirty / through[last])
            refused += v * dirty / through[last]
        return accepted, refused

    def _cut_to_quarantine(
        self,
        plan: ExecutablePlan,
        volumes: list[float],
        dirty: list[int],
        refuse_ppm: float,
        quarantine_room_t: float,
    ) -> bool:
        """Scale the routes that may bring refused crude so that it fits the quarantine's room
        (bisection: refused tonnes grow with the share shipped); True if cut."""
        scaled = set(dirty)

        def fits(share: float) -> bool:
            refused = self._split_at_heads(plan, volumes, scaled, share, dirty, refuse_ppm)[1]
            return refused <= quarantine_room_t

        if fits(1.0):
            return False
        low, high = 0.0, 1.0
        for _ in range(40):
            mid = (low + high) / 2
            if fits(mid):
                low = mid
            else:
                high = mid
        for i in dirty:
            volumes[i] *= low
        return True

    def _scale_to_room(
        self,
        plan: ExecutablePlan,
        volumes: list[float],
        idx: list[int],
        want_t: float,
        room_t: float,
        refuse_ppm: float,
    ) -> float:
        """Share of a refinery's planned receipts to ship so that what it accepts fits its room.

        Usually all that arrives is accepted, and the share is room ÷ planned. When the crude at
        the head of its lines is above the level it refuses, the share is found by bisection on
        the crude that would be accepted, so refused crude takes no room.
        """
        plain = room_t / want_t
        # The usual case: nothing dirty in the lines that end here, nor going into them.
        if not any(self._may_refuse(plan.routes[i], refuse_ppm) for i in idx):
            return plain
        idx_set = set(idx)

        def accepted(share: float) -> float:
            return self._split_at_heads(plan, volumes, idx_set, share, idx, refuse_ppm)[0]

        if accepted(1.0) >= want_t - 1e-9:  # nothing to refuse: the plain share
            return plain
        if accepted(1.0) <= room_t:
            return 1.0
        low, high = 0.0, 1.0
        for _ in range(40):
            mid = (low + high) / 2
            if accepted(mid) <= room_t:
                low = mid
            else:
                high = mid
        return low

    def _unload_what_fits(
        self,
        trains: list[tuple[int, Parcel]],
        room_t: float,
        quarantine_room_t: float,
        refuse_ppm: float,
        now_days: float,
    ) -> list[tuple[int, Parcel]]:
        """Unload trains in order, what is accepted up to `room_t` and what is refused up to
        `quarantine_room_t`; the rest wait on their own corridors."""
        unloaded = []
        waiting: dict[int, list[Parcel]] = {}
        for link, p in trains:
            refused = p.ppm > refuse_ppm
            take = min(p.tonnes_t, quarantine_room_t if refused else room_t)
            if take > 0:
                unloaded.append((link, Parcel(take, p.ppm, p.mix, p.entered_days)))
                if refused:
                    quarantine_room_t -= take
                else:
                    room_t -= take
            if p.tonnes_t - take > 0:
                rest = Parcel(p.tonnes_t - take, p.ppm, p.mix, p.entered_days)
                waiting.setdefault(link, []).append(rest)
        for link, parcels in waiting.items():
            self._rail(link).hold(parcels, now_days)
        return unloaded

    def linefill_t(self) -> float:
        return sum(f.content_t() for f in self.fifos)
