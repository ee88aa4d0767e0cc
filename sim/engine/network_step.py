"""The daily network step: crude moves along the planned routes, in one fixed order.

`NetworkStep.step(dt)` is deterministic: it reads the plan and the state and nothing else (no
clock, no random numbers, no files), and the order of every loop is fixed by the scenario's
order of links, contracts and refineries.
"""

from __future__ import annotations

from collections import defaultdict
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
    groups: dict[tuple[int, float, int], Injection] = {}
    for i, r in enumerate(routes):
        by_refinery.setdefault(r.destination, []).append(i)
        c = topology.contracts[r.contract]
        if r.source in topology.ports:
            by_port.setdefault(r.source, []).append(i)
        else:
            mix = topology.contract_mix[c.index]
            ppm = c.contaminant_ppm + added_ppm[c.index]
            key = (r.links[0], ppm, id(mix))
            groups.setdefault(key, Injection(r.links[0], ppm, mix, [])).routes.append(i)
        if r.swap_split is not None:  # the same tonnes handed out, clean, of another origin
            link, mix = r.links[r.swap_split], topology.swap_mix[c.index]
            groups.setdefault((link, 0.0, id(mix)), Injection(link, 0.0, mix, [])).routes.append(i)
    return ExecutablePlan(
        plan=plan,
        routes=routes,
        rates_t_per_day=rates,
        link_order=_link_order(routes),
        routes_by_port=by_port,
        routes_by_refinery=by_refinery,
        injections=list(groups.values()),
        hop_shares=_hop_shares(routes, rates),
    )


