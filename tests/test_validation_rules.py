"""One test per validation rule: break one thing in a small valid scenario, read the message.

Every `check_*` rule in `sim.scenario.checks.CHECKS` and the schema's own rules (unknown keys,
missing keys, bounds, types, node kinds) are asserted by dotted key path and message words.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest

from sim.errors import Problem, ScenarioError
from sim.scenario.checks import CHECKS
from sim.scenario.loading import validate_data
from sim.scenario.schema import Scenario

FILE = "x.toml"
DELETE = object()  # marks a key to remove in `changed`

# Start 2020-01-01 and 30 days: the horizon's end (exclusive) is 2020-01-31.
MINIMAL: dict[str, Any] = {
    "scenario": {"name": "minimal", "start_date": dt.date(2020, 1, 1), "horizon_days": 30},
    "grades": {"light": {"bbl_per_t": 7.3}},
    "nodes": {
        "src": {"kind": "junction"},
        "ref": {
            "kind": "refinery",
            "capacity_t_per_day": 1000,
            "target_run_t_per_day": 800,
            "tank_capacity_t": 20000,
            "initial_stock_t": 10000,
        },
    },
    "links": {
        "src_ref": {
            "kind": "pipeline",
            "from_node": "src",
            "to_node": "ref",
            "capacity_t_per_day": 1200,
            "length_km": 100,
            "linefill_t_per_km": 50,
        }
    },
    "contracts": {
        "c1": {
            "seller": "seller",
            "origin": "russia",
            "grade": "light",
            "source": "src",
            "destination": "ref",
            "volume_t_per_month": 24000,
            "price": {"benchmark": "brent"},
        }
    },
    "prices": {"brent": {"usd_per_bbl": 60.0}},
}

JUNCTION = {"kind": "junction"}


def pipeline(from_node: str, to_node: str) -> dict[str, Any]:
    return {
        "kind": "pipeline",
        "from_node": from_node,
        "to_node": to_node,
        "capacity_t_per_day": 1000,
        "length_km": 10,
        "linefill_t_per_km": 10,
    }


def changed(updates: Mapping[str, Any]) -> dict[str, Any]:
    """A fresh copy of MINIMAL with each `dotted.key: value` set (DELETE removes the key)."""
    data = copy.deepcopy(MINIMAL)
    for dotted, value in updates.items():
        *parents, last = dotted.split(".")
        table = data
        for part in parents:
            table = table.setdefault(part, {})
        if value is DELETE:
            del table[last]
        else:
            table[last] = copy.deepcopy(value)
    return data


def problems_of(data: Mapping[str, Any]) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        validate_data(data, FILE)
    problems = info.value.problems
    assert problems, "a ScenarioError must carry at least one problem"
    assert all(p.file == FILE for p in problems)
    return problems


def assert_reported(problems: list[Problem], key: str, words: tuple[str, ...]) -> None:
    matching = [p for p in problems if p.key == key and all(w in p.message for w in words)]
    assert matching, f"no problem at {key!r} mentioning {words}; got:\n" + "\n".join(
        map(str, problems)
    )


def test_minimal_scenario_validates():
    scenario = validate_data(copy.deepcopy(MINIMAL), FILE)
    assert isinstance(scenario, Scenario)
    assert list(scenario.refineries()) == ["ref"]
    assert scenario.default_grade == "light"


# ------------------------------------------------------------------ consistency rules (checks.py)

# (rule, updates to MINIMAL, expected key, words the message contains); ids start with the rule.
PORT = {"kind": "port", "tank_capacity_t": 100_000}
MARKET = {"kind": "market"}
RAIL = {
    "kind": "rail",
    "from_node": "port",
    "to_node": "ref",
    "trains_per_day": 2,
    "cars_per_train": 50,
    "payload_t_per_car": 60,
    "fleet_cars": 500,
    "cycle_days": 6,
    "transit_days": 2,
}
SEA = {
    "kind": "sea",
    "from_node": "mkt",
    "to_node": "port",
    "voyage_days": 10,
    "freight_usd_per_t": 8,
}
CARGO = {
    "seller": "s",
    "origin": "norway",
    "grade": "light",
    "sea_link": "voyage",
    "destination": "ref",
    "lot_t": 80_000,
    "price": {"benchmark": "brent"},
    "schedule": [dt.date(2020, 1, 5)],
}
WITH_PORT = {"nodes.port": PORT, "nodes.mkt": MARKET, "links.voyage": SEA, "links.rail": RAIL}
ASSAY = {
    "light_ends_mass_frac": 0.01,
    "naphtha_mass_frac": 0.165,
    "middle_distillates_mass_frac": 0.28,
    "vacuum_gas_oil_mass_frac": 0.285,
    "vacuum_residue_mass_frac": 0.26,
}
YIELDS = {"gasoline_mass_frac": 0.4, "diesel_mass_frac": 0.3, "fuel_and_loss_mass_frac": 0.3}
CONFIG = {
    "naphtha_to_gasoline_mass_frac": 0.6,
    "conversion_capacity_t_per_day": 300,
    "vacuum_gas_oil_yields": YIELDS,
    "vacuum_residue_yields": YIELDS,
    "sulphur_limit_pct": 1.6,
    "processing_cost_usd_per_t": 15,
}
PRODUCT_PRICES = {
    name: {"usd_per_t": price}
    for name, price in (
        ("gasoline", 620),
        ("diesel", 590),
        ("naphtha", 480),
        ("fuel_oil", 360),
        ("coke", 100),
    )
}
#: A refinery valued with every input it needs.
VALUED = {
    "refinery_configs.cfg": CONFIG,
    "nodes.ref.configuration": "cfg",
    "grades.light.assay": ASSAY,
    "product_prices": PRODUCT_PRICES,
}

# Countries: the minimal scenario located in Russia (its junction) and Belarus (the rest).
LOCATED = {
    "countries.RU": {"name": "Russia", "origins": ["russia"]},
    "countries.BY": {"name": "Belarus"},
    "nodes.src.country": "RU",
    "nodes.ref.country": "BY",
    "links.src_ref.country": "BY",
}

RULE_CASES = [
    pytest.param(
        "check_country_references",
        {**LOCATED, "nodes.src.country": "KZ"},
        "nodes.src.country",
        ("unknown country 'KZ'",),
        id="check_country_references-node",
    ),
    pytest.param(
        "check_country_references",
        {"links.src_ref.country": "UA"},
        "links.src_ref.country",
        ("unknown country 'UA'",),
        id="check_country_references-link_without_countries",
    ),
    pytest.param(
        "check_countries_complete",
        {k: v for k, v in LOCATED.items() if k != "links.src_ref.country"},
        "links.src_ref.country",
        ("required", "declares `countries`"),
        id="check_countries_complete-link",
    ),
    pytest.param(
        "check_countries_complete",
        {**LOCATED, "nodes.hub": JUNCTION},
        "nodes.hub.country",
        ("required",),
        id="check_countries_complete-node",
    ),
    pytest.param(
        "check_origin_countries",
        {**LOCATED, "contracts.c1.origin": "kazakhstan"},
        "contracts.c1.origin",
        ("origin 'kazakhstan' is in no country's `origins`",),
        id="check_origin_countries-contract",
    ),
    pytest.param(
        "check_origin_countries",
        {
            **LOCATED,
            **WITH_PORT,
            "nodes.port.country": "BY",
            "nodes.mkt.country": "RU",
            "links.rail.country": "BY",
            "cargoes.g1": CARGO,
        },
        "cargoes.g1.origin",
        ("origin 'norway' is in no country's `origins`",),
        id="check_origin_countries-cargo",
    ),
    pytest.param(
        "check_origins_claimed_once",
        {**LOCATED, "countries.BY.origins": ["belarus", "russia"]},
        "countries.BY.origins.1",
        ("origin 'russia' is already listed by country 'RU'",),
        id="check_origins_claimed_once",
    ),
    pytest.param(
        "check_swaps",
        {"contracts.c1.swap": {"in_at": "src", "out_at": "nowhere"}},
        "contracts.c1.swap.out_at",
        ("unknown node 'nowhere'",),
        id="check_swaps-unknown_node",
    ),
    pytest.param(
        "check_swaps",
        {"contracts.c1.swap": {"in_at": "src", "out_at": "ref"}},
        "contracts.c1.routes",
        ("a swap needs declared routes",),
        id="check_swaps-no_routes",
    ),
    pytest.param(
        "check_link_kinds_fit_nodes",
        {**WITH_PORT, "links.rail.from_node": "mkt"},
        "links.rail.from_node",
        ("a rail link must load at a port, a junction or a field",),
        id="check_link_kinds_fit_nodes-rail",
    ),
    pytest.param(
        "check_link_kinds_fit_nodes",
        {**WITH_PORT, "links.voyage.to_node": "ref"},
        "links.voyage.to_node",
        ("a sea link must end at a port",),
        id="check_link_kinds_fit_nodes-sea",
    ),
    pytest.param(
        "check_contract_price",
        {"contracts.c1.price": DELETE},
        "contracts.c1.price",
        ("required unless the source is a port",),
        id="check_contract_price",
    ),
    pytest.param(
        "check_makeup",
        {"contracts.c1.makeup_max_share": 0.2},
        "contracts.c1.makeup_window_days",
        ("makeup_max_share needs a window longer than 0 days",),
        id="check_makeup-no_window",
    ),
    pytest.param(
        "check_makeup",
        {"contracts.c1.makeup_window_days": 30},
        "contracts.c1.makeup_max_share",
        ("makeup_window_days has no effect without a share",),
        id="check_makeup-no_share",
    ),
    pytest.param(
        "check_makeup",
        {
            **WITH_PORT,
            "contracts.c1.source": "port",
            "contracts.c1.makeup_max_share": 0.2,
            "contracts.c1.makeup_window_days": 30,
        },
        "contracts.c1.makeup_max_share",
        ("no make-up from a port's tanks",),
        id="check_makeup-port_source",
    ),
    pytest.param(
        "check_cover_target_fits_tank",
        {"nodes.ref.cover_target_days": 30},
        "nodes.ref.cover_target_days",
        ("30 days of target run (24000 t) exceed tank_capacity_t 20000",),
        id="check_cover_target_fits_tank",
    ),
    pytest.param(
        "check_cargoes",
        {**WITH_PORT, "cargoes.g1": {**CARGO, "reorder": {"days_of_cover_below": 10}}},
        "cargoes.g1",
        ("exactly one purchase policy",),
        id="check_cargoes-two_policies",
    ),
    pytest.param(
        "check_cargoes",
        {**WITH_PORT, "cargoes.g1": {**CARGO, "lot_t": 200_000}},
        "cargoes.g1.lot_t",
        ("never fits the tanks of 'port'",),
        id="check_cargoes-lot_too_big",
    ),
    pytest.param(
        "check_cargoes",
        {**WITH_PORT, "cargoes.g1": {**CARGO, "sea_link": "rail"}},
        "cargoes.g1.sea_link",
        ("'rail' is not a sea link",),
        id="check_cargoes-not_sea",
    ),
    pytest.param(
        "check_step_divides_day",
        {"scenario.step_days": 0.3},
        "scenario.step_days",
        ("1 / 0.3", "not a whole number of steps"),
        id="check_step_divides_day",
    ),
    pytest.param(
        "check_third_party_within_capacity",
        {"links.src_ref.third_party_t_per_day": 1500},
        "links.src_ref.third_party_t_per_day",
        ("1500 t/day is more than the line's capacity 1200 t/day",),
        id="check_third_party_within_capacity",
    ),
    pytest.param(
        "check_ids_distinct",
        {"nodes.src_ref": JUNCTION},
        "links.src_ref",
        ("'src_ref' is also a node id", "distinct"),
        id="check_ids_distinct",
    ),
    pytest.param(
        "check_link_endpoints",
        {"links.src_ref.from_node": "nowhere"},
        "links.src_ref.from_node",
        ("unknown node 'nowhere'",),
        id="check_link_endpoints-unknown_from_node",
    ),
    pytest.param(
        "check_link_endpoints",
        {"links.src_ref.to_node": "nowhere"},
        "links.src_ref.to_node",
        ("unknown node 'nowhere'",),
        id="check_link_endpoints-unknown_to_node",
    ),
    pytest.param(
        "check_link_endpoints",
        {"links.src_ref.to_node": "src"},
        "links.src_ref.to_node",
        ("cannot end where it starts",),
        id="check_link_endpoints-loop",
    ),
    pytest.param(
        "check_grade_references",
        {"nodes.ref.initial_grade": "heavy"},
        "nodes.ref.initial_grade",
        ("unknown grade 'heavy'",),
        id="check_grade_references-node",
    ),
    pytest.param(
        "check_grade_references",
        {"links.src_ref.initial_linefill_grade": "heavy"},
        "links.src_ref.initial_linefill_grade",
        ("unknown grade 'heavy'",),
        id="check_grade_references-link",
    ),
    pytest.param(
        "check_grade_references",
        {"contracts.c1.grade": "heavy"},
        "contracts.c1.grade",
        ("unknown grade 'heavy'",),
        id="check_grade_references-contract",
    ),
    pytest.param(
        "check_refinery_rates",
        {"nodes.ref.target_run_t_per_day": 1500},
        "nodes.ref.target_run_t_per_day",
        ("1500 t/day exceeds capacity_t_per_day 1000",),
        id="check_refinery_rates-target_above_capacity",
    ),
    pytest.param(
        "check_refinery_rates",
        {"nodes.ref.min_technical_rate_t_per_day": 900},
        "nodes.ref.min_technical_rate_t_per_day",
        ("900 t/day exceeds target_run_t_per_day 800",),
        id="check_refinery_rates-min_rate_above_target",
    ),
    pytest.param(
        "check_refinery_rates",
        {"nodes.ref.min_operating_stock_t": 25000},
        "nodes.ref.min_operating_stock_t",
        ("exceeds tank_capacity_t",),
        id="check_refinery_rates-min_stock_above_tank",
    ),
    pytest.param(
        "check_stock_fits_tank",
        {"nodes.ref.initial_stock_t": 30000},
        "nodes.ref.initial_stock_t",
        ("30000 t exceeds tank_capacity_t 20000",),
        id="check_stock_fits_tank-refinery",
    ),
    pytest.param(
        "check_stock_fits_tank",
        {"nodes.terminal": {"kind": "port", "tank_capacity_t": 100, "initial_stock_t": 200}},
        "nodes.terminal.initial_stock_t",
        ("200 t exceeds tank_capacity_t 100",),
        id="check_stock_fits_tank-port",
    ),
    pytest.param(
        "check_contract_nodes",
        {"contracts.c1.source": "nowhere"},
        "contracts.c1.source",
        ("unknown node 'nowhere'",),
        id="check_contract_nodes-unknown_source",
    ),
    pytest.param(
        "check_contract_nodes",
        {"contracts.c1.source": "ref"},
        "contracts.c1.source",
        ("'ref' is a refinery, not a supply point",),
        id="check_contract_nodes-refinery_source",
    ),
    pytest.param(
        "check_contract_nodes",
        {"contracts.c1.destination": "nowhere"},
        "contracts.c1.destination",
        ("unknown node 'nowhere'",),
        id="check_contract_nodes-unknown_destination",
    ),
    pytest.param(
        "check_contract_nodes",
        {"contracts.c1.destination": "src"},
        "contracts.c1.destination",
        ("'src' is not a refinery",),
        id="check_contract_nodes-destination_not_refinery",
    ),
    pytest.param(
        "check_contract_routes",
        {"contracts.c1.routes": [["src_ref"], []]},
        "contracts.c1.routes.1",
        ("at least one link",),
        id="check_contract_routes-empty_route",
    ),
    pytest.param(
        "check_contract_routes",
        {"contracts.c1.routes": [["nolink"]]},
        "contracts.c1.routes.0",
        ("unknown link(s) 'nolink'",),
        id="check_contract_routes-unknown_link",
    ),
    pytest.param(
        "check_contract_routes",
        {
            "nodes.hub": JUNCTION,
            "links.hub_ref": pipeline("hub", "ref"),
            "contracts.c1.routes": [["hub_ref"]],
        },
        "contracts.c1.routes.0",
        ("link 'hub_ref' starts at 'hub', not at 'src'",),
        id="check_contract_routes-broken_chain",
    ),
    pytest.param(
        "check_contract_routes",
        {
            "nodes.hub": JUNCTION,
            "links.src_hub": pipeline("src", "hub"),
            "contracts.c1.routes": [["src_hub"]],
        },
        "contracts.c1.routes.0",
        ("route ends at 'hub', not at the destination 'ref'",),
        id="check_contract_routes-wrong_end",
    ),
    pytest.param(
        "check_contract_routes",
        {
            "nodes.hub": JUNCTION,
            "links.src_hub": pipeline("src", "hub"),
            "links.hub_src": pipeline("hub", "src"),
            "contracts.c1.routes": [["src_hub", "hub_src", "src_hub", "hub_src", "src_ref"]],
        },
        "contracts.c1.routes.0",
        ("uses a link twice",),
        id="check_contract_routes-link_twice",
    ),
    pytest.param(
        "check_contract_reachable",
        {"nodes.hub": JUNCTION, "links.src_ref.to_node": "hub"},
        "contracts.c1",
        ("no chain of links leads from 'src' to 'ref'",),
        id="check_contract_reachable",
    ),
    pytest.param(
        "check_refinery_supplied",
        {"nodes.ref2": MINIMAL["nodes"]["ref"]},
        "nodes.ref2",
        ("nothing can reach this refinery",),
        id="check_refinery_supplied",
    ),
    pytest.param(
        "check_contract_dates",
        {"contracts.c1.start_date": dt.date(2019, 12, 31)},
        "contracts.c1.start_date",
        ("2019-12-31 is outside the horizon 2020-01-01 to 2020-01-31",),
        id="check_contract_dates-start_before_horizon",
    ),
    pytest.param(
        "check_contract_dates",
        {"contracts.c1.end_date": dt.date(2020, 2, 1)},
        "contracts.c1.end_date",
        ("2020-02-01 is outside the horizon",),
        id="check_contract_dates-end_after_horizon",
    ),
    pytest.param(
        "check_contract_dates",
        {
            "contracts.c1.start_date": dt.date(2020, 1, 10),
            "contracts.c1.end_date": dt.date(2020, 1, 10),
        },
        "contracts.c1.end_date",
        ("must be after start_date",),
        id="check_contract_dates-end_not_after_start",
    ),
    pytest.param(
        "check_prices",
        {"contracts.c1.price.benchmark": "wti"},
        "contracts.c1.price.benchmark",
        ("unknown price series 'wti'",),
        id="check_prices-unknown_benchmark",
    ),
    pytest.param(
        "check_prices",
        {"prices.brent.monthly_usd_per_bbl": {"2020-13": 61.0}},
        "prices.brent.monthly_usd_per_bbl.2020-13",
        ("YYYY-MM",),
        id="check_prices-bad_month",
    ),
    pytest.param(
        "check_transit_links",
        {"transit.belarus": {"links": ["src_ref", "nolink"], "tariff_usd_per_t": 1.0}},
        "transit.belarus.links",
        ("unknown link 'nolink'",),
        id="check_transit_links",
    ),
    pytest.param(
        "check_disruptions",
        {
            "disruptions.d1": {
                "target": "src",
                "start_date": dt.date(2020, 1, 5),
                "duration_days": 3,
            }
        },
        "disruptions.d1.target",
        ("price series or country named 'src'",),
        id="check_disruptions-target_not_link_or_refinery",
    ),
    pytest.param(
        "check_disruptions",
        {
            "disruptions.d1": {
                "target": "nolink",
                "start_date": dt.date(2020, 1, 5),
                "duration_days": 3,
            }
        },
        "disruptions.d1.target",
        ("price series or country named 'nolink'",),
        id="check_disruptions-unknown_target",
    ),
    pytest.param(
        "check_disruptions",
        {
            **LOCATED,
            "disruptions.d1": {
                "target": "RU",
                "start_date": dt.date(2020, 1, 5),
                "duration_days": 3,
                "contaminant_ppm": 50.0,
            },
        },
        "disruptions.d1.contaminant_ppm",
        ("does not apply to a country (capacity_factor, volume_factor do)",),
        id="check_disruptions-country_effect",
    ),
    pytest.param(
        "check_disruptions",
        {
            "disruptions.d1": {
                "target": "src_ref",
                "start_date": dt.date(2020, 1, 31),
                "duration_days": 3,
            }
        },
        "disruptions.d1.start_date",
        ("2020-01-31 is outside the horizon 2020-01-01 to 2020-01-31",),
        id="check_disruptions-starts_at_horizon_end",
    ),
    pytest.param(
        "check_disruptions",
        {"disruptions.d1": {"target": "c1", "volume_factor": 0.5, "duration_days": 3}},
        "disruptions.d1",
        ("needs both start_date and duration_days",),
        id="check_disruptions-half_scheduled",
    ),
    pytest.param(
        "check_disruptions",
        {
            "disruptions.d1": {
                "target": "c1",
                "start_date": dt.date(2020, 1, 5),
                "duration_days": 3,
                "random": {"mtbf_days": 100, "mttr_days": 5},
            }
        },
        "disruptions.d1",
        ("either start_date and duration_days, or random",),
        id="check_disruptions-two_timings",
    ),
    pytest.param(
        "check_disruptions",
        {
            "disruptions.d1": {
                "target": "c1",
                "start_date": dt.date(2020, 1, 5),
                "duration_days": 3,
                "capacity_factor": 0.5,
            }
        },
        "disruptions.d1.capacity_factor",
        ("does not apply to a contract",),
        id="check_disruptions-effect_does_not_fit",
    ),
    pytest.param(
        "check_export_duty",
        {"contracts.c1.price.export_duty_monthly_usd_per_t": {"2020-13": 5.0}},
        "contracts.c1.price.export_duty_monthly_usd_per_t.2020-13",
        ("YYYY-MM",),
        id="check_export_duty-bad_month",
    ),
    pytest.param(
        "check_export_duty",
        {"contracts.c1.price.export_duty_formula": "tax_manoeuvre", "prices.brent.usd_per_bbl": 40},
        "contracts.c1.price.export_duty_monthly_usd_per_t",
        (
            "holds only above 365 USD/t",
            "'brent' is 292.0 USD/t in 2020-01 (40 USD/bbl × 7.3 bbl/t)",
            "give the published duty of 2020-01",
        ),
        id="check_export_duty-below_the_top_bracket",
    ),
    pytest.param(
        "check_export_duty",
        {
            "contracts.c1.price.export_duty_formula": "tax_manoeuvre",
            "contracts.c1.price.export_duty_usd_per_t": 50.0,
        },
        "contracts.c1.price.export_duty_usd_per_t",
        ("is not used with export_duty_formula = 'tax_manoeuvre'",),
        id="check_export_duty-constant_with_formula",
    ),
    pytest.param(
        "check_export_duty",
        {
            "scenario.start_date": dt.date(2018, 12, 20),
            "contracts.c1.price.export_duty_formula": "tax_manoeuvre",
        },
        "contracts.c1.price.export_duty_k",
        ("k is defined from 2019", "published duty of 2018-12"),
        id="check_export_duty-before_the_manoeuvre",
    ),
    pytest.param(
        "check_export_duty",
        {
            **WITH_PORT,
            "cargoes.g1": {
                **CARGO,
                "price": {"benchmark": "brent", "export_duty_formula": "tax_manoeuvre"},
            },
        },
        "cargoes.g1.price",
        ("a cargo is priced once, at purchase", "export_duty_usd_per_t"),
        id="check_export_duty-cargo_by_formula",
    ),
    pytest.param(
        "check_assays",
        {"grades.light.assay": {**ASSAY, "vacuum_residue_mass_frac": 0.23}},
        "grades.light.assay",
        ("the cuts sum to 0.97, not 1 (± 0.005)",),
        id="check_assays",
    ),
    pytest.param(
        "check_refinery_configurations",
        {**VALUED, "nodes.ref.configuration": "ref_after"},
        "nodes.ref.configuration",
        ("unknown refinery configuration 'ref_after'",),
        id="check_refinery_configurations-unknown",
    ),
    pytest.param(
        "check_refinery_configurations",
        {
            **VALUED,
            "refinery_configs.cfg": {
                **CONFIG,
                "vacuum_residue_yields": {**YIELDS, "fuel_and_loss_mass_frac": 0.2},
            },
        },
        "refinery_configs.cfg.vacuum_residue_yields",
        ("the yields sum to 0.9, not 1",),
        id="check_refinery_configurations-yields",
    ),
    pytest.param(
        "check_valuation_inputs",
        {k: v for k, v in VALUED.items() if k != "product_prices"},
        "product_prices",
        ("required: refinery 'ref' is valued",),
        id="check_valuation_inputs-no_prices",
    ),
    pytest.param(
        "check_valuation_inputs",
        {k: v for k, v in VALUED.items() if k != "grades.light.assay"},
        "grades.light.assay",
        ("required: refinery 'ref' is valued",),
        id="check_valuation_inputs-no_assay",
    ),
    pytest.param(
        "check_valuation_inputs",
        {
            **VALUED,
            "product_prices": {
                **PRODUCT_PRICES,
                "coke": {"usd_per_t": 100, "monthly_usd_per_t": {"2020-1": 90}},
            },
        },
        "product_prices.coke.monthly_usd_per_t.2020-1",
        ("YYYY-MM",),
        id="check_valuation_inputs-bad_month",
    ),
    pytest.param(
        "check_crude_window",
        {"grades.heavy": {"bbl_per_t": 6.9}, "nodes.ref.crude_window": {"grades": ["heavy"]}},
        "contracts.c1.grade",
        (
            "refinery 'ref' does not take grade 'light'",
            "nodes.ref.crude_window.grades: heavy",
        ),
        id="check_crude_window-grade_refused",
    ),
    pytest.param(
        "check_crude_window",
        {**WITH_PORT, "cargoes.g1": CARGO, "nodes.ref.crude_window": {"grades": ["sour"]}},
        "cargoes.g1.grade",
        ("refinery 'ref' does not take grade 'light'",),
        id="check_crude_window-cargo_refused",
    ),
    pytest.param(
        "check_crude_window",
        {"nodes.ref.crude_window": {"grades": ["light", "sour"]}},
        "nodes.ref.crude_window.grades",
        ("unknown grade 'sour'",),
        id="check_crude_window-unknown_grade",
    ),
    pytest.param(
        "check_crude_window",
        {"nodes.ref.crude_window": {"blend_api_gravity_min": 35, "blend_api_gravity_max": 30}},
        "nodes.ref.crude_window.blend_api_gravity_max",
        ("30 is below blend_api_gravity_min 35",),
        id="check_crude_window-api_range",
    ),
    pytest.param(
        "check_disruptions",
        {
            "contracts.src_ref": {**MINIMAL["contracts"]["c1"]},
            "disruptions.d1": {
                "target": "src_ref",
                "start_date": dt.date(2020, 1, 5),
                "duration_days": 3,
            },
        },
        "disruptions.d1.target",
        ("'src_ref' is ambiguous: it names a link and a contract",),
        id="check_disruptions-ambiguous",
    ),
    # Input limits: what the engine cannot represent or would take forever on.
    pytest.param(
        "check_horizon_in_calendar",
        {"scenario.start_date": dt.date(9999, 11, 15)},
        "scenario.horizon_days",
        ("30 days from 9999-11-15 run past 2999-12-31, the last day simulated",),
        id="check_horizon_in_calendar-ends_too_late",
    ),
    pytest.param(
        "check_horizon_in_calendar",
        {"scenario.start_date": dt.date(1, 1, 1)},
        "scenario.start_date",
        ("0001-01-01 is before 1900-01-01, the first day simulated",),
        id="check_horizon_in_calendar-starts_too_early",
    ),
    pytest.param(
        "check_event_counts",
        {"scenario.step_days": 1e-6},
        "scenario.step_days",
        ("30 days ÷ 1e-06 days is ≈ 3e+07 network steps", "at most 1,000,000"),
        id="check_event_counts-steps",
    ),
    pytest.param(
        "check_event_counts",
        {
            **WITH_PORT,
            "cargoes.g1": {
                **{k: v for k, v in CARGO.items() if k != "schedule"},
                "reorder": {"days_of_cover_below": 10, "review_days": 1e-5},
            },
        },
        "cargoes.g1.reorder.review_days",
        ("≈ 3e+06 reorder reviews", "at most 1,000,000"),
        id="check_event_counts-reviews",
    ),
    pytest.param(
        "check_event_counts",
        {"disruptions.d1": {"target": "ref", "random": {"mtbf_days": 1e-6, "mttr_days": 1e-6}}},
        "disruptions.d1.random.mtbf_days",
        ("failures (expected)", "at most 1,000,000"),
        id="check_event_counts-random_failures",
    ),
    pytest.param(
        "check_names",
        {"nodes.a$b$": JUNCTION},
        "nodes.a$b$",
        ("id 'a$b$' is not a plain name", "letters, digits, `_` and `-` only"),
        id="check_names-id_with_dollars",
    ),
    pytest.param(
        "check_names",
        {"grades." + "g" * 65: {"bbl_per_t": 7.3}},
        "grades." + "g" * 65,
        ("is not a plain name", "at most 64 characters"),
        id="check_names-id_too_long",
    ),
    pytest.param(
        "check_names",
        {"contracts.c1.origin": "Russia (Urals)"},
        "contracts.c1.origin",
        ("origin 'Russia (Urals)' is not a plain name",),
        id="check_names-origin",
    ),
    pytest.param(
        "check_line_sizes",
        {"links.src_ref.linefill_t_per_km": 1e-12},
        "links.src_ref.linefill_t_per_km",
        ("the line holds 1e-10 t", "from 1 t to 1e+12 t"),
        id="check_line_sizes-linefill_too_small",
    ),
    pytest.param(
        "check_line_sizes",
        {"links.src_ref.length_km": 1e6, "links.src_ref.linefill_t_per_km": 1e7},
        "links.src_ref.linefill_t_per_km",
        ("the line holds 1e+13 t",),
        id="check_line_sizes-linefill_too_large",
    ),
    pytest.param(
        "check_line_sizes",
        {**WITH_PORT, "links.rail.payload_t_per_car": 1e11},
        "links.rail.payload_t_per_car",
        ("trains × cars × payload is 1e+13 t/day", "at most 1e+12 t/day"),
        id="check_line_sizes-rail_too_large",
    ),
]

CHECK_BY_NAME = {check.__name__: check for check in CHECKS}


def test_every_rule_has_a_test():
    covered = {case.values[0] for case in RULE_CASES}
    assert covered == set(CHECK_BY_NAME), (
        f"rules without a test: {sorted(set(CHECK_BY_NAME) - covered)}; "
        f"tests of no rule: {sorted(covered - set(CHECK_BY_NAME))}"
    )
    for case in RULE_CASES:
        assert case.id.split("-")[0] == case.values[0], f"id {case.id!r} must name its rule"


@pytest.mark.parametrize(("rule", "updates", "key", "words"), RULE_CASES)
def test_rule(rule, updates, key, words):
    data = changed(updates)
    assert_reported(problems_of(data), key, words)
    # The finding comes from the rule the test names, not from another one.
    findings = list(CHECK_BY_NAME[rule](Scenario.model_validate(data)))
    assert any(k == key and all(w in m for w in words) for k, m in findings), findings


@pytest.mark.parametrize("rule", sorted(CHECK_BY_NAME))
def test_rule_is_silent_on_the_minimal_scenario(rule):
    assert list(CHECK_BY_NAME[rule](Scenario.model_validate(copy.deepcopy(MINIMAL)))) == []


@pytest.mark.parametrize(
    "updates",
    [
        pytest.param({"scenario.step_days": 0.25}, id="quarter_day_steps"),
        pytest.param({"scenario.step_days": 1 / 3}, id="third_day_steps"),
        pytest.param({"contracts.c1.routes": [["src_ref"]]}, id="explicit_route"),
        pytest.param(
            {
                "contracts.c1.start_date": dt.date(2020, 1, 1),
                "contracts.c1.end_date": dt.date(2020, 1, 31),
            },
            id="contract_dates_on_horizon_bounds",
        ),
        pytest.param(
            {
                "disruptions.d1": {
                    "target": "ref",
                    "start_date": dt.date(2020, 1, 30),
                    "duration_days": 10,
                }
            },
            id="refinery_disruption_on_last_day",
        ),
        pytest.param(
            {"prices.brent.monthly_usd_per_bbl": {"2020-01": 61.0, "2021-12": 62.0}},
            id="monthly_prices",
        ),
        pytest.param(
            {"nodes.terminal": {"kind": "port", "tank_capacity_t": 100, "initial_stock_t": 100}},
            id="port_full_to_the_brim",
        ),
        pytest.param(VALUED, id="valued_refinery"),
        pytest.param(
            # 50.01 USD/bbl × 7.3 = 365.07 USD/t: just inside the formula's bracket; below it a
            # published month is enough.
            {
                "contracts.c1.price.export_duty_formula": "tax_manoeuvre",
                "prices.brent.monthly_usd_per_bbl": {"2020-01": 50.01, "2020-02": 30.0},
                "contracts.c1.price.export_duty_monthly_usd_per_t": {"2020-02": 8.3},
                "scenario.horizon_days": 45,
            },
            id="duty_formula_at_the_bracket_edge",
        ),
        pytest.param(
            {
                **WITH_PORT,
                "cargoes.g1": {
                    **CARGO,
                    "price": {"benchmark": "brent", "export_duty_usd_per_t": 9},
                },
            },
            id="cargo_with_a_constant_duty",
        ),
        pytest.param(
            {"nodes.ref.crude_window": {"grades": ["light"], "blend_sulphur_max_pct": 2.0}},
            id="crude_window_taking_the_grade",
        ),
        pytest.param(LOCATED, id="every_asset_located"),
        pytest.param(
            {
                **LOCATED,
                **WITH_PORT,
                "countries.NO": {"name": "Norway", "origins": ["norway"]},
                "nodes.port.country": "BY",
                "nodes.mkt.country": "NO",
                "links.rail.country": "BY",
                "cargoes.g1": CARGO,
                # Crude drawn from a port is the cargoes' crude: its label needs no country.
                "contracts.from_port": {
                    **MINIMAL["contracts"]["c1"],
                    "origin": "seaborne",
                    "source": "port",
                    "routes": [["rail"]],
                },
            },
            id="sea_link_and_port_offtake_without_country",
        ),
        pytest.param(
            {"contracts.c1.routes": [["rail"]], **WITH_PORT, "links.rail.from_node": "src"},
            id="rail_loading_at_a_junction",
        ),
        pytest.param(
            {"scenario.start_date": dt.date(2999, 12, 2)}, id="horizon_ends_on_the_last_date"
        ),
        pytest.param({"scenario.start_date": dt.date(1900, 1, 1)}, id="start_on_the_first_date"),
        pytest.param({"scenario.step_days": 1 / 1000}, id="step_of_a_thousandth_day"),
        pytest.param({"scenario.seed": 2**70}, id="seed_of_any_size"),
        pytest.param({"scenario.name": "n.a-m_e" + "e" * 57}, id="name_of_64_characters"),
        pytest.param(
            {"links.src_ref.length_km": 1, "links.src_ref.linefill_t_per_km": 1},
            id="pipeline_holding_one_tonne",
        ),
        pytest.param({"contracts.c1.price.premium_usd_per_t": -1e12}, id="magnitude_of_1e12"),
    ],
)
def test_boundary_values_are_valid(updates):
    validate_data(changed(updates), FILE)


# Inputs a run could not use: once accepted silently, now rejected.


def test_empty_route_list_is_rejected():
    problems = problems_of(changed({"contracts.c1.routes": []}))
    assert_reported(problems, "contracts.c1.routes", ("at least 1 item",))


def test_contract_starting_after_the_last_simulated_day_is_rejected():
    problems = problems_of(changed({"contracts.c1.start_date": dt.date(2020, 1, 31)}))
    assert_reported(problems, "contracts.c1.start_date", ("outside the horizon",))


# ------------------------------------------------------------------ schema rules (schema.py)

SCHEMA_CASES = [
    # Unknown keys, anywhere; node and link paths carry no kind tag.
    pytest.param({"extras": 1}, "extras", ("unknown key",), id="unknown_key-top_level"),
    pytest.param(
        {"scenario.nam": "x"}, "scenario.nam", ("unknown key",), id="unknown_key-scenario"
    ),
    pytest.param(
        {"grades.light.api": 30}, "grades.light.api", ("unknown key",), id="unknown_key-grade"
    ),
    pytest.param(
        {"nodes.ref.capacity_t_per_dayy": 1},
        "nodes.ref.capacity_t_per_dayy",
        ("unknown key",),
        id="unknown_key-refinery_node",
    ),
    pytest.param(
        {"nodes.src.depth_m": 1},
        "nodes.src.depth_m",
        ("unknown key",),
        id="unknown_key-junction_node",
    ),
    pytest.param(
        {"nodes.port": {"kind": "junction", "tanks": 1}},
        "nodes.port.tanks",
        ("unknown key",),
        id="unknown_key-node_named_like_a_kind",
    ),
    pytest.param(
        {"links.src_ref.lenght_km": 1},
        "links.src_ref.lenght_km",
        ("unknown key",),
        id="unknown_key-link",
    ),
    pytest.param(
        {"contracts.c1.volumee": 1},
        "contracts.c1.volumee",
        ("unknown key",),
        id="unknown_key-contract",
    ),
    pytest.param(
        {"contracts.c1.price.premium": 1},
        "contracts.c1.price.premium",
        ("unknown key",),
        id="unknown_key-contract_price",
    ),
    pytest.param(
        {"prices.brent.usd": 1}, "prices.brent.usd", ("unknown key",), id="unknown_key-price"
    ),
    pytest.param(
        {"transit.t1": {"links": ["src_ref"], "quota": 5}},
        "transit.t1.quota",
        ("unknown key",),
        id="unknown_key-transit",
    ),
    pytest.param(
        {
            "disruptions.d1": {
                "target": "src_ref",
                "start_date": dt.date(2020, 1, 2),
                "duration_days": 1,
                "factor": 0,
            }
        },
        "disruptions.d1.factor",
        ("unknown key",),
        id="unknown_key-disruption",
    ),
    # Required keys.
    pytest.param(
        {"scenario.start_date": DELETE},
        "scenario.start_date",
        ("required key is missing",),
        id="missing-scenario_start_date",
    ),
    pytest.param({"grades": DELETE}, "grades", ("required key is missing",), id="missing-grades"),
    pytest.param(
        {"nodes.ref.tank_capacity_t": DELETE},
        "nodes.ref.tank_capacity_t",
        ("required key is missing",),
        id="missing-refinery_tank_capacity",
    ),
    pytest.param(
        {"links.src_ref.length_km": DELETE},
        "links.src_ref.length_km",
        ("required key is missing",),
        id="missing-link_length",
    ),
    # Bounds.
    pytest.param(
        {"links.src_ref.capacity_t_per_day": -1},
        "links.src_ref.capacity_t_per_day",
        ("greater than or equal to 0", "-1"),
        id="negative-link_capacity",
    ),
    pytest.param(
        {"nodes.ref.capacity_t_per_day": -1000},
        "nodes.ref.capacity_t_per_day",
        ("greater than 0", "-1000"),
        id="negative-refinery_capacity",
    ),
    pytest.param(
        {"contracts.c1.volume_t_per_month": -5},
        "contracts.c1.volume_t_per_month",
        ("greater than or equal to 0",),
        id="negative-contract_volume",
    ),
    pytest.param(
        {"scenario.step_days": 0},
        "scenario.step_days",
        ("greater than 0",),
        id="step_days-zero",
    ),
    pytest.param(
        {"scenario.step_days": -0.5},
        "scenario.step_days",
        ("greater than 0",),
        id="step_days-negative",
    ),
    pytest.param(
        {"scenario.step_days": 2},
        "scenario.step_days",
        ("less than or equal to 1", "2"),
        id="step_days-above_one_day",
    ),
    pytest.param(
        {"scenario.horizon_days": 0},
        "scenario.horizon_days",
        ("greater than 0",),
        id="horizon_days-zero",
    ),
    pytest.param(
        {
            "disruptions.d1": {
                "target": "src_ref",
                "start_date": dt.date(2020, 1, 2),
                "duration_days": 1,
                "capacity_factor": 1.5,
            }
        },
        "disruptions.d1.capacity_factor",
        ("less than or equal to 1",),
        id="disruption_factor-above_one",
    ),
    # Types.
    pytest.param(
        {"scenario.horizon_days": "abc"},
        "scenario.horizon_days",
        ("valid integer", "'abc'"),
        id="wrong_type-horizon_days",
    ),
    pytest.param(
        {"links.src_ref.length_km": "far"},
        "links.src_ref.length_km",
        ("valid number", "'far'"),
        id="wrong_type-link_length",
    ),
    pytest.param(
        {"scenario.start_date": "yesterday"},
        "scenario.start_date",
        ("valid date",),
        id="wrong_type-start_date",
    ),
    pytest.param(
        {"contracts.c1.routes": "src_ref"},
        "contracts.c1.routes",
        ("valid list",),
        id="wrong_type-routes",
    ),
    pytest.param(
        {"scenario.name": "two words"},
        "scenario.name",
        ("pattern",),
        id="wrong_value-name_pattern",
    ),
    pytest.param(
        {"scenario.name": ".."}, "scenario.name", ("pattern",), id="wrong_value-name_dot_dot"
    ),
    pytest.param(
        {"scenario.name": ".hidden"},
        "scenario.name",
        ("pattern",),
        id="wrong_value-name_starts_with_dot",
    ),
    pytest.param(
        {"scenario.name": "n" * 65}, "scenario.name", ("pattern",), id="wrong_value-name_too_long"
    ),
    # Numbers: finite, and within ±1e12, everywhere.
    pytest.param(
        {"links.src_ref.capacity_t_per_day": float("inf")},
        "links.src_ref.capacity_t_per_day",
        ("finite number", "(got inf)"),
        id="not_finite-capacity",
    ),
    pytest.param(
        {"contracts.c1.price.differential_usd_per_bbl": float("nan")},
        "contracts.c1.price.differential_usd_per_bbl",
        ("finite number", "(got nan)"),
        id="not_finite-unbounded_differential",
    ),
    pytest.param(
        {"prices.brent.monthly_usd_per_bbl": {"2020-01": float("-inf")}},
        "prices.brent.monthly_usd_per_bbl.2020-01",
        ("finite number",),
        id="not_finite-in_a_table",
    ),
    pytest.param(
        {"contracts.c1.volume_t_per_month": 1e20},
        "contracts.c1.volume_t_per_month",
        ("must be within ±1e12", "(got 1e+20)"),
        id="too_large-volume",
    ),
    pytest.param(
        {"contracts.c1.price.premium_usd_per_t": -2e12},
        "contracts.c1.price.premium_usd_per_t",
        ("must be within ±1e12",),
        id="too_large-negative_premium",
    ),
    pytest.param(
        {"prices.brent.monthly_usd_per_bbl": {"2020-01": 5e12}},
        "prices.brent.monthly_usd_per_bbl",
        ("must be within ±1e12", "(5e+12 is not)"),
        id="too_large-in_a_table",
    ),
    pytest.param(
        {"nodes.port": {"kind": "port", "tank_capacity_t": 100, "berths": 10**13}},
        "nodes.port.berths",
        ("must be within ±1e12",),
        id="too_large-integer",
    ),
    # Kinds.
    pytest.param(
        {"nodes.ref.kind": "tankfarm"},
        "nodes.ref.kind",
        ("unknown kind", "'tankfarm'", "refinery", "junction"),
        id="unknown_kind-node",
    ),
    pytest.param(
        {"links.src_ref.kind": "tram"},
        "links.src_ref.kind",
        ("unknown kind", "'tram'", "pipeline"),
        id="unknown_kind-link",
    ),
]


@pytest.mark.parametrize(("updates", "key", "words"), SCHEMA_CASES)
def test_schema_rule(updates, key, words):
    assert_reported(problems_of(changed(updates)), key, words)


# ------------------------------------------------------------------ every problem at once


def test_every_consistency_problem_is_reported_at_once():
    data = changed(
        {
            "nodes.ref.target_run_t_per_day": 1500,
            "contracts.c1.price.benchmark": "wti",
            "transit.belarus": {"links": ["nolink"]},
        }
    )
    with pytest.raises(ScenarioError) as info:
        validate_data(data, FILE)
    keys = [p.key for p in info.value.problems]
    assert sorted(keys) == sorted(
        ["nodes.ref.target_run_t_per_day", "contracts.c1.price.benchmark", "transit.belarus.links"]
    )
    text = str(info.value)
    for key in keys:
        assert f"{FILE}: {key}: " in text


def test_every_schema_problem_is_reported_at_once():
    data = changed(
        {
            "nodes.ref.capacity_t_per_dayy": 1,
            "scenario.start_date": DELETE,
            "links.src_ref.capacity_t_per_day": -1,
        }
    )
    problems = problems_of(data)
    assert sorted(p.key for p in problems) == sorted(
        ["nodes.ref.capacity_t_per_dayy", "scenario.start_date", "links.src_ref.capacity_t_per_day"]
    )
