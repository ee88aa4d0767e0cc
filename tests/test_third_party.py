"""Lines shared with third parties: their background flow takes its share, so derates bind."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sim import load_scenario
from sim.engine.crude import Parcel, PipelineFIFO
from sim.runner import simulate
from sim.scenario.schema import shared_capacity_t_per_day
from sim.stress import load_stress, stressed
from tests.builders import chain, daily, simulate_one

ROOT = Path(__file__).resolve().parents[1]

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


# -- the whole line's linefill: third parties' crude in the batch FIFO ---------------------

THIRD = {"third_party|urals": 1.0}
OWN = {"linefill|urals": 1.0}
RUSSIA = {"russia|urals": 1.0}


def test_the_background_flow_pushes_the_shippers_linefill_out_when_they_stop():
    # 10,000 t line; the first day carries 400 t of the shippers' crude and 600 t of third
    # parties', so the day-0 linefill is laid out 40 % theirs: 4,000 t. Then they stop: the
    # 600 t/day of background flow alone brings all of it (and the first day's 400 t) out
    # within linefill ÷ background = 16.7 days.
    fifo = PipelineFIFO("line", 10_000.0, Parcel(10_000.0, 0.0, OWN), background_mix=THIRD)
    own_out, third_out = fifo.push_shared(
        [Parcel(400.0, 0.0, RUSSIA)], Parcel(600.0, 0.0, THIRD), 0
    )
    days = math.ceil(10_000.0 / 600.0)
    for day in range(1, days + 1):
        out, third = fifo.push_shared([], Parcel(600.0, 0.0, THIRD), day)
        own_out += out
        third_out += third
        assert math.isclose(fifo.content_t(), 10_000.0)  # the line stays full
    assert math.isclose(sum(p.tonnes_t for p in own_out), 4_400.0)
    assert all(p.mix is not THIRD for p in own_out)
    assert math.isclose(third_out, 400.0 + 600.0 * (days + 1) - 4_400.0)
    # Nothing of the shippers' is left in the line, only third-party crude.
    assert all(p.mix is THIRD for p in fifo.queue)


def _shared_chain(third_party: float, end_date: str | None = None, **refinery_kw):
    data = chain(capacity=2000.0, volume_t_per_month=31_000.0, **refinery_kw)
    data["scenario"]["horizon_days"] = 31
    data["links"]["line"]["third_party_t_per_day"] = third_party
    if end_date is not None:
        data["contracts"]["supply"]["end_date"] = end_date
    return data


def test_a_stopped_contracts_crude_reaches_the_refinery_and_the_books_close():
    # 10,000 t line, 1,000 t/day each of the contract and third parties: 5,000 t of the
    # line is the contract's side at day 0. The contract stops after day 9; the third
    # parties' 1,000 t/day bring its crude in the line to the refinery within 10 days.
    sim, result = simulate_one(_shared_chain(1000.0, end_date="2019-01-11"))
    line = daily(result, "line")
    ref = daily(result, "ref")
    assert sum(r["inflow_t"] for r in ref[10:]) == pytest.approx(5_000.0, rel=1e-9)
    assert sum(r["inflow_t"] for r in ref[21:]) == pytest.approx(0.0, abs=1e-6)
    assert all(r["stock_t"] == pytest.approx(10_000.0) for r in line)  # the whole line, full
    fifo = sim.network.fifos[0]
    assert all(p.mix is fifo.background_mix for p in fifo.queue)
    # The books close with the third parties' crude in and out as their own terms.
    mb = result.mass_balance
    assert mb["third_party_in_t"] == pytest.approx(31 * 1000.0)
    third_in_line_at_start = 5_000.0
    assert mb["third_party_out_t"] == pytest.approx(
        third_in_line_at_start + mb["third_party_in_t"] - 10_000.0
    )
    assert abs(mb["imbalance_t"]) <= 1e-9 * (mb["initial_inventory_t"] + mb["supplied_t"])


def test_crude_pushed_out_of_a_shared_line_waits_for_room_at_the_refinery():
    # The refinery runs 200 t/day with its tanks nearly full: after the contract stops, its
    # crude in the line comes out no faster than the tanks can take it, and the third
    # parties' flow is held back with it.
    data = _shared_chain(1000.0, end_date="2019-01-03", target=200.0, tank=6_000.0, stock=5_000.0)
    sim, result = simulate_one(data)
    for row in daily(result, "ref"):
        assert row["stock_t"] <= 6_000.0 + 1e-6
    assert result.mass_balance["third_party_in_t"] < 31 * 1000.0  # the line slowed
    assert result.mass_balance["third_party_out_t"] == pytest.approx(
        result.mass_balance["third_party_in_t"], abs=10_000.0
    )


def test_crude_pushed_out_of_a_shared_line_that_is_refused_waits_for_quarantine_room():
    # The contract ships 50 ppm crude (limit 10 ppm) for 10 days, 1,000 t/day, into a
    # 10,000 t line laid out half its clean crude; the quarantine holds 3,000 t. Once the
    # quarantine is full, the third parties' 1,000 t/day must not push the rest of the
    # contract's dirty crude out to be refused: the line stops with it inside.
    data = _shared_chain(
        1000.0,
        end_date="2019-01-11",
        limit_ppm=10.0,
        quarantine_capacity_t=3_000.0,
        target=500.0,
        stock=20_000.0,
    )
    data["contracts"]["supply"]["contaminant_ppm"] = 50.0
    sim, result = simulate_one(data)
    row = result.refineries[0]
    # Nothing is pumped back, so the stock never falls: the end figure is its highest.
    assert row["reverse_pumped_t"] == 0.0
    assert row["quarantined_t"] == pytest.approx(3_000.0)
    assert row["final_quarantine_t"] <= 3_000.0 + 1e-6
    # The contract's dirty crude that was not quarantined is still in the line, which is full.
    fifo = sim.network.fifos[0]
    own = [p for p in fifo.queue if p.mix is not fifo.background_mix]
    shipped = result.contracts[0]["shipped_t"]
    assert sum(p.tonnes_t for p in own) == pytest.approx(shipped - row["quarantined_t"])
    assert shipped - row["quarantined_t"] > 1_000.0  # so the check above is not empty
    assert all(p.ppm > 10.0 for p in own)
    assert fifo.content_t() == pytest.approx(10_000.0)
    # The third parties' flow was held back with it, and their crude in the line is what
    # they put in less what came out (5,000 t of the day-0 linefill was theirs).
    mb = result.mass_balance
    assert mb["third_party_in_t"] < 31 * 1000.0
    third_in_line = sum(p.tonnes_t for p in fifo.queue if p.mix is fifo.background_mix)
    assert third_in_line == pytest.approx(
        5_000.0 + mb["third_party_in_t"] - mb["third_party_out_t"]
    )
    assert abs(mb["imbalance_t"]) <= 1e-9 * (mb["initial_inventory_t"] + mb["supplied_t"])


def test_samara_unecha_pushes_no_more_refused_crude_than_the_quarantines_take():
    # The 2019 contamination over the Kazakh route with quarantines of 150,000 t: crude the
    # third parties push out of Samara–Unecha reaches Mozyr through Unecha–Mozyr, whose head
    # is contaminated, and must fit what is left of Mozyr's quarantine.
    scenario = stressed(
        str(ROOT / "scenarios" / "kazakh_via_russia.toml"),
        load_stress(ROOT / "scenarios" / "stress" / "contamination_2019.toml"),
        [
            "nodes.mozyr.quarantine_capacity_t=150000",
            "nodes.naftan.quarantine_capacity_t=150000",
            "scenario.replications=1",
        ],
    )
    (rep,) = simulate(scenario, daily="none").replications
    for row in rep.refineries:
        assert row["reverse_pumped_t"] == 0.0  # the stock never falls: the end is its highest
        assert row["final_quarantine_t"] <= 150_000.0 + 1e-6, row["refinery"]
        assert row["quarantined_t"] > 0.0, row["refinery"]  # the case reaches both
    mb = rep.mass_balance
    assert abs(mb["imbalance_t"]) <= 1e-9 * (mb["initial_inventory_t"] + mb["supplied_t"])


@pytest.mark.parametrize(
    ("rule", "own_t_per_day", "third_t_per_day"),
    [
        ("pro_rata", 250.0, 750.0),  # each keeps half: (2,000 − 1,500) × 0.5 and 1,500 × 0.5
        ("third_party_first", 0.0, 1000.0),  # third parties fill the derated 1,000 t/day
    ],
)
def test_a_derate_below_the_third_party_flow_binds_on_the_whole_line(
    rule, own_t_per_day, third_t_per_day
):
    data = _shared_chain(1500.0)
    data["links"]["line"]["third_party_share_rule"] = rule
    data["disruptions"] = {
        "derate": {
            "target": "line",
            "start_date": "2019-01-01",
            "duration_days": 31,
            "capacity_factor": 0.5,
        }
    }
    _, result = simulate_one(data, record_daily=False)
    assert result.contracts[0]["shipped_t"] == pytest.approx(31 * own_t_per_day)
    # The line moves its derated 1,000 t/day in all: the contract's and the third parties'.
    assert result.mass_balance["third_party_in_t"] == pytest.approx(31 * third_t_per_day)


def test_samara_mozyr_transit_stays_within_a_day_of_the_belarusian_share_model():
    # Before the whole-line linefill, Samara → Unecha held 250 t/km × 1,250 km of Belarusian
    # crude moving at its ≈ 36.8 kt/day (8.5 days) and Unecha → Mozyr 123.3 kt at ≈ 24.5 kt/d
    # (5.0 days): 13.5 days. The first parcel in at Samara now reaches Mozyr within a day
    # of that (to one step on each line).
    scenario = load_scenario(ROOT / "scenarios" / "base.toml", ["scenario.horizon_days=40"])
    log: dict[str, list] = {"samara_unecha": [], "unecha_mozyr": []}
    simulate_one(scenario, record_daily=False, fifo_log=log)

    def first_out(line: str, entered: float) -> float:
        return min(t for t, kind, e, _ in log[line] if kind == "leave" and e >= entered)

    at_unecha = first_out("samara_unecha", 0.0)
    at_mozyr = first_out("unecha_mozyr", at_unecha)
    assert abs(at_mozyr - 13.5) <= 1.0 + 2 * scenario.scenario.step_days
