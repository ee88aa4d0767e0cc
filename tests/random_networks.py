"""Hypothesis strategies for random crude networks (DAGs) that always validate."""

from __future__ import annotations

from typing import Any

import networkx as nx
from hypothesis import strategies as st

from tests.builders import contract, pipeline, refinery, scenario_dict


@st.composite
def networks(
    draw: st.DrawFn,
    max_nodes: int = 9,
    ample_supply: bool = False,
    disruptions: bool = True,
) -> dict[str, Any]:
    """Fields feed junctions feed refineries along random forward links (a DAG)."""
    n_fields = draw(st.integers(1, 2))
    n_refineries = draw(st.integers(1, 2))
    n_junctions = draw(st.integers(0, max_nodes - n_fields - n_refineries))
    names = (
        [f"f{i}" for i in range(n_fields)]
        + [f"j{i}" for i in range(n_junctions)]
        + [f"r{i}" for i in range(n_refineries)]
    )
    data = scenario_dict(horizon_days=draw(st.integers(20, 75)))
    data["scenario"]["step_days"] = draw(st.sampled_from([1.0, 1.0, 0.5]))
    for name in names:
        if name.startswith("f"):
            data["nodes"][name] = {"kind": "field"}
        elif name.startswith("j"):
            data["nodes"][name] = {"kind": "junction"}
        else:
            target = draw(st.floats(500, 20_000))
            tank = draw(st.floats(target, 30 * target))
            data["nodes"][name] = refinery(
                target=target,
                capacity=target * draw(st.floats(1.0, 1.5)),
                tank=tank,
                stock=draw(st.floats(0, tank)),
                min_stock=draw(st.sampled_from([0.0, 0.1 * tank])),
                min_rate=draw(st.sampled_from([0.0, 0.3 * target])),
                restart_days=draw(st.sampled_from([0.0, 2.0])),
            )
    capacity = st.floats(100, 30_000)
    links: dict[str, Any] = {}
    # Forward links only (from a lower position to a higher one): a DAG.
    for j, dst in enumerate(names):
        if dst.startswith("f"):
            continue
        candidates = [src for src in names[:j] if not src.startswith("r")]
        k = draw(st.integers(1, min(3, len(candidates))))
        for src in draw(st.permutations(candidates))[:k]:
            links[f"{src}_{dst}"] = pipeline(
                src,
                dst,
                draw(capacity),
                length_km=draw(st.floats(10, 1000)),
                linefill_t_per_km=draw(st.floats(50, 700)),
                tariff=draw(st.floats(0, 20)),
            )
    data["links"] = links
    graph = nx.DiGraph([(v["from_node"], v["to_node"]) for v in links.values()])
    for f in names[:n_fields]:
        for r in names[-n_refineries:]:
            if f in graph and r in graph and nx.has_path(graph, f, r):
                volume = 1e9 if ample_supply else draw(st.floats(0, 700_000))
                data["contracts"][f"c_{f}_{r}"] = contract(
                    f, r, volume, origin=f, priority=draw(st.integers(1, 2))
                )
    # A refinery no field reaches would not validate: give it a direct line from f0.
    for r in names[-n_refineries:]:
        if not any(c["destination"] == r for c in data["contracts"].values()):
            links[f"f0_{r}_direct"] = pipeline("f0", r, draw(capacity))
            volume = 1e9 if ample_supply else draw(st.floats(0, 700_000))
            data["contracts"][f"c_f0_{r}"] = contract("f0", r, volume, origin="f0")
    if disruptions and links and draw(st.booleans()):
        target = draw(st.sampled_from(sorted(links)))
        data["disruptions"] = {
            "d": {
                "target": target,
                "start_date": f"2019-01-{draw(st.integers(1, 15)):02d}",
                "duration_days": draw(st.floats(0.5, 20)),
                "capacity_factor": draw(st.sampled_from([0.0, 0.5])),
            }
        }
    return data
