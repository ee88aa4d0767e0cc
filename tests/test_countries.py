"""Countries: supplier and transit roles, the country indicators and the static N−1, by hand."""

from __future__ import annotations

import math

import pytest

from sim import load_scenario
from sim.countries import (
    assets_of_country,
    option_transit_countries,
    origin_countries,
    route_countries,
    supplier_country,
    transit_countries,
)
from sim.indicators import (
    country_indicators,
    country_indicators_and_exposure,
    exposure_hhi,
    exposures,
    n_minus_1_by_refinery,
    n_minus_1_contracted_pct,
    n_minus_1_pct,
    n_minus_1_table,
    planned_stock_draw_t,
    transit_exposure,
    weighted_hhi,
)
from sim.network import entry_points
from tests.builders import (
    build,
    contract,
    country,
    locate,
    pipeline,
    rail,
    refinery,
    scenario_dict,
)
from tests.test_scenarios import ROOT, SCENARIO_FILES

# ------------------------------------------------------------------ a located toy network


def corridor() -> dict:
    """Kazakh crude through Russia and Russian crude to a Belarusian refinery; a Norwegian
    cargo landed in Lithuania and railed to it; an idle Lithuanian line to nowhere in use."""
    data = scenario_dict()
    data["grades"]["sverdrup"] = {"bbl_per_t": 7.12}
    data["nodes"] = {
        "kz_field": {"kind": "field"},
        "ru_junction": {"kind": "junction"},
        "by_ref": refinery(target=1000.0, capacity=1500.0),
        "mkt": {"kind": "market"},
        "port": {"kind": "port", "tank_capacity_t": 200_000.0},
    }
    data["links"] = {
        "kz_ru": pipeline("kz_field", "ru_junction", 2000.0),
        "ru_by": pipeline("ru_junction", "by_ref", 2000.0),
        "voyage": {
            "kind": "sea",
            "from_node": "mkt",
            "to_node": "port",
            "voyage_days": 5,
            "freight_usd_per_t": 5.0,
        },
        "train": rail("port", "by_ref", 600.0),
    }
    data["contracts"] = {
        "kaz": contract(
            "kz_field", "by_ref", 3100.0, origin="kazakhstan", routes=[["kz_ru", "ru_by"]]
        ),
        "rus": contract("ru_junction", "by_ref", 9300.0),  # free routing
        "offtake": {
            **contract("port", "by_ref", 1_000_000.0, origin="seaborne", routes=[["train"]]),
            "price": None,
        },
    }
    del data["contracts"]["offtake"]["price"]
    data["cargoes"] = {
        "nor": {
            "seller": "s",
            "origin": "norway",
            "grade": "sverdrup",
            "sea_link": "voyage",
            "destination": "by_ref",
            "lot_t": 80_000.0,
            "price": {"benchmark": "urals"},
            "schedule": ["2019-01-05"],
        }
    }
    data["countries"] = {
        "RU": country("Russia", "russia", risk_weight=2.0),
        "KZ": country("Kazakhstan", "kazakhstan"),
        "BY": country("Belarus"),
        "NO": country("Norway", "norway"),
        "LT": country("Lithuania"),
    }
    return locate(
        data,
        kz_field="KZ",
        kz_ru="KZ",
        ru_junction="RU",
        ru_by="RU",
        by_ref="BY",
        mkt="NO",
        port="LT",
        train="LT",
    )


def test_assets_of_a_country_in_each_role():
    s = build(corridor())
    ru = assets_of_country(s, "RU")
    assert (ru.contracts, ru.cargoes) == (("rus",), ())  # supplier
    assert (ru.nodes, ru.ports, ru.links, ru.flow_links) == (
        ("ru_junction",),
        (),
        ("ru_by",),
        ("ru_by",),
    )  # transit
    assert (ru.crossing, ru.crossing_cargoes) == (("kaz",), ())  # Kazakh crude crosses Russia
    lt = assets_of_country(s, "LT")
    assert (lt.contracts, lt.nodes, lt.ports, lt.flow_links) == (
        (),
        ("port",),
        ("port",),
        ("train",),
    )
    assert (lt.crossing, lt.crossing_cargoes) == (("offtake",), ("nor",))
    no = assets_of_country(s, "NO")
    assert (no.cargoes, no.nodes, no.links) == (("nor",), ("mkt",), ())
    with pytest.raises(KeyError, match="no country 'XX'"):
        assets_of_country(s, "XX")


