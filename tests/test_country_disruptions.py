"""Disruptions that target a country: its supply (every contract and cargo of its crude) and
its transit (every pipeline, rail link and port in it, and cargoes loading at its markets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import load_scenario, simulate
from sim.scenario.variants import with_values

ROOT = Path(__file__).resolve().parents[1]


def _run(name: str, *sets: str):
    """One replication with only the test's own disruption (`cut`), not the risk regime's."""
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.toml", list(sets))
    own = {
        k: d.model_dump(exclude_none=True) for k, d in scenario.disruptions.items() if k == "cut"
    }
    scenario = with_values(scenario, {"disruptions": own, "scenario.replications": 1})
    return simulate(scenario, daily="none").replications[0]


def _shipped(result) -> dict[str, float]:
    return {c["contract"]: c["shipped_t"] for c in result.contracts}


def _cut(target: str, effect: str, value: float, days: int = 90) -> list[str]:
    return [
        f'disruptions.cut.target="{target}"',
        "disruptions.cut.start_date=2019-03-01",
        f"disruptions.cut.duration_days={days}",
        f"disruptions.cut.{effect}={value}",
    ]


def test_a_supplier_cut_hits_every_contract_of_its_crude_and_nothing_else():
    before = _shipped(_run("base"))
    result = _run("base", *_cut("RU", "volume_factor", 0.5))
    after = _shipped(result)
    rows = {c["contract"]: c for c in result.contracts}
    russian = [c for c in before if c.startswith("russia_")]
    assert len(russian) == 3
    for c in russian:
        # Half of 90 days' nominations (≈ 90/365 of the year) is missed; base.toml's Russian
        # contracts make up part of it after the cut (makeup_max_share), the rest is lost.
        missed = rows[c]["missed_t"] + rows[c]["makeup_t"]
        assert missed == pytest.approx(before[c] * 0.5 * 90 / 365, rel=0.02)
        assert after[c] == pytest.approx(before[c] - rows[c]["missed_t"], rel=1e-9)
        assert rows[c]["makeup_t"] > 0
    assert after["belarus_mozyr"] == pytest.approx(before["belarus_mozyr"])  # Belarus's own


def test_a_russian_transit_refusal_cuts_kazakh_crude_through_russia():
    result = _run("kazakh_via_russia", *_cut("RU", "capacity_factor", 0.0, days=365 - 59))
    shipped = _shipped(result)
    # From 1 March nothing crosses Russia: the Kazakh contracts get January and February only.
    before = _shipped(_run("kazakh_via_russia"))
    for c in ("kazakh_mozyr", "kazakh_naftan"):
        assert shipped[c] < before[c] * 59 / 365 * 1.05
    assert shipped["belarus_mozyr"] == pytest.approx(before["belarus_mozyr"])
    kinds = {(r["target"], r["target_kind"], r["effect"]) for r in result.disruptions}
    assert kinds == {("RU", "country", "capacity_factor")}


def test_a_transit_refusal_stops_cargoes_loading_in_the_country():
    result = _run("kazakh_cpc_odesa", *_cut("RU", "capacity_factor", 0.0))
    events = [e for e in result.events if e["event"] == "cargo_not_bought"]
    assert events and all(e["asset"] == "cpc_pivdennyi" for e in events)
    assert all("2019-03-01" <= e["date"] < "2019-05-30" for e in events)


def test_a_country_with_no_effect_given_is_cut_off_in_both_roles():
    result = _run(
        "base",
        'disruptions.cut.target="RU"',
        "disruptions.cut.start_date=2019-03-01",
        "disruptions.cut.duration_days=30",
    )
    effects = {r["effect"]: r["value"] for r in result.disruptions}
    assert effects == {"volume_factor": 0.0, "capacity_factor": 0.0}
