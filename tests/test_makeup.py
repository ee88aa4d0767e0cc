"""Contracts at component scale: monthly nominations, missed tonnes and their make-up.

The network is `chain` (field → line → ref): the line is full, so what is shipped in a step
reaches the refinery in the same step, and the line's daily inflow is the contract's shipments.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import pytest

from tests.builders import chain, daily, simulate_one


def _shipped_by_day(result) -> list[float]:
    return [row["inflow_t"] for row in daily(result, "line")]


def _contract(result, name: str = "supply") -> dict:
    return next(r for r in result.contracts if r["contract"] == name)


def _events(result, *kinds: str) -> list[tuple[float, str, str]]:
    return [(e["time_days"], e["event"], e["detail"]) for e in result.events if e["event"] in kinds]


@pytest.mark.parametrize("step_days", [1.0, 0.25])
def test_every_whole_month_ships_exactly_its_volume_whatever_its_length(step_days):
    # Jan 31, Feb 28, Mar 31, Apr 30 days (2019): 31 000 t a month each, no disruption.
    data = chain(capacity=5000.0, volume_t_per_month=31_000.0, tank=1e9)
    data["scenario"]["horizon_days"] = 120
    data["scenario"]["step_days"] = step_days
    _, result = simulate_one(data)
    by_month: dict[str, float] = defaultdict(float)
    for row in daily(result, "line"):
        by_month[row["date"][:7]] += row["inflow_t"]
    assert by_month == pytest.approx(
        {"2019-01": 31_000.0, "2019-02": 31_000.0, "2019-03": 31_000.0, "2019-04": 31_000.0},
        rel=1e-12,
    )
    row = _contract(result)
    assert row["nominated_t"] == pytest.approx(124_000.0, rel=1e-12)
    assert row["shipped_t"] == pytest.approx(124_000.0, rel=1e-12)
    assert row["missed_t"] == pytest.approx(0.0, abs=1e-6)
    assert row["makeup_t"] == 0.0


def _outage(data, start: str = "2019-01-06", days: float = 5.0) -> dict:
    data["disruptions"] = {"cut": {"target": "line", "start_date": start, "duration_days": days}}
    return data


def test_missed_tonnes_are_lost_without_make_up_terms():
    # 1 000 t/day in January; the line is out on days 5..9: 5 000 t missed, never shipped.
    _, result = simulate_one(_outage(chain(capacity=5000.0)))
    shipped = _shipped_by_day(result)
    assert shipped[:5] == pytest.approx([1000.0] * 5)
    assert shipped[5:10] == [0.0] * 5
    assert shipped[10:31] == pytest.approx([1000.0] * 21)
    row = _contract(result)
    assert row["missed_t"] == pytest.approx(5000.0)
    assert row["makeup_t"] == 0.0
    assert _events(result, "makeup_start", "makeup_end") == []


def test_missed_tonnes_are_made_up_once_supply_resumes_and_no_more():
    # Missed 5 000 t on days 5..9. Day 10 ships the full nomination: supply has resumed, and
    # the window opens for days 11..30. Make-up: 0.5 × 1 000 = 500 t/day extra, days 11..20.
    data = _outage(chain(capacity=5000.0))
    data["contracts"]["supply"] |= {"makeup_max_share": 0.5, "makeup_window_days": 20.0}
    _, result = simulate_one(data)
    shipped = _shipped_by_day(result)
    assert shipped[5:10] == [0.0] * 5
    assert shipped[10] == pytest.approx(1000.0)
    assert shipped[11:21] == pytest.approx([1500.0] * 10)
    assert shipped[21:31] == pytest.approx([1000.0] * 10)
    row = _contract(result)
    assert row["makeup_t"] == pytest.approx(5000.0)
    assert row["missed_t"] == pytest.approx(0.0, abs=1e-6)
    assert row["shipped_t"] == pytest.approx(row["nominated_t"])
    assert _events(result, "makeup_start", "makeup_end") == [
        (11.0, "makeup_start", "5000 t missed; up to 500 t/day extra for 20 days"),
        (21.0, "makeup_end", "all made up"),
    ]
    # The refinery received the make-up: its intake is the whole nomination.
    ref = next(r for r in result.refineries if r["refinery"] == "ref")
    assert ref["intake_t"] == pytest.approx(row["nominated_t"])


def test_what_the_window_does_not_make_up_is_lost():
    # As above with a 4-day window (days 11..14): 2 000 t made up, 3 000 t lost.
    data = _outage(chain(capacity=5000.0))
    data["contracts"]["supply"] |= {"makeup_max_share": 0.5, "makeup_window_days": 4.0}
    _, result = simulate_one(data)
    shipped = _shipped_by_day(result)
    assert shipped[11:15] == pytest.approx([1500.0] * 4)
    assert shipped[15:31] == pytest.approx([1000.0] * 16)
    row = _contract(result)
    assert row["makeup_t"] == pytest.approx(2000.0)
    assert row["missed_t"] == pytest.approx(3000.0)
    assert _events(result, "makeup_end") == [
        (15.0, "makeup_end", "window closed: 3000 t not made up, lost")
    ]


def test_make_up_goes_through_the_line_capacity_like_any_nomination():
    # The line carries 1 200 t/day: the make-up gets the 200 t/day left, not 500.
    data = _outage(chain(capacity=1200.0))
    data["contracts"]["supply"] |= {"makeup_max_share": 0.5, "makeup_window_days": 10.0}
    _, result = simulate_one(data)
    shipped = _shipped_by_day(result)
    assert shipped[11:21] == pytest.approx([1200.0] * 10)
    assert shipped[21:31] == pytest.approx([1000.0] * 10)
    row = _contract(result)
    assert row["makeup_t"] == pytest.approx(2000.0)
    assert row["missed_t"] == pytest.approx(3000.0)


def test_a_volume_cut_is_missed_and_made_up_after_it_ends():
    # The seller delivers half on days 5..14 (5 000 t missed); back in full on day 15, the
    # window opens on day 16: 250 t/day extra (share 0.25) for 20 days makes up the 5 000 t.
    data = chain(capacity=5000.0)
    data["disruptions"] = {
        "half": {
            "target": "supply",
            "start_date": "2019-01-06",
            "duration_days": 10,
            "volume_factor": 0.5,
        }
    }
    data["contracts"]["supply"] |= {"makeup_max_share": 0.25, "makeup_window_days": 30.0}
    _, result = simulate_one(data)
    shipped = _shipped_by_day(result)
    assert shipped[5:15] == pytest.approx([500.0] * 10)
    assert shipped[16:31] == pytest.approx([1250.0] * 15)  # January: 1 000 t/day nominated
    row = _contract(result)
    assert row["makeup_t"] == pytest.approx(5000.0)
    assert row["missed_t"] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    ("share", "window", "capacity", "outage_days"),
    list(itertools.product([0.1, 0.5, 1.0], [3.0, 15.0, 60.0], [1100.0, 5000.0], [2.0, 12.0])),
)
def test_make_up_stays_in_its_window_and_never_exceeds_the_missed_tonnes(
    share, window, capacity, outage_days
):
    # With a 1 100 t/day line, February's nomination (31 000 ÷ 28 = 1 107 t/day) does not fit
    # either: those tonnes are missed too, and made up in March.
    data = _outage(chain(capacity=capacity), days=outage_days)
    data["scenario"]["horizon_days"] = 90
    data["contracts"]["supply"] |= {"makeup_max_share": share, "makeup_window_days": window}
    _, result = simulate_one(data)
    nominal = {"2019-01": 1000.0, "2019-02": 31_000.0 / 28, "2019-03": 1000.0}
    days = daily(result, "line")
    short = sum(max(0.0, nominal[r["date"][:7]] - r["inflow_t"]) for r in days)
    row = _contract(result)
    assert 0 < row["makeup_t"] <= short + 1e-6
    assert row["missed_t"] == pytest.approx(short - row["makeup_t"], abs=1e-6)
    # Windows: each opens with makeup_start and closes at most `window` days later.
    starts = [t for t, _, _ in _events(result, "makeup_start")]
    ends = [t for t, _, _ in _events(result, "makeup_end")]
    windows = list(zip(starts, [*ends, *[s + window for s in starts[len(ends) :]]], strict=True))
    assert all(start < end <= start + window + 1e-9 for start, end in windows)
    # Shipments above the nomination (the make-up) happen only inside a window.
    for day, r in enumerate(days):
        if r["inflow_t"] > nominal[r["date"][:7]] + 1e-6:
            assert any(start <= day < end for start, end in windows), day
