"""Lines shared with third parties: their background flow takes its share, so derates bind."""

from __future__ import annotations

import pytest

from sim.scenario.schema import shared_capacity_t_per_day
from tests.builders import chain, simulate_one

# January, 31 days: 31,000 t nominated = 1,000 t/day.
NOMINATED_T_PER_DAY = 1000.0


def _shipped_t(third_party: float, rule: str, factor: float) -> float:
    data = chain(capacity=2000.0, volume_t_per_month=31_000.0, stock=50_000.0)
    data["scenario"]["horizon_days"] = 31
    data["links"]["line"]["third_party_t_per_day"] = third_party
    data["links"]["line"]["third_party_share_rule"] = rule
    data["disruptions"] = {
        "derate": {
            "target": "line",
            "start_date": "2019-01-01",
            "duration_days": 31,
            "capacity_factor": factor,
        }
    }
    _, result = simulate_one(data, record_daily=False)
    return result.contracts[0]["shipped_t"]


@pytest.mark.parametrize(
    ("capacity", "third", "first", "factor", "expected"),
    [
        (2000.0, 1000.0, False, 1.0, 1000.0),
        (2000.0, 1000.0, False, 0.5, 500.0),  # both keep half their share
        (2000.0, 1000.0, True, 0.5, 0.0),  # third parties keep their 1,000 t/day
        (2000.0, 1000.0, True, 0.75, 500.0),
        (2000.0, 0.0, True, 0.5, 1000.0),
    ],
)
def test_shared_capacity_by_rule(capacity, third, first, factor, expected):
    assert shared_capacity_t_per_day(capacity, third, first, factor) == pytest.approx(expected)


def test_a_derate_that_does_not_bind_on_the_share_binds_with_the_third_party_declared():
    # Without third parties the half-derated line still carries 1,000 t/day: nothing lost.
    assert _shipped_t(0.0, "pro_rata", 0.5) == pytest.approx(31 * NOMINATED_T_PER_DAY)
    # With 1,500 t/day of third-party crude, pro rata leaves (2,000 − 1,500) × 0.5 = 250 t/day.
    assert _shipped_t(1500.0, "pro_rata", 0.5) == pytest.approx(31 * 250.0)
    # Third parties first: 2,000 × 0.5 − 1,500 < 0, nothing for the contract.
    assert _shipped_t(1500.0, "third_party_first", 0.5) == pytest.approx(0.0)


def test_without_a_derate_the_contract_gets_what_third_parties_leave():
    assert _shipped_t(1500.0, "pro_rata", 1.0) == pytest.approx(31 * 500.0)
