"""The historical replays (scenarios/history/): facts that follow from their dated inputs.

Each scenario runs once per module (well under a second); the assertions are qualitative or
mass-accounting facts, not calibrated numbers, so that a change of an unrelated assumption does
not break them. docs/validation.md compares the runs with published figures.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import pytest

from sim import load_scenario, simulate

HISTORY = Path(__file__).resolve().parents[1] / "scenarios" / "history"


def _run(name: str):
    scenario = load_scenario(HISTORY / name)
    return scenario, simulate(scenario, daily="first").replications[0]


def _events(rep, asset: str, kind: str) -> list[str]:
    return [e["date"] for e in rep.events if e["asset"] == asset and e["event"] == kind]


def _daily(rep, asset: str) -> dict[str, dict]:
    return {r["date"]: r for r in rep.daily if r["asset"] == asset}


def _refinery(rep, name: str) -> dict:
    return next(r for r in rep.refineries if r["refinery"] == name)


# ------------------------------------------------------------------ 2019 contamination


@pytest.fixture(scope="module")
def y2019():
    return _run("druzhba_contamination_2019.toml")


def test_2019_books_close(y2019):
    _, rep = y2019
    assert abs(rep.summary["mass_balance_error_t"]) < 1e-3


def test_2019_mozyr_finds_contaminated_crude_on_19_april_and_refuses_it_from_then(y2019):
    scenario, rep = y2019
    # docs/sources.md, 2019: found at Mozyr on 19 Apr; it entered the tanks the detection delay
    # earlier (the batch's start is set from that delay).
    assert _events(rep, "mozyr", "contamination_detected") == ["2019-04-19"]
    assert _events(rep, "mozyr", "rejection_start")[0] == "2019-04-19"
    assert _refinery(rep, "mozyr")["quarantined_t"] > 0
    assert _refinery(rep, "mozyr")["offspec_run_t"] > 0
    # No refinery runs below target before the batch arrives: the year is base.toml until then.
    for name in ("mozyr", "naftan"):
        target = scenario.nodes[name].target_run_t_per_day
        before = [r for d, r in _daily(rep, name).items() if d < "2019-04-19"]
        assert all(r["outflow_t"] == pytest.approx(target) for r in before)


def test_2019_every_contaminated_tonne_ends_in_quarantine_or_was_run_before_it_was_found(y2019):
    scenario, rep = y2019
    d = scenario.disruptions["lopatino_organic_chlorides"]
    start = d.start_date.isoformat()
    end = (d.start_date + dt.timedelta(days=d.duration_days)).isoformat()
    injected = sum(
        r["inflow_t"] for day, r in _daily(rep, "samara_unecha").items() if start <= day < end
    )
    quarantined = sum(r["quarantined_t"] for r in rep.refineries)
    run_unnoticed = sum(r["offspec_run_t"] for r in rep.refineries)
    assert injected > 0
    assert quarantined + run_unnoticed == pytest.approx(injected, rel=1e-9)
    assert _refinery(rep, "naftan")["offspec_run_t"] == 0  # no detection delay at Naftan
    assert rep.summary["quarantined_t"] == pytest.approx(quarantined)


def test_2019_clean_crude_returns_to_mozyr_before_11_may_and_to_naftan_in_july(y2019):
    _, rep = y2019
    # docs/sources.md, 2019 episode: Mozyr processing on-spec crude from 11 May;
    # Unecha–Polotsk-1 feeding Naftan 4 Jul.
    assert _events(rep, "mozyr", "rejection_end")[-1] < "2019-05-11"
    naftan_end = _events(rep, "naftan", "rejection_end")
    assert naftan_end and "2019-06-21" < naftan_end[-1] <= "2019-07-23"


def test_2019_naftan_gets_no_druzhba_crude_while_unecha_polotsk_is_closed(y2019):
    _, rep = y2019
    closed = [
        r for d, r in _daily(rep, "unecha_polotsk").items() if "2019-04-24" <= d < "2019-06-21"
    ]
    assert closed and all(r["inflow_t"] == 0 for r in closed)
    # Surgut–Polotsk alone is about half of Naftan's plan: its runs are cut in June.
    june = [r for d, r in _daily(rep, "naftan").items() if d.startswith("2019-06")]
    assert sum(r["outflow_t"] for r in june) < 0.75 * 24100 * 30


# ------------------------------------------------------------------ 2020 supply dispute

#: docs/sources.md arrival dates (the first day of a stated range); ASSUMPTION dates as in
#: the file.
ARRIVALS_2020 = {
    "sverdrup_jan": ["2020-01-22"],
    "urals_primorsk_85kt": ["2020-03-03", "2020-03-13"],
    "urals_primorsk_75kt": ["2020-03-20"],
    "norwegian_apr": ["2020-04-15"],
    "arab_light_may": ["2020-05-12"],
    "bakken_jun": ["2020-06-05"],
    "white_eagle_aug": ["2020-08-09"],
    "azeri_90kt": ["2020-03-12"],
    "urals_odesa_80kt": ["2020-03-15"],
    "azeri_80kt": ["2020-03-24"],
    "azeri_85kt": ["2020-04-08", "2020-06-26", "2020-08-02"],
    "azeri_95kt": ["2020-10-01"],
}

#: docs/sources.md (episodes): Russian supply by month, t (Jan + Feb ≈ 0.72 Mt).
RUSSIAN_2020 = {
    "01": 500_000,
    "02": 220_000,
    "03": 285_000,
    "04": 1_560_000,
    "05": 1_130_000,
    "06": 1_100_000,
    "07": 1_580_000,
}


@pytest.fixture(scope="module")
def y2020():
    return _run("supply_dispute_2020.toml")


def test_2020_books_close(y2020):
    _, rep = y2020
    assert abs(rep.summary["mass_balance_error_t"]) < 1e-3


def test_2020_cargoes_arrive_on_the_stated_dates(y2020):
    scenario, rep = y2020
    start = scenario.scenario.start_date
    arrived = defaultdict(list)
    for row in rep.cargoes:
        arrived[row["cargo"]].append(start + dt.timedelta(days=row["arrived_day"]))
    assert sorted(arrived) == sorted(ARRIVALS_2020)
    for cargo, dates in ARRIVALS_2020.items():
        got = sorted(arrived[cargo])
        assert len(got) == len(dates), cargo
        for day, want in zip(got, dates, strict=True):
            assert abs((day - dt.date.fromisoformat(want)).days) <= 1, (cargo, day, want)
    assert all(row["berth_wait_days"] == 0 and row["room_wait_days"] == 0 for row in rep.cargoes)


def test_2020_russian_months_ship_as_nominated(y2020):
    _, rep = y2020
    shipped = defaultdict(float)
    for row in rep.contracts:
        if row["contract"].startswith("russia_") and row["contract"][-7:-3] == "2020":
            shipped[row["contract"][-2:]] += row["shipped_t"]
    assert shipped == pytest.approx(RUSSIAN_2020, abs=1.0)


def test_2020_run_cuts_fall_in_q1_when_russian_supply_was_lowest(y2020):
    scenario, rep = y2020
    for name in ("mozyr", "naftan"):
        node = scenario.nodes[name]
        target = node.target_run_t_per_day
        days = _daily(rep, name)
        q1 = [r for d, r in days.items() if d < "2020-04-01"]
        q3 = [r for d, r in days.items() if "2020-07-01" <= d < "2020-10-01"]
        q1_cut_days = sum(r["outflow_t"] < target - 1e-6 for r in q1)
        q3_cut_days = sum(r["outflow_t"] < target - 1e-6 for r in q3)
        assert q1_cut_days > 45, name  # most of Q1 below plan
        assert q3_cut_days < q1_cut_days, name
        assert sum(r["outflow_t"] for r in q1) < 0.6 * target * len(q1), name
        # Down to the floor: the run planner holds the minimum technical rate until less than a
        # day of it is left above the operating minimum, then stops.
        floor = node.min_operating_stock_t
        assert floor - 1e-6 <= _refinery(rep, name)["min_stock_t"]
        assert _refinery(rep, name)["min_stock_t"] < floor + node.min_technical_rate_t_per_day


def test_2020_every_landed_cargo_reaches_its_refinery(y2020):
    _, rep = y2020
    landed = defaultdict(float)
    for row in rep.cargoes:
        landed[row["port"]] += row["lot_t"]
    onward = {r["contract"]: r["shipped_t"] for r in rep.contracts}
    assert onward["klaipeda_rail_naftan"] == pytest.approx(landed["klaipeda"])
    assert onward["odesa_pipeline_mozyr"] == pytest.approx(landed["pivdennyi"])
    assert rep.summary["quarantined_t"] == 0
