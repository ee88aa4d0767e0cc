"""Small scenario builders for engine tests: plain dicts, validated by the real loader."""

from __future__ import annotations

import copy
from typing import Any

from sim.engine.simulation import Simulation
from sim.engine.topology import compile_topology
from sim.randomness import replication_seed_sequence
from sim.recording import ReplicationResult
from sim.runner import run_replication
from sim.scenario.loading import validate_data
from sim.scenario.schema import Scenario


def scenario_dict(horizon_days: int = 60, start_date: str = "2019-01-01") -> dict[str, Any]:
    """An empty scenario: settings, one grade and one price series; add nodes and links."""
    return {
        "scenario": {
            "name": "test",
            "start_date": start_date,
            "horizon_days": horizon_days,
            "seed": 1,
            "replications": 1,
        },
        "grades": {"urals": {"bbl_per_t": 7.25}},
        "prices": {"urals": {"usd_per_bbl": 60.0}},
        "nodes": {},
        "links": {},
        "contracts": {},
    }


def refinery(
    target: float = 1000.0,
    capacity: float | None = None,
    tank: float = 100_000.0,
    stock: float = 50_000.0,
    min_stock: float = 0.0,
    min_rate: float = 0.0,
    restart_days: float = 0.0,
    limit_ppm: float = 10.0,
    lookahead_days: float = 0.0,
    restart_margin_share: float = 0.0,
    **extra: Any,
) -> dict[str, Any]:
    """A refinery; by default without the run planner or restart hysteresis (the plain rule:
    run at target until the operating minimum, then at what arrives), so that component tests
    of the plain rule stay exact; planner tests pass `lookahead_days`."""
    return {
        "kind": "refinery",
        "capacity_t_per_day": capacity if capacity is not None else target,
        "target_run_t_per_day": target,
        "tank_capacity_t": tank,
        "initial_stock_t": stock,
        "min_operating_stock_t": min_stock,
        "min_technical_rate_t_per_day": min_rate,
        "restart_days": restart_days,
        "contaminant_limit_ppm": limit_ppm,
        "lookahead_days": lookahead_days,
        "restart_margin_share": restart_margin_share,
        **extra,
    }


def pipeline(
    src: str,
    dst: str,
    capacity: float,
    length_km: float = 100.0,
    linefill_t_per_km: float = 100.0,
    tariff: float = 0.0,
) -> dict[str, Any]:
    return {
        "kind": "pipeline",
        "from_node": src,
        "to_node": dst,
        "capacity_t_per_day": capacity,
        "length_km": length_km,
        "linefill_t_per_km": linefill_t_per_km,
        "tariff_usd_per_t": tariff,
    }


def contract(
    source: str,
    destination: str,
    volume_t_per_month: float,
    origin: str = "russia",
    routes: list[list[str]] | None = None,
    priority: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    out = {
        "seller": "seller",
        "origin": origin,
        "grade": "urals",
        "source": source,
        "destination": destination,
        "volume_t_per_month": volume_t_per_month,
        "price": {"benchmark": "urals"},
        "priority": priority,
        **extra,
    }
    if routes is not None:
        out["routes"] = routes
    return out


def chain(
    capacity: float = 10_000.0, volume_t_per_month: float = 31_000.0, **refinery_kw: Any
) -> dict[str, Any]:
    """field → pipeline → refinery, one contract: the smallest network that runs."""
    data = scenario_dict()
    data["nodes"] = {"field": {"kind": "field"}, "ref": refinery(**refinery_kw)}
    data["links"] = {"line": pipeline("field", "ref", capacity)}
    data["contracts"] = {"supply": contract("field", "ref", volume_t_per_month)}
    return data


def rail(src: str, dst: str, t_per_day: float, transit_days: float = 2.0) -> dict[str, Any]:
    """A rail corridor moving `t_per_day` (one train of 60-t cars a day; the fleet never binds)."""
    return {
        "kind": "rail",
        "from_node": src,
        "to_node": dst,
        "trains_per_day": 1.0,
        "cars_per_train": max(1, round(t_per_day / 60.0)),
        "payload_t_per_car": t_per_day / max(1, round(t_per_day / 60.0)),
        "fleet_cars": 10_000,
        "cycle_days": 10.0,
        "transit_days": transit_days,
    }


def country(name: str, *origins: str, risk_weight: float = 1.0) -> dict[str, Any]:
    """A `[countries.ID]` table: its name, the origin labels of its crude and its risk weight."""
    return {"name": name, "origins": list(origins), "risk_weight": risk_weight}


def locate(data: dict[str, Any], **where: str) -> dict[str, Any]:
    """Give nodes and links a country: `locate(data, field="RU", line="RU", ref="BY")`."""
    for asset, code in where.items():
        section = "nodes" if asset in data["nodes"] else "links"
        data[section][asset]["country"] = code
    return data


def build(data: dict[str, Any]) -> Scenario:
    return validate_data(copy.deepcopy(data), "test.toml")


def simulate_one(
    scenario: Scenario | dict[str, Any],
    record_daily: bool = True,
    fifo_log: dict[str, list] | None = None,
    extra: list | None = None,
) -> tuple[Simulation, ReplicationResult]:
    """Run replication 0 and return the simulation (its final state) and its result."""
    if isinstance(scenario, dict):
        scenario = build(scenario)
    return run_replication(
        scenario,
        compile_topology(scenario),
        0,
        replication_seed_sequence(scenario.scenario.seed, 0),
        record_daily=record_daily,
        fifo_log=fifo_log,
        extra=extra,
    )


def daily(result: ReplicationResult, asset: str) -> list[dict[str, Any]]:
    return [row for row in result.daily if row["asset"] == asset]
