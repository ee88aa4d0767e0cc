"""A cargo programme by annual volume: n = round(annual ÷ lot) lots a year, spread evenly."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.engine.topology import compile_topology
from sim.errors import ScenarioError
from sim.scenario.loading import read_with_extends, validate_data

REPO = Path(__file__).resolve().parents[1]
KLAIPEDA = REPO / "scenarios" / "global_market_klaipeda.toml"


def programme(**cargo: object) -> dict:
    data = read_with_extends(KLAIPEDA)
    option = data["cargoes"]["us_light_klaipeda"]
    del option["schedule"]
    option.update(cargo)
    return data


def test_four_mt_a_year_of_100_kt_lots_is_40_purchases_spread_over_the_year():
    scenario = validate_data(programme(annual_volume_t=4_000_000, lot_t=100_000))
    (cargo,) = [c for c in compile_topology(scenario).cargoes if c.name == "us_light_klaipeda"]
    days = cargo.schedule_days
    assert days is not None and len(days) == 40
    interval = 365 / 40
    assert days[0] == pytest.approx(interval / 2)
    assert all(b - a == pytest.approx(interval) for a, b in zip(days, days[1:], strict=False))
    assert days[-1] < 365


def test_the_programme_runs_from_its_start_date_to_its_end_date():
    data = programme(
        annual_volume_t=1_200_000, lot_t=100_000, start_date="2019-07-01", end_date="2019-10-01"
    )
    scenario = validate_data(data)
    (cargo,) = [c for c in compile_topology(scenario).cargoes if c.name == "us_light_klaipeda"]
    # 12 lots a year, one every 30.4 days from 1 July (day 181) + 15.2: three before 1 October.
    assert cargo.schedule_days is not None and len(cargo.schedule_days) == 3
    assert cargo.schedule_days[0] == pytest.approx(181 + 365 / 24)


def test_a_run_buys_the_programmes_cargoes():
    from sim.runner import simulate

    data = programme(annual_volume_t=4_000_000 / 4, lot_t=100_000)
    data["scenario"].update(horizon_days=365, replications=1)
    result = simulate(validate_data(data))
    bought = [
        e
        for e in result.rows("events")
        if e["event"] in ("cargo_bought", "cargo_not_bought") and e["asset"] == "us_light_klaipeda"
    ]
    assert len(bought) == 10


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"annual_volume_t": 1e6, "schedule": ["2019-02-01"]}, "exactly one purchase policy"),
        ({"annual_volume_t": 10_000.0}, "less than half a lot"),
    ],
)
def test_a_cargo_option_takes_exactly_one_buying_form(extra, message):
    with pytest.raises(ScenarioError) as info:
        validate_data(programme(**extra))
    assert any(message in p.message for p in info.value.problems)