@dataclass
class StepResult:
    """What one step moved, t (all over the step)."""

    shipped_by_route: list[float]
    link_flow: dict[int, list[Parcel]]
    received: dict[str, float]
    quarantined: dict[str, float]
    runs: dict[str, Parcel]
    #: (refinery, what happened to its crude unit).
    events: list[tuple[str, EventKind]] = field(default_factory=list)
    #: False when every route shipped exactly its planned rate × step.
    scaled: bool = False
    #: Tonnes loaded onto each rail corridor this step.
    rail_loaded: dict[int, float] = field(default_factory=dict)
    #: Tonnes drawn from each port's tanks this step.
    port_drawn_t: dict[str, float] = field(default_factory=dict)
    #: Tonnes handed in under swaps this step (they leave the simulated network).
    swapped_out_t: float = 0.0


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

    def step(
        self,
        plan: ExecutablePlan,
        dt: float,
        now_days: float,
        quota_left_t: list[float] | None = None,
    ) -> StepResult:
        """Advance the network by `dt` days from `now_days`; `quota_left_t[t]` is what transit
        condition t's monthly quota still allows (None: no quotas)."""
        volumes = [rate * dt for rate in plan.rates_t_per_day]
        # 1. A transit quota stops its crude exactly when the month's tonnes are used up.
        scaled = quota_left_t is not None and self._cut_to_quotas(plan, volumes, quota_left_t)
        # 2. Sources with tanks (ports) cannot send more than they hold.
        scaled = self._cut_to_port_stocks(plan, volumes) or scaled
        # 3. Trains due now unload first; refineries take no more than their tanks have room
        #    for, so trains that do not fit wait, and pipeline receipts are cut.
        rail_in, cut = self._cut_to_refinery_room(plan, volumes, dt, now_days)
        scaled = cut or scaled
        # 4. Inject at the sources and move through the lines, upstream first.
        hop_shares = _hop_shares(plan.routes, volumes) if scaled else plan.hop_shares
        inputs, port_drawn = self._inject(plan, volumes)
        link_flow, rail_loaded = self._move(plan, inputs, hop_shares, now_days)
        for trains in rail_in.values():
            for link, p in trains:
                link_flow.setdefault(link, []).append(p)  # a corridor's flow: what it unloaded
        result = StepResult(
            volumes,
            link_flow,
            {},
            {},
            {},
            scaled=scaled,
            rail_loaded=rail_loaded,
            port_drawn_t=port_drawn,
            swapped_out_t=sum(p.tonnes_t for p in inputs.get(Sink.SWAP_HAND_IN, ())),
        )
        # 5. Refineries refuse contaminated crude, receive the rest and run.
        self._deliver(inputs, rail_in, dt, result)
        return result

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

    def _cut_to_refinery_room(
        self, plan: ExecutablePlan, volumes: list[float], dt: float, now_days: float
    ) -> tuple[dict[str, list[tuple[int, Parcel]]], bool]:
        """Trains due at each refinery (those that fit) and whether pipeline receipts were cut."""
        rail_in: dict[str, list[tuple[int, Parcel]]] = {}
        for link in self.rail_links:
            due = self._rail(link.index).due(now_days)
            if due:
                rail_in.setdefault(link.to_node, []).extend((link.index, p) for p in due)
        scaled = False
        for name, refinery in self.refineries.items():
            idx = plan.routes_by_refinery.get(name, ())
            trains = rail_in.get(name, ())
            if not idx and not trains:
                continue
            want = sum(volumes[i] for i in idx)
            limit_ppm = refinery.spec.contaminant_limit_ppm
            # Crude the refinery will refuse takes no room in its tanks.
            rail_t = sum(p.tonnes_t for _, p in trains if p.ppm <= limit_ppm)
            limit = refinery.receipt_limit_t(want + rail_t, dt)
            if rail_t > limit:
                rail_in[name] = self._unload_what_fits(list(trains), max(0.0, limit), now_days)
                limit = 0.0
            else:
                limit -= rail_t
            if want > limit:
                scale = self._scale_to_room(
                    plan, volumes, list(idx), want, max(0.0, limit), limit_ppm
                )
                if scale < 1.0:
                    scaled = True
                    for i in idx:
                        volumes[i] *= scale
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
        now_days: float,
    ) -> tuple[dict[int, list[Parcel]], dict[int, float]]:
        """Push each link's inputs through it, upstream first, handing its outflow on."""
        link_flow: dict[int, list[Parcel]] = {}
        rail_loaded: dict[int, float] = {}
        fifos = self.fifos
        for link in plan.link_order:
            parts = inputs.get(link)
            if not parts:
                continue
            if self.link_added_ppm.get(link):
                add = self.link_added_ppm[link]
                parts = [Parcel(p.tonnes_t, p.ppm + add, p.mix, p.entered_days) for p in parts]
            out = fifos[link].push(parts, now_days)
            if link in self.rail_index:  # loaded now, unloaded `transit_days` later
                rail_loaded[link] = sum(p.tonnes_t for p in parts)
                continue
            link_flow[link] = out
            hops = hop_shares[link]
            if len(hops) == 1:  # the parcels left the line: hand them on as they are
                inputs.setdefault(hops[0][0], []).extend(out)
                continue
            for hop, share in hops:
                target = inputs.setdefault(hop, [])
                for p in out:
                    target.append(Parcel(p.tonnes_t * share, p.ppm, p.mix, p.entered_days))
        return link_flow, rail_loaded

    def _deliver(
        self,
        inputs: dict[Hop, list[Parcel]],
        rail_in: dict[str, list[tuple[int, Parcel]]],
        dt: float,
        result: StepResult,
    ) -> None:
        """Each refinery refuses crude above its contaminant limit, takes the rest in and runs."""
        for name, refinery in self.refineries.items():
            accepted, rejected = [], 0.0
            limit_ppm = refinery.spec.contaminant_limit_ppm
            arriving = inputs.get(name, [])
            if name in rail_in:
                arriving = [*arriving, *(p for _, p in rail_in[name])]
            for p in arriving:
                if p.ppm > limit_ppm:
                    rejected += p.tonnes_t
                else:
                    accepted.append(p)
            refinery.quarantined_t += rejected
            received, ran, event = refinery.take_in_and_run(accepted, dt)
            if event is not None:
                result.events.append((name, event))
            result.received[name] = received
            result.quarantined[name] = rejected
            result.runs[name] = ran

    def _rail(self, link: int) -> RailQueue:
        fifo = self.fifos[link]
        assert isinstance(fifo, RailQueue)
        return fifo

    def _pipe(self, link: int) -> PipelineFIFO:
        fifo = self.fifos[link]
        assert isinstance(fifo, PipelineFIFO)
        return fifo

    def _scale_to_room(
        self,
        plan: ExecutablePlan,
        volumes: list[float],
        idx: list[int],
        want_t: float,
        room_t: float,
        limit_ppm: float,
    ) -> float:
        """Share of a refinery's planned receipts to ship so that what it accepts fits its room.

        Usually all that arrives is accepted, and the share is room ÷ planned. When the crude at
        the head of its lines is above its limit (to be refused), the share is found by
        bisection on the crude that would be accepted, so refused crude takes no room.
        """
        plain = room_t / want_t
        routes = plan.routes
        # The usual case: nothing dirty in the lines that end here, nor going into them.
        if not any(
            routes[i].ppm > limit_ppm
            or self.link_added_ppm
            or (
                routes[i].links[-1] not in self.rail_index
                and any(p.ppm > limit_ppm for p in self._pipe(routes[i].links[-1]).queue)
            )
            for i in idx
        ):
            return plain

        def accepted(share: float) -> float:
            through: dict[int, float] = {}
            for i, r in enumerate(routes):
                v = volumes[i] * (share if i in idx_set else 1.0)
                for link in r.links:
                    through[link] = through.get(link, 0.0) + v
            total = 0.0
            for i in idx:
                last = routes[i].links[-1]
                v = volumes[i] * share
                if last in self.rail_index or through[last] <= 0:
                    total += v
                    continue
                inflow_ppm = routes[i].ppm + sum(
                    self.link_added_ppm.get(link, 0.0) for link in routes[i].links
                )
                dirty = self._pipe(last).dirty_in_head(through[last], limit_ppm, inflow_ppm)
                total += v * (1.0 - dirty / through[last])
            return total

        idx_set = set(idx)
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
        self, trains: list[tuple[int, Parcel]], room_t: float, now_days: float
    ) -> list[tuple[int, Parcel]]:
        """Unload trains in order up to `room_t`; the rest wait on their own corridors."""
        unloaded = []
        waiting: dict[int, list[Parcel]] = {}
        for link, p in trains:
            take = min(p.tonnes_t, room_t)
            if take > 0:
                unloaded.append((link, Parcel(take, p.ppm, p.mix, p.entered_days)))
                room_t -= take
            if p.tonnes_t - take > 0:
                rest = Parcel(p.tonnes_t - take, p.ppm, p.mix, p.entered_days)
                waiting.setdefault(link, []).append(rest)
        for link, parcels in waiting.items():
            self._rail(link).hold(parcels, now_days)
        return unloaded

    def linefill_t(self) -> float:
        return sum(f.content_t() for f in self.fifos)
