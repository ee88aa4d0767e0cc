"""Contaminated crude at a refinery: detection delay, quarantine storage, reverse pumping.

`chain` (field → line → ref, 1 000 t/day, target 1 000) plus a second line `dirty_line` from a
field whose seller ships at 50 ppm (limit 10 ppm), 500 t/day in January. The dirty line holds
1 000 t of clean linefill, so contaminated crude arrives from day 2.
"""

from __future__ import annotations

import pytest

from tests.builders import chain, contract, daily, pipeline, simulate_one


def _dirty(horizon: int = 20, **refinery_kw) -> dict:
    data = chain(target=1000.0, stock=50_000.0, limit_ppm=10.0, **refinery_kw)
    data["scenario"]["horizon_days"] = horizon
    data["nodes"]["dirty"] = {"kind": "field"}
    data["links"]["dirty_line"] = pipeline("dirty", "ref", 1000.0, length_km=10.0)
    data["contracts"]["bad"] = contract(
        "dirty", "ref", 15_500.0, origin="kazakhstan", contaminant_ppm=50.0
    )
    return data


def _row(result) -> dict:
    return next(r for r in result.refineries if r["refinery"] == "ref")


def _events(result) -> list[tuple[float, str]]:
    return [(e["time_days"], e["event"]) for e in result.events if e["asset"] == "ref"]


def _assert_books_close(result) -> None:
    mb = result.mass_balance
    assert mb["imbalance_t"] == pytest.approx(0.0, abs=1e-6)


def test_without_a_detection_delay_contaminated_crude_is_refused_on_arrival():
    _, result = simulate_one(_dirty())
    row = _row(result)
    assert row["quarantined_t"] == pytest.approx(18 * 500.0)
    assert row["offspec_run_t"] == 0.0
    assert _events(result) == [(2.0, "rejection_start")]
    _assert_books_close(result)


def test_a_detection_delay_lets_contaminated_crude_into_the_tanks_then_quarantines_it():
    # Delay 3 days: the contaminated crude of days 2, 3 and 4 enters the tanks unnoticed and is
    # run with the rest (the tanks are mixed); at the start of day 5 it is found, what is left
    # of it goes to quarantine, and from day 5 it is refused at the gate.
    sim, result = simulate_one(_dirty(detection_delay_days=3.0))
    # By hand: the stock grows 500 t/day (1 500 in, 1 000 run). Each day k = 2, 3, 4 the
    # contaminated stock c gains 500 t, then the run takes 1 000 × c / stock of it.
    stock, c, run_dirty = 51_000.0, 0.0, 0.0
    for _ in range(3):
        stock += 1500.0
        c += 500.0
        run_dirty += 1000.0 * c / stock
        c -= 1000.0 * c / stock
        stock -= 1000.0
    row = _row(result)
    assert row["offspec_run_t"] == pytest.approx(run_dirty)
    assert row["quarantined_t"] == pytest.approx(c + 15 * 500.0)  # found + refused days 5..19
    refinery = sim.network.refineries["ref"]
    assert refinery.contaminated_t == 0.0
    assert _events(result) == [(5.0, "contamination_detected"), (5.0, "rejection_start")]
    detected = next(e for e in result.events if e["event"] == "contamination_detected")
    assert detected["detail"].startswith(f"{c:.0f} t moved to quarantine")
    # The stock fell by what was quarantined on day 5.
    stocks = [r["stock_t"] for r in daily(result, "ref")]
    assert stocks[4] == pytest.approx(stock)
    assert stocks[5] == pytest.approx(stock - c)  # day 5: 1 000 in, 1 000 run, c out
    _assert_books_close(result)