def test_supplier_and_route_countries():
    s = build(corridor())
    assert origin_countries(s) == {"russia": "RU", "kazakhstan": "KZ", "norway": "NO"}
    assert [supplier_country(s, n) for n in ("kaz", "rus", "offtake", "nor")] == [
        "KZ",
        "RU",
        None,  # the port's crude is the cargoes'
        "NO",
    ]
    assert route_countries(s, ["kz_ru", "ru_by"]) == ("KZ", "RU", "BY")
    assert transit_countries(s, ["kz_ru", "ru_by"]) == ("KZ", "RU")  # the importer left out
    # costs.csv routes name nodes too; a sea link without a country is international waters.
    assert transit_countries(s, ["voyage", "port", "train"]) == ("NO", "LT")
    assert option_transit_countries(s, "rus") == ("RU",)  # free routing: the links it may use
    assert option_transit_countries(s, "nor") == ("NO", "LT")  # voyage, then the port's offtake


def test_a_scenario_without_countries_has_none():
    data = corridor()
    del data["countries"]
    for section in ("nodes", "links"):
        for asset in data[section].values():
            asset.pop("country", None)
    s = build(data)
    assert origin_countries(s) == {} and supplier_country(s, "kaz") is None
    assert transit_countries(s, ["kz_ru", "ru_by"]) == ()


# ------------------------------------------------------------------ indicators by hand


def test_weighted_hhi_and_exposures_by_hand():
    # Shares .2 / .6 / .2 with Russia weighted 2: 400 + 2 × 3600 + 400.
    assert weighted_hhi({"KZ": 1, "RU": 3, "NO": 1}, {"RU": 2.0}) == pytest.approx(8000.0)
    assert weighted_hhi({"KZ": 1, "RU": 3, "NO": 1}, {}) == pytest.approx(4400.0)
    assert math.isnan(weighted_hhi({}, {}))
    # A tonne counts for every country it crossed: exposures may sum above 1.
    e = exposures({("KZ", "RU"): 100.0, ("RU",): 300.0, (): 100.0})
    assert e == pytest.approx({"KZ": 0.2, "RU": 0.8})
    assert exposure_hhi(e) == pytest.approx(400.0 + 6400.0)
    assert exposure_hhi({"RU": 1.0, "KZ": 1.0}) == pytest.approx(20_000.0)
    assert exposures({}) == {} and exposure_hhi({}) == 0.0


def test_country_indicators_of_delivered_tonnes():
    s = build(corridor())
    deliveries = [
        ("kazakhstan", "kz_ru > ru_by", 100.0),
        ("russia", ["ru_by"], 300.0),
        ("norway", "voyage > port > train", 100.0),
    ]
    # Supplier shares KZ .2, RU .6, NO .2; exposures KZ .2, RU .8, NO .2, LT .2; RU weighs 2.
    assert country_indicators(s, deliveries) == pytest.approx(
        {
            "supplier_country_hhi": 4400.0,
            "supplier_country_hhi_risk": 8000.0,
            "transit_hhi": 400.0 + 6400.0 + 400.0 + 400.0,
            "transit_hhi_risk": 400.0 + 2 * 6400.0 + 400.0 + 400.0,
        }
    )
    assert transit_exposure(s, deliveries) == pytest.approx(
        {"KZ": 0.2, "LT": 0.2, "NO": 0.2, "RU": 0.8}
    )
    assert all(math.isnan(v) for v in country_indicators(s, []).values())
    # summary.csv asks for both at once: the same numbers exactly.
    assert country_indicators_and_exposure(s, deliveries) == (
        country_indicators(s, deliveries),
        transit_exposure(s, deliveries),
    )


# ------------------------------------------------------------------ static N−1 by hand


def two_refineries() -> dict:
    """Field F (900 t/day) → junction J → A (one line, 700) and B (two lines of 250); port P
    (one berth, 500 t/day) → A by a 400 t/day line and → B by a 300 t/day rail corridor; an idle
    port Q that no contract draws from."""
    data = scenario_dict()
    data["nodes"] = {
        "F": {"kind": "field", "production_t_per_day": 900.0},
        "J": {"kind": "junction"},
        "P": {"kind": "port", "tank_capacity_t": 100_000.0, "discharge_t_per_day": 500.0},
        "Q": {"kind": "port", "tank_capacity_t": 100_000.0},
        "A": refinery(target=900.0, capacity=1000.0, stock=20_000.0, min_stock=5000.0),
        "B": refinery(target=500.0, capacity=600.0, stock=9000.0, min_stock=3000.0),
    }
    data["links"] = {
        "f_j": pipeline("F", "J", 1200.0),
        "j_a": pipeline("J", "A", 700.0),
        "j_b_1": pipeline("J", "B", 250.0),
        "j_b_2": pipeline("J", "B", 250.0),
        "p_a": pipeline("P", "A", 400.0),
        "p_b": rail("P", "B", 300.0),
        "q_b": rail("Q", "B", 5000.0),
    }
    data["contracts"] = {
        "fa": contract("F", "A", 10_000.0),
        "fb": contract("F", "B", 10_000.0),
        "pa": contract("P", "A", 10_000.0),
    }
    return data


