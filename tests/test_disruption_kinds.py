"""Every kind of disruption does what it declares, scheduled or random."""

from __future__ import annotations

import math
import statistics

import pytest
from scipy import stats

from sim import simulate
from tests.builders import build, chain, contract, daily, simulate_one
from tests.test_supply_options import cargo_network


def test_random_outages_are_down_mttr_over_mtbf_plus_mttr_of_the_time():
    # Ample supply into a 1 000 t/day line feeding a refinery that takes it all: the line
    # carries nothing exactly while it is down. MTBF 20 days, MTTR 5 days (lognormal).
    data = chain(capacity=1000.0, volume_t_per_month=1e9, target=1000.0, tank=1e9, stock=0.0)
    data["scenario"].update(horizon_days=365, replications=40, seed=7)
    data["disruptions"] = {
        "breakdowns": {"target": "line", "random": {"mtbf_days": 20.0, "mttr_days": 5.0}}
    }
    result = simulate(build(data), daily="all")
    fractions = []
    for rep in result.replications:
        days = [r for r in rep.daily if r["asset"] == "line"]
        fractions.append(sum(r["inflow_t"] == 0.0 for r in days) / len(days))
    n = len(fractions)
    mean, sd = statistics.mean(fractions), statistics.stdev(fractions)
    half_width = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    assert abs(mean - 5.0 / (20.0 + 5.0)) <= half_width
    assert 0 < half_width < 0.05  # the test can tell a wrong rate from a right one


def test_the_same_seed_gives_the_same_draws_to_two_strategies_sharing_the_asset():
    def strategy(extra_volume: float):
        data = chain(capacity=1000.0, volume_t_per_month=1e9, target=1000.0, tank=1e9, stock=0.0)
        data["scenario"].update(horizon_days=200, replications=3)
        data["disruptions"] = {
            "breakdowns": {"target": "line", "random": {"mtbf_days": 30.0, "mttr_days": 4.0}}
        }
        data["contracts"]["other"] = contract("field", "ref", extra_volume)  # differs
        result = simulate(build(data), daily="none")
        return [
            [(e["time_days"], e["event"]) for e in rep.events if e["asset"] == "line"]
            for rep in result.replications
        ]

    a, b = strategy(1000.0), strategy(50_000.0)
    assert a == b
    assert all(events for events in a)
    assert a[0] != a[1]  # replications draw differently


def test_a_contaminated_batch_arrives_after_linefill_over_rate_and_is_never_run():
    # Line of 10 000 t at 1 000 t/day: 10 days. Contamination injected at its inlet on days
    # 5, 6 and 7 (50 ppm over a 10 ppm limit) reaches the refinery on days 15, 16 and 17.
    data = chain(capacity=1000.0, volume_t_per_month=31_000.0, stock=20_000.0, tank=100_000.0)
    data["scenario"]["horizon_days"] = 31
    data["disruptions"] = {
        "chlorides": {
            "target": "line",
            "start_date": "2019-01-06",
            "duration_days": 3,
            "contaminant_ppm": 50.0,
        }
    }
    sim, result = simulate_one(data)
    inflow = [r["inflow_t"] for r in daily(result, "ref")]
    assert inflow[15:18] == [0.0, 0.0, 0.0]
    assert inflow[:15] == pytest.approx([1000.0] * 15)
    assert inflow[18:] == pytest.approx([1000.0] * 13)
    events = [(e["time_days"], e["event"]) for e in result.events if e["asset"] == "ref"]
    assert events == [(15.0, "rejection_start"), (18.0, "rejection_end")]
    assert result.refineries[0]["quarantined_t"] == pytest.approx(3000.0)
    assert result.mass_balance["quarantine_stock_t"] == pytest.approx(3000.0)
    assert abs(result.mass_balance["imbalance_t"]) < 1e-6
    assert sim.network.refineries["ref"].tank.ppm <= 10.0


