"""valuation.csv and the value KPIs: what the crude run was worth, from the recorder."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import load_scenario, simulate
from tests.builders import chain, simulate_one

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def outage():
    scenario = load_scenario(ROOT / "scenarios" / "unecha_mozyr_outage.toml")
    return simulate(scenario, daily="none").replications[0]


def test_valued_tonnes_are_the_tonnes_run(outage):
    runs = {r["refinery"]: r["runs_t"] for r in outage.refineries}
    for refinery, ran in runs.items():
        valued = sum(r["tonnes_t"] for r in outage.valuation if r["refinery"] == refinery)
        assert valued == pytest.approx(ran, rel=1e-9)


def test_margin_is_worth_less_processing_less_landed_cost(outage):
    for r in outage.valuation:
        expected = (
            r["product_worth_usd_per_t"]
            - r["processing_cost_usd_per_t"]
            - r["landed_cost_usd_per_t"]
        )
        assert r["margin_usd_per_t"] == pytest.approx(expected)
        assert r["margin_usd"] == pytest.approx(expected * r["tonnes_t"])


def test_identical_crude_at_one_refinery_has_identical_margin():
    # Base runs steadily all year: Russian Urals, day-0 stock and linefill (all Urals) at Mozyr
    # are the same grade in the same tanks under the same months' prices and conversion regime
    # -> the same worth and margin per tonne. (With an outage, months differ, and so may the
    # average over the months each origin was run in.)
    scenario = load_scenario(ROOT / "scenarios" / "base.toml")
    base = simulate(scenario, daily="none").replications[0]
    mozyr_urals = [r for r in base.valuation if r["refinery"] == "mozyr" and r["grade"] == "urals"]
    assert len(mozyr_urals) >= 2
    margins = {round(r["margin_usd_per_t"], 9) for r in mozyr_urals}
    assert len(margins) == 1


def test_net_value_is_margin_less_margin_lost_to_run_cuts(outage):
    s = outage.summary
    assert s["lost_margin_usd"] > 0  # the outage cuts Mozyr's runs
    assert s["net_value_usd"] == pytest.approx(s["refining_margin_usd"] - s["lost_margin_usd"])
    total = sum(r["margin_usd"] for r in outage.valuation)
    assert s["refining_margin_usd"] == pytest.approx(total)


def test_a_scenario_without_configurations_has_no_value_kpis():
    _, result = simulate_one(chain(), record_daily=False)
    assert result.valuation == []
    assert result.summary["net_value_usd"] != result.summary["net_value_usd"]  # NaN
