"""Scheduled disruptions remove exactly the declared capacity for exactly the declared time."""

from __future__ import annotations

import math

import pytest

from tests.builders import chain, daily, simulate_one


@pytest.mark.parametrize(
    ("step_days", "start", "duration_days", "factor"),
    [(1.0, "2019-01-06", 3.0, 0.25), (0.5, "2019-01-06", 2.5, 0.0), (1.0, "2019-01-01", 10, 0.5)],
)
def test_scheduled_derate_removes_declared_capacity_for_declared_interval(
    step_days, start, duration_days, factor
):
    # Ample supply into a 2,000 t/day line; the refinery can take everything (huge tank, runs
    # 2,000 t/day), so the line runs full except while derated.
    data = chain(capacity=2_000.0, volume_t_per_month=1e9, target=2_000.0, tank=1e9, stock=0.0)
    data["scenario"]["horizon_days"] = 20
    data["scenario"]["step_days"] = step_days
    data["disruptions"] = {
        "cut": {
            "target": "line",
            "start_date": start,
            "duration_days": duration_days,
            "capacity_factor": factor,
        }
    }
    _, result = simulate_one(data)
    start_day = int(start[-2:]) - 1
    for day, row in enumerate(daily(result, "line")):
        # Share of this day inside [start, start + duration).
        overlap = max(0.0, min(day + 1, start_day + duration_days) - max(day, start_day))
        expected = 2_000.0 * (1 - overlap) + 2_000.0 * factor * overlap
        assert math.isclose(row["inflow_t"], expected, rel_tol=1e-9), (day, row)
    events = [(e["time_days"], e["event"]) for e in result.events if e["asset"] == "line"]
    assert events == [
        (float(start_day), "disruption_start"),
        (start_day + duration_days, "disruption_end"),
    ]
