"""The network graph, derived from the scenario in a fixed order, and what it can carry.

Links and nodes keep the order they have in the scenario file, so every structure built from
them (and so every run) is reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx

from sim.scenario.schema import FieldNode, PipelineLink, RefineryNode, Scenario

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
