"""The network graph, derived from the scenario in a fixed order, and what it can carry.

Links and nodes keep the order they have in the scenario file, so every structure built from
them (and so every run) is reproducible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import networkx as nx
from networkx.algorithms.flow import edmonds_karp

from sim.scenario.schema import FieldNode, PipelineLink, PortNode, RefineryNode, Scenario

SUPER_SOURCE = "__supply__"


def link_graph(
    scenario: Scenario, capacity_factor: Mapping[str, float] | None = None
) -> nx.DiGraph:
    """Directed graph of nodes and daily-flow links (pipelines, rail); edge attrs: capacity.

    Parallel links between the same two nodes are merged into one edge whose capacity is
    their sum (max-flow only needs the total); `links` lists them.
    """
    factor = capacity_factor or {}
    graph = nx.DiGraph()
    for name, node in scenario.nodes.items():
        graph.add_node(name, kind=node.kind)
    for name, link in scenario.links.items():
        if link.kind == "sea":  # tanker lots, not a daily flow
            continue
        f = factor.get(name, 1.0)
        # A pipeline shared with third parties: only what they leave counts.
        if isinstance(link, PipelineLink):
            cap = link.available_t_per_day(f)
        else:
            cap = link.capacity_t_per_day * f
        u, v = link.from_node, link.to_node
        if graph.has_edge(u, v):
            graph[u][v]["capacity"] += cap
            graph[u][v]["links"].append(name)
        else:
            graph.add_edge(u, v, capacity=cap, links=[name], tariff=link.tariff_usd_per_t)
    return graph


@dataclass(frozen=True)
class RefineryReach:
    """The most a refinery can receive per day and the links that bind it."""

    refinery: str
    max_flow_t_per_day: float
    target_run_t_per_day: float
    binding_links: tuple[str, ...]


def supply_graph(scenario: Scenario, capacity_factor: Mapping[str, float] | None = None):
    """The link graph plus a super-source feeding every contract source (and field) it may."""
    graph = link_graph(scenario, capacity_factor)
    sources = {c.source for c in scenario.contracts.values()}
    sources |= {n for n, node in scenario.nodes.items() if node.kind in {"field", "port"}}
    for source in sorted(sources, key=list(scenario.nodes).index):
        node = scenario.nodes[source]
        cap = None
        if isinstance(node, FieldNode) and node.production_t_per_day is not None:
            cap = node.production_t_per_day
        if cap is None:
            graph.add_edge(SUPER_SOURCE, source)  # no capacity attribute = unbounded
        else:
            graph.add_edge(SUPER_SOURCE, source, capacity=cap)
    return graph


def refinery_reach(
    scenario: Scenario, capacity_factor: Mapping[str, float] | None = None
) -> list[RefineryReach]:
    """Max-flow from every supply point to each refinery alone, and the links on its min cut."""
    graph = supply_graph(scenario, capacity_factor)
    reach = []
    for name, node in scenario.nodes.items():
        if not isinstance(node, RefineryNode):
            continue
        try:
            value, (side, _) = nx.minimum_cut(graph, SUPER_SOURCE, name)
        except nx.NetworkXUnbounded:
            value, side = float("inf"), set()
        binding = [
            link_id
            for u, v, data in graph.edges(data=True)
            if u in side and v not in side and "links" in data
            for link_id in data["links"]
        ]
        reach.append(RefineryReach(name, float(value), node.target_run_t_per_day, tuple(binding)))
    return reach


def entry_points(scenario: Scenario) -> list[str]:
    """Where crude enters the network for the refineries: the source (field, junction or port)
    of every contract that nominates crude, in scenario order.

    Declared assets that no contract draws from are not entries the refineries rely on: an idle
    port receives nothing unless crude is bought for it.
    """
    used = {c.source for c in scenario.contracts.values() if c.volume_t_per_month > 0}
    return [name for name in scenario.nodes if name in used]


def entry_capacity_t_per_day(scenario: Scenario, entry: str) -> float | None:
    """Most crude an entry point can take in a day; None = no limit of its own.

    A field: its production limit. A port: what its berths can discharge a day (tankers arrive
    as lots, but over a month a port cannot land more). A junction: none (its lines bind).
    """
    node = scenario.nodes[entry]
    if isinstance(node, FieldNode):
        return node.production_t_per_day
    if isinstance(node, PortNode):
        return node.berths * node.discharge_t_per_day
    return None


def contracted_t_per_day(scenario: Scenario, entry: str, destination: str) -> float:
    """What the contracts drawing from an entry point for one refinery nominate, t/day (volume
    per month × 12 ÷ 365): the crude that actually comes in there for it, whatever more the
    assets could carry."""
    return sum(
        c.volume_t_per_month * 12.0 / 365.0
        for c in scenario.contracts.values()
        if c.source == entry and c.destination == destination
    )


def entry_graph(scenario: Scenario, without: str | None = None) -> nx.DiGraph:
    """The link graph fed from a super-source through every entry point, optionally without one
    entry point or one pipeline or rail link (taken out of service)."""
    graph = link_graph(scenario, {without: 0.0} if without in scenario.links else None)
    for entry in entry_points(scenario):
        if entry == without:
            continue
        cap = entry_capacity_t_per_day(scenario, entry)
        if cap is None:
            graph.add_edge(SUPER_SOURCE, entry)  # no capacity attribute = unbounded
        else:
            graph.add_edge(SUPER_SOURCE, entry, capacity=cap)
    return graph


SUPER_SINK = "__refineries__"


def _deliverable(graph: nx.DiGraph, refineries: Mapping[str, float]) -> tuple[float, dict]:
    """Max-flow from the super-source to the given refineries, each capped at its capacity."""
    graph = graph.copy()
    for name, cap in refineries.items():
        graph.add_edge(name, SUPER_SINK, capacity=cap)
    if SUPER_SOURCE not in graph:
        return 0.0, {}
    # Edmonds–Karp: networkx's default preflow-push fails on some float capacities (IndexError,
    # found by the random-network property test); these graphs are a few dozen edges.
    value, flow = nx.maximum_flow(graph, SUPER_SOURCE, SUPER_SINK, flow_func=edmonds_karp)
    return float(value), flow


@dataclass(frozen=True)
class EntryLoss:
    """What a set of refineries can receive a day, intact and after the worst single loss."""

    refineries: tuple[str, ...]
    #: Max-flow to the refineries, each capped at its crude unit's capacity, t/day.
    intact_t_per_day: float
    #: The same with the entry point or link whose loss hurts most out of service, t/day.
    worst_t_per_day: float
    #: That entry point or link; None when no single loss reduces what can be received.
    worst_asset: str | None


def entry_loss(scenario: Scenario, refineries: Iterable[str]) -> EntryLoss:
    """Max-flow to `refineries` with every pipeline and rail link, then every entry point, taken
    out in turn; the worst case (among equals the first so tried, in scenario order).

    Only assets that carry crude in the intact max-flow are tried: taking out an asset that a
    maximum flow does not use leaves that flow feasible, so the maximum is unchanged.
    """
    names = tuple(refineries)
    caps = {}
    for name in names:
        node = scenario.nodes[name]
        assert isinstance(node, RefineryNode)
        caps[name] = node.capacity_t_per_day
    intact, flow = _deliverable(entry_graph(scenario), caps)
    used_entries = [e for e in entry_points(scenario) if flow.get(SUPER_SOURCE, {}).get(e, 0) > 0]
    used_links = [
        name
        for name, link in scenario.links.items()
        if link.kind != "sea" and flow.get(link.from_node, {}).get(link.to_node, 0) > 0
    ]
    worst, worst_asset = intact, None
    for asset in [*used_links, *used_entries]:  # among equals, a link before its source
        value, _ = _deliverable(entry_graph(scenario, asset), caps)
        if value < worst - 1e-9:
            worst, worst_asset = value, asset
    return EntryLoss(names, intact, worst, worst_asset)


def refinery_entry_graph(
    scenario: Scenario, refinery: str, without: str | None = None
) -> nx.DiGraph:
    """The link graph fed only through the entry points of the contracts bought for `refinery`,
    each at most what those contracts nominate (and what the entry can take in), optionally
    without one entry point or pipeline or rail link: the crude that is this refinery's, by
    contract, and where the network lets it go after a loss.

    Crude bought for another refinery is not counted: in the simulation nominations are fixed
    and each contract delivers to its own destination, so no other refinery's crude is
    redirected to cover a loss."""
    graph = link_graph(scenario, {without: 0.0} if without in scenario.links else None)
    for entry in entry_points(scenario):
        nominated = contracted_t_per_day(scenario, entry, refinery)
        if entry == without or nominated <= 0:
            continue
        own = entry_capacity_t_per_day(scenario, entry)
        graph.add_edge(
            SUPER_SOURCE, entry, capacity=nominated if own is None else min(own, nominated)
        )
    return graph


def contracted_losses(scenario: Scenario, refinery: str) -> tuple[float, dict[str, float]]:
    """What `refinery` receives by its own contracts, t/day (capped at its capacity): intact,
    and without each asset whose loss reduces it (pipelines and rail links, then its entry
    points; assets absent from the dict cost it nothing)."""
    node = scenario.nodes[refinery]
    assert isinstance(node, RefineryNode)
    caps = {refinery: node.capacity_t_per_day}
    intact, flow = _deliverable(refinery_entry_graph(scenario, refinery), caps)
    used_entries = [e for e, f in flow.get(SUPER_SOURCE, {}).items() if f > 0]
    used_links = [
        name
        for name, link in scenario.links.items()
        if link.kind != "sea" and flow.get(link.from_node, {}).get(link.to_node, 0) > 0
    ]
    losses = {}
    for asset in [*used_links, *used_entries]:
        value, _ = _deliverable(refinery_entry_graph(scenario, refinery, asset), caps)
        if value < intact - 1e-9:
            losses[asset] = value
    return intact, losses
