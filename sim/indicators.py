"""Security-of-supply indicators (formulas and sources: docs/indicators.md, docs/sources.md)."""

from __future__ import annotations

import math
from collections.abc import Mapping


def shares(amounts: Mapping[str, float]) -> dict[str, float]:
    """Each key's share of the positive total (fractions summing to 1); empty if none."""
    total = sum(v for v in amounts.values() if v > 0)
    if total <= 0:
        return {}
    return {k: v / total for k, v in amounts.items() if v > 0}


def hhi(amounts: Mapping[str, float]) -> float:
    """Herfindahl–Hirschman index on the 0–10,000 scale: Σ (100 · s_i)².

    Above 2,500 is "highly concentrated" (US DOJ/FTC 2010); one supplier gives 10,000.
    NaN when nothing was supplied.
    """
    s = shares(amounts)
    if not s:
        return float("nan")
    return sum((100.0 * x) ** 2 for x in s.values())


def shannon(amounts: Mapping[str, float]) -> float:
    """Shannon–Wiener diversity H = −Σ s_i ln s_i (0 for a single supplier)."""
    s = shares(amounts)
    if not s:
        return float("nan")
    return -sum(x * math.log(x) for x in s.values())


def n_minus_1_pct(scenario) -> float:
    """The N−1 indicator adapted to oil (EU Regulation 2017/1938 Annex II): can the refineries
    do without their largest entry route?

        N−1 = 100 × (Σ_k C_k − max_k C_k + S_m) / D

    C_k: the most entry route k can deliver to the refineries a day (max-flow from the entry
    point alone, every link at full capacity); entry points are the sources (fields,
    junctions, ports) of contracts that nominate crude. S_m: usable stock (initial − minimum
    operating, over the refineries) ÷ `scenario.n1_stock_draw_days`. D: the refineries'
    design (nameplate) daily run. At least 100 % means the loss of the largest route can be
    covered.
    """
    import networkx as nx

    from sim.network import link_graph

    graph = link_graph(scenario)
    refineries = scenario.refineries()
    for name in refineries:
        graph.add_edge(name, "__refineries__")  # uncapacitated
    # Entry routes in use: the sources (fields, junctions, ports) of contracts that nominate
    # crude. Assets declared but idle are not routes the refineries rely on.
    entries = sorted(
        {
            c.source
            for c in scenario.contracts.values()
            if c.source in graph and c.volume_t_per_month > 0
        }
    )
    capacities = [
        nx.maximum_flow_value(graph, entry, "__refineries__") if entry in graph else 0.0
        for entry in entries
    ]
    usable = sum(max(0.0, r.initial_stock_t - r.min_operating_stock_t) for r in refineries.values())
    stock_draw = usable / scenario.scenario.n1_stock_draw_days
    design = sum(r.capacity_t_per_day for r in refineries.values())
    if design <= 0:
        return float("nan")
    return 100.0 * (sum(capacities) - max(capacities, default=0.0) + stock_draw) / design
