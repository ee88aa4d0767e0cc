"""The scenario compiled into index-based, typed specs, built once before time zero.

Engine components receive these, never the scenario dicts, so nothing in the hot path looks a
value up by string key.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.countries import assets_of_country
from sim.economics.duty import NO_DUTY, ExportDutyRule
from sim.engine.crude import mix_key
from sim.kinds import Effect, TargetKind
from sim.scenario.checks import disruption_target_kinds
from sim.scenario.schema import (
    FieldNode,
    PortNode,
    PriceFormula,
    RailLink,
    RandomTiming,
    RefineryNode,
    Scenario,
    SeaLink,
    shared_capacity_t_per_day,
    third_party_flow_t_per_day,
)
from sim.units import usd_per_bbl_to_usd_per_t


@dataclass(frozen=True)
class LinkSpec:
    """A link crude moves on every step: a pipeline (full line) or a rail corridor (delay)."""

    index: int
    name: str
    kind: str
    from_node: str
    to_node: str
    capacity_t_per_day: float
    #: Pipelines: crude held in the full line, t. Rail: 0 (what is in transit varies).
    linefill_t: float
    tariff_usd_per_t: float
    initial_grade: str
    #: Rail: loading to unloading, days. Pipelines: 0 (their delay follows from linefill).
    transit_days: float = 0.0
    #: Pipelines: other shippers' background flow sharing the capacity, t/day, and whether
    #: it keeps its flow under a derate (True) or shares the cut pro rata (False).
    third_party_t_per_day: float = 0.0
    third_party_first: bool = False

    def available_t_per_day(self, capacity_factor: float) -> float:
        """Capacity left for the simulated contracts when a factor of the line's is in force,
        t/day (the third parties' share taken by the line's sharing rule)."""
        return shared_capacity_t_per_day(
            self.capacity_t_per_day,
            self.third_party_t_per_day,
            self.third_party_first,
            capacity_factor,
        )

    def third_party_flow_t_per_day(self, capacity_factor: float) -> float:
        """The third parties' background flow with a factor of the line's capacity in force,
        t/day (by the line's sharing rule)."""
        return third_party_flow_t_per_day(
            self.capacity_t_per_day,
            self.third_party_t_per_day,
            self.third_party_first,
            capacity_factor,
        )


@dataclass(frozen=True)
class CargoSpec:
    """A global-market supply option, compiled: tanker lots on one sea link."""

    index: int
    name: str
    origin: str
    grade: str
    port: str
    sea_link: str
    destination: str
    lot_t: float
    loading_days: float
    voyage_days: float
    delay_days_mean: float
    freight_usd_per_t: float
    contaminant_ppm: float
    price_benchmark: str
    differential_usd_per_bbl: float
    premium_usd_per_t: float
    #: Export duty not paid (a cargo is priced once, at purchase: a constant), USD/t.
    export_duty_usd_per_t: float
    bbl_per_t: float
    schedule_days: tuple[float, ...] | None
    days_of_cover_below: float | None
    review_days: float
    max_open_cargoes: int
    start_day: float
    end_day: float

    def crude_usd_per_t(self, benchmark_usd_per_bbl: float) -> float:
        per_bbl = benchmark_usd_per_bbl + self.differential_usd_per_bbl
        return usd_per_bbl_to_usd_per_t(per_bbl, self.bbl_per_t) - self.export_duty_usd_per_t


@dataclass(frozen=True)
class ContractSpec:
    index: int
    name: str
    origin: str
    grade: str
    source: str
    destination: str
    volume_t_per_month: float
    priority: int
    contaminant_ppm: float
    #: Declared routes as tuples of link indices; None: any route.
    routes: tuple[tuple[int, ...], ...] | None
    start_day: float
    end_day: float
    #: None: no purchase price (crude already owned, e.g. drawn from a port's tanks).
    price_benchmark: str | None
    differential_usd_per_bbl: float
    premium_usd_per_t: float
    #: The Russian export duty the buyer does not pay, by month (sim/economics/duty.py).
    export_duty: ExportDutyRule
    bbl_per_t: float
    #: Swap: per route, the position of the first link after the hand-over (None: no swap).
    swap_splits: tuple[int | None, ...] = ()
    swap_origin: str = ""
    swap_fee_usd_per_t: float = 0.0
    #: Make-up of missed tonnes: extra a day as a share of the nomination, and the window, days.
    makeup_max_share: float = 0.0
    makeup_window_days: float = 0.0

    def export_duty_usd_per_t(self, benchmark_usd_per_bbl: float, month: str) -> float:
        """Export duty not paid on a tonne bought in `month` (`YYYY-MM`), USD/t.

        The formula's P is `benchmark_usd_per_bbl` (the month's benchmark with any shock in
        force), without the contract's own differential.
        """
        if self.price_benchmark is None:
            return 0.0
        return self.export_duty.usd_per_t(benchmark_usd_per_bbl, month)

    def crude_usd_per_t(self, benchmark_usd_per_bbl: float, month: str) -> float:
        """Crude price of one tonne at the source, less the export duty not paid, USD/t."""
        if self.price_benchmark is None:
            return 0.0
        per_bbl = benchmark_usd_per_bbl + self.differential_usd_per_bbl
        return usd_per_bbl_to_usd_per_t(per_bbl, self.bbl_per_t) - self.export_duty_usd_per_t(
            benchmark_usd_per_bbl, month
        )

    def price_usd_per_t(self, benchmark_usd_per_bbl: float, month: str) -> float:
        """Purchase price of one tonne at the source: crude (net of duty) plus premium, USD/t."""
        return self.crude_usd_per_t(benchmark_usd_per_bbl, month) + self.premium_usd_per_t


@dataclass(frozen=True)
class TransitSpec:
    index: int
    name: str
    links: frozenset[int]
    origins: frozenset[str] | None
    quota_t_per_month: float | None
    tariff_usd_per_t: float
    halted: bool

    def applies_to(self, origin: str) -> bool:
        return self.origins is None or origin in self.origins

    def entries_on(self, route: tuple[int, ...]) -> int:
        """Times a route enters the set: a member link not preceded by a member on the route.

        A tonne is counted against the quota, and charged the fee, once per entry.
        """
        count, inside = 0, False
        for link in route:
            member = link in self.links
            if member and not inside:
                count += 1
            inside = member
        return count


@dataclass(frozen=True)
class DisruptionSpec:
    """A disruption, compiled: its target's kind found once, its effects as enums."""

    name: str
    target: str
    target_kind: TargetKind
    #: (effect, value) in force while it lasts; none given: an outage (capacity factor 0).
    effects: tuple[tuple[Effect, float], ...]
    #: Scheduled: first day and length, days. Random: None, and `random` says when.
    start_day: float | None
    duration_days: float | None
    random: RandomTiming | None
    #: What it acts on: (asset, its kind, effects on it). One part for an asset; for a country,
    #: one per contract, cargo option, link and port its roles reach.
    parts: tuple[tuple[str, TargetKind, tuple[tuple[Effect, float], ...]], ...] = ()


def _country_parts(
    scenario: Scenario, code: str, effects: tuple[tuple[Effect, float], ...]
) -> tuple[tuple[str, TargetKind, tuple[tuple[Effect, float], ...]], ...]:
    """A country disruption's effects on the assets of its two roles (sim.countries)."""
    assets = assets_of_country(scenario, code)
    factor = dict(effects)
    parts: list[tuple[str, TargetKind, tuple[tuple[Effect, float], ...]]] = []
    supply = factor.get(Effect.VOLUME_FACTOR)
    if supply is not None:
        parts += [
            (c, TargetKind.CONTRACT, ((Effect.VOLUME_FACTOR, supply),)) for c in assets.contracts
        ]
        parts += [(g, TargetKind.CARGO, ((Effect.VOLUME_FACTOR, supply),)) for g in assets.cargoes]
    transit = factor.get(Effect.CAPACITY_FACTOR)
    if transit is not None:
        parts += [
            (x, TargetKind.LINK, ((Effect.CAPACITY_FACTOR, transit),)) for x in assets.flow_links
        ]
        parts += [(p, TargetKind.PORT, ((Effect.CAPACITY_FACTOR, transit),)) for p in assets.ports]
        # Crude loaded at the country's markets (e.g. CPC Blend at Novorossiysk) stops too.
        parts += [
            (g, TargetKind.CARGO, ((Effect.VOLUME_FACTOR, transit),))
            for g, cargo in scenario.cargoes.items()
            if scenario.links[cargo.sea_link].from_node in assets.nodes
        ]
    return tuple(parts)


@dataclass(frozen=True)
class Topology:
    links: tuple[LinkSpec, ...]
    cargoes: tuple[CargoSpec, ...]
    contracts: tuple[ContractSpec, ...]
    transit: tuple[TransitSpec, ...]
    #: Daily production limit of field nodes that have one, t/day.
    field_limits_t_per_day: dict[str, float]
    refineries: dict[str, RefineryNode]
    ports: dict[str, PortNode]
    link_index: dict[str, int]
    #: Mix of each contract's crude ("origin|grade"); one dict object per origin and grade,
    #: shared, so parcels of the same crude compare by identity (cheap) in the pipelines.
    contract_mix: list[dict[str, float]]
    #: Origin mix of the crude handed out under each contract's swap (physical origin).
    swap_mix: list[dict[str, float]]
    #: Origin mix of each cargo's crude (shared per origin, as for contracts).
    cargo_mix: list[dict[str, float]]
    #: Links leaving and entering each node, in link order.
    out_links: dict[str, list[int]]
    in_links: dict[str, list[int]]
    disruptions: tuple[DisruptionSpec, ...] = ()

    def allowed_edges(self, contract: ContractSpec, excluded: frozenset[int]) -> list[int]:
        """Links on some path from the contract's source to its destination, in link order."""
        forward = self._reach(contract.source, excluded, downstream=True)
        backward = self._reach(contract.destination, excluded, downstream=False)
        return [
            link.index
            for link in self.links
            if link.index not in excluded
            and link.from_node in forward
            and link.to_node in backward
            and link.to_node != contract.source
            and link.from_node != contract.destination
        ]

    def _reach(self, start: str, excluded: frozenset[int], downstream: bool) -> set[str]:
        """Nodes reachable from `start` along (or, upstream, against) the usable links."""
        seen, stack = {start}, [start]
        while stack:
            node = stack.pop()
            if downstream:
                nxt = [self.links[i].to_node for i in self.out_links[node] if i not in excluded]
            else:
                nxt = [self.links[i].from_node for i in self.in_links[node] if i not in excluded]
            for other in nxt:
                if other not in seen:
                    seen.add(other)
                    stack.append(other)
        return seen


def _swap_split(contract, route: list[str], scenario: Scenario) -> int | None:
    """Position in `route` of the first link after a swap's hand-over, if the route swaps."""
    if contract.swap is None:
        return None
    for i in range(1, len(route)):
        before, after = scenario.links[route[i - 1]], scenario.links[route[i]]
        if before.to_node == contract.swap.in_at and after.from_node == contract.swap.out_at:
            if before.to_node != after.from_node:
                return i
    return None


def _duty_rule(price: PriceFormula | None) -> ExportDutyRule:
    if price is None:
        return NO_DUTY
    rule = ExportDutyRule(
        default_usd_per_t=price.export_duty_usd_per_t,
        monthly_usd_per_t=dict(price.export_duty_monthly_usd_per_t),
        formula=price.export_duty_formula == "tax_manoeuvre",
        k=price.export_duty_k,
        bbl_per_t=price.export_duty_bbl_per_t,
    )
    return NO_DUTY if rule.is_zero else rule


def compile_disruptions(scenario: Scenario) -> tuple[DisruptionSpec, ...]:
    """Each disruption with its target's kind (validation made sure there is exactly one)."""
    start = scenario.scenario.start_date
    out = []
    for name, d in scenario.disruptions.items():
        kind = disruption_target_kinds(scenario, d.target)[0]
        given = tuple((Effect(k), v) for k, v in d.effects().items())
        if kind is TargetKind.COUNTRY:
            effects = given or ((Effect.VOLUME_FACTOR, 0.0), (Effect.CAPACITY_FACTOR, 0.0))
            parts = _country_parts(scenario, d.target, effects)
        else:
            effects = given or ((Effect.CAPACITY_FACTOR, 0.0),)
            parts = ((d.target, kind, effects),)
        out.append(
            DisruptionSpec(
                name=name,
                target=d.target,
                target_kind=kind,
                effects=effects,
                start_day=float((d.start_date - start).days) if d.start_date else None,
                duration_days=d.duration_days,
                random=d.random,
                parts=parts,
            )
        )
    return tuple(out)


def compile_topology(scenario: Scenario) -> Topology:
    start = scenario.scenario.start_date
    # Sea links carry discrete tanker lots (SimPy processes), not daily flows.
    flow_links = {n: link for n, link in scenario.links.items() if not isinstance(link, SeaLink)}
    link_index = {name: i for i, name in enumerate(flow_links)}
    links = []
    for i, (name, link) in enumerate(flow_links.items()):
        if isinstance(link, RailLink):
            links.append(
                LinkSpec(
                    index=i,
                    name=name,
                    kind="rail",
                    from_node=link.from_node,
                    to_node=link.to_node,
                    capacity_t_per_day=link.capacity_t_per_day,
                    linefill_t=0.0,
                    tariff_usd_per_t=link.tariff_usd_per_t,
                    initial_grade=scenario.default_grade,
                    transit_days=link.transit_days,
                )
            )
            continue
        links.append(
            LinkSpec(
                index=i,
                name=name,
                kind="pipeline",
                from_node=link.from_node,
                to_node=link.to_node,
                capacity_t_per_day=link.capacity_t_per_day,
                linefill_t=link.length_km * link.linefill_t_per_km,
                tariff_usd_per_t=link.tariff_usd_per_t,
                initial_grade=(
                    link.initial_linefill_grade
                    if link.initial_linefill_grade is not None
                    else scenario.default_grade
                ),
                third_party_t_per_day=link.third_party_t_per_day,
                third_party_first=link.third_party_share_rule == "third_party_first",
            )
        )
    contracts = []
    for i, (name, c) in enumerate(scenario.contracts.items()):
        routes = None
        splits: tuple[int | None, ...] = ()
        if c.routes is not None:
            routes = tuple(tuple(link_index[link] for link in route) for route in c.routes)
            splits = tuple(_swap_split(c, route, scenario) for route in c.routes)
        contracts.append(
            ContractSpec(
                index=i,
                name=name,
                origin=c.origin,
                grade=c.grade,
                source=c.source,
                destination=c.destination,
                volume_t_per_month=c.volume_t_per_month,
                priority=c.priority,
                contaminant_ppm=c.contaminant_ppm,
                routes=routes,
                start_day=float((c.start_date - start).days) if c.start_date else 0.0,
                end_day=float((c.end_date - start).days) if c.end_date else float("inf"),
                price_benchmark=c.price.benchmark if c.price else None,
                differential_usd_per_bbl=c.price.differential_usd_per_bbl if c.price else 0.0,
                premium_usd_per_t=c.price.premium_usd_per_t if c.price else 0.0,
                export_duty=_duty_rule(c.price),
                bbl_per_t=scenario.grades[c.grade].bbl_per_t,
                swap_splits=splits,
                swap_origin=c.swap.delivered_origin if c.swap else "",
                swap_fee_usd_per_t=c.swap.fee_usd_per_t if c.swap else 0.0,
                makeup_max_share=c.makeup_max_share,
                makeup_window_days=c.makeup_window_days,
            )
        )
    transit = []
    for i, (name, t) in enumerate(scenario.transit.items()):
        members = frozenset(link_index[link] for link in t.links if link in link_index)
        transit.append(
            TransitSpec(
                index=i,
                name=name,
                links=members,
                origins=frozenset(t.origins) if t.origins is not None else None,
                quota_t_per_month=t.quota_t_per_month,
                tariff_usd_per_t=t.tariff_usd_per_t,
                halted=t.halted,
            )
        )
    out_links: dict[str, list[int]] = {n: [] for n in scenario.nodes}
    in_links: dict[str, list[int]] = {n: [] for n in scenario.nodes}
    for spec in links:
        out_links[spec.from_node].append(spec.index)
        in_links[spec.to_node].append(spec.index)
    mixes: dict[str, dict[str, float]] = {}

    def pure(origin: str, grade: str) -> dict[str, float]:
        key = mix_key(origin, grade)
        return mixes.setdefault(key, {key: 1.0})

    contract_mix = [pure(c.origin, c.grade) for c in contracts]
    # Swapped crude is handed out as the contract's grade (the buyer's grade), of another origin.
    swap_mix = [pure(c.swap_origin, c.grade) if c.swap_origin else {} for c in contracts]
    cargo_mix = [pure(g.origin, g.grade) for g in scenario.cargoes.values()]
    cargoes = []
    for i, (name, g) in enumerate(scenario.cargoes.items()):
        sea = scenario.links[g.sea_link]
        assert isinstance(sea, SeaLink)
        cargoes.append(
            CargoSpec(
                index=i,
                name=name,
                origin=g.origin,
                grade=g.grade,
                port=sea.to_node,
                sea_link=g.sea_link,
                destination=g.destination,
                lot_t=g.lot_t,
                loading_days=g.loading_days,
                voyage_days=sea.voyage_days,
                delay_days_mean=sea.delay_days_mean,
                freight_usd_per_t=sea.freight_usd_per_t,
                contaminant_ppm=g.contaminant_ppm,
                price_benchmark=g.price.benchmark,
                differential_usd_per_bbl=g.price.differential_usd_per_bbl,
                premium_usd_per_t=g.price.premium_usd_per_t,
                export_duty_usd_per_t=g.price.export_duty_usd_per_t,
                bbl_per_t=scenario.grades[g.grade].bbl_per_t,
                # A fixed schedule, or the annual programme's purchase days (schema.Cargo).
                schedule_days=g.purchase_days(start, scenario.scenario.horizon_days),
                days_of_cover_below=g.reorder.days_of_cover_below if g.reorder else None,
                review_days=g.reorder.review_days if g.reorder else 1.0,
                max_open_cargoes=g.reorder.max_open_cargoes if g.reorder else 1,
                start_day=float((g.start_date - start).days) if g.start_date else 0.0,
                end_day=float((g.end_date - start).days) if g.end_date else float("inf"),
            )
        )
    return Topology(
        links=tuple(links),
        cargoes=tuple(cargoes),
        contracts=tuple(contracts),
        transit=tuple(transit),
        field_limits_t_per_day={
            n: node.production_t_per_day
            for n, node in scenario.nodes.items()
            if isinstance(node, FieldNode) and node.production_t_per_day is not None
        },
        refineries=scenario.refineries(),
        ports={n: node for n, node in scenario.nodes.items() if isinstance(node, PortNode)},
        link_index=link_index,
        contract_mix=contract_mix,
        swap_mix=swap_mix,
        cargo_mix=cargo_mix,
        out_links=out_links,
        in_links=in_links,
        disruptions=compile_disruptions(scenario),
    )
