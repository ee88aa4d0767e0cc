"""The allocator at component scale: toy networks, plans checked against hand arithmetic.

Most tests call `Allocator.plan` directly with a hand-made `PlanRequest`; a few run a whole small
simulation to check what the plan does over calendar time (quotas, fees, replanning).
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from sim.engine.allocator import Allocator, Plan, PlanRequest
from sim.engine.topology import compile_topology
from tests.builders import build, contract, daily, pipeline, refinery, scenario_dict, simulate_one

#: The pro-rata programme backs its share off by 1e-9 and HiGHS works to ~1e-7, t/day.
EPS_T_PER_DAY = 1e-5


# -- helpers --------------------------------------------------------------------------------
def allocator(data: dict[str, Any]) -> Allocator:
    return Allocator(compile_topology(build(data)))


def request(
    alloc: Allocator,
    rates: list[float],
    caps: dict[str, float] | None = None,
    quotas: list[float] | None = None,
) -> PlanRequest:
    """Nominations by contract order; capacities default to the links' nameplate."""
    caps = caps or {}
    topo = alloc.topology
    return PlanRequest(
        tuple(float(r) for r in rates),
        tuple(float(caps.get(link.name, link.capacity_t_per_day)) for link in topo.links),
        tuple(quotas if quotas is not None else [math.inf] * len(topo.transit)),
    )


def routes_by_name(
    alloc: Allocator, plan: Plan, contract_name: str
) -> dict[tuple[str, ...], float]:
    """A contract's routes in the plan as {(link names): t/day}."""
    topo = alloc.topology
    index = next(c.index for c in topo.contracts if c.name == contract_name)
    return {
        tuple(topo.links[link].name for link in route): rate for route, rate in plan.routes[index]
    }


def link_loads(alloc: Allocator, plan: Plan) -> dict[str, float]:
    """Total t/day the plan puts on each link, all contracts."""
    loads: dict[str, float] = defaultdict(float)
    for per_contract in plan.routes:
        for route, rate in per_contract:
            for link in route:
                loads[alloc.topology.links[link].name] += rate
    return dict(loads)


def rate_of(alloc: Allocator, plan: Plan, contract_name: str) -> float:
    return sum(routes_by_name(alloc, plan, contract_name).values())


