"""The break-even Russian premium: found by the shipped analysis, confirmed by direct runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import load_scenario
from sim.breakeven import breakeven, net_value_usd, with_extra_premium

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE_USD = 1e5


@pytest.fixture(scope="module")
def klaipeda():
    # The status quo under the strategies' risks, one replication each (common random numbers).
    one = ["scenario.replications=1"]
    base = load_scenario(ROOT / "scenarios" / "risk_regime.toml", one)
    strategy = load_scenario(ROOT / "scenarios" / "global_market_klaipeda.toml", one)
    return base, strategy, breakeven(base, strategy, tolerance_usd=TOLERANCE_USD)


def test_the_breakeven_matches_a_direct_run_at_that_premium(klaipeda):
    base, strategy, result = klaipeda
    p = result.breakeven_premium_usd_per_t
    assert p == p  # found
    b, _ = net_value_usd(with_extra_premium(base, p))
    s, _ = net_value_usd(with_extra_premium(strategy, p))
    assert abs(s - b) <= TOLERANCE_USD
    assert abs(result.check_difference_usd) <= TOLERANCE_USD


def test_above_the_breakeven_the_strategy_is_worth_more_and_below_less(klaipeda):
    base, strategy, result = klaipeda
    p = result.breakeven_premium_usd_per_t
    for step, sign in ((+10.0, 1), (-10.0, -1)):
        b, _ = net_value_usd(with_extra_premium(base, p + step))
        s, _ = net_value_usd(with_extra_premium(strategy, p + step))
        assert sign * (s - b) > 0
    # At the premiums as declared the status quo is worth more: Russian crude is cheapest.
    assert result.strategy_net_value_usd < result.base_net_value_usd
    assert result.strategy_russian_t < result.base_russian_t


def test_extra_premium_touches_only_russian_contracts():
    base = load_scenario(ROOT / "scenarios" / "base.toml")
    dearer = with_extra_premium(base, 25.0)
    for name, c in base.contracts.items():
        new = dearer.contracts[name].price
        assert new is not None and c.price is not None
        expected = c.price.premium_usd_per_t + (25.0 if c.origin == "russia" else 0.0)
        assert new.premium_usd_per_t == pytest.approx(expected)
