"""Routes a planner would weigh: rail from a loading terminal, and the declared strategy routes."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import load_scenario, simulate
from sim.countries import assets_of_country, option_transit_countries, supplier_country
from sim.indicators import n_minus_1_pct
from sim.scenario.loading import read_with_extends, validate_data
from tests.builders import contract, rail, refinery, scenario_dict, simulate_one
from tests.test_scenarios import ROOT


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


# ------------------------------------------------------------------ the declared strategy routes

SCENARIOS = ROOT / "scenarios"


def summary_of(path: Path, *overrides: str) -> dict[str, str]:
    scenario = load_scenario(path, ["scenario.horizon_days=120", *overrides])
    summary = simulate(scenario, daily="none").replications[0].summary
    return {key: repr(value) for key, value in summary.items()}  # NaN equals NaN


def test_idle_new_routes_leave_the_results_unchanged():
    # strategy_assets.toml holds the CPC terminal, its sea link and the Russian rail corridor:
    # idle, they change no KPI of base.toml. strategy_routes.toml adds the Gomel–Gorki lines
    # over the risk regime: idle, they change no KPI of risk_regime.toml (same random draws).
    base = summary_of(SCENARIOS / "base.toml")
    assets = summary_of(SCENARIOS / "strategy_assets.toml")
    assert assets == base
    regime = summary_of(SCENARIOS / "risk_regime.toml")
    routes = summary_of(SCENARIOS / "strategy_routes.toml")
    assert routes == regime


def test_the_new_routes_carry_crude_when_a_contract_uses_them():
    data = read_with_extends(SCENARIOS / "kazakh_cpc_odesa.toml")
    data.pop("extends", None)
    data["scenario"]["horizon_days"] = 90
    data["contracts"]["cpc_to_naftan"] = {
        "seller": "own cargoes landed at Pivdennyi",
        "origin": "seaborne",
        "grade": "cpc_blend",
        "source": "pivdennyi",
        "destination": "naftan",
        "volume_t_per_month": 150_000.0,
        "routes": [["odesa_brody", "brody_gomel", "gomel_gorki", "gorki_naftan"]],
    }
    data["nodes"]["naftan"]["crude_window"]["grades"].append("cpc_blend")
    data["contracts"]["russia_rail"] = {
        "seller": "Russian oil companies (rail)",
        "origin": "russia",
        "grade": "urals",
        "source": "russia_rail",
        "destination": "mozyr",
        "volume_t_per_month": 80_000.0,  # June 2020's rate
        "routes": [["russia_rail_mozyr"]],
        "price": {"benchmark": "urals", "premium_usd_per_t": 11.7},
    }
    _, result = simulate_one(validate_data(data, "variant"), record_daily=False)
    shipped = {row["contract"]: row["shipped_t"] for row in result.contracts}
    assert shipped["russia_rail"] == pytest.approx(3 * 80_000.0)
    assert shipped["cpc_to_naftan"] > 100_000.0  # shares the port's tanks with Mozyr's offtake
    moved = {(row["link"]): row["tonnes_t"] for row in result.flows if row["origin"] != "linefill"}
    assert moved.get("gomel_gorki", 0.0) > 0.0
    assert result.summary["mass_balance_error_t"] == pytest.approx(0.0, abs=1e-6)


def test_cpc_crude_avoids_druzhba_but_not_russia():
    cpc = load_scenario(SCENARIOS / "kazakh_cpc_odesa.toml")
    via_russia = load_scenario(SCENARIOS / "kazakh_via_russia.toml")
    assert n_minus_1_pct(cpc) == pytest.approx(144.025, abs=1e-4)  # Odesa–Brody is a 2nd way in
    assert n_minus_1_pct(via_russia) == pytest.approx(110.69167, abs=1e-4)  # as base: Druzhba
    assert supplier_country(cpc, "cpc_pivdennyi") == "KZ"
    # No Transneft quota, but loaded in Russia: the cargo's route crosses Russia and Ukraine.
    assert option_transit_countries(cpc, "cpc_pivdennyi") == ("RU", "UA")
    assert "cpc_pivdennyi" in assets_of_country(cpc, "RU").crossing_cargoes
