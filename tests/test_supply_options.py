"""Global-market cargoes, berths, rail corridors and the cost of a delivered tonne."""

from __future__ import annotations

import math
from typing import Any

import pytest

from sim import simulate
from tests.builders import build, contract, daily, refinery, scenario_dict, simulate_one

# Hand numbers used throughout: Brent 60 USD/bbl, grade 7.2 bbl/t, differential −1 USD/bbl,
# premium 2 USD/t: crude (60 − 1) × 7.2 = 424.8 USD/t.
CRUDE_USD_PER_T = (60.0 - 1.0) * 7.2


def cargo_network(
    schedule: list[str] | None = None,
    berths: int = 1,
    trains_per_day: float = 1.0,
    cars_per_train: int = 100,
    payload_t_per_car: float = 100.0,
    fleet_cars: int = 10_000,
    cycle_days: float = 1.0,
    horizon_days: int = 40,
) -> dict[str, Any]:
    """market → (sea, 5 days, 8 USD/t) → port → (rail, 3 days, 15 USD/t) → refinery."""
    data = scenario_dict(horizon_days=horizon_days)
    data["grades"]["sverdrup"] = {"bbl_per_t": 7.2}
    data["prices"]["brent"] = {"usd_per_bbl": 60.0}
    data["nodes"] = {
        "norway": {"kind": "market"},
        "port": {
            "kind": "port",
            "tank_capacity_t": 200_000.0,
            "berths": berths,
            "discharge_t_per_day": 40_000.0,
            "port_fee_usd_per_t": 5.0,
            "demurrage_usd_per_day": 20_000.0,
        },
        "ref": refinery(target=1000.0, tank=1e7, stock=50_000.0),
    }
    data["links"] = {
        "voyage": {
            "kind": "sea",
            "from_node": "norway",
            "to_node": "port",
            "voyage_days": 5.0,
            "freight_usd_per_t": 8.0,
        },
        "train": {
            "kind": "rail",
            "from_node": "port",
            "to_node": "ref",
            "trains_per_day": trains_per_day,
            "cars_per_train": cars_per_train,
            "payload_t_per_car": payload_t_per_car,
            "fleet_cars": fleet_cars,
            "cycle_days": cycle_days,
            "transit_days": 3.0,
            "tariff_usd_per_t": 15.0,
        },
    }
    offtake = contract("port", "ref", 1e9, origin="norway", routes=[["train"]])
    offtake.pop("price")
    offtake["grade"] = "sverdrup"
    data["contracts"] = {"offtake": offtake}
    data["cargoes"] = {
        "sverdrup": {
            "seller": "Equinor",
            "origin": "norway",
            "grade": "sverdrup",
            "sea_link": "voyage",
            "destination": "ref",
            "lot_t": 80_000.0,
            "price": {
                "benchmark": "brent",
                "differential_usd_per_bbl": -1.0,
                "premium_usd_per_t": 2.0,
            },
            "loading_days": 4.0,
            "schedule": schedule or ["2019-01-03"],
        }
    }
    return data


def test_a_lot_reaches_the_refinery_after_its_lead_time_and_costs_its_components():
    _, result = simulate_one(cargo_network())
    [row] = result.cargoes
    # Bought day 2; loaded 2 + 4 = 6; arrives 6 + 5 = 11; berths at once; discharges
    # 80 000 / 40 000 = 2 days: in the port tanks at day 13.
    assert (row["bought_day"], row["sailed_day"], row["arrived_day"]) == (2.0, 6.0, 11.0)
    assert (row["berthed_day"], row["discharged_day"], row["berth_wait_days"]) == (11.0, 13.0, 0.0)
    # Trains load 100 × 100 = 10 000 t/day from day 13 and unload 3 days later: the first
    # crude reaches the refinery's tank on day 16 = 2 + 4 + 5 + 0 + 2 + 3, the last on day 23.
    inflow = [r["inflow_t"] for r in daily(result, "ref")]
    assert inflow[:16] == [0.0] * 16
    assert inflow[16:24] == pytest.approx([10_000.0] * 8)
    assert inflow[24:] == [0.0] * 16
    # Cost: crude 424.8 + premium 2 + freight 8 + port 5 = 439.8 USD/t on board, rail 15.
    assert row["total_usd"] == pytest.approx(80_000 * (CRUDE_USD_PER_T + 2 + 8 + 5))
    [cost] = [c for c in result.costs if c["route"] != "run_cuts"]
    assert (cost["refinery"], cost["origin"], cost["route"]) == (
        "ref",
        "norway",
        "voyage > port > train",
    )
    assert cost["tonnes_t"] == pytest.approx(80_000.0)
    expected = {
        "crude_usd_per_t": CRUDE_USD_PER_T,
        "premium_usd_per_t": 2.0,
        "freight_usd_per_t": 8.0,
        "port_usd_per_t": 5.0,
        "demurrage_usd_per_t": 0.0,
        "pipeline_usd_per_t": 0.0,
        "rail_usd_per_t": 15.0,
        "transit_fee_usd_per_t": 0.0,
    }
    for key, value in expected.items():
        assert cost[key] == pytest.approx(value, abs=1e-9), key
    assert cost["total_usd_per_t"] == pytest.approx(CRUDE_USD_PER_T + 2 + 8 + 5 + 15)
    assert result.summary["landed_cost_usd_per_t"] == pytest.approx(cost["total_usd_per_t"])
    assert abs(result.mass_balance["imbalance_t"]) < 1e-6