def test_a_full_quarantine_keeps_contaminated_crude_in_the_line():
    # Quarantine of 2 000 t, no delay: days 2..5 refuse 500 t each and fill it; from day 6 the
    # dirty line cannot deliver (its head is contaminated), so it stops: the crude stays in it,
    # the contract ships nothing more, and the clean line is not held back.
    _, result = simulate_one(_dirty(quarantine_capacity_t=2000.0))
    row = _row(result)
    assert row["quarantined_t"] == pytest.approx(2000.0)
    assert row["final_quarantine_t"] == pytest.approx(2000.0)
    dirty_in = [r["inflow_t"] for r in daily(result, "dirty_line")]
    assert dirty_in[:6] == pytest.approx([500.0] * 6)
    assert dirty_in[6:] == pytest.approx([0.0] * 14)
    assert [r["inflow_t"] for r in daily(result, "line")] == pytest.approx([1000.0] * 20)
    assert (6.0, "quarantine_full") in _events(result)
    bad = next(r for r in result.contracts if r["contract"] == "bad")
    assert bad["missed_t"] == pytest.approx(14 * 500.0)
    _assert_books_close(result)


def test_reverse_pumping_empties_quarantine_and_counts_in_the_books():
    # As above with 200 t/day pumped back out: once full, the line moves what the pumping
    # frees (200 t/day); the books count the pumped tonnes as leaving the network.
    _, result = simulate_one(_dirty(quarantine_capacity_t=2000.0, reverse_pumping_t_per_day=200.0))
    row = _row(result)
    mb = result.mass_balance
    assert row["reverse_pumped_t"] == pytest.approx(mb["reverse_pumped_t"])
    assert row["quarantined_t"] == pytest.approx(
        row["final_quarantine_t"] + row["reverse_pumped_t"]
    )
    assert row["final_quarantine_t"] <= 2000.0 + 1e-6
    dirty_in = [r["inflow_t"] for r in daily(result, "dirty_line")]
    assert dirty_in[-5:] == pytest.approx([200.0] * 5)
    assert result.summary["reverse_pumped_t"] == pytest.approx(row["reverse_pumped_t"])
    _assert_books_close(result)


def test_found_contaminated_stock_that_quarantine_cannot_take_stays_unusable_in_the_tanks():
    # The clean line brings 500 t/day, the dirty one 500: the stock stays at 50 000 t. Delay 3
    # days and a 500 t quarantine: of the ≈ 1 470 t found on day 5, 500 t go to quarantine
    # (filling it, so the dirty line stops) and ≈ 970 t stay in the tanks, unusable. With the
    # floor at 49 000 t, the unit may draw 49 500 − 970 − 49 000 < 0 t of stock: it runs what
    # arrives, 500 t. Reverse pumping (100 t/day from day 6) frees room that takes the
    # unusable stock first (≈ 10 days), then the line's contaminated head.
    data = _dirty(
        detection_delay_days=3.0,
        quarantine_capacity_t=500.0,
        reverse_pumping_t_per_day=100.0,
        min_stock=49_000.0,
    )
    data["contracts"]["supply"]["volume_t_per_month"] = 15_500.0
    sim, result = simulate_one(data)
    detected = next(e for e in result.events if e["event"] == "contamination_detected")
    words = detected["detail"].split()  # "500 t moved to quarantine, 970 t left unusable ..."
    moved, left = float(words[0]), float(words[5])
    assert moved == pytest.approx(500.0)
    assert 900.0 < left < 1000.0
    runs = [r["outflow_t"] for r in daily(result, "ref")]
    assert runs[:5] == pytest.approx([1000.0] * 5)
    assert runs[5] == pytest.approx(500.0)
    row = _row(result)
    assert row["reverse_pumped_t"] == pytest.approx(14 * 100.0)  # days 6..19
    assert sim.network.refineries["ref"].contaminated_t == 0.0
    dirty_in = [r["inflow_t"] for r in daily(result, "dirty_line")]
    assert dirty_in[5:15] == pytest.approx([0.0] * 10)  # room goes to the tanks' stock first
    assert dirty_in[-3:] == pytest.approx([100.0] * 3)
    _assert_books_close(result)
