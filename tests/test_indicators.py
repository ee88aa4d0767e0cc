"""Indicators are exact on hand-made shares."""

from __future__ import annotations

import math

import pytest

from sim.indicators import hhi, shannon, shares


def test_hhi_on_hand_made_shares():
    assert hhi({"russia": 100.0}) == 10_000.0
    # 40 / 30 / 30 %: 1600 + 900 + 900
    assert hhi({"russia": 4.0, "norway": 3.0, "kazakhstan": 3.0}) == pytest.approx(3400.0)
    assert hhi({"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}) == pytest.approx(2500.0)
    assert hhi({"a": 5.0, "gone": 0.0}) == 10_000.0
    assert math.isnan(hhi({}))


def test_shannon_on_hand_made_shares():
    assert shannon({"russia": 7.0}) == 0.0
    assert shannon({"a": 1.0, "b": 1.0}) == pytest.approx(math.log(2))
    assert shannon({"a": 2.0, "b": 1.0, "c": 1.0}) == pytest.approx(
        -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))
    )
    assert shares({"a": 3.0, "b": 1.0}) == {"a": 0.75, "b": 0.25}


def test_n_minus_1_of_the_base_scenario_by_hand():
    from sim import load_scenario
    from sim.indicators import n_minus_1_by_refinery, n_minus_1_pct
    from tests.test_scenarios import ROOT

    base = load_scenario(ROOT / "scenarios" / "base.toml")
    # Entry points Samara, Surgut and Belarus's own fields at Rechitsa (10 000 t/day line to
    # Mozyr). Intact, each refinery can take its 30 000 t/day capacity (Mozyr by Unecha–Mozyr,
    # 47 900, plus Rechitsa; Naftan by Unecha–Polotsk 30 000 or Surgut–Polotsk 54 800).
    # Without Samara–Unecha (what Belarus may use of it: 274 000 − 137 000 of EU transit), Mozyr
    # receives 10 000 from Rechitsa and Naftan 30 000 by Surgut–Polotsk: 40 000 of 60 000 t/day.
    # Usable stock over 30 days: Mozyr (574 600 − 143 650) / 30 = 14 365 t/day, Naftan
    # (482 000 − 120 500) / 30 = 12 050 t/day. Mozyr 100 × (10 000 + 14 365) / 30 000 = 81.22 %;
    # Naftan: no single loss cuts it below 30 000, 100 × (30 000 + 12 050) / 30 000 = 140.17 %;
    # all: 100 × (40 000 + 26 415) / 60 000 = 110.69 %. (The old formula summed each entry's
    # max-flow to uncapped refineries: "covered", though the loss of Samara–Unecha cuts Mozyr
    # down to its own fields.)
    assert n_minus_1_pct(base) == pytest.approx(110.6916667)
    assert n_minus_1_by_refinery(base) == pytest.approx(
        {"mozyr": 81.2166667, "naftan": 140.1666667}
    )


def test_low_stock_share_and_recovery_time_are_exact():
    from tests.builders import chain, simulate_one

    # Stock 10 000 t, target 1 000 t/day, supply stops on day 2 for 10 days. Low stock means
    # below 5 days (5 000 t): the stock falls 1 000 t a day from day 2 and reaches 5 000 t at
    # day 7; no supply until day 12 and no minimum stock, so it runs out at day 12; supply
    # back at 1 000 t/day keeps it at 0. Below 5 000 t from day 7 to the end (day 20): 13 days.
    data = chain(capacity=5000.0, volume_t_per_month=31_000.0, stock=10_000.0, tank=100_000.0)
    data["scenario"].update(horizon_days=20, low_stock_days=5.0)
    data["disruptions"] = {
        "cut": {"target": "line", "start_date": "2019-01-03", "duration_days": 10}
    }
    _, result = simulate_one(data)
    [ref] = result.refineries
    assert ref["low_stock_share"] == pytest.approx(13 / 20)
    # Runs at target until the stock is gone (day 12: 10 000 t after 10 days of 1 000 t
    # draws from day 2); the disruption ends at day 12 and supply at 1 000 t/day feeds runs at
    # target at once: no cut spell, recovery 0.
    assert result.summary["recovery_days_max"] == 0.0


def test_recovery_time_counts_cuts_that_outlast_a_disruption():
    from tests.builders import chain, simulate_one

    # The line is out on days 2..11; the stock (10 000 t, minimum 5 000) lasts to day 7, when
    # the unit stops (feasible run 0 < minimum rate) and must stay down 8 days: until day 15,
    # 3 days after the line is back on day 12.
    data = chain(
        capacity=5000.0,
        volume_t_per_month=31_000.0,
        stock=10_000.0,
        tank=100_000.0,
        min_stock=5000.0,
        min_rate=500.0,
        restart_days=8.0,
    )
    data["scenario"]["horizon_days"] = 20
    data["disruptions"] = {
        "cut": {"target": "line", "start_date": "2019-01-03", "duration_days": 10}
    }
    _, result = simulate_one(data)
    events = [(e["time_days"], e["event"]) for e in result.events if e["asset"] == "ref"]
    assert events == [(7.0, "unit_stop"), (15.0, "unit_restart")]
    assert result.summary["recovery_days_max"] == 3.0


def test_contracted_n_minus_1_of_the_base_scenario_by_hand():
    from sim import load_scenario
    from sim.indicators import n_minus_1_contracted_pct, n_minus_1_table
    from tests.test_scenarios import ROOT

    base = load_scenario(ROOT / "scenarios" / "base.toml")
    # Each refinery receives what its own contracts nominate, × 12 ÷ 365 t/day: Mozyr 733,333
    # t/month from Samara (24,109.6) and 140,833 from Rechitsa (4,630.1); Naftan 366,667 from
    # Samara and 366,666 from Surgut (12,054.8 each). Without Samara–Unecha Mozyr gets Rechitsa's
    # 4,630.1, 24,099.9 short of its planned 28,730; Naftan Surgut's 12,054.8, 12,045.2 short of
    # 24,100. The run planner (look-ahead 14 days) runs at target while the stock above the
    # operating minimum is ≥ 14 × the shortfall, then lets it decay as e^(−t/14): Mozyr (usable
    # 430,950 t) at target for (430,950 − 14 × 24,099.9) / 24,099.9 = 3.9 days, Naftan (361,500)
    # for 16.0. Stock drawn in 30 days = usable − 14 × shortfall × e^(−(30 − days at target)/14).
    # N−1 = 100 × (crude + stock drawn ÷ 30) / planned run, each refinery and their sum.
    rechitsa, surgut = 140_833 * 12 / 365, 366_666 * 12 / 365

    def drawn(usable: float, short: float) -> float:
        at_target = (usable - 14 * short) / short
        return usable - 14 * short * math.exp(-(30 - at_target) / 14)

    mozyr_s = drawn(574_600 - 143_650, 28_730 - rechitsa) / 30
    naftan_s = drawn(482_000 - 120_500, 24_100 - surgut) / 30
    mozyr, naftan, _ = n_minus_1_table(base, contracted=True)
    assert mozyr.pct == pytest.approx(100 * (rechitsa + mozyr_s) / 28_730)
    assert naftan.pct == pytest.approx(100 * (surgut + naftan_s) / 24_100)
    expected = 100 * (rechitsa + mozyr_s + surgut + naftan_s) / 52_830
    assert n_minus_1_contracted_pct(base) == pytest.approx(expected)
    assert (mozyr.pct, naftan.pct, expected) == pytest.approx((60.1, 91.4, 74.4), abs=0.05)