def test_two_tankers_at_a_one_berth_port_queue_and_the_second_pays_demurrage_for_the_wait():
    _, result = simulate_one(cargo_network(schedule=["2019-01-03", "2019-01-03"]))
    first, second = sorted(result.cargoes, key=lambda r: r["number"])
    # Both arrive on day 11; the second waits the first's 2 days of discharge.
    assert first["berth_wait_days"] == 0.0 and first["demurrage_usd"] == 0.0
    assert second["arrived_day"] == 11.0
    assert (second["berthed_day"], second["discharged_day"]) == (13.0, 15.0)
    assert second["berth_wait_days"] == 2.0
    assert second["demurrage_usd"] == pytest.approx(2 * 20_000.0)
    berthed = [
        (e["time_days"], e["detail"]) for e in result.events if e["event"] == "tanker_berthed"
    ]
    assert berthed == [(11.0, "sverdrup#1 after 0 days"), (13.0, "sverdrup#2 after 2 days")]
    # The demurrage is in the delivered crude's cost: 40 000 USD over 160 000 t.
    [cost] = [c for c in result.costs if c["route"] != "run_cuts"]
    assert cost["demurrage_usd"] == pytest.approx(40_000.0)


def test_two_berths_serve_two_tankers_at_once():
    _, result = simulate_one(cargo_network(schedule=["2019-01-03"] * 2, berths=2))
    assert [r["berth_wait_days"] for r in result.cargoes] == [0.0, 0.0]


@pytest.mark.parametrize(
    ("trains", "cars", "payload", "fleet", "cycle", "limit"),
    [
        (2.0, 50, 60.0, 10_000, 6.0, 2 * 50 * 60.0),  # loading limits: 6 000 t/day
        (4.0, 60, 60.0, 300, 6.0, 300 * 60.0 / 6.0),  # the fleet's cycle limits: 3 000 t/day
    ],
    ids=["loading-limited", "fleet-limited"],
)
def test_rail_never_delivers_more_than_trains_or_the_fleet_cycle_allow(
    trains, cars, payload, fleet, cycle, limit
):
    data = cargo_network(
        trains_per_day=trains,
        cars_per_train=cars,
        payload_t_per_car=payload,
        fleet_cars=fleet,
        cycle_days=cycle,
        horizon_days=60,
    )
    _, result = simulate_one(data)
    loaded = [r["inflow_t"] for r in daily(result, "train")]
    unloaded = [r["inflow_t"] for r in daily(result, "ref")]
    assert max(loaded) == pytest.approx(limit)
    assert max(unloaded) == pytest.approx(limit)
    assert all(x <= limit * (1 + 1e-12) for x in loaded + unloaded)
    # In transit = loaded − unloaded, day by day (stock_t of the corridor).
    in_transit = [r["stock_t"] for r in daily(result, "train")]
    assert in_transit[-1] == pytest.approx(sum(loaded) - sum(unloaded))


def test_reorder_rule_buys_when_the_inventory_position_falls_below_the_threshold():
    data = cargo_network(horizon_days=120)
    cargo = data["cargoes"]["sverdrup"]
    del cargo["schedule"]
    cargo["reorder"] = {"days_of_cover_below": 40.0, "review_days": 1.0, "max_open_cargoes": 1}
    _, result = simulate_one(data)
    bought = [r["bought_day"] for r in result.cargoes]
    # Stock 50 000 t at 1 000 t/day is 50 days: the position falls below 40 days on day 11
    # (stock 40 000 at the end of day 10 is not below; 39 000 at day 11 is) and a cargo is
    # bought; it lands 13 days later, lifting the position by 80 000 t.
    assert bought[0] == 11.0
    assert len(bought) >= 2
    # Never more than one open at a time: each is bought after the previous discharged.
    for earlier, later in zip(result.cargoes, result.cargoes[1:], strict=False):
        assert later["bought_day"] >= earlier["discharged_day"]
    assert result.summary["run_cut_days"] == 0


def test_random_voyage_delays_follow_the_seed_and_are_shared_between_strategies():
    data = cargo_network(schedule=["2019-01-03", "2019-01-10", "2019-01-17"], horizon_days=60)
    data["links"]["voyage"]["delay_days_mean"] = 2.0
    data["scenario"]["replications"] = 3
    first = simulate(build(data), daily="none")
    again = simulate(build(data), daily="none")
    delays = [[r["voyage_delay_days"] for r in rep.cargoes] for rep in first.replications]
    assert delays == [[r["voyage_delay_days"] for r in rep.cargoes] for rep in again.replications]
    assert len({tuple(d) for d in delays}) == 3  # replications differ
    assert all(d > 0 for rep in delays for d in rep)
    # Another strategy on the same sea link (a dearer port) sees the same draws.
    other = dict(data)
    other["nodes"] = {**data["nodes"], "port": {**data["nodes"]["port"], "port_fee_usd_per_t": 9}}
    shared = simulate(build(other), daily="none")
    assert delays == [[r["voyage_delay_days"] for r in rep.cargoes] for rep in shared.replications]


