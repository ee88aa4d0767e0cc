"""The refinery run planner at component scale (docs/architecture.md, Refineries).

`chain` (field → line → ref): the line is full, so the contract's rate arrives the same day,
and the plan's rate into the refinery is what it expects to receive.
"""

from __future__ import annotations

import pytest

from tests.builders import chain, daily, simulate_one


def _stops(result) -> list[float]:
    return [e["time_days"] for e in result.events if e["event"] == "unit_stop"]


def _restarts(result) -> list[float]:
    return [e["time_days"] for e in result.events if e["event"] == "unit_restart"]


def _runs(result) -> list[float]:
    return [row["outflow_t"] for row in daily(result, "ref")]


def _stock(result) -> list[float]:
    return [row["stock_t"] for row in daily(result, "ref")]


def _just_below_minimum(horizon_days: int, **planner) -> dict:
    """Target 1 000 t/day, minimum technical rate 600; the line brings 570 t/day (0.95 × the
    minimum) every day whatever the month; 3 000 t of stock above the 2 000 t floor."""
    data = chain(
        capacity=570.0,
        volume_t_per_month=100_000.0,
        target=1000.0,
        stock=5000.0,
        min_stock=2000.0,
        min_rate=600.0,
        restart_days=2.0,
        **planner,
    )
    data["scenario"]["horizon_days"] = horizon_days
    return data


def test_without_planning_a_supply_just_below_the_minimum_rate_makes_the_unit_cycle():
    # The rule without planning: flat out (1 000) until the floor, stop, restart on 570 + a
    # day's stock, flat out again... a stop every few days.
    _, result = simulate_one(_just_below_minimum(120))
    assert len(_stops(result)) > 15


def test_the_planner_never_cycles_on_a_supply_just_below_the_minimum_rate():
    # Planned rate P = 570 + (stock − 2 000) / 30. From 3 000 t spare: P = 670, falling as the
    # stock is drawn; at P = 600 (spare 900 t, after 30 ln(3000/900) = 36 days) the unit holds
    # the minimum rate, drawing 30 t/day: 30 more days, then it stops once (day 66). It
    # restarts only when P ≥ 600 × 1.1 = 660, i.e. 2 700 t spare, rebuilt at 570 t/day in
    # 4.7 days, and then runs at least 30 ln(3) + 30 ≈ 63 days before it could stop again.
    _, result = simulate_one(
        _just_below_minimum(120, lookahead_days=30.0, restart_margin_share=0.1)
    )
    assert len(_stops(result)) == 1
    assert _stops(result)[0] == pytest.approx(66.0, abs=2.0)
    runs = _runs(result)
    # While it runs it never drops below the minimum rate, and its rate never jumps.
    running = [r for r in runs if r > 0]
    assert min(running) >= 600.0 - 1e-6
    first_stop = int(_stops(result)[0])
    steps = zip(runs[: first_stop - 1], runs[1:first_stop], strict=True)
    assert all(abs(a - b) <= 1000.0 / 30 + 1e-6 for a, b in steps)


def test_over_a_year_on_a_supply_just_below_the_minimum_each_campaign_lasts_the_lookahead():
    _, result = simulate_one(
        _just_below_minimum(365, lookahead_days=30.0, restart_margin_share=0.1)
    )
    stops, restarts = _stops(result), _restarts(result)
    assert 1 <= len(stops) <= 6  # the plain rule: a stop every ~4 days
    for restart, stop in zip(restarts, stops[1:], strict=False):
        assert stop - restart >= 30.0


def test_a_foreseen_shortfall_cuts_runs_smoothly_before_the_stock_reaches_the_floor():
    # Supply ends after day 9; 18 000 t above the 2 000 t floor; target 1 000 t/day; L = 10.
    # From day 10 the plan brings nothing: P = spare / 10, at most 1 000. By hand, day k ≥ 10:
    # run_k = min(1 000, spare_k / 10), spare_{k+1} = spare_k − run_k: full runs while the
    # spare is ≥ 10 000 t (days 10..17), then 10 % of what is left each day (the minimum
    # technical rate is 0 here, so the unit never stops).
    data = chain(target=1000.0, stock=20_000.0, min_stock=2000.0, lookahead_days=10.0)
    data["scenario"]["horizon_days"] = 40
    data["contracts"]["supply"]["end_date"] = "2019-01-11"  # last delivery on day 9
    _, result = simulate_one(data)
    expected, spare = [1000.0] * 10, 18_000.0
    for _ in range(10, 40):
        run = min(1000.0, spare / 10.0)
        expected.append(run)
        spare -= run
    assert _runs(result) == pytest.approx(expected)
    # The plain rule runs flat out until day 27, then nothing; the planner cuts from day 19
    # and still has stock above the floor at the end.
    assert _runs(result)[18] == pytest.approx(1000.0)
    assert _runs(result)[19] == pytest.approx(900.0)
    assert min(_stock(result)) > 2000.0


def test_the_planner_looks_at_what_arrives_not_only_at_the_stock():
    # Supply drops to 400 t/day from day 10 (a second contract of 600 t/day ends). The plan
    # expects 400 t/day, so P = 400 + spare / 10: runs stay above what arrives and fall
    # smoothly toward it, never below the 300 t/day minimum while stock remains.
    data = chain(
        target=1000.0,
        stock=12_000.0,
        min_stock=2000.0,
        min_rate=300.0,
        lookahead_days=10.0,
        volume_t_per_month=12_400.0,
    )
    data["scenario"]["horizon_days"] = 30
    data["contracts"]["more"] = dict(data["contracts"]["supply"])
    data["contracts"]["more"] |= {"volume_t_per_month": 18_600.0, "end_date": "2019-01-11"}
    _, result = simulate_one(data)
    runs = _runs(result)
    assert runs[:10] == pytest.approx([1000.0] * 10)
    spare = 10_000.0
    for day in range(10, 30):
        run = min(1000.0, 400.0 + spare / 10.0)
        assert runs[day] == pytest.approx(run)
        spare -= run - 400.0
    assert _stops(result) == []


def test_a_stopped_unit_waits_for_the_restart_margin():
    # Lookahead 10 days, minimum 600, margin 0.5: a restart needs P ≥ 900 t/day. Supply ends on
    # day 5 and returns at 700 t/day on day 20. The unit holds 600 t/day on its stock, stops
    # when it is gone, and with 700 t/day arriving restarts only once the stock above the floor
    # reaches (900 − 700) × 10 = 2 000 t, not as soon as 700 ≥ 600.
    data = chain(
        target=1000.0,
        stock=4000.0,
        min_stock=2000.0,
        min_rate=600.0,
        restart_days=1.0,
        lookahead_days=10.0,
        restart_margin_share=0.5,
    )
    data["scenario"]["horizon_days"] = 40
    data["contracts"]["supply"]["end_date"] = "2019-01-06"
    data["contracts"]["later"] = dict(data["contracts"]["supply"])
    data["contracts"]["later"] |= {
        "volume_t_per_month": 21_700.0,
        "start_date": "2019-01-21",
        "end_date": None,
    }
    del data["contracts"]["later"]["end_date"]
    _, result = simulate_one(data)
    [stop] = _stops(result)
    [restart] = _restarts(result)
    assert stop < 20
    stock = _stock(result)
    # Restart in the step that starts with ≥ 2 000 t spare: after 20 + 3 days of 700 t.
    assert stock[int(restart) - 1] - 2000.0 >= 2000.0 - 1e-6
    assert stock[int(restart) - 2] - 2000.0 < 2000.0