def test_static_n_minus_1_by_hand():
    s = build(two_refineries())
    assert entry_points(s) == ["F", "P"]  # Q is declared but idle
    a, b, total = n_minus_1_table(s)
    # A alone: F via J–A 700 + P via P–A 400 = 1 100, capped at 1 000. Without f_j (or j_a,
    # or F) only P's 400 arrive. S_m = (20 000 − 5 000) / 30 = 500. 100 × (400 + 500) / 1 000.
    assert (a.intact_t_per_day, a.worst_t_per_day, a.worst_asset) == (1000.0, 400.0, "f_j")
    assert a.pct == pytest.approx(90.0)
    # B alone: F via the twin lines 500 + P by rail 300 = 800, capped at 600. One twin out:
    # 250 + 300 = 550; rail or P out: 500; f_j or F out: 300. S_m = 6 000 / 30 = 200.
    assert (b.intact_t_per_day, b.worst_t_per_day, b.worst_asset) == (600.0, 300.0, "f_j")
    assert b.pct == pytest.approx(100 * 500 / 600)
    # Together: all that enters, F 900 + P 500 = 1 400 (within 1 000 + 600). Without f_j only
    # P's 500 (j_a out: 1 000; p_a out: 1 200; P out: 900). 100 × (500 + 700) / 1 600 = 75 %.
    assert (total.refinery, total.intact_t_per_day, total.worst_t_per_day) == ("all", 1400.0, 500.0)
    assert total.pct == pytest.approx(75.0)
    assert n_minus_1_pct(s) == pytest.approx(75.0)
    assert n_minus_1_by_refinery(s) == pytest.approx({"A": 90.0, "B": 100 * 500 / 600})


def test_static_n_minus_1_counts_a_twin_line_as_a_spare():
    data = two_refineries()
    data["contracts"] = {"fb": contract("F", "B", 10_000.0)}
    data["nodes"]["F"]["production_t_per_day"] = 250.0
    [_, b, _] = n_minus_1_table(build(data))
    # 250 t/day through either twin: losing one costs nothing; losing f_j costs all.
    assert (b.intact_t_per_day, b.worst_t_per_day, b.worst_asset) == (250.0, 0.0, "f_j")


def test_contracted_n_minus_1_by_hand():
    data = two_refineries()
    # 18 250 t/month × 12 ÷ 365 = 600 t/day; 9 125 → 300 t/day.
    data["contracts"] = {
        "fa": contract("F", "A", 18_250.0),
        "fb": contract("F", "B", 9_125.0),
        "pa": contract("P", "A", 9_125.0),
    }
    data["nodes"]["A"]["lookahead_days"] = 14.0  # A plans its runs; B runs at target (0)
    data["nodes"]["B"]["initial_stock_t"] = 30_000.0
    a, b, total = n_minus_1_table(build(data), contracted=True)
    # A receives its own contracts only: F 600 by J–A, P 300 by P–A = 900 (its planned run).
    # Without f_j (or j_a, or F) only P's 300 arrive: 600 t/day short. Usable stock 15 000;
    # the planner runs at target while the stock above the floor is ≥ 14 × 600 = 8 400, i.e.
    # for (15 000 − 8 400) / 600 = 11 days, then draws 8 400 × (1 − e^(−19/14)) more in the
    # 19 days left: 15 000 − 8 400 e^(−19/14) = 12 837.9 t, S_m = 427.9 t/day.
    # 100 × (300 + 427.9) / 900 = 80.88 %.
    drawn_a = 15_000 - 8_400 * math.exp(-19 / 14)
    assert (a.intact_t_per_day, a.worst_t_per_day, a.worst_asset) == (
        pytest.approx(900.0),
        pytest.approx(300.0),
        "f_j",
    )
    assert (a.stock_draw_t_per_day, a.design_t_per_day) == (pytest.approx(drawn_a / 30), 900.0)
    assert a.pct == pytest.approx(80.881, abs=1e-3)
    # B: F 300 by the twins; without f_j nothing. P's rail to B carries no crude bought for B,
    # so it does not count (the physical N−1 counts it). No planning: all its usable stock,
    # (30 000 − 3 000) / 30 = 900 t/day. 100 × (0 + 900) / 500 = 180 %.
    assert (b.intact_t_per_day, b.worst_t_per_day, b.worst_asset) == (
        pytest.approx(300.0),
        0.0,
        "f_j",
    )
    assert b.pct == pytest.approx(180.0)
    # Together, without f_j: A 300 + 427.9 of stock of its 900; B 0 + 900 of stock, of which
    # it runs 500. 100 × 1 227.9 / 1 400 = 87.71 %: B's spare stock cannot cover A's shortfall
    # (pooled, 100 × (300 + 427.9 + 900) / 1 400 = 116 % would say "covered"). Without P: A
    # 600 + 360 of stock (≥ its 300 short), B 300 + 900: 100 %; without j_a: B 500, A as f_j.
    assert (total.refinery, total.worst_asset, total.design_t_per_day) == ("all", "f_j", 1400.0)
    assert (total.worst_t_per_day, total.stock_draw_t_per_day) == (
        pytest.approx(300.0),
        pytest.approx(drawn_a / 30 + 500.0),
    )
    assert total.pct == pytest.approx(87.709, abs=1e-3)
    assert n_minus_1_contracted_pct(build(data)) == pytest.approx(total.pct)