def one_line(capacity: float, contracts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """field → line → ref with the given contracts."""
    data = scenario_dict()
    data["nodes"] = {"field": {"kind": "field"}, "ref": refinery()}
    data["links"] = {"line": pipeline("field", "ref", capacity)}
    data["contracts"] = contracts
    return data


# -- priority and pro rata ------------------------------------------------------------------
def test_priority_one_is_served_in_full_before_priority_two():
    # Priority 2 is declared first, so order of declaration cannot explain the result.
    data = one_line(
        600.0,
        {
            "low": contract("field", "ref", 0.0, priority=2),
            "high": contract("field", "ref", 0.0, priority=1),
        },
    )
    alloc = allocator(data)
    # high 400 first (fits in 600), low gets the rest: 600 - 400 = 200 of its 500.
    plan = alloc.plan(request(alloc, [500.0, 400.0]))
    assert rate_of(alloc, plan, "high") == pytest.approx(400.0, abs=EPS_T_PER_DAY)
    assert rate_of(alloc, plan, "low") == pytest.approx(200.0, abs=EPS_T_PER_DAY)
    # high 700 > 600: high takes all 600, low gets nothing (not even a pro-rata share).
    plan = alloc.plan(request(alloc, [500.0, 700.0]))
    assert rate_of(alloc, plan, "high") == pytest.approx(600.0, abs=EPS_T_PER_DAY)
    assert routes_by_name(alloc, plan, "low") == {}


def test_pro_rata_within_a_class_gives_equal_share_of_nominations():
    data = one_line(600.0, {"a": contract("field", "ref", 0.0), "b": contract("field", "ref", 0.0)})
    alloc = allocator(data)
    plan = alloc.plan(request(alloc, [600.0, 300.0]))
    # share t = 600 / (600 + 300) = 2/3: a = 600 × 2/3 = 400, b = 300 × 2/3 = 200.
    assert rate_of(alloc, plan, "a") == pytest.approx(400.0, abs=EPS_T_PER_DAY)
    assert rate_of(alloc, plan, "b") == pytest.approx(200.0, abs=EPS_T_PER_DAY)
    assert link_loads(alloc, plan)["line"] == pytest.approx(600.0, abs=EPS_T_PER_DAY)


def test_field_production_limit_is_shared_pro_rata():
    data = one_line(
        5000.0, {"a": contract("field", "ref", 0.0), "b": contract("field", "ref", 0.0)}
    )
    data["nodes"]["field"]["production_t_per_day"] = 600.0
    alloc = allocator(data)
    plan = alloc.plan(request(alloc, [600.0, 300.0]))
    # The line has room (5 000); the field gives 600: 600 × 2/3 = 400 and 300 × 2/3 = 200.
    assert rate_of(alloc, plan, "a") == pytest.approx(400.0, abs=EPS_T_PER_DAY)
    assert rate_of(alloc, plan, "b") == pytest.approx(200.0, abs=EPS_T_PER_DAY)


def test_pro_rata_in_a_whole_run():
    # Nominations 600 and 300 t/day in January (31 days): 18 600 and 9 300 t/month.
    data = one_line(
        600.0,
        {"a": contract("field", "ref", 18_600.0), "b": contract("field", "ref", 9_300.0)},
    )
    data["scenario"]["horizon_days"] = 31
    _, result = simulate_one(data, record_daily=False)
    shipped = {row["contract"]: row["shipped_t"] for row in result.contracts}
    # 31 days × 400 = 12 400 t and 31 days × 200 = 6 200 t.
    assert shipped["a"] == pytest.approx(12_400.0, abs=31 * EPS_T_PER_DAY)
    assert shipped["b"] == pytest.approx(6_200.0, abs=31 * EPS_T_PER_DAY)
    assert result.counters["plans_used"] == 1


def _shared_and_private() -> dict[str, Any]:
    """fa → j → ref over `shared` (300 t/day); fb reaches j too, and has a `private` line."""
    data = scenario_dict()
    data["nodes"] = {
        "fa": {"kind": "field"},
        "fb": {"kind": "field"},
        "j": {"kind": "junction"},
        "ref": refinery(),
    }
    data["links"] = {
        "a_j": pipeline("fa", "j", 1000.0),
        "b_j": pipeline("fb", "j", 1000.0),
        "shared": pipeline("j", "ref", 300.0),
        "private": pipeline("fb", "ref", 600.0),
    }
    data["contracts"] = {"a": contract("fa", "ref", 0.0), "b": contract("fb", "ref", 0.0)}
    return data


def test_leftover_after_pro_rata_is_filled_up_to_max_flow():
    alloc = allocator(_shared_and_private())
    plan = alloc.plan(request(alloc, [600.0, 600.0]))
    # Pro rata: a can only use `shared`, so its share is t = 300 / 600 = 1/2 (a = 300); b's
    # equal share 600 × 1/2 = 300 goes on `private`. Then the fill step tops b up to its full
    # 600 on `private` (600 t/day free there): total 300 + 600 = 900.
    assert routes_by_name(alloc, plan, "a") == pytest.approx(
        {("a_j", "shared"): 300.0}, abs=EPS_T_PER_DAY
    )
    assert routes_by_name(alloc, plan, "b") == pytest.approx(
        {("private",): 600.0}, abs=EPS_T_PER_DAY
    )
    # Max flow from both fields to the refinery (super source joined to fa and fb).
    graph = nx.DiGraph()
    for link in alloc.topology.links:
        graph.add_edge(link.from_node, link.to_node, capacity=link.capacity_t_per_day)
    graph.add_edge("super", "fa", capacity=600.0)
    graph.add_edge("super", "fb", capacity=600.0)
    max_flow = nx.maximum_flow_value(graph, "super", "ref")
    assert max_flow == 900.0
    carried = rate_of(alloc, plan, "a") + rate_of(alloc, plan, "b")
    assert carried == pytest.approx(max_flow, abs=EPS_T_PER_DAY)


def test_leftover_on_a_shared_bottleneck_is_shared_pro_rata():
    data = scenario_dict()
    data["nodes"] = {
        "f1": {"kind": "field"},
        "f2": {"kind": "field"},
        "f3": {"kind": "field"},
        "j": {"kind": "junction"},
        "ref": refinery(),
    }
    data["links"] = {
        "l1": pipeline("f1", "j", 100.0),
        "l2": pipeline("f2", "j", 1000.0),
        "l3": pipeline("f3", "j", 1000.0),
        "s": pipeline("j", "ref", 600.0),
    }
    data["contracts"] = {
        "c1": contract("f1", "ref", 0.0),
        "c2": contract("f2", "ref", 0.0),
        "c3": contract("f3", "ref", 0.0),
    }
    alloc = allocator(data)
    plan = alloc.plan(request(alloc, [600.0, 600.0, 600.0]))
    # c1 is held to 100 by l1, so the common share is 100 / 600 = 1/6: 100 each. `s` then has
    # 600 - 300 = 300 left, which only c2 and c3 (same nomination, same bottleneck) can use:
    # max-min fairness gives them 100 + 150 = 250 each.
    assert rate_of(alloc, plan, "c1") == pytest.approx(100.0, abs=EPS_T_PER_DAY)
    assert rate_of(alloc, plan, "c2") == pytest.approx(250.0, abs=EPS_T_PER_DAY)
    assert rate_of(alloc, plan, "c3") == pytest.approx(250.0, abs=EPS_T_PER_DAY)


# -- cost and routes ------------------------------------------------------------------------
def _two_parallel_lines() -> dict[str, Any]:
    data = scenario_dict()
    data["nodes"] = {"field": {"kind": "field"}, "ref": refinery()}
    data["links"] = {
        "dear": pipeline("field", "ref", 1000.0, tariff=10.0),
        "cheap": pipeline("field", "ref", 500.0, tariff=5.0),
    }
    data["contracts"] = {"a": contract("field", "ref", 0.0)}
    return data


def test_least_cost_uses_the_cheap_line_first():
    alloc = allocator(_two_parallel_lines())
    # 400 ≤ 500 on the 5 USD/t line: all of it there.
    plan = alloc.plan(request(alloc, [400.0]))
    assert routes_by_name(alloc, plan, "a") == {("cheap",): 400.0}
    # 700 > 500: 500 on cheap, the excess 700 - 500 = 200 on the 10 USD/t line.
    plan = alloc.plan(request(alloc, [700.0]))
    assert routes_by_name(alloc, plan, "a") == {("cheap",): 500.0, ("dear",): 200.0}


def test_least_cost_in_a_whole_run_shows_in_transport_cost():
    data = _two_parallel_lines()
    data["contracts"]["a"]["volume_t_per_month"] = 21_700.0  # 700 t/day over 31 days
    data["scenario"]["horizon_days"] = 31
    _, result = simulate_one(data, record_daily=False)
    (row,) = result.contracts
    # 31 × 700 = 21 700 t; cost 31 × (500 × 5 + 200 × 10) = 31 × 4 500 = 139 500 USD.
    assert row["shipped_t"] == pytest.approx(21_700.0)
    assert row["transport_usd"] == pytest.approx(139_500.0)


def test_declared_routes_are_respected():
    data = scenario_dict()
    data["nodes"] = {"field": {"kind": "field"}, "j": {"kind": "junction"}, "ref": refinery()}
    data["links"] = {
        "direct": pipeline("field", "ref", 300.0),
        "f_j": pipeline("field", "j", 1000.0),
        "j_ref": pipeline("j", "ref", 1000.0),
    }
    data["contracts"] = {
        "bound": contract("field", "ref", 0.0, routes=[["direct"]]),
        "free": contract("field", "ref", 0.0),
    }
    alloc = allocator(data)
    # Both nominate 800: `bound` may only use `direct` (300), so it gets 300 and never touches
    # the free 1 000 t/day detour; `free` takes 800 over the detour (direct is full).
    plan = alloc.plan(request(alloc, [800.0, 800.0]))
    assert routes_by_name(alloc, plan, "bound") == pytest.approx(
        {("direct",): 300.0}, abs=EPS_T_PER_DAY
    )
    assert rate_of(alloc, plan, "free") == pytest.approx(800.0, abs=EPS_T_PER_DAY)
    assert link_loads(alloc, plan)["direct"] <= 300.0 + EPS_T_PER_DAY
    # With `direct` out, the bound contract gets nothing at all.
    plan = alloc.plan(request(alloc, [800.0, 0.0], caps={"direct": 0.0}))
    assert routes_by_name(alloc, plan, "bound") == {}


def _diamond() -> dict[str, Any]:
    data = scenario_dict()
    data["nodes"] = {
        "s": {"kind": "field"},
        "a": {"kind": "junction"},
        "b": {"kind": "junction"},
        "t": refinery(),
    }
    data["links"] = {
        "s_a": pipeline("s", "a", 700.0),
        "s_b": pipeline("s", "b", 400.0),
        "a_b": pipeline("a", "b", 300.0),
        "a_t": pipeline("a", "t", 400.0),
        "b_t": pipeline("b", "t", 600.0),
    }
    data["contracts"] = {"free": contract("s", "t", 0.0)}
    return data


def test_free_routing_carries_max_flow_on_a_diamond():
    alloc = allocator(_diamond())
    graph = nx.DiGraph()
    for link in alloc.topology.links:
        graph.add_edge(link.from_node, link.to_node, capacity=link.capacity_t_per_day)
    # Cut into t: a_t 400 + b_t 600 = 1 000; cut out of s: 700 + 400 = 1 100. Max flow 1 000,
    # which needs the cross link: b_t takes s_b 400 + a_b 200.
    max_flow = nx.maximum_flow_value(graph, "s", "t")
    assert max_flow == 1000.0
    plan = alloc.plan(request(alloc, [5000.0]))
    assert rate_of(alloc, plan, "free") == pytest.approx(max_flow, abs=EPS_T_PER_DAY)
    loads = link_loads(alloc, plan)
    for link in alloc.topology.links:
        assert loads.get(link.name, 0.0) <= link.capacity_t_per_day + EPS_T_PER_DAY
    assert loads["a_b"] == pytest.approx(200.0, abs=EPS_T_PER_DAY)
    # Every route runs from s to t.
    for route in routes_by_name(alloc, plan, "free"):
        links = [alloc.topology.links[alloc.topology.link_index[n]] for n in route]
        assert links[0].from_node == "s" and links[-1].to_node == "t"


# -- transit conditions ---------------------------------------------------------------------
def _north_south(transit: dict[str, Any]) -> dict[str, Any]:
    data = scenario_dict()
    data["nodes"] = {"field": {"kind": "field"}, "ref": refinery()}
    data["links"] = {
        "north": pipeline("field", "ref", 1000.0),
        "south": pipeline("field", "ref", 200.0, tariff=20.0),
    }
    data["contracts"] = {
        "kaz": contract("field", "ref", 0.0, origin="kazakhstan"),
        "rus": contract("field", "ref", 0.0, origin="russia"),
    }
    data["transit"] = transit
    return data


def test_halted_origin_is_kept_off_the_link_other_origins_are_not():
    data = _north_south({"stop": {"links": ["north"], "origins": ["kazakhstan"], "halted": True}})
    alloc = allocator(data)
    plan = alloc.plan(request(alloc, [500.0, 500.0]))
    # kaz may only use south (200 t/day, dear): 200 of its 500. rus uses cheap north: 500.
    assert routes_by_name(alloc, plan, "kaz") == pytest.approx(
        {("south",): 200.0}, abs=EPS_T_PER_DAY
    )
    assert routes_by_name(alloc, plan, "rus") == pytest.approx(
        {("north",): 500.0}, abs=EPS_T_PER_DAY
    )


def test_halted_for_all_origins_when_origins_not_given():
    data = _north_south({"stop": {"links": ["north"], "halted": True}})
    alloc = allocator(data)
    plan = alloc.plan(request(alloc, [500.0, 0.0]))
    assert routes_by_name(alloc, plan, "kaz") == pytest.approx(
        {("south",): 200.0}, abs=EPS_T_PER_DAY
    )


def test_quota_rate_in_the_request_caps_the_origin():
    data = _north_south(
        {"q": {"links": ["north"], "origins": ["kazakhstan"], "quota_t_per_month": 9300.0}}
    )
    alloc = allocator(data)
    # A quota rate of 150 t/day left on north: kaz 150 on north + 200 on south = 350; rus 500.
    plan = alloc.plan(request(alloc, [500.0, 500.0], quotas=[150.0]))
    assert routes_by_name(alloc, plan, "kaz") == pytest.approx(
        {("north",): 150.0, ("south",): 200.0}, abs=EPS_T_PER_DAY
    )
    assert rate_of(alloc, plan, "rus") == pytest.approx(500.0, abs=EPS_T_PER_DAY)
    # Quota used up (rate 0): kaz is kept off north entirely.
    plan = alloc.plan(request(alloc, [500.0, 500.0], quotas=[0.0]))
    assert routes_by_name(alloc, plan, "kaz") == pytest.approx(
        {("south",): 200.0}, abs=EPS_T_PER_DAY
    )


def _quota_network(horizon_days: int = 90) -> dict[str, Any]:
    """kz → kz_line → j → trunk → ref and ru → ru_line → j; a quota on kz_line for Kazakh crude."""
    data = scenario_dict(horizon_days=horizon_days)
    data["nodes"] = {
        "kz": {"kind": "field"},
        "ru": {"kind": "field"},
        "j": {"kind": "junction"},
        "ref": refinery(target=2000.0, tank=200_000.0, stock=50_000.0),
    }
    data["links"] = {
        "kz_line": pipeline("kz", "j", 5000.0, tariff=3.0),
        "ru_line": pipeline("ru", "j", 5000.0, tariff=3.0),
        "trunk": pipeline("j", "ref", 10_000.0, tariff=1.0),
    }
    data["contracts"] = {
        "kaz": contract("kz", "ref", 31_000.0, origin="kazakhstan"),
        "rus": contract("ru", "ref", 31_000.0, origin="russia"),
    }
    data["transit"] = {
        "quota": {
            "links": ["kz_line"],
            "origins": ["kazakhstan"],
            "quota_t_per_month": 20_000.0,
            "tariff_usd_per_t": 2.5,
        }
    }
    return data


def test_monthly_quota_is_never_exceeded_and_restarts_each_month():
    sim, result = simulate_one(_quota_network())
    rows = daily(result, "kz_line")
    assert len(rows) == 90
    by_month: dict[str, float] = defaultdict(float)
    for row in rows:
        by_month[row["date"][:7]] += row["inflow_t"]
    # The nomination (31 000 t/month) is above the quota: each month carries exactly the quota.
    assert by_month == pytest.approx(
        {"2019-01": 20_000.0, "2019-02": 20_000.0, "2019-03": 20_000.0}, abs=1e-6
    )
    for total in by_month.values():
        assert total <= 20_000.0 + 1e-6
    # Crude flows at its nomination until the month's quota is used up, then stops until the
    # month turns: January 31 000 / 31 = 1 000 t/day for 20 days; February 31 000 / 28 =
    # 1 107.14 t/day for 18 days (19 928.6 t), then the last 71.4 t on day 18; March as January.
    inflow = [row["inflow_t"] for row in rows]
    feb = 31_000.0 / 28
    assert inflow[:20] == pytest.approx([1000.0] * 20)
    assert inflow[20:31] == [0.0] * 11
    assert inflow[31:49] == pytest.approx([feb] * 18)
    assert inflow[49] == pytest.approx(20_000.0 - 18 * feb)
    assert inflow[50:59] == [0.0] * 9
    assert inflow[59:79] == pytest.approx([1000.0] * 20)
    assert inflow[79:] == [0.0] * 11
    spent = [(e["date"], e["event"]) for e in result.events if e["event"] == "quota_exhausted"]
    assert spent == [
        ("2019-01-21", "quota_exhausted"),
        ("2019-02-20", "quota_exhausted"),
        ("2019-03-21", "quota_exhausted"),
    ]
    # Russian crude on its own line is not held back: 31 000 t in each month.
    ru = defaultdict(float)
    for row in daily(result, "ru_line"):
        ru[row["date"][:7]] += row["inflow_t"]
    assert ru == pytest.approx({"2019-01": 31_000.0, "2019-02": 31_000.0, "2019-03": 31_000.0})
    # After the last step of March the month's quota is fully used.
    assert sim.conditions.quota_used_t == pytest.approx([20_000.0])


def test_quota_held_back_by_an_outage_is_used_later_in_the_month():
    data = _quota_network(horizon_days=31)
    # kz_line out on days 5..9 (5 days).
    data["disruptions"] = {
        "cut": {"target": "kz_line", "start_date": "2019-01-06", "duration_days": 5}
    }
    _, result = simulate_one(data)
    inflow = [row["inflow_t"] for row in daily(result, "kz_line")]
    # Days 0..4 at 1 000; days 5..9 nothing; days 10..24 at 1 000 (15 000 t), which uses the
    # 20 000 t quota up; days 25..30 nothing.
    assert inflow[:5] == pytest.approx([1000.0] * 5)
    assert inflow[5:10] == [0.0] * 5
    assert inflow[10:25] == pytest.approx([1000.0] * 15)
    assert inflow[25:] == [0.0] * 6
    assert sum(inflow) == pytest.approx(20_000.0)


def test_transit_fee_is_in_the_contract_transport_cost():
    _, result = simulate_one(_quota_network(), record_daily=False)
    rows = {row["contract"]: row for row in result.contracts}
    # kaz: 3 × 20 000 t × (kz_line 3 + fee 2.5 + trunk 1) = 60 000 × 6.5 = 390 000 USD.
    assert rows["kaz"]["shipped_t"] == pytest.approx(60_000.0)
    assert rows["kaz"]["transport_usd"] == pytest.approx(390_000.0)
    # rus: 31 000 × 3 = 93 000 t × (ru_line 3 + trunk 1) = 372 000 USD, no fee.
    assert rows["rus"]["shipped_t"] == pytest.approx(93_000.0)
    assert rows["rus"]["transport_usd"] == pytest.approx(372_000.0)


def _transit_chain() -> dict[str, Any]:
    """a → b → ref under one transit condition; z joins the set at b from outside it."""
    data = scenario_dict(horizon_days=31)
    data["nodes"] = {
        "a": {"kind": "field"},
        "z": {"kind": "field"},
        "b": {"kind": "junction"},
        "ref": refinery(target=2000.0),
    }
    data["links"] = {
        "a_b": pipeline("a", "b", 1000.0),
        "z_b": pipeline("z", "b", 1000.0),
        "b_ref": pipeline("b", "ref", 2000.0),
    }
    data["contracts"] = {
        "from_a": contract("a", "ref", 15_500.0),  # 500 t/day in January
        "from_z": contract("z", "ref", 15_500.0),
    }
    data["transit"] = {"t": {"links": ["a_b", "b_ref"], "tariff_usd_per_t": 10.0}}
    return data


def test_transit_fee_is_charged_once_along_consecutive_links():
    _, result = simulate_one(_transit_chain(), record_daily=False)
    rows = {row["contract"]: row for row in result.contracts}
    # from_a crosses a_b and b_ref, both in the set, but enters it once: 31 × 500 × 10.
    assert rows["from_a"]["transport_usd"] == pytest.approx(155_000.0)


@pytest.mark.parametrize("declared", [False, True], ids=["free-routing", "declared-routes"])
def test_transit_fee_is_charged_on_crude_joining_the_set_mid_way(declared):
    data = _transit_chain()
    if declared:
        data["contracts"]["from_a"]["routes"] = [["a_b", "b_ref"]]
        data["contracts"]["from_z"]["routes"] = [["z_b", "b_ref"]]
    _, result = simulate_one(data, record_daily=False)
    rows = {row["contract"]: row for row in result.contracts}
    # Each enters the set once (from_a at a_b, from_z at b_ref): 31 × 500 t × 10 USD/t.
    assert rows["from_a"]["transport_usd"] == pytest.approx(155_000.0)
    assert rows["from_z"]["transport_usd"] == pytest.approx(155_000.0)


@pytest.mark.parametrize("declared", [False, True], ids=["free-routing", "declared-routes"])
def test_quota_counts_crude_joining_the_set_mid_way(declared):
    data = _transit_chain()
    if declared:
        data["contracts"]["from_a"]["routes"] = [["a_b", "b_ref"]]
        data["contracts"]["from_z"]["routes"] = [["z_b", "b_ref"]]
    data["transit"]["t"]["quota_t_per_month"] = 3100.0
    alloc = allocator(data)
    # 100 t/day of quota left for all origins; both contracts enter the set (a at a_b, z at
    # b_ref), so together they may carry at most 100 t/day through it.
    plan = alloc.plan(request(alloc, [500.0, 500.0], quotas=[100.0]))
    carried = rate_of(alloc, plan, "from_a") + rate_of(alloc, plan, "from_z")
    assert carried == pytest.approx(100.0, abs=EPS_T_PER_DAY)


# -- plan cache and replanning --------------------------------------------------------------
def test_same_request_returns_the_cached_plan():
    alloc = allocator(_two_parallel_lines())
    first = alloc.plan(request(alloc, [700.0]))
    again = alloc.plan(request(alloc, [700.0]))  # equal request, a different object
    assert again is first
    assert (alloc.plans_computed, alloc.plans_reused) == (1, 1)
    other = alloc.plan(request(alloc, [400.0]))
    assert other is not first
    assert (alloc.plans_computed, alloc.plans_reused) == (2, 1)
    assert alloc.plan(request(alloc, [700.0])) is first
    assert (alloc.plans_computed, alloc.plans_reused) == (2, 2)


def test_plans_are_recomputed_at_month_turn_and_disruption_start_and_end():
    data = one_line(10_000.0, {"supply": contract("field", "ref", 31_000.0)})
    data["disruptions"] = {
        "derate": {
            "target": "line",
            "start_date": "2019-01-11",
            "duration_days": 5,
            "capacity_factor": 0.05,
        }
    }
    sim, result = simulate_one(data)
    events = [(e["date"], e["asset"], e["event"]) for e in result.events]
    assert events == [
        ("2019-01-11", "line", "disruption_start"),
        ("2019-01-16", "line", "disruption_end"),
        ("2019-02-01", "network", "month_start"),
        ("2019-03-01", "network", "month_start"),  # day 59, the last step
    ]
    # Plans taken: day 0, day 10 (start), day 15 (end), day 31 (February), day 59 (March): 5 in
    # 60 steps. Days 15 and 59 ask what day 0 asked (1 000 t/day, full capacity): reused.
    assert result.counters["plans_used"] == 5
    assert result.counters["steps"] == 60
    assert (sim.allocator.plans_computed, sim.allocator.plans_reused) == (3, 2)
    inflow = [row["inflow_t"] for row in daily(result, "line")]
    # 1 000 t/day in January, 10 000 × 0.05 = 500 on days 10..14, 31 000 / 28 in February.
    assert inflow[:10] == pytest.approx([1000.0] * 10)
    assert inflow[10:15] == pytest.approx([500.0] * 5)
    assert inflow[15:31] == pytest.approx([1000.0] * 16)
    assert inflow[31:59] == pytest.approx([31_000.0 / 28] * 28)
    assert inflow[59:] == pytest.approx([1000.0])


def test_forced_plan_without_a_programme_equals_the_programmes_plan():
    # base.toml: every contract has one route and all nominations fit, so the allocator skips
    # the linear programmes; solving them anyway must give the same routes and rates.
    from sim.engine.allocator import _ClassProgramme, _Residual, _whole_nominations
    from sim.scenario.loading import load_scenario

    topo = compile_topology(load_scenario(Path(__file__).parents[1] / "scenarios" / "base.toml"))
    rates = tuple(c.volume_t_per_month / 31 for c in topo.contracts)
    request = PlanRequest(rates, tuple(link.capacity_t_per_day for link in topo.links), ())
    contracts = list(topo.contracts)
    shortcut = _whole_nominations(topo, contracts, request, _Residual(topo, request))
    solved = _ClassProgramme(topo, contracts, request, _Residual(topo, request)).solve()
    assert shortcut is not None
    assert shortcut.keys() == solved.keys()
    for index, paths in shortcut.items():
        assert [p for p, _ in paths] == [p for p, _ in solved[index]]
        assert [r for _, r in paths] == pytest.approx([r for _, r in solved[index]], rel=1e-9)
    # A nomination that does not fit makes it fall back to the programmes.
    squeezed = PlanRequest(rates, tuple(0.2 * c for c in request.link_capacities_t_per_day), ())
    assert _whole_nominations(topo, contracts, squeezed, _Residual(topo, squeezed)) is None