def test_a_political_cut_off_stops_a_contract_for_its_days():
    data = chain(capacity=5000.0, volume_t_per_month=31_000.0, stock=50_000.0, tank=1e6)
    data["scenario"]["horizon_days"] = 31
    data["disruptions"] = {
        "dispute": {
            "target": "supply",
            "start_date": "2019-01-11",
            "duration_days": 10,
            "volume_factor": 0.25,
        }
    }
    _, result = simulate_one(data)
    shipped = [r["inflow_t"] for r in daily(result, "line")]
    assert shipped[:10] == pytest.approx([1000.0] * 10)
    assert shipped[10:20] == pytest.approx([250.0] * 10)
    assert shipped[20:] == pytest.approx([1000.0] * 11)


def test_a_quota_cut_and_a_fee_rise_change_transit():
    data = chain(capacity=5000.0, volume_t_per_month=31_000.0, stock=50_000.0, tank=1e6)
    data["scenario"]["horizon_days"] = 31
    data["transit"] = {"ru": {"links": ["line"], "quota_t_per_month": 31_000.0}}
    data["disruptions"] = {
        "quota_cut": {
            "target": "ru",
            "start_date": "2019-01-01",
            "duration_days": 31,
            "quota_factor": 0.5,
        },
        "fee": {
            "target": "ru",
            "start_date": "2019-01-01",
            "duration_days": 31,
            "fee_add_usd_per_t": 4.0,
        },
    }
    _, result = simulate_one(data)
    shipped = [r["inflow_t"] for r in daily(result, "line")]
    assert sum(shipped) == pytest.approx(15_500.0)  # half the quota
    assert shipped[15] == pytest.approx(500.0) and shipped[16:] == [0.0] * 15
    [cost] = [c for c in result.costs if c["route"] == "line"]
    assert cost["transit_fee_usd_per_t"] == pytest.approx(4.0)


def test_a_price_shock_moves_the_crude_cost_for_its_days():
    data = chain(capacity=5000.0, volume_t_per_month=31_000.0, stock=50_000.0, tank=1e6)
    data["scenario"]["horizon_days"] = 31
    data["disruptions"] = {
        "shock": {
            "target": "urals",
            "start_date": "2019-01-11",
            "duration_days": 10,
            "price_add_usd_per_bbl": 20.0,
        }
    }
    _, result = simulate_one(data)
    [cost] = [c for c in result.costs if c["route"] == "line"]
    # 21 days at 60 USD/bbl and 10 days at 80, × 7.25 bbl/t, 1 000 t a day.
    assert cost["crude_usd"] == pytest.approx(1000 * 7.25 * (21 * 60.0 + 10 * 80.0))


def test_a_closed_port_keeps_tankers_waiting_on_demurrage():
    data = cargo_network()
    data["disruptions"] = {
        "storm": {
            "target": "port",
            "start_date": "2019-01-11",
            "duration_days": 3,
            "capacity_factor": 0.0,
        }
    }
    _, result = simulate_one(data)
    [row] = result.cargoes
    # Arrives day 11 into a storm until day 13: berths then, 2 days waiting on demurrage.
    assert row["arrived_day"] == 11.0
    assert row["berthed_day"] == 13.0
    assert row["demurrage_usd"] == pytest.approx(2 * 20_000.0)


def test_a_differential_shock_on_a_contract_and_on_a_cargo():
    data = chain(capacity=5000.0, volume_t_per_month=31_000.0, stock=50_000.0, tank=1e6)
    data["scenario"]["horizon_days"] = 31
    data["disruptions"] = {
        "wider": {
            "target": "supply",
            "start_date": "2019-01-01",
            "duration_days": 31,
            "price_add_usd_per_bbl": -3.0,
        }
    }
    _, result = simulate_one(data)
    [cost] = [c for c in result.costs if c["route"] == "line"]
    assert cost["crude_usd_per_t"] == pytest.approx((60.0 - 3.0) * 7.25)

    cargo = cargo_network()
    cargo["disruptions"] = {
        "dearer": {
            "target": "sverdrup",
            "start_date": "2019-01-01",
            "duration_days": 10,
            "price_add_usd_per_bbl": 2.0,
        }
    }
    _, result = simulate_one(cargo)
    [row] = result.cargoes  # bought on day 2, inside the shock: (60 − 1 + 2) × 7.2 per tonne
    assert row["crude_usd"] == pytest.approx(80_000 * (60.0 - 1.0 + 2.0) * 7.2)
