"""Pipelines as full-line batch FIFOs: a parcel leaves linefill ÷ rate days after it entered."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.crude import Parcel, PipelineFIFO
from tests.builders import chain, contract, simulate_one

LINEFILL = {"linefill": 1.0}
RUSSIA = {"russia": 1.0}
KAZAKHSTAN = {"kazakhstan": 1.0}


def run_line(linefill_t: float, rate_t_per_day: float, dt: float, switch_day: float, days: float):
    """Push `rate` of Russian crude, then Kazakh from `switch_day`; return the event log."""
    log: list = []
    fifo = PipelineFIFO("line", linefill_t, Parcel(linefill_t, 0.0, LINEFILL), log)
    steps = round(days / dt)
    for k in range(steps):
        now = k * dt
        mix = KAZAKHSTAN if now >= switch_day - 1e-9 else RUSSIA
        out = fifo.push([Parcel(rate_t_per_day * dt, 0.0, mix)], now)
        # Rate out equals rate in.
        assert math.isclose(sum(p.tonnes_t for p in out), rate_t_per_day * dt)
        assert math.isclose(fifo.content_t(), linefill_t)  # the line stays full
    return log


def test_event_log_of_a_batch_through_a_line():
    # 1,000 t of linefill at 100 t/day: the first Russian parcel (in at day 0) starts leaving
    # at day 10 = 1000 / 100; the Kazakh parcel entering at day 5 leaves at day 15.
    log = run_line(1000.0, 100.0, 1.0, switch_day=5.0, days=20.0)
    # Tonnes are the parcel's size at that moment (a parcel grows while its crude flows in).
    assert log == [
        (0.0, "enter", 0.0, 100.0),
        (0.0, "leave", -math.inf, 1000.0),  # the day-0 linefill starts coming out at once
        (5.0, "enter", 5.0, 100.0),
        (10.0, "leave", 0.0, 500.0),  # 5 days × 100 t of Russian crude, first out at day 10
        (15.0, "leave", 5.0, 1100.0),  # Kazakh: in from day 5, first out at 5 + 10
    ]


@settings(max_examples=60, deadline=None)
@given(
    linefill_t=st.floats(50.0, 50_000.0),
    rate_t_per_day=st.floats(10.0, 5_000.0),
    dt=st.sampled_from([1.0, 0.5, 0.25]),
    switch_day=st.integers(1, 20),
)
def test_transit_time_is_linefill_over_rate_within_one_step(
    linefill_t, rate_t_per_day, dt, switch_day
):
    transit_days = linefill_t / rate_t_per_day
    log = run_line(linefill_t, rate_t_per_day, dt, switch_day, switch_day + transit_days + 3)
    for first_in in (0.0, float(switch_day)):  # Russian crude, then Kazakh
        out = [t for t, kind, entered, _ in log if kind == "leave" and entered == first_in]
        assert len(out) == 1
        assert abs(out[0] - (first_in + transit_days)) <= dt + 1e-9


def test_crude_reaches_the_refinery_after_linefill_over_rate_in_a_whole_run():
    # Line of 100 km × 100 t/km = 10,000 t; supply 1,000 t/day: 10 days' transit. The Russian
    # contract stops at day 10 and a Kazakh one starts the same day.
    data = chain(capacity=5_000.0, volume_t_per_month=31_000.0, stock=5_000.0, tank=100_000.0)
    data["scenario"]["horizon_days"] = 31  # January only: 31,000 t/month is 1,000 t/day
    data["contracts"]["supply"]["end_date"] = "2019-01-11"
    data["contracts"]["kazakh"] = contract(
        "field", "ref", 31_000.0, origin="kazakhstan", start_date="2019-01-11"
    )
    log: dict[str, list] = {"line": []}
    sim, result = simulate_one(data, fifo_log=log)
    enters = [e for e in log["line"] if e[1] == "enter"]
    assert enters[:2] == [(0.0, "enter", 0.0, 1000.0), (10.0, "enter", 10.0, 1000.0)]
    left = {entered: t for t, kind, entered, _ in log["line"] if kind == "leave"}
    assert left == {-math.inf: 0.0, 0.0: 10.0, 10.0: 20.0}
    # Days 20..30 brought Kazakh crude out of the line: 11 days × 1,000 t.
    kazakh_out = sum(row["tonnes_t"] for row in result.flows if row["origin"] == "kazakhstan")
    assert math.isclose(kazakh_out, 11 * 1000.0)
    assert sim.network.refineries["ref"].tank.tonnes_by_origin()["kazakhstan"] > 0


def test_batches_leave_unblended():
    # 150 t of clean linefill, then 100 t/day at 50 ppm: day 1 brings out 50 t of linefill and
    # 50 t of the dirty batch as two parcels, not 100 t at 25 ppm.
    fifo = PipelineFIFO("line", 150.0, Parcel(150.0, 0.0, LINEFILL))
    dirty = [Parcel(100.0, 50.0, RUSSIA)]
    assert [(p.tonnes_t, p.ppm) for p in fifo.push(dirty, 0.0)] == [(100.0, 0.0)]
    assert [(p.tonnes_t, p.ppm) for p in fifo.push(dirty, 1.0)] == [(50.0, 0.0), (50.0, 50.0)]


def test_a_batch_carries_its_grade_through_the_line():
    # Urals until day 10, then Johan Sverdrup: the new grade reaches the refinery 10 days later
    # (10 000 t of linefill at 1 000 t/day) and flows.csv reports tonnes by origin and grade.
    data = chain(capacity=5_000.0, volume_t_per_month=31_000.0, stock=5_000.0, tank=100_000.0)
    data["scenario"]["horizon_days"] = 31
    data["grades"]["sverdrup"] = {"bbl_per_t": 7.12}
    data["contracts"]["supply"]["end_date"] = "2019-01-11"
    data["contracts"]["norway"] = contract(
        "field", "ref", 31_000.0, origin="norway", start_date="2019-01-11", grade="sverdrup"
    )
    sim, result = simulate_one(data)
    out = {(r["origin"], r["grade"]): r["tonnes_t"] for r in result.flows if r["link"] == "line"}
    assert out == {
        ("linefill", "urals"): 10_000.0,
        ("russia", "urals"): 10_000.0,
        ("norway", "sverdrup"): 11_000.0,
    }
    grades = sim.network.refineries["ref"].tank.tonnes_by_grade()
    assert set(grades) == {"urals", "sverdrup"} and grades["sverdrup"] > 0