def test_planned_stock_draw_by_hand():
    # 1 t/day short for 30 days, look-ahead 14 days: the planner holds back 14 t.
    assert planned_stock_draw_t(100.0, 1.0, 30.0, 14.0) == pytest.approx(86.0)  # covered
    # 30 t: at target for 16 days, then 14 t decaying for 14 days.
    assert planned_stock_draw_t(30.0, 1.0, 30.0, 14.0) == pytest.approx(30 - 14 / math.e)
    # 10 t, less than the 14 held back: decaying from the start.
    assert planned_stock_draw_t(10.0, 1.0, 30.0, 14.0) == pytest.approx(
        10 * (1 - math.exp(-30 / 14))
    )
    assert planned_stock_draw_t(44.0, 1.0, 30.0, 14.0) == pytest.approx(30.0)  # just covered
    assert planned_stock_draw_t(10.0, 1.0, 30.0, 0.0) == 10.0  # no planning: all of it
    assert planned_stock_draw_t(10.0, 0.0, 30.0, 14.0) == 10.0  # nothing short
    assert planned_stock_draw_t(0.0, 1.0, 30.0, 14.0) == 0.0


# ------------------------------------------------------------------ the shipped scenarios


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_scenario_locates_its_assets_and_origins(path):
    s = load_scenario(path)
    assert s.countries, "declare `countries`"  # then the checks require the rest
    for name, c in s.contracts.items():
        assert supplier_country(s, name) is not None or c.source in s.nodes, name


def planned_deliveries(s) -> list[tuple[str, list[str], float]]:
    """Each contract's nomination on its first route (enough for pipeline-only strategies)."""
    return [
        (c.origin, c.routes[0], c.volume_t_per_month)
        for c in s.contracts.values()
        if c.routes and c.volume_t_per_month > 0
    ]


def test_kazakh_crude_through_russia_diversifies_suppliers_not_transit():
    base = load_scenario(ROOT / "scenarios" / "base.toml")
    kaz = load_scenario(ROOT / "scenarios" / "kazakh_via_russia.toml")
    b = country_indicators(base, planned_deliveries(base))
    k = country_indicators(kaz, planned_deliveries(kaz))
    # Base: Russia 17.6 Mt, Belarus's own 1.69 Mt (refined at home): 91.2 % and 8.8 %.
    assert b["supplier_country_hhi"] == pytest.approx(8401.3, abs=1.0)
    assert k["supplier_country_hhi"] == pytest.approx(6372.3, abs=1.0)  # looks diversified
    # ... but every imported tonne still crosses Russia (only Belarus's own crude does not),
    # exactly as in base, and the Kazakh ones cross Kazakhstan as well.
    base_ru = transit_exposure(base, planned_deliveries(base))["RU"]
    assert base_ru == pytest.approx(17.6 / (17.6 + 1.69), abs=1e-3)
    assert transit_exposure(kaz, planned_deliveries(kaz))["RU"] == pytest.approx(base_ru)
    assert k["transit_hhi"] > b["transit_hhi"]


def test_summary_shows_kazakh_transit_through_russia_as_no_diversification_of_transit():
    from sim import simulate
    from sim.scenario.variants import with_values

    def summary(name: str) -> dict:
        # The strategies' structure, without the random risk regime they carry.
        scenario = load_scenario(ROOT / "scenarios" / f"{name}.toml", ["scenario.replications=1"])
        scenario = with_values(scenario, {"disruptions": {}})
        return simulate(scenario, daily="none").replications[0].summary

    base, kaz, klaipeda = (
        summary("base"),
        summary("kazakh_via_russia"),
        summary("global_market_klaipeda"),
    )
    assert kaz["supplier_country_hhi"] < base["supplier_country_hhi"]  # more suppliers ...
    # ... but the same share of the crude crosses Russia, and transit is more concentrated.
    assert kaz["transit_exposure_max"] == pytest.approx(base["transit_exposure_max"])
    assert kaz["transit_hhi"] > base["transit_hhi"]
    # Cargoes by Klaipeda do avoid Russia: less of the crude crosses it.
    assert klaipeda["transit_exposure_max"] < base["transit_exposure_max"] - 0.05
