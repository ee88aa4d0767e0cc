"""Refinery behaviour at component scale: whole small simulations checked day by day.

The network is the smallest that runs (`chain`: field → line → ref) unless a test needs more.
The line starts full of clean linefill and pushes out what is pushed in the same day, so while a
contract delivers at r t/day the refinery receives r t/day from day 0.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from sim.engine.crude import Parcel
from sim.engine.simulation import Simulation
from tests.builders import chain, contract, daily, pipeline, simulate_one


def _events(result, *kinds: str) -> list[tuple[str, str, str]]:
    return [
        (e["date"], e["asset"], e["event"])
        for e in result.events
        if not kinds or e["event"] in kinds
    ]


def _column(result, asset: str, key: str) -> list[float]:
    return [row[key] for row in daily(result, asset)]


def _row_of(result, name: str = "ref") -> dict[str, Any]:
    return next(r for r in result.refineries if r["refinery"] == name)


def _assert_mass_balance(result) -> None:
    mb = result.mass_balance
    assert mb["imbalance_t"] == pytest.approx(0.0, abs=1e-6)


# -- runs against stock -------------------------------------------------------------------
def test_stock_falls_at_target_after_supply_stops_then_runs_are_cut_to_arrivals():
    data = chain(target=1000.0, stock=5000.0, min_stock=2000.0)
    data["scenario"]["horizon_days"] = 20
    data["contracts"]["supply"]["end_date"] = "2019-01-11"  # last delivery on day 9
    _, result = simulate_one(data)
    # Days 0..9: 1 000 in, 1 000 run, stock 5 000. From day 10 nothing arrives: the stock
    # above the minimum (5 000 - 2 000 = 3 000) carries three days at target (4 000, 3 000,
    # 2 000), then runs are cut to what arrives, 0, on days 13..19 (7 days).
    assert _column(result, "ref", "stock_t") == pytest.approx(
        [5000.0] * 10 + [4000.0, 3000.0] + [2000.0] * 8
    )
    assert _column(result, "ref", "outflow_t") == pytest.approx([1000.0] * 13 + [0.0] * 7)
    assert _column(result, "ref", "inflow_t") == pytest.approx([1000.0] * 10 + [0.0] * 10)
    row = _row_of(result)
    assert row["runs_t"] == pytest.approx(13_000.0)
    assert row["unserved_t"] == pytest.approx(7 * 1000.0)
    assert row["run_cut_days"] == 7
    assert row["min_stock_t"] == pytest.approx(2000.0)
    assert _events(result) == [("2019-01-11", "supply", "contract_end")]
    _assert_mass_balance(result)


def test_at_minimum_stock_runs_follow_a_partial_supply():
    data = chain(target=1000.0, stock=5000.0, min_stock=2000.0)
    data["scenario"]["horizon_days"] = 20
    data["contracts"]["supply"]["end_date"] = "2019-01-11"
    data["contracts"]["trickle"] = contract("field", "ref", 9300.0)  # 300 t/day in January
    _, result = simulate_one(data)
    # Days 0..9: 1 300 in, 1 000 run: stock +300/day → 5 300, 5 600, … 8 000.
    # Days 10..17: 300 in, 1 000 run: -700/day → 7 300, 6 600, … 2 400 (stock - 2 000 ≥ 700).
    # Day 18: min(1 000, 300 + 2 400 - 2 000) = 700 → 2 000. Day 19: 300 in, 300 run.
    stock = [5000.0 + 300.0 * (d + 1) for d in range(10)]
    stock += [7300.0, 6600.0, 5900.0, 5200.0, 4500.0, 3800.0, 3100.0, 2400.0, 2000.0, 2000.0]
    assert _column(result, "ref", "stock_t") == pytest.approx(stock)
    assert _column(result, "ref", "outflow_t") == pytest.approx([1000.0] * 18 + [700.0, 300.0])
    row = _row_of(result)
    assert row["unserved_t"] == pytest.approx(300.0 + 700.0)
    assert row["run_cut_days"] == 2
    _assert_mass_balance(result)


# -- minimum technical rate -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("restart_days", "relief_start", "expected_events", "stock", "down_days"),
    [
        # Down on day 12; may restart from day 12 + 3 = 15. Relief crude arrives from day 13,
        # so the feasible rate is back above 600 on day 13, but the unit waits until day 15.
        (
            3.0,
            "2019-01-14",
            [
                ("2019-01-11", "main", "contract_end"),
                ("2019-01-13", "ref", "unit_stop"),
                ("2019-01-14", "relief", "contract_start"),
                ("2019-01-16", "ref", "unit_restart"),
            ],
            [5000.0] * 10 + [4000.0, 3000.0, 3000.0, 4000.0] + [5000.0] * 6,
            3,
        ),
        # Down on day 12; may restart from day 13, but the feasible rate stays 500 < 600 until
        # relief crude arrives on day 16: restart that very day.
        (
            1.0,
            "2019-01-17",
            [
                ("2019-01-11", "main", "contract_end"),
                ("2019-01-13", "ref", "unit_stop"),
                ("2019-01-17", "relief", "contract_start"),
                ("2019-01-17", "ref", "unit_restart"),
            ],
            [5000.0] * 10 + [4000.0] + [3000.0] * 9,
            4,
        ),
    ],
    ids=["waits-restart-days", "waits-for-feasible-rate"],
)
def test_unit_stops_below_minimum_rate_and_restarts(
    restart_days, relief_start, expected_events, stock, down_days
):
    data = chain(
        target=1000.0, stock=5000.0, min_stock=2500.0, min_rate=600.0, restart_days=restart_days
    )
    data["scenario"]["horizon_days"] = 20
    data["contracts"] = {
        "main": contract("field", "ref", 31_000.0, end_date="2019-01-11"),
        "relief": contract("field", "ref", 31_000.0, start_date=relief_start),
    }
    _, result = simulate_one(data)
    # Day 10: min(1 000, 0 + 5 000 - 2 500) = 1 000 → 4 000; day 11: 1 000 → 3 000;
    # day 12: min(1 000, 0 + 500) = 500 < 600: the unit stops (runs 0, not 500).
    assert _events(result) == expected_events
    assert _column(result, "ref", "stock_t") == pytest.approx(stock)
    outflow = _column(result, "ref", "outflow_t")
    assert outflow == pytest.approx([1000.0] * 12 + [0.0] * down_days + [1000.0] * (8 - down_days))
    row = _row_of(result)
    assert row["unserved_t"] == pytest.approx(1000.0 * down_days)
    assert row["run_cut_days"] == down_days
    _assert_mass_balance(result)


def test_no_stop_without_a_minimum_technical_rate():
    data = chain(target=1000.0, stock=5000.0, min_stock=2500.0, min_rate=0.0, restart_days=3.0)
    data["scenario"]["horizon_days"] = 20
    data["contracts"]["supply"]["end_date"] = "2019-01-11"
    _, result = simulate_one(data)
    # Day 12 runs the 500 above the minimum and no unit event is logged.
    assert _column(result, "ref", "outflow_t")[10:14] == pytest.approx([1000.0, 1000.0, 500.0, 0])
    assert _events(result, "unit_stop", "unit_restart") == []


# -- contaminated crude ---------------------------------------------------------------------
def _with_dirty_line(rate_t_per_month: float, ppm: float, linefill_km: float, horizon: int):
    """chain plus dirty → dirty_line → ref carrying Kazakh crude at `ppm` (limit 10 ppm)."""
    data = chain(target=1000.0, stock=50_000.0, limit_ppm=10.0)
    data["scenario"]["horizon_days"] = horizon
    data["nodes"]["dirty"] = {"kind": "field"}
    # 100 t/km: `linefill_km` km hold linefill_km × 100 t of clean linefill.
    data["links"]["dirty_line"] = pipeline("dirty", "ref", 1000.0, length_km=linefill_km)
    data["contracts"]["bad"] = contract(
        "dirty", "ref", rate_t_per_month, origin="kazakhstan", contaminant_ppm=ppm
    )
    return data


def test_contaminated_crude_is_quarantined_never_run():
    # 500 t/day (15 500 t / 31 days) into a line holding 10 km × 100 = 1 000 t of linefill:
    # days 0 and 1 deliver clean linefill, contaminated crude arrives from day 2.
    sim, result = simulate_one(_with_dirty_line(15_500.0, 50.0, 10.0, horizon=20))
    assert _events(result) == [("2019-01-03", "ref", "rejection_start")]
    row = _row_of(result)
    # Arrived from the contract: 18 days × 500 = 9 000 t, all quarantined.
    assert row["quarantined_t"] == pytest.approx(9000.0)
    # Intake: 20 × 1 000 clean + 2 × 500 linefill = 21 000; runs 20 × 1 000 = 20 000.
    assert row["intake_t"] == pytest.approx(21_000.0)
    assert row["runs_t"] == pytest.approx(20_000.0)
    assert row["final_stock_t"] == pytest.approx(51_000.0)
    tank = sim.network.refineries["ref"].tank
    assert "kazakhstan" not in tank.tonnes_by_origin()
    assert tank.ppm == 0.0
    flows = {(f["link"], f["origin"]): f["tonnes_t"] for f in result.flows}
    assert flows[("dirty_line", "linefill")] == pytest.approx(1000.0)
    assert flows[("dirty_line", "kazakhstan")] == pytest.approx(9000.0)
    # initial 50 000 + 10 000 + 1 000 = 61 000; supplied 20 000 + 10 000 = 30 000;
    # runs 20 000 + final (51 000 + 10 000 + 1 000) + quarantined 9 000 = 91 000.
    mb = result.mass_balance
    assert mb["initial_inventory_t"] == pytest.approx(61_000.0)
    assert mb["supplied_t"] == pytest.approx(30_000.0)
    assert mb["quarantine_stock_t"] == pytest.approx(9000.0)
    _assert_mass_balance(result)


def test_contaminated_crude_at_the_linefill_interface_is_not_run():
    # 300 t/day (9 300 / 31) into 1 000 t of linefill: days 0..2 clean (900 t), day 3 brings
    # the last 100 t of linefill and the first 200 t of crude at 12 ppm (> 10 ppm limit).
    # Arrived from the contract over 10 days: 200 + 6 × 300 = 2 000 t, all to be quarantined.
    sim, result = simulate_one(_with_dirty_line(9300.0, 12.0, 10.0, horizon=10))
    assert _row_of(result)["quarantined_t"] == pytest.approx(2000.0)
    assert "kazakhstan" not in sim.network.refineries["ref"].tank.tonnes_by_origin()


def test_quarantined_crude_takes_no_room_in_the_crude_tanks():
    # Full tank (10 000 of 10 000), clean 1 000 t/day = the run; dirty line with 1 km × 100 =
    # 100 t of linefill, 500 t/day at 50 ppm: everything it delivers is refused from day 0.
    data = _with_dirty_line(15_500.0, 50.0, 1.0, horizon=10)
    data["nodes"]["ref"]["tank_capacity_t"] = 10_000.0
    data["nodes"]["ref"]["initial_stock_t"] = 10_000.0
    _, result = simulate_one(data)
    assert _events(result) == [("2019-01-01", "ref", "rejection_start")]
    # The quarantined crude never enters the tanks: 1 000 t of clean crude a day fit. On day 0
    # the dirty line's 100 t of clean linefill come out too (and are accepted): both routes
    # ship 90 % that day (900 + 100 clean = 1 000), then the clean contract ships in full.
    shipped = {c["contract"]: c["shipped_t"] for c in result.contracts}
    assert shipped["supply"] == pytest.approx(900.0 + 9 * 1000.0)
    assert _column(result, "ref", "inflow_t") == pytest.approx([1000.0] * 10)
    assert _column(result, "ref", "stock_t") == pytest.approx([10_000.0] * 10)


# -- tank room ------------------------------------------------------------------------------
def test_receipts_are_cut_to_tank_room():
    data = chain(target=1000.0, tank=10_000.0, stock=9500.0, volume_t_per_month=93_000.0)
    data["scenario"]["horizon_days"] = 20
    _, result = simulate_one(data)
    # Nominated 93 000 / 31 = 3 000 t/day. Day 0: room 500 + run 1 000 = 1 500 accepted,
    # stock 9 500 + 1 500 - 1 000 = 10 000. After that: room 0 + run 1 000 = 1 000 a day.
    for row in daily(result, "ref"):
        assert row["stock_t"] <= 10_000.0 + 1e-9
    assert _column(result, "ref", "stock_t") == pytest.approx([10_000.0] * 20)
    assert _column(result, "ref", "inflow_t") == pytest.approx([1500.0] + [1000.0] * 19)
    # The cut happens at the source: the line too carries only what the tanks can take.
    assert _column(result, "line", "inflow_t") == pytest.approx([1500.0] + [1000.0] * 19)
    (shipped,) = (c["shipped_t"] for c in result.contracts)
    # 1 500 + 19 × 1 000 = 20 500 t shipped of 20 × 3 000 = 60 000 t nominated.
    assert shipped == pytest.approx(20_500.0)
    row = _row_of(result)
    assert row["runs_t"] == pytest.approx(20_000.0)
    assert row["unserved_t"] == 0.0
    _assert_mass_balance(result)


# -- refinery disruption --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("capacity", "derated_run"),
    [(None, 500.0), (1200.0, 600.0)],  # min(target 1 000, capacity × 0.5)
    ids=["capacity-equals-target", "capacity-above-target"],
)
def test_refinery_disruption_cuts_runs_for_exactly_its_days(capacity, derated_run):
    data = chain(target=1000.0, stock=50_000.0)
    if capacity is not None:  # chain's own `capacity` is the pipeline's
        data["nodes"]["ref"]["capacity_t_per_day"] = capacity
    data["scenario"]["horizon_days"] = 20
    data["disruptions"] = {
        "fire": {
            "target": "ref",
            "start_date": "2019-01-06",
            "duration_days": 4,
            "capacity_factor": 0.5,
        }
    }
    _, result = simulate_one(data)
    # Days 5, 6, 7, 8 at the derated rate; every other day at target.
    assert _column(result, "ref", "outflow_t") == pytest.approx(
        [1000.0] * 5 + [derated_run] * 4 + [1000.0] * 11
    )
    assert _events(result) == [
        ("2019-01-06", "ref", "disruption_start"),
        ("2019-01-10", "ref", "disruption_end"),
    ]
    row = _row_of(result)
    cut = 1000.0 - derated_run
    assert row["unserved_t"] == pytest.approx(4 * cut)
    assert row["run_cut_days"] == 4
    # Supply goes on at 1 000 t/day: the tank gains what was not run.
    assert row["final_stock_t"] == pytest.approx(50_000.0 + 4 * cut)
    # A refinery derate changes no link and so needs no new plan.
    assert result.counters["plans_used"] == 1
    _assert_mass_balance(result)


def test_derate_below_minimum_rate_stops_the_unit_until_it_ends():
    data = chain(target=1000.0, stock=50_000.0, min_rate=600.0, restart_days=2.0)
    data["scenario"]["horizon_days"] = 15
    data["disruptions"] = {
        "fire": {
            "target": "ref",
            "start_date": "2019-01-06",
            "duration_days": 4,
            "capacity_factor": 0.5,
        }
    }
    _, result = simulate_one(data)
    # Days 5..8 the ceiling is 1 000 × 0.5 = 500 < 600: the unit stops on day 5, may restart
    # from day 7, but stays down until the derate ends on day 9. Supply (1 000/day) goes on.
    assert _events(result) == [
        ("2019-01-06", "ref", "disruption_start"),
        ("2019-01-06", "ref", "unit_stop"),
        ("2019-01-10", "ref", "disruption_end"),
        ("2019-01-10", "ref", "unit_restart"),
    ]
    assert _column(result, "ref", "outflow_t") == pytest.approx(
        [1000.0] * 5 + [0.0] * 4 + [1000.0] * 6
    )
    assert _column(result, "ref", "stock_t") == pytest.approx(
        [50_000.0] * 5 + [51_000.0, 52_000.0, 53_000.0] + [54_000.0] * 7
    )
    assert _row_of(result)["unserved_t"] == pytest.approx(4000.0)
    _assert_mass_balance(result)


def test_overlapping_refinery_disruptions():
    data = chain(target=1000.0, stock=50_000.0)
    data["scenario"]["horizon_days"] = 20
    data["disruptions"] = {
        "long": {
            "target": "ref",
            "start_date": "2019-01-06",
            "duration_days": 10,
            "capacity_factor": 0.5,
        },
        "short": {
            "target": "ref",
            "start_date": "2019-01-09",
            "duration_days": 2,
            "capacity_factor": 0.0,
        },
    }
    _, result = simulate_one(data)
    # long: days 5..14 at 500; short: days 8, 9 at 0; days 10..14 are still under `long`.
    assert _column(result, "ref", "outflow_t") == pytest.approx(
        [1000.0] * 5 + [500.0] * 3 + [0.0] * 2 + [500.0] * 5 + [1000.0] * 5
    )


# -- tanker lots ----------------------------------------------------------------------------
def _lot_scenario() -> tuple[dict[str, Any], list[float], Any]:
    data = chain(target=1000.0, tank=60_000.0, stock=50_000.0)
    data["scenario"]["horizon_days"] = 20
    left_over: list[float] = []

    def lander(sim: Simulation) -> Generator:
        yield sim.env.timeout(5)  # before day 5's network step
        left_over.append(sim.land_lot("ref", Parcel(20_000.0, 0.0, {"tanker": 1.0})))
        yield sim.env.timeout(5)  # day 10: the tank is full
        left_over.append(sim.land_lot("ref", Parcel(5000.0, 0.0, {"tanker": 1.0})))

    return data, left_over, lander


def test_land_lot_fills_the_tank_returns_the_rest_and_keeps_mass_balance():
    data, left_over, lander = _lot_scenario()
    sim, result = simulate_one(data, extra=[lander])
    # Room on day 5 is 60 000 - 50 000 = 10 000: 10 000 land, 20 000 - 10 000 come back.
    # On day 10 the tank is still full (1 000 in, 1 000 run each day): all 5 000 come back.
    assert left_over == [10_000.0, 5000.0]
    assert [(e["date"], e["asset"], e["event"], e["detail"]) for e in result.events] == [
        ("2019-01-06", "ref", "lot_landed", "10000 t"),
        ("2019-01-11", "ref", "lot_landed", "0 t"),
    ]
    assert _column(result, "ref", "stock_t") == pytest.approx([50_000.0] * 5 + [60_000.0] * 15)
    assert _column(result, "ref", "outflow_t") == pytest.approx([1000.0] * 20)
    assert sim.shipping.lots_landed_t == pytest.approx(10_000.0)
    # The lot's crude is in the tank (and in the runs, pro rata: the tank is well mixed).
    tank = sim.network.refineries["ref"].tank
    assert 0.0 < tank.tonnes_by_origin()["tanker"] < 10_000.0
    assert sum(tank.tonnes_by_origin().values()) == pytest.approx(tank.stock_t)
    mb = result.mass_balance
    # supplied: 20 × 1 000 by line + 10 000 landed = 30 000.
    assert mb["supplied_t"] == pytest.approx(30_000.0)
    assert mb["final_inventory_t"] == pytest.approx(60_000.0 + 10_000.0)  # tank + linefill
    _assert_mass_balance(result)
    # The landed lot is intake of the day it landed, in daily.csv and refineries.csv.
    assert _column(result, "ref", "inflow_t") == pytest.approx(
        [1000.0] * 5 + [11_000.0] + [1000.0] * 14
    )
    assert result.refineries[0]["intake_t"] == pytest.approx(30_000.0)


def test_a_lot_over_the_contaminant_limit_goes_to_quarantine_whole():
    data = chain(target=1000.0, tank=60_000.0, stock=30_000.0, limit_ppm=10.0)
    data["scenario"]["horizon_days"] = 10
    left_over: list[float] = []

    def lander(sim: Simulation) -> Generator:
        yield sim.env.timeout(3)
        left_over.append(sim.land_lot("ref", Parcel(8000.0, 25.0, {"tanker": 1.0})))

    sim, result = simulate_one(data, extra=[lander])
    assert left_over == [0.0]
    assert [(e["date"], e["event"]) for e in result.events] == [("2019-01-04", "lot_rejected")]
    assert "tanker" not in sim.network.refineries["ref"].tank.tonnes_by_origin()
    assert result.refineries[0]["quarantined_t"] == pytest.approx(8000.0)
    assert result.refineries[0]["intake_t"] == pytest.approx(10 * 1000.0)
    _assert_mass_balance(result)
