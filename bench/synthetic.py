"""Synthetic pipeline networks for the engine benchmark, as validated scenario dicts.

Deterministic from a seed (`numpy.random.default_rng`, never a global seed). Shape:

- a few field nodes at the roots, each the root of a tree of junctions (pumping stations);
  junction trees grow mostly as long chains with branches, as trunk lines do;
- about one refinery per 10 nodes, hung off junctions (preferably leaves), some with a second
  feed line from another tree;
- cross links between trees (earlier node to later node only, so the network is acyclic) give
  free-routed contracts real alternatives; every junction leads to some refinery;
- pipelines: capacity 20–150 kt/day (sized near the demand they carry, so some bind),
  length 100–1500 km, linefill 150–650 t/km, tariff ≈ 1 USD/t per 100 km;
- contracts from fields to refineries whose total nomination is 0.95–1.05 × the refinery's target
  run, priority classes 1–2, half with fixed `routes`, half free-routed; a few start or end
  within the year; some fields have a production limit; a few link disruptions.

The node count asked for is the real node count of the scenario.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import networkx as nx
import numpy as np

_ORIGINS = ("russia", "kazakhstan", "azerbaijan", "norway", "saudi_arabia", "iraq")
_GRADES = {
    "urals": 7.25,
    "cpc_blend": 7.88,
    "azeri_light": 7.59,
    "johan_sverdrup": 7.0,
    "arab_light": 7.33,
    "basrah": 7.1,
}
_START = dt.date(2019, 1, 1)


def counts(n_nodes: int) -> tuple[int, int, int]:
    """(fields, junctions, refineries) for a network of `n_nodes` nodes."""
    n_ref = max(2, round(n_nodes / 10))
    n_field = max(2, round(math.sqrt(n_nodes) / 1.5))
    n_junction = n_nodes - n_ref - n_field
    if n_junction < n_field:
        raise ValueError(f"{n_nodes} nodes are too few for a synthetic network")
    return n_field, n_junction, n_ref


def synthetic_scenario(
    n_nodes: int,
    seed: int = 12345,
    replications: int = 1,
    horizon_days: int = 365,
) -> dict[str, Any]:
    """A scenario dict (to be validated with `validate_data`) with exactly `n_nodes` nodes."""
    rng = np.random.default_rng([seed, n_nodes])
    n_field, n_junction, n_ref = counts(n_nodes)
    fields = [f"field_{i:02d}" for i in range(n_field)]
    junctions = [f"junction_{i:03d}" for i in range(n_junction)]
    refineries = [f"refinery_{i:02d}" for i in range(n_ref)]
    rank = {name: i for i, name in enumerate(fields + junctions + refineries)}
    grade_names = list(_GRADES)
    field_grade = {f: grade_names[i % len(grade_names)] for i, f in enumerate(fields)}
    field_origin = {f: _ORIGINS[i % len(_ORIGINS)] for i, f in enumerate(fields)}

    edges: list[tuple[str, str]] = []  # (from, to), no duplicates, from rank < to rank
    edge_set: set[tuple[str, str]] = set()

    def add_edge(a: str, b: str) -> bool:
        if (a, b) in edge_set or a == b or rank[a] >= rank[b]:
            return False
        edges.append((a, b))
        edge_set.add((a, b))
        return True

    # Junction trees: each junction joins one field's tree, mostly extending the newest branch.
    tree_members: list[list[str]] = [[f] for f in fields]
    tree_of: dict[str, int] = {f: i for i, f in enumerate(fields)}
    for k, j in enumerate(junctions):
        t = k % n_field if k < n_field else int(rng.integers(n_field))
        members = tree_members[t]
        parent = members[-1] if rng.random() < 0.6 else members[int(rng.integers(len(members)))]
        add_edge(parent, j)
        members.append(j)
        tree_of[j] = t
    children: dict[str, int] = {n: 0 for n in fields + junctions}
    for a, _ in edges:
        children[a] += 1

    # Refineries: one per tree in turn, on a leaf junction of that tree when there is one.
    target = {}
    for i, r in enumerate(refineries):
        t = i % n_field
        tree_junctions = [j for j in tree_members[t] if j in children and j != fields[t]]
        leaves = [j for j in tree_junctions if children[j] == 0]
        pool = leaves or tree_junctions or [fields[t]]
        parent = pool[int(rng.integers(len(pool)))]
        add_edge(parent, r)
        children[parent] += 1
        tree_of[r] = t
        if rng.random() < 0.5:  # a second feed line from another tree
            others = [j for j in junctions if tree_of[j] != t]
            if others:
                add_edge(others[int(rng.integers(len(others)))], r)
        target[r] = float(rng.uniform(4_000, 25_000))

    # Cross links between trees: alternatives for free routing.
    for _ in range(round(0.15 * n_nodes)):
        a = junctions[int(rng.integers(n_junction))] if rng.random() < 0.8 else fields[0]
        later = [j for j in junctions if rank[j] > rank[a] and tree_of[j] != tree_of[a]]
        if later:
            add_edge(a, later[int(rng.integers(len(later)))])

    # Every junction leads to some refinery (dead ends get a link onward), latest first.
    graph = nx.DiGraph(edges)
    graph.add_nodes_from(rank)
    feeds_refinery = {n: False for n in rank}
    for r in refineries:
        feeds_refinery[r] = True
        for a in nx.ancestors(graph, r):
            feeds_refinery[a] = True
    for j in reversed(junctions):
        if feeds_refinery[j]:
            continue
        later = [n for n in junctions + refineries if rank[n] > rank[j] and feeds_refinery[n]]
        dst = later[int(rng.integers(len(later)))]
        add_edge(j, dst)
        graph.add_edge(j, dst)
        feeds_refinery[j] = True
        for a in nx.ancestors(graph, j):
            feeds_refinery[a] = True

    # Link names; capacity will be sized near the demand each line carries: every refinery's
    # run along its tree path, plus the nominations of the fixed routes through it.
    link_name = {e: f"line_{i:03d}_{e[0]}__{e[1]}" for i, e in enumerate(edges)}
    link_edge = {name: e for e, name in link_name.items()}
    demand = {e: 0.0 for e in edges}
    for r in refineries:
        tree_parent = next(a for a, b in edges if b == r)  # the first feed line is in-tree
        path = nx.shortest_path(graph, fields[tree_of[r]], tree_parent) + [r]
        for a, b in zip(path, path[1:], strict=False):
            demand[(a, b)] += target[r]

    # Contracts: fields that reach each refinery, nominations near its target run.
    contracts: dict[str, Any] = {}
    nominated_by_field = {f: 0.0 for f in fields}
    for r in refineries:
        sources = [f for f in fields if nx.has_path(graph, f, r)]
        k = int(rng.integers(2, 5))
        chosen = [sources[int(rng.integers(len(sources)))] for _ in range(k)]
        shares = rng.dirichlet(np.ones(k))
        total = target[r] * float(rng.uniform(0.95, 1.05))
        for i, (f, share) in enumerate(zip(chosen, shares, strict=True)):
            daily = total * float(share)
            nominated_by_field[f] += daily
            c: dict[str, Any] = {
                "seller": f"seller_{f}",
                "origin": field_origin[f],
                "grade": field_grade[f],
                "source": f,
                "destination": r,
                "volume_t_per_month": round(daily * 365 / 12),
                "price": {
                    "benchmark": field_grade[f],
                    "differential_usd_per_bbl": round(float(rng.uniform(-3, 1)), 2),
                    "premium_usd_per_t": round(float(rng.uniform(0, 12)), 2),
                },
                "priority": 1 if rng.random() < 0.6 else 2,
            }
            if rng.random() < 0.5:  # fixed routes: the one or two shortest paths
                paths = nx.shortest_simple_paths(graph, f, r)
                routes = []
                for _, path in zip(range(int(rng.integers(1, 3))), paths, strict=False):
                    routes.append([link_name[(a, b)] for a, b in zip(path, path[1:], strict=False)])
                c["routes"] = routes
                for route in routes:
                    for name in route:
                        demand[link_edge[name]] += daily / len(routes)
            u = rng.random()
            if u < 0.06:
                c["start_date"] = (
                    _START + dt.timedelta(days=int(rng.integers(20, 180)))
                ).isoformat()
            elif u < 0.12:
                c["end_date"] = (
                    _START + dt.timedelta(days=int(rng.integers(180, 350)))
                ).isoformat()
            contracts[f"{f}_to_{r}_{i}"] = c

    # Link parameters, once the fixed routes' nominations are known.
    links: dict[str, Any] = {}
    for e in edges:
        length = float(rng.uniform(100, 1500))
        base = float(rng.uniform(20_000, 60_000))
        sized = demand[e] * float(rng.uniform(1.0, 1.6))
        links[link_name[e]] = {
            "kind": "pipeline",
            "from_node": e[0],
            "to_node": e[1],
            "capacity_t_per_day": round(min(150_000.0, max(20_000.0, base, sized))),
            "length_km": round(length, 1),
            "linefill_t_per_km": round(float(rng.uniform(150, 650)), 1),
            "tariff_usd_per_t": round(length / 100 * float(rng.uniform(0.8, 1.2)), 2),
            "initial_linefill_grade": field_grade[fields[tree_of.get(e[0], 0)]],
        }

    nodes: dict[str, Any] = {}
    for f in fields:
        node: dict[str, Any] = {"kind": "field", "description": "synthetic field"}
        if nominated_by_field[f] > 0 and rng.random() < 0.5:
            node["production_t_per_day"] = round(
                nominated_by_field[f] * float(rng.uniform(0.95, 1.2))
            )
        nodes[f] = node
    for j in junctions:
        nodes[j] = {"kind": "junction"}
    for r in refineries:
        t = target[r]
        nodes[r] = {
            "kind": "refinery",
            "capacity_t_per_day": round(t * float(rng.uniform(1.05, 1.3))),
            "target_run_t_per_day": round(t),
            "tank_capacity_t": round(t * float(rng.uniform(25, 35))),
            "initial_stock_t": round(t * float(rng.uniform(10, 15))),
            "min_operating_stock_t": round(t * 3),
            "min_technical_rate_t_per_day": round(t * 0.4),
            "restart_days": 3.0,
            "contaminant_limit_ppm": 10.0,
            "margin_usd_per_t": 30.0,
        }

    # Disruptions on links that carry crude: outages and derates of a few days to weeks.
    disruptions: dict[str, Any] = {}
    loaded = [e for e in edges if demand[e] > 0]
    for i in range(max(1, n_nodes // 50)):
        e = loaded[int(rng.integers(len(loaded)))]
        disruptions[f"maintenance_{i}"] = {
            "target": link_name[e],
            "start_date": (_START + dt.timedelta(days=int(rng.integers(30, 300)))).isoformat(),
            "duration_days": float(rng.integers(3, 21)),
            "capacity_factor": 0.0 if rng.random() < 0.5 else 0.5,
        }

    used_grades = sorted(set(field_grade.values()))
    return {
        "scenario": {
            "name": f"synthetic_{n_nodes}",
            "description": f"synthetic network of {n_nodes} nodes (seed {seed})",
            "start_date": _START.isoformat(),
            "horizon_days": horizon_days,
            "seed": seed,
            "replications": replications,
            "step_days": 1.0,
        },
        "grades": {g: {"bbl_per_t": _GRADES[g]} for g in used_grades},
        "prices": {g: {"usd_per_bbl": 60.0 + 2 * i} for i, g in enumerate(used_grades)},
        "nodes": nodes,
        "links": links,
        "contracts": contracts,
        "disruptions": disruptions,
    }
