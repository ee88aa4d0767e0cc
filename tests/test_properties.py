"""Invariants over many random networks (hypothesis): the physics never breaks."""

from __future__ import annotations

import math

import networkx as nx
from hypothesis import HealthCheck, given, settings

from tests.builders import build, daily, simulate_one
from tests.random_networks import networks

TOL_T = 1e-6


def max_flow_to(data, refinery: str) -> float:
    """Max-flow from every field to one refinery, computed from the links alone."""
    graph = nx.DiGraph()
    for link in data["links"].values():
        u, v = link["from_node"], link["to_node"]
        cap = graph[u][v]["capacity"] if graph.has_edge(u, v) else 0.0
        graph.add_edge(u, v, capacity=cap + link["capacity_t_per_day"])
    for name, node in data["nodes"].items():
        if node["kind"] == "field":
            graph.add_edge("SOURCE", name)
    return nx.maximum_flow_value(graph, "SOURCE", refinery)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_mass_balance_levels_and_flows_hold_on_random_networks(data):
    scenario = build(data)
    sim, result = simulate_one(scenario)  # the engine itself raises if mass balance fails
    mb = result.mass_balance
    assert abs(mb["imbalance_t"]) <= 1e-9 * max(1.0, mb["initial_inventory_t"] + mb["supplied_t"])
    assert math.isclose(
        mb["initial_inventory_t"] + mb["supplied_t"],
        mb["runs_t"] + mb["final_inventory_t"] + mb["quarantine_stock_t"] + mb["reverse_pumped_t"],
        rel_tol=1e-9,
        abs_tol=1e-6,
    )
    for name, node in data["nodes"].items():
        if node["kind"] != "refinery":
            continue
        for row in daily(result, name):
            assert -TOL_T <= row["stock_t"] <= node["tank_capacity_t"] + TOL_T
            assert row["inflow_t"] >= -TOL_T and row["outflow_t"] >= -TOL_T
            assert row["outflow_t"] <= node["capacity_t_per_day"] + TOL_T
            # Nothing reaches a refinery faster than the network can carry it.
            assert row["inflow_t"] <= max_flow_to(data, name) * (1 + 1e-9) + TOL_T
    for name, link in data["links"].items():
        for row in daily(result, name):
            assert row["inflow_t"] >= -TOL_T
            assert row["inflow_t"] <= link["capacity_t_per_day"] * (1 + 1e-9) + TOL_T
            assert math.isclose(row["inflow_t"], row["outflow_t"], abs_tol=TOL_T)  # full line
            linefill = link["length_km"] * link["linefill_t_per_km"]
            assert math.isclose(row["stock_t"], linefill, rel_tol=1e-9)
    for row in result.flows:
        assert row["tonnes_t"] >= -TOL_T


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(max_nodes=7, ample_supply=True, disruptions=False))
def test_ample_supply_delivers_min_of_demand_and_max_flow(data):
    # One refinery at a time, so that each one's max flow is its own (no sharing).
    refineries = [n for n, node in data["nodes"].items() if node["kind"] == "refinery"]
    for keep in refineries:
        one = {**data, "nodes": dict(data["nodes"]), "contracts": dict(data["contracts"])}
        one["nodes"] = {n: v for n, v in data["nodes"].items() if n not in refineries or n == keep}
        one["links"] = {k: v for k, v in data["links"].items() if v["to_node"] in one["nodes"]}
        one["contracts"] = {k: v for k, v in data["contracts"].items() if v["destination"] == keep}
        node = dict(one["nodes"][keep])
        # A small, full tank and no stop rules: from day 2 on the delivered rate is what the
        # network can carry up to what the refinery runs.
        node.update(
            tank_capacity_t=1.0,
            initial_stock_t=1.0,
            min_operating_stock_t=0.0,
            min_technical_rate_t_per_day=0.0,
        )
        one["nodes"][keep] = node
        one["scenario"] = {**data["scenario"], "step_days": 1.0}
        _, result = simulate_one(one)
        expected = min(node["target_run_t_per_day"], max_flow_to(one, keep))
        last = daily(result, keep)[-1]
        assert math.isclose(last["inflow_t"], expected, rel_tol=1e-6, abs_tol=1e-3)