def test_kazakh_purchases_change_the_bilateral_trade_balance():
    data = scenario_dict(horizon_days=365)
    data["nodes"] = {"uzen": {"kind": "field"}, "ref": refinery(target=1000.0, tank=1e7)}
    data["links"] = {
        "line": {
            "kind": "pipeline",
            "from_node": "uzen",
            "to_node": "ref",
            "capacity_t_per_day": 5000.0,
            "length_km": 10.0,
            "linefill_t_per_km": 10.0,
        }
    }
    # 1 000 t a day of Kazakh crude at 60 USD/bbl × 7.25 bbl/t = 435 USD/t: 365 000 t a year.
    data["contracts"] = {"kz": contract("uzen", "ref", 31_000.0, origin="kazakhstan")}
    data["contracts"]["kz"]["routes"] = [["line"]]
    data["scenario"]["start_date"] = "2019-01-01"
    data["trade"] = {
        "partner_origin": "kazakhstan",
        "exports_usd_per_year": 783e6,
        "imports_usd_per_year": 117e6,
    }
    _, result = simulate_one(data, record_daily=False)
    purchases = result.summary["trade_partner_purchases_usd"]
    shipped = sum(r["tonnes_t"] for r in result.costs if r["origin"] == "kazakhstan")
    assert purchases == pytest.approx(shipped * 60.0 * 7.25)
    assert result.summary["trade_balance_usd_per_year"] == pytest.approx(783e6 - 117e6 - purchases)
    assert math.isclose(result.summary["supplier_hhi"], 10_000.0)


def test_a_swap_hands_kazakh_crude_in_at_samara_and_russian_crude_out_at_unecha():
    data = scenario_dict(horizon_days=31)
    data["nodes"] = {
        "uzen": {"kind": "field"},
        "samara": {"kind": "junction"},
        "unecha": {"kind": "junction"},
        "mozyr": refinery(target=1000.0, tank=1e7, stock=50_000.0),
    }

    def line(a: str, b: str, tariff: float) -> dict[str, Any]:
        return {
            "kind": "pipeline",
            "from_node": a,
            "to_node": b,
            "capacity_t_per_day": 5000.0,
            "length_km": 10.0,
            "linefill_t_per_km": 300.0,  # 3 000 t: 3 days at 1 000 t/day
            "tariff_usd_per_t": tariff,
        }

    data["links"] = {
        "atyrau_samara": line("uzen", "samara", 4.0),
        "samara_unecha": line("samara", "unecha", 12.5),
        "unecha_mozyr": line("unecha", "mozyr", 1.0),
    }
    kz = contract("uzen", "mozyr", 31_000.0, origin="kazakhstan")
    kz["routes"] = [["atyrau_samara", "unecha_mozyr"]]
    kz["swap"] = {"in_at": "samara", "out_at": "unecha", "fee_usd_per_t": 3.0}
    data["contracts"] = {"kz": kz}
    # A Russian transit quota on Samara–Unecha does not touch swapped Kazakh crude.
    data["transit"] = {
        "ru": {"links": ["samara_unecha"], "origins": ["kazakhstan"], "quota_t_per_month": 1.0}
    }
    _, result = simulate_one(data)
    assert [r["inflow_t"] for r in daily(result, "samara_unecha")] == [0.0] * 31
    assert [r["inflow_t"] for r in daily(result, "atyrau_samara")] == pytest.approx([1000.0] * 31)
    assert [r["inflow_t"] for r in daily(result, "mozyr")] == pytest.approx([1000.0] * 31)
    # Physically, Mozyr gets the day-0 linefill, then Russian crude handed out at Unecha.
    out = {r["origin"]: r["tonnes_t"] for r in result.flows if r["link"] == "unecha_mozyr"}
    assert out == pytest.approx({"linefill": 3000.0, "russia": 28_000.0})
    # Commercially the tonnes are Kazakh: crude 60 × 7.25, tariffs 4 + 1, swap fee 3.
    [cost] = [c for c in result.costs if c["route"] != "run_cuts"]
    assert (cost["origin"], cost["route"]) == ("kazakhstan", "atyrau_samara > unecha_mozyr")
    assert cost["tonnes_t"] == pytest.approx(31_000.0)
    assert cost["pipeline_usd_per_t"] == pytest.approx(5.0)
    assert cost["transit_fee_usd_per_t"] == pytest.approx(3.0)
    # The Kazakh tonnes leave the simulated network at Samara: mass balance counts them.
    mb = result.mass_balance
    assert mb["swapped_out_t"] == pytest.approx(31_000.0)
    assert mb["supplied_t"] == pytest.approx(62_000.0)
    assert abs(mb["imbalance_t"]) < 1e-6
