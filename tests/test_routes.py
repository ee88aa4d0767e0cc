"""Routes a planner would weigh: rail from a loading terminal, and the declared strategy routes."""

from __future__ import annotations

import pytest

from tests.builders import contract, rail, refinery, scenario_dict, simulate_one


def test_rail_from_a_loading_terminal_delivers_after_its_transit_time():
    # Crude bought at a rail loading terminal (a junction): 600 t/day loaded from day 0 of 31,
    # unloaded 3 days later, so 28 days' loads (16 800 t) arrive and 1 800 t are on the rails.
    data = scenario_dict(horizon_days=31)
    data["nodes"] = {
        "loading": {"kind": "junction"},
        "ref": refinery(target=1000.0, stock=10_000.0, tank=100_000.0),
    }
    data["links"] = {"train": {**rail("loading", "ref", 600.0, 3.0), "tariff_usd_per_t": 10.0}}
    data["contracts"] = {"c": contract("loading", "ref", 31_000.0, routes=[["train"]])}
    _, result = simulate_one(data)
    assert result.summary["supplied_t"] == pytest.approx(31 * 600.0)
    assert result.summary["refinery_intake_t"] == pytest.approx(28 * 600.0)
    assert result.summary["mass_balance_error_t"] == pytest.approx(0.0, abs=1e-6)
    [row] = result.contracts
    assert row["transport_usd"] == pytest.approx(31 * 600.0 * 10.0)
