"""The scenario compiled into index-based, typed specs, built once before time zero.

Engine components receive these, never the scenario dicts, so nothing in the hot path looks a
value up by string key.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from sim.scenario.schema import FieldNode, PortNode, RefineryNode, Scenario
from sim.units import usd_per_bbl_to_usd_per_t


@dataclass(frozen=True)
class LinkSpec:
    index: int
    name: str
    from_node: str
    to_node: str
    capacity_t_per_day: float
    linefill_t: float
    tariff_usd_per_t: float
    initial_grade: str


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
    price_benchmark: str
    differential_usd_per_bbl: float
    premium_usd_per_t: float
    bbl_per_t: float

    def price_usd_per_t(self, benchmark_usd_per_bbl: float) -> float:
        """Purchase price of one tonne at the source, USD/t."""
        per_bbl = benchmark_usd_per_bbl + self.differential_usd_per_bbl
        return usd_per_bbl_to_usd_per_t(per_bbl, self.bbl_per_t) + self.premium_usd_per_t


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
class Topology:
    links: tuple[LinkSpec, ...]
    contracts: tuple[ContractSpec, ...]
    transit: tuple[TransitSpec, ...]
    #: Daily production limit of field nodes that have one, t/day.
    field_limits_t_per_day: dict[str, float]
    refineries: dict[str, RefineryNode]
    ports: dict[str, PortNode]
    link_index: dict[str, int]
    graph: nx.MultiDiGraph

    def allowed_edges(self, contract: ContractSpec, excluded: frozenset[int]) -> list[int]:
        """Links on some path from the contract's source to its destination, in link order."""
        graph = nx.DiGraph()
        for link in self.links:
            if link.index not in excluded:
                graph.add_edge(link.from_node, link.to_node)
        if contract.source not in graph or contract.destination not in graph:
            return []
        forward = nx.descendants(graph, contract.source) | {contract.source}
        backward = nx.ancestors(graph, contract.destination) | {contract.destination}
        return [
            link.index
            for link in self.links
            if link.index not in excluded
            and link.from_node in forward
            and link.to_node in backward
            and link.to_node != contract.source
            and link.from_node != contract.destination
        ]


def compile_topology(scenario: Scenario) -> Topology:
    start = scenario.scenario.start_date
    link_index = {name: i for i, name in enumerate(scenario.links)}
    links = tuple(
        LinkSpec(
            index=i,
            name=name,
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
        )
        for i, (name, link) in enumerate(scenario.links.items())
    )
    contracts = []
    for i, (name, c) in enumerate(scenario.contracts.items()):
        routes = None
        if c.routes is not None:
            routes = tuple(tuple(link_index[link] for link in route) for route in c.routes)
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
                price_benchmark=c.price.benchmark,
                differential_usd_per_bbl=c.price.differential_usd_per_bbl,
                premium_usd_per_t=c.price.premium_usd_per_t,
                bbl_per_t=scenario.grades[c.grade].bbl_per_t,
            )
        )
    transit = []
    for i, (name, t) in enumerate(scenario.transit.items()):
        members = frozenset(link_index[link] for link in t.links)
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
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(scenario.nodes)
    for link in links:
        graph.add_edge(link.from_node, link.to_node, key=link.name)
    return Topology(
        links=links,
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
        graph=graph,
    )
