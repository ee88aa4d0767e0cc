"""The array path (sim.array_path) against the event path, the reference: every shipped
scenario it accepts gives the same rows in every table to ARRAY_RELATIVE_TOLERANCE, and every
scenario it refuses runs on the event path after one message naming what is not supported."""

from __future__ import annotations

import datetime as dt
import gc
import math
from pathlib import Path

import numpy as np
import pytest

import sim.array_path
import sim.array_pipes
import sim.runner
from sim.array_path import ARRAY_RELATIVE_TOLERANCE
from sim.array_refusals import unsupported
from sim.engine.topology import compile_topology
from sim.engines import engine_setting
from sim.recording import ReplicationResult
from sim.recording.mass_balance import MASS_BALANCE_RELATIVE_TOLERANCE
from sim.runner import Replicator
from sim.scenario.loading import load_scenario
from sim.scenario.variants import with_values
from sim.stress import load_stress, stressed

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SHIPPED = sorted([*SCENARIOS.glob("*.toml"), *SCENARIOS.glob("history/*.toml")])
#: What the array path runs today; a scenario leaving this set must be a decision.
ACCEPTED = {
    "base.toml",
    "base_2021.toml",
    "base_2024.toml",
    "diversified.toml",
    "druzhba_contamination_2019.toml",
    "global_market_klaipeda.toml",
    "global_market_odesa.toml",
    "kazakh_cpc_odesa.toml",
    "kazakh_swap.toml",
    "kazakh_via_russia.toml",
    "risk_regime.toml",
    "strategy_assets.toml",
    "strategy_routes.toml",
    "supply_dispute_2020.toml",
    "unecha_mozyr_outage.toml",
}
#: Replications compared: enough of the risk regime for unit stops, make-up and overlapping
#: outages to occur (checked below), few of the deterministic files.
REPLICATIONS = {
    "risk_regime.toml": 60,
    "strategy_routes.toml": 30,
    "kazakh_via_russia.toml": 20,
    "kazakh_swap.toml": 20,
    "global_market_odesa.toml": 30,
    "kazakh_cpc_odesa.toml": 20,
    "global_market_klaipeda.toml": 30,
    "diversified.toml": 12,
}
#: Russian transit quota for Kazakh crude that binds: 150,000 t/month against the 208,333 t/month
#: the two Kazakh contracts nominate (the shipped 291,667 does not bind, by design).
BINDING_QUOTA = {"transit.russian_transit_kazakh.quota_t_per_month": 150000.0}
TABLES = (
    "summary",
    "refineries",
    "contracts",
    "costs",
    "shares",
    "disruptions",
    "valuation",
    "flows",
    "cargoes",
    "daily",
)
#: Columns that are the books' rounding error, compared against the books' own tolerance.
ROUNDING = {"mass_balance_error_t", "imbalance_t"}
#: Absolute floor of the comparison (the engine's tonnes tolerance is 1e-6 t): differences
#: of values that cancel (missed = nominated − shipped ≈ 0) are rounding of their operands.
ABSOLUTE_FLOOR = 1e-6


@pytest.fixture(autouse=True)
def _array_path_from_one_replication(monkeypatch):
    """The runner sends fewer than ARRAY_MIN_REPLICATIONS to the event path (cheaper there);
    these tests compare the two paths on few replications, so the array path takes any."""
    monkeypatch.setattr(sim.runner, "ARRAY_MIN_REPLICATIONS", 1)
    # Each test hears the fallback messages afresh (they are said once per process).
    monkeypatch.setattr(sim.runner, "_FALLBACKS_SAID", set())


def _differences(a: object, b: object, where: str, handled: float) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{where}: columns differ {sorted(set(a) ^ set(b))}"]
        out = []
        for k in a:
            if k in ROUNDING:
                limit = MASS_BALANCE_RELATIVE_TOLERANCE * handled
                if abs(a[k]) > limit or abs(b[k]) > limit:
                    out.append(f"{where}.{k}: {a[k]!r} vs {b[k]!r} beyond the books' tolerance")
                continue
            out += _differences(a[k], b[k], f"{where}.{k}", handled)
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} vs {len(b)} rows"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _differences(x, y, f"{where}[{i}]", handled)
        ]
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, (int, float)) and isinstance(b, (int, float)), where
        if math.isnan(a) and math.isnan(b):
            return []
        limit = ARRAY_RELATIVE_TOLERANCE * max(abs(a), abs(b)) + ABSOLUTE_FLOOR
        return [] if abs(a - b) <= limit else [f"{where}: {a!r} vs {b!r}"]
    return [] if a == b else [f"{where}: {a!r} vs {b!r}"]


def _event_key(row: dict) -> tuple:
    return (row["time_days"], row["asset"], row["event"], row["detail"])


def result_differences(event: ReplicationResult, array: ReplicationResult) -> list[str]:
    """Every difference between two replications' tables beyond the stated tolerance. Events
    are compared as sets of rows: SimPy orders events of the same instant by when they were
    scheduled, which the array path does not replay."""
    handled = event.mass_balance["initial_inventory_t"] + event.mass_balance["supplied_t"]
    out = [f"replication {event.replication} vs {array.replication}"] * (
        event.replication != array.replication
    )
    for table in TABLES:
        out += _differences(getattr(event, table), getattr(array, table), table, handled)
    out += _differences(
        sorted(event.events, key=_event_key), sorted(array.events, key=_event_key), "events", 0
    )
    out += _differences(event.mass_balance, array.mass_balance, "mass_balance", handled)
    return out


def _runs(path: Path, n: int, daily: str = "none") -> tuple[list, list]:
    scenario = with_values(load_scenario(path), {"scenario.replications": n})
    event = Replicator(scenario, engine="event").run(range(n), daily=daily)
    array = Replicator(scenario, engine="array").run(range(n), daily=daily)
    return event, array


def test_the_shipped_scenarios_it_accepts_are_the_stated_set():
    accepted = set()
    for path in SHIPPED:
        scenario = load_scenario(path)
        if not unsupported(scenario, compile_topology(scenario)):
            accepted.add(path.name)
    assert accepted == ACCEPTED


#: Accepted files compared (with what the comparison covers) by a test of their own.
DEDICATED = {"druzhba_contamination_2019.toml"}


@pytest.mark.parametrize("name", sorted(ACCEPTED - DEDICATED))
def test_array_path_equals_the_event_path(name):
    n = REPLICATIONS.get(name, 3)
    event, array = _runs(next(p for p in SHIPPED if p.name == name), n)
    problems = [d for e, a in zip(event, array, strict=True) for d in result_differences(e, a)]
    assert not problems, "\n".join(problems[:20])


def test_the_risk_regime_comparison_covers_stops_makeup_and_outages():
    """The equality above means something only if the rare branches happen in it."""
    event, _ = _runs(SCENARIOS / "risk_regime.toml", REPLICATIONS["risk_regime.toml"])
    kinds = {row["event"] for rep in event for row in rep.events}
    assert {"unit_stop", "unit_restart", "makeup_start", "makeup_end"} <= kinds
    assert any(rep.summary["unserved_t"] > 0 for rep in event)
    assert any(rep.summary["recovery_days_max"] > 0 for rep in event)
    # Shared line (Samara–Unecha): some years hold the third parties' flow back to the room
    # downstream, so less third-party crude goes in than the line's full background rate.
    full_t = 137000 * 365
    assert any(rep.mass_balance["third_party_in_t"] < full_t - 1.0 for rep in event)


def test_the_cargo_comparison_covers_waits_delays_closures_and_port_costs():
    """global_market_odesa's equality above means something only if its cargoes do what the
    array path had to follow: bought by the reorder rule, delayed at sea, queued at the berth,
    kept waiting on board for tank room, kept out by a closure of the port, and costed as they
    are drawn from the port's tanks."""
    event, _ = _runs(
        SCENARIOS / "global_market_odesa.toml", REPLICATIONS["global_market_odesa.toml"]
    )
    cargoes = [row for rep in event for row in rep.cargoes]
    assert len(cargoes) > 20 * len(event)
    assert any(row["voyage_delay_days"] > 0 for row in cargoes)
    assert any(row["berth_wait_days"] > 0 for row in cargoes)
    assert any(row["room_wait_days"] > 0 for row in cargoes)
    assert any(row["demurrage_usd"] > 0 for row in cargoes)
    closures = [
        row
        for rep in event
        for row in rep.events
        if row["event"] == "disruption_start" and row["asset"] == "pivdennyi"
    ]
    assert closures
    assert all(rep.cargoes for rep in event)
    drawn = [row for rep in event for row in rep.costs if row["route"].startswith("black_sea")]
    assert drawn and all(row["freight_usd"] > 0 for row in drawn)


def test_an_annual_cargo_programme_equals_the_event_path():
    """global_market_odesa buying by an annual programme instead of its reorder rule: lots
    bought on fractional days whatever the stocks, tankers queueing at the berth."""
    n = 8
    scenario = with_values(
        load_scenario(SCENARIOS / "global_market_odesa.toml"),
        {
            "cargoes.azeri_pivdennyi.reorder": None,
            "cargoes.azeri_pivdennyi.annual_volume_t": 5300000.0,
            "scenario.replications": n,
        },
    )
    assert not unsupported(scenario, compile_topology(scenario))
    event = Replicator(scenario, engine="event").run(range(n), daily="none")
    array = Replicator(scenario, engine="array").run(range(n), daily="none")
    cargoes = [row for rep in event for row in rep.cargoes]
    assert len(cargoes) >= 60 * n - n and any(row["bought_day"] % 1 > 0 for row in cargoes)
    assert any(row["berth_wait_days"] > 0 for row in cargoes)
    problems = [d for e, a in zip(event, array, strict=True) for d in result_differences(e, a)]
    assert not problems, "\n".join(problems[:20])


def test_binding_transit_quotas_equal_the_event_path():
    """kazakh_via_russia (under its risk regime) with a quota that binds: the Kazakh crude
    stops mid-month when the month's tonnes are used up, in every replication."""
    n = 12
    scenario = with_values(
        load_scenario(SCENARIOS / "kazakh_via_russia.toml"),
        {**BINDING_QUOTA, "scenario.replications": n},
    )
    assert not unsupported(scenario, compile_topology(scenario))
    event = Replicator(scenario, engine="event").run(range(n), daily="none")
    array = Replicator(scenario, engine="array").run(range(n), daily="none")
    # The quota binds: used up in (nearly) every month, and the Kazakh contracts ship less
    # than nominated, by more than a replication's random outages explain.
    for rep in event:
        spent = [row for row in rep.events if row["event"] == "quota_exhausted"]
        assert len(spent) >= 10, rep.replication
        kazakh = [row for row in rep.contracts if row["origin"] == "kazakhstan"]
        shipped = sum(row["shipped_t"] for row in kazakh)
        assert shipped <= 12 * 150000.0 + 1.0 < sum(row["nominated_t"] for row in kazakh)
    problems = [d for e, a in zip(event, array, strict=True) for d in result_differences(e, a)]
    assert not problems, "\n".join(problems[:20])


def test_the_swap_comparison_hands_crude_in_and_out():
    """kazakh_swap's equality above covers a swap: the Kazakh tonnes leave the network at
    Samara and as many Russian tonnes enter at Unecha, counted twice as supply."""
    event, array = _runs(SCENARIOS / "kazakh_swap.toml", 3)
    for e, a in zip(event, array, strict=True):
        assert e.mass_balance["swapped_out_t"] > 1e6
        assert a.mass_balance["swapped_out_t"] == pytest.approx(e.mass_balance["swapped_out_t"])
        kazakh = sum(row["tonnes_t"] for row in e.costs if row["origin"] == "kazakhstan")
        assert kazakh > 2e6  # shipped under the swap, delivered as Russian crude


def test_chunks_and_the_daily_replication_change_nothing(monkeypatch):
    """Replication 0 records its days on the event path, the rest run in chunks of 3, with
    lines' rings of entries starting at 4 rows (so they grow)."""
    monkeypatch.setattr(sim.array_path, "CHUNK_REPLICATIONS", 3)
    monkeypatch.setattr(sim.array_pipes, "PIPE_SLOTS", 4)
    event, array = _runs(SCENARIOS / "risk_regime.toml", 8, daily="first")
    assert array[0].daily and not array[1].daily
    assert [r.replication for r in array] == list(range(8))
    problems = [d for e, a in zip(event, array, strict=True) for d in result_differences(e, a)]
    assert not problems, "\n".join(problems[:20])


#: Shipped strategy files under a shipped stress that the array path refuses (every shipped
#: scenario alone it accepts): (strategy, stress file).
REFUSED_SHIPPED = [("kazakh_cpc_odesa.toml", "russian_cutoff_90d_transit_refused.toml")]


@pytest.mark.parametrize(
    ("name", "stress"),
    [*((p.name, None) for p in SHIPPED if p.name not in ACCEPTED), *REFUSED_SHIPPED],
)
def test_every_refused_shipped_scenario_runs_on_the_event_path(name, stress, capsys):
    path = next(p for p in SHIPPED if p.name == name)
    if stress is None:
        scenario = load_scenario(path)
    else:
        scenario = stressed(path, load_stress(SCENARIOS / "stress" / stress), [])
    scenario = with_values(scenario, {"scenario.replications": 1})
    reasons = unsupported(scenario, compile_topology(scenario))
    event = Replicator(scenario, engine="event").run(range(1), daily="none")
    array = Replicator(scenario, engine="array").run(range(1), daily="none")
    err = capsys.readouterr().err
    assert f"array path cannot run scenario {scenario.scenario.name!r}" in err
    assert all(reason in err for reason in reasons) and reasons
    assert not result_differences(event[0], array[0])
    assert array[0].counters["simpy_events"] > 0  # SimPy ran it


def test_a_scenario_it_cannot_run_falls_back_with_one_message(capsys):
    scenario = with_values(
        load_scenario(SCENARIOS / "history" / "druzhba_contamination_2019.toml"),
        {"scenario.replications": 1, "nodes.mozyr.quarantine_capacity_t": 100000.0},
    )
    name = scenario.scenario.name
    event = Replicator(scenario, engine="event").run(range(1), daily="none")
    first = Replicator(scenario, engine="array").run(range(1), daily="none")
    second = Replicator(scenario, engine="array").run(range(1), daily="none")
    err = capsys.readouterr().err
    assert err.count(f"array path cannot run scenario {name!r}") == 1
    assert "quarantine storage of limited capacity: mozyr" in err and "event path" in err
    assert not result_differences(event[0], first[0]) and not result_differences(
        event[0], second[0]
    )


#: global_market_klaipeda with Naftan stopped for 25 days (its tanks fill: trains wait for room,
#: pipeline receipts are cut) and random outages of the rail corridor (every 90 days or so,
#: 6 days each: none in the shipped risk regime).
RAIL_STRESS = {
    "disruptions.naftan_stop.target": "naftan",
    "disruptions.naftan_stop.start_date": "2019-03-01",
    "disruptions.naftan_stop.duration_days": 25.0,
    "disruptions.naftan_stop.capacity_factor": 0.0,
    "disruptions.rail_outage.target": "klaipeda_naftan",
    "disruptions.rail_outage.random.mtbf_days": 90.0,
    "disruptions.rail_outage.random.mttr_days": 6.0,
}


def test_trains_waiting_for_room_and_rail_outages_equal_the_event_path(monkeypatch):
    """The rail corridor's rules where they bite: trains due that do not fit wait on the
    corridor (counted on the event path's `RailQueue.hold`), the corridor is out. The
    corridors' rings start at 2 slots, so they grow."""
    import sim.array_rail
    from sim.engine.crude import RailQueue

    monkeypatch.setattr(sim.array_rail, "RAIL_SLOTS", 2)

    n = 12
    scenario = with_values(
        load_scenario(SCENARIOS / "global_market_klaipeda.toml"),
        {**RAIL_STRESS, "scenario.replications": n},
    )
    assert not unsupported(scenario, compile_topology(scenario))
    held: list[float] = []
    hold = RailQueue.hold

    def counting_hold(self, parcels, now_days):
        held.extend(p.tonnes_t for p in parcels)
        hold(self, parcels, now_days)

    monkeypatch.setattr(RailQueue, "hold", counting_hold)
    event = Replicator(scenario, engine="event").run(range(n), daily="none")
    monkeypatch.setattr(RailQueue, "hold", hold)
    array = Replicator(scenario, engine="array").run(range(n), daily="none")
    assert len(held) > 10 * n and sum(held) > 1e5
    outages = [
        row
        for rep in event
        for row in rep.events
        if row["event"] == "disruption_start" and row["asset"] == "klaipeda_naftan"
    ]
    assert len(outages) >= n
    problems = [d for e, a in zip(event, array, strict=True) for d in result_differences(e, a)]
    assert not problems, "\n".join(problems[:20])


def test_rail_it_cannot_follow_is_refused():
    """A corridor loaded by two routes (here one through a line first) holds several parcels
    a step, in an order its slots cannot keep."""
    import dataclasses

    scenario = load_scenario(SCENARIOS / "global_market_klaipeda.toml")
    topology = compile_topology(scenario)
    rail = topology.link_index["klaipeda_naftan"]
    druzhba = next(c for c in topology.contracts if c.name == "russia_naftan_druzhba")
    assert druzhba.routes
    contracts = [
        dataclasses.replace(c, routes=(*c.routes, (c.routes[0][0], rail)))
        if c is druzhba and c.routes
        else c
        for c in topology.contracts
    ]
    changed = dataclasses.replace(topology, contracts=tuple(contracts))
    assert unsupported(scenario, changed) == ["rail corridor klaipeda_naftan loaded by 2 routes"]


def test_contaminated_cargoes_are_refused():
    scenario = with_values(
        load_scenario(SCENARIOS / "global_market_odesa.toml"),
        {"cargoes.azeri_pivdennyi.contaminant_ppm": 50.0},
    )
    assert unsupported(scenario, compile_topology(scenario)) == [
        "contaminated cargoes: azeri_pivdennyi"
    ]


def test_half_day_steps_are_refused():
    scenario = with_values(load_scenario(SCENARIOS / "base.toml"), {"scenario.step_days": 0.5})
    assert unsupported(scenario, compile_topology(scenario)) == [
        "step_days = 0.5 (the array path steps 1 day)"
    ]


def test_few_replications_run_on_the_event_path(monkeypatch):
    monkeypatch.setattr(sim.runner, "ARRAY_MIN_REPLICATIONS", 4)
    scenario = load_scenario(SCENARIOS / "base.toml")
    replicator = Replicator(scenario, engine="array")
    few = replicator.run(range(3), daily="none")
    many = replicator.run(range(3, 7), daily="none")
    assert all(r.counters["simpy_events"] > 0 for r in few)  # SimPy ran them
    assert all(r.counters["simpy_events"] == 0 for r in many)  # the array path did


def test_the_command_line_runs_the_array_path(tmp_path, monkeypatch, capsys):
    """`python -m sim --engine array run` writes the same tables as the event path."""
    import csv

    from sim.cli import main

    monkeypatch.delenv("SIM_ENGINE", raising=False)
    folders = {}
    for engine in ("event", "array"):
        # Through the environment, as the command line sets it (so workers inherit it).
        monkeypatch.setenv("SIM_ENGINE", engine)
        out = tmp_path / engine
        args = ["run", str(SCENARIOS / "risk_regime.toml"), "--replications", "20"]
        assert main([*args, "--daily", "none", "--out", str(out), "--quiet"]) == 0
        [folders[engine]] = list(out.glob("*/*/summary.csv"))
    monkeypatch.setenv("SIM_ENGINE", "event")
    assert main(["--engine", "array", "validate", str(SCENARIOS / "base.toml")]) == 0
    assert engine_setting() == "array"  # the option set it for this process and its workers

    def rows(path: Path) -> list[dict]:
        with path.open() as f:
            return [
                {k: (float(v or "nan") if k != "seed" else v) for k, v in row.items()}
                for row in csv.DictReader(f)
            ]

    event, array = rows(folders["event"]), rows(folders["array"])
    problems = [d for e, a in zip(event, array, strict=True) for d in _differences(e, a, "", 1e9)]
    assert not problems, problems[:10]


def test_the_manifests_say_which_path_ran_each_replication(tmp_path, monkeypatch):
    """`engine` is the setting; `engine_replications` says what ran: under `array` the
    replication recording days runs on the event path, and a comparison's strategies count
    together; under `event` everything is events."""
    import json

    from sim.cli import main

    monkeypatch.delenv("SIM_ENGINE", raising=False)
    monkeypatch.setattr(sim.runner, "ARRAY_MIN_REPLICATIONS", 16)  # as shipped (see above)
    base = str(SCENARIOS / "base.toml")

    def manifest(args: list[str], pattern: str) -> dict:
        out = tmp_path / str(len(list(tmp_path.iterdir())))
        assert main([*args, "--out", str(out), "--quiet"]) == 0
        [path] = list(out.glob(pattern))
        return json.loads(path.read_text())

    run = ["run", base, "--replications", "20"]
    assert manifest(run, "*/*/manifest.json")["engine_replications"] == {"event": 20, "array": 0}
    found = manifest([*run, "--engine", "array"], "*/*/manifest.json")
    assert (found["engine"], found["engine_replications"]) == ("array", {"event": 1, "array": 19})
    found = manifest([*run, "--daily", "none", "--engine", "array"], "*/*/manifest.json")
    assert found["engine_replications"] == {"event": 0, "array": 20}
    compare = ["compare", base, str(SCENARIOS / "unecha_mozyr_outage.toml"), "--replications", "16"]
    found = manifest([*compare, "--engine", "array"], "comparisons/*/manifest.json")
    assert found["engine_replications"] == {"event": 0, "array": 32}
    stress = [
        "stress",
        base,
        "--stress",
        str(SCENARIOS / "stress" / "russian_cutoff_90d_transit_kept.toml"),
    ]
    found = manifest(
        [*stress, "--replications", "16", "--engine", "array"], "stress/*/manifest.json"
    )
    assert found["engine_replications"] == {"event": 0, "array": 32}  # unstressed and stressed
    n1 = ["n1", base, "--duration-days", "30", "--replications", "16", "--engine", "array"]
    found = manifest(n1, "n1/*/manifest.json")
    # The baseline's 16 on the array path; each outage's replications one at a time (events).
    assert found["engine_replications"]["array"] == 16
    assert (
        found["engine_replications"]["event"] % 16 == 0
        and found["engine_replications"]["event"] > 0
    )


def test_the_engine_setting(monkeypatch):
    monkeypatch.delenv("SIM_ENGINE", raising=False)
    assert engine_setting() == "event"
    monkeypatch.setenv("SIM_ENGINE", "array")
    assert engine_setting() == "array"
    monkeypatch.setenv("SIM_ENGINE", "numba")
    with pytest.raises(ValueError, match="SIM_ENGINE='numba'"):
        engine_setting()


def test_valuation_of_many_runs_equals_the_valuer_where_limits_bind():
    """`value_rows` against the valuer itself, with the blend over the sulphur limit and the
    conversion units full (neither happens in the shipped runs)."""
    import numpy as np

    from sim.array_path import ArrayPath
    from sim.economics.valuation import Valuer

    scenario = with_values(
        load_scenario(SCENARIOS / "base.toml"),
        {
            "grades.urals.sulphur_pct": 1.9,
            "refinery_configs.mozyr_before.conversion_capacity_t_per_day": 100.0,
        },
    )
    topology = compile_topology(scenario)
    path = ArrayPath(scenario, topology, Replicator(scenario, engine="event").allocator)
    keys = path.layout.keys
    rng = np.random.default_rng(7)
    runs = rng.uniform(0.0, 30000.0, size=(6, len(keys))) * (rng.uniform(size=(6, len(keys))) > 0.3)
    parts = path.value_rows("mozyr", runs, "2019-04", 30.0)
    valuer = Valuer(scenario)
    for row, got in zip(runs, parts, strict=True):
        tonnes = float(row.sum())
        mix = {k: float(t) / tonnes for k, t in zip(keys, row, strict=True) if t > 0}
        value = valuer.value_run("mozyr", mix, tonnes, "2019-04", 30.0)
        assert value is not None and value.sulphur_cost_usd > 0
        assert value.vacuum_gas_oil_converted_t == pytest.approx(100.0 * 30.0)  # full
        for i, key in enumerate(keys):
            crude = value.by_crude.get(key)
            want = (
                (0.0, 0.0, 0.0, 0.0)
                if crude is None
                else (
                    crude.runs_t,
                    crude.gross_worth_usd,
                    crude.sulphur_cost_usd,
                    crude.processing_cost_usd,
                )
            )
            assert np.allclose(got[i], want, rtol=1e-12, atol=1e-9), key


@pytest.mark.parametrize(
    "disruption",
    [
        # A refinery derated (its run ceiling), a contract cut and a Urals price shock, each
        # scheduled, on top of the risk regime's random ones: effects no shipped file
        # schedules on the array path's scenarios.
        {
            "target": "mozyr",
            "start_date": "2019-02-10",
            "duration_days": 30.0,
            "capacity_factor": 0.5,
        },
        {
            "target": "russia_mozyr",
            "start_date": "2019-04-10",
            "duration_days": 45.0,
            "volume_factor": 0.0,
        },
        {
            "target": "urals",
            "start_date": "2019-07-20",
            "duration_days": 20.0,
            "price_add_usd_per_bbl": 15.0,
        },
    ],
)
def test_scheduled_effects_equal_the_event_path(disruption):
    scenario = load_scenario(SCENARIOS / "risk_regime.toml")
    changes = {f"disruptions.extra.{k}": v for k, v in disruption.items()}
    scenario = with_values(scenario, {**changes, "scenario.replications": 6})
    assert not unsupported(scenario, compile_topology(scenario))
    event = Replicator(scenario, engine="event").run(range(6), daily="none")
    array = Replicator(scenario, engine="array").run(range(6), daily="none")
    assert all(any(row["detail"].startswith("extra:") for row in rep.events) for rep in event)
    problems = [d for e, a in zip(event, array, strict=True) for d in result_differences(e, a)]
    assert not problems, "\n".join(problems[:20])


def test_events_of_one_instant_in_two_books_sort_in_the_order_logged():
    """A replication's events merge its own book with the chunk's common one (month turns,
    contract dates). Both number their entries from the chunk's one counter: numbered per book,
    an outage and a month turn logged at the same instant tied on (time, number) and the sort
    compared the records themselves (a TypeError, met at 10,000 risk-regime replications)."""
    import itertools

    from sim.array_books import Books
    from sim.kinds import EventKind

    counter = itertools.count()
    common, book = Books(counter), Books(counter)
    common.log(31.0, "network", EventKind.MONTH_START, "2019-02")
    book.log(31.0, "unecha_mozyr", EventKind.DISRUPTION_START, "outage")
    merged = [e for _, _, e in sorted([*book.events, *common.events])]
    assert [e.kind for e in merged] == [EventKind.MONTH_START, EventKind.DISRUPTION_START]


def test_switch_combines_as_the_event_path() -> None:
    """The array path combines overlapping disruptions with the rules it looked up once per
    effect (`_COMBINE`): each must be `Combine.apply` of the event path."""
    from sim.array_chunk import _COMBINE
    from sim.kinds import Effect

    for effect in Effect:
        combine, neutral = _COMBINE[effect]
        assert neutral == effect.neutral
        for values in ([0.5], [0.25, 0.75, 0.5], [10.0, -3.0]):
            assert combine(values) == effect.combine.apply(values, 1.0)


def test_the_array_path_checks_every_replications_books(monkeypatch):
    """A result whose books do not close is refused as on the event path: one replication's
    runs are inflated after the chunk has stepped, so its stocks no longer explain them."""
    from sim.array_chunk import Chunk
    from sim.errors import MassBalanceError

    stepped = Chunk.run

    def run_then_break_one_total(chunk: Chunk) -> None:
        stepped(chunk)
        chunk.runs_t[2, 0] += 1000.0  # replication 2's first refinery ran 1,000 t from nothing

    monkeypatch.setattr(Chunk, "run", run_then_break_one_total)
    replicator = Replicator(load_scenario(SCENARIOS / "base.toml"), engine="array")
    assert replicator._array is not None  # the array path runs base
    with pytest.raises(
        MassBalanceError, match="replication 2: mass balance does not close by -1000"
    ):
        replicator.run(range(4), daily="none")


def test_replications_are_split_into_chunks_of_equal_width(monkeypatch):
    """A run is cut into chunks as wide as each other (a narrow last chunk costs more per
    replication): 50 replications at most 20 wide step as 17 + 17 + 16, in order."""
    import sim.runner
    from sim.array_path import ArrayPath

    widths: list[list[int]] = []
    chunk = ArrayPath._run_chunk

    def recorded(path: ArrayPath, replications: list[int]):
        widths.append(list(replications))
        return chunk(path, replications)

    monkeypatch.setattr(sim.runner, "CHUNK_REPLICATIONS", 20)
    monkeypatch.setattr(ArrayPath, "_run_chunk", recorded)
    replicator = Replicator(load_scenario(SCENARIOS / "base.toml"), engine="array")
    results = replicator.run(range(50), daily="none")
    assert [len(w) for w in widths] == [17, 17, 16]
    assert [r for w in widths for r in w] == list(range(50))
    assert [r.replication for r in results] == list(range(50))


@pytest.mark.parametrize("linefill_t", [5_000.0, 300.0])
def test_until_own_by_bisection_agrees_with_a_full_search(linefill_t):
    """`SharedPipe.until_own` finds the entry by bisection (and a goal past the shippers'
    crude without a search): the same tonnes as the search over every live entry, for goals
    near the head, far along the line, past all of it and at the head itself (no tonnes to
    go), empty and third-party-only entries included, in a long line and a short one."""
    from sim.array_pipes import SharedPipe

    rng = np.random.default_rng(7)
    n, third = 64, 2
    pipe = SharedPipe(n, linefill_t, np.array([0.5, 0.5, 0.0]), third)
    own, background = rng.uniform(0, 300, n), rng.uniform(50, 300, n)
    pipe.push_shared(own, np.vstack([own, np.zeros(n), np.zeros(n)]), background)
    for _ in range(40):
        own = np.where(rng.random(n) < 0.3, 0.0, rng.uniform(0, 300, n))
        by_key = np.vstack([own * 0.3, own * 0.7, np.zeros(n)])
        pipe.push_shared(own, by_key, rng.uniform(0, 300, n))
    rows = np.arange(n)
    tail = (pipe.entries - 1) % pipe.slots
    own_in_line = (pipe.cum_t[tail] - pipe.cum_c[tail, third]) - (pipe.head_t - pipe.head_c[third])
    kinds = set()
    for scale in (0.0, 10.0, 100.0, 1_000.0, 5_000.0, 20_000.0):
        goal = rng.uniform(0, scale, n)
        assert np.array_equal(pipe.until_own(goal, rows), pipe._until_own_all(goal, rows))
        for g, o in zip(goal, own_in_line, strict=True):
            kinds.add("head" if g == 0 else "past" if g > o else "within")
    assert kinds == {"head", "past", "within"}


def test_cargo_events_of_one_instant_equal_the_event_path():
    """Without voyage delays and with a 2-day discharge every cargo event falls on a whole
    day, the instant the reorder rule reviews: a tanker that finishes discharging (or tries
    again for tank room) that day does so before the review, in SimPy's order of scheduling,
    so the rule sees the landed crude. The array path reviews all replications at once, at
    that place in each timeline's order (`CargoTimelines`)."""
    n = 8
    scenario = with_values(
        load_scenario(SCENARIOS / "global_market_odesa.toml"),
        {
            "links.black_sea_pivdennyi.delay_days_mean": 0.0,
            "nodes.pivdennyi.discharge_t_per_day": 42500.0,
            "scenario.replications": n,
        },
    )
    event = Replicator(scenario, engine="event").run(range(n), daily="none")
    array = Replicator(scenario, engine="array").run(range(n), daily="none")
    bought = {(rep.replication, row["bought_day"]) for rep in event for row in rep.cargoes}
    landed_at_review = [
        row
        for rep in event
        for row in rep.cargoes
        if row["discharged_day"] % 1 == 0 and (rep.replication, row["discharged_day"]) in bought
    ]
    assert len(landed_at_review) >= 10
    problems = [d for e, a in zip(event, array, strict=True) for d in result_differences(e, a)]
    assert not problems, "\n".join(problems[:20])


def test_a_reorder_rule_with_dates_equals_the_event_path():
    """A reorder rule that starts reviewing after day 0 and stops before the horizon: its
    first wake-up waits `start_day`, and its last review is before `end_day`."""
    n = 6
    scenario = with_values(
        load_scenario(SCENARIOS / "global_market_odesa.toml"),
        {
            "cargoes.azeri_pivdennyi.start_date": dt.date(2019, 2, 10),
            "cargoes.azeri_pivdennyi.end_date": dt.date(2019, 10, 15),
            "scenario.replications": n,
        },
    )
    assert not unsupported(scenario, compile_topology(scenario))
    event = Replicator(scenario, engine="event").run(range(n), daily="none")
    array = Replicator(scenario, engine="array").run(range(n), daily="none")
    bought = [row["bought_day"] for rep in event for row in rep.cargoes]
    assert min(bought) == 40.0 and max(bought) < 287.0 and len(bought) > 20 * n
    problems = [d for e, a in zip(event, array, strict=True) for d in result_differences(e, a)]
    assert not problems, "\n".join(problems[:20])


def test_no_full_collections_within_a_chunk_and_the_thresholds_come_back(monkeypatch):
    """A chunk's objects are not rescanned by full collections while it steps and its
    results are taken (sim.array_path `_young_collections_only`); the collector's thresholds
    are the caller's again after the last result, and after a run given up midway."""
    before = gc.get_threshold()
    seen = []
    step = sim.array_path.Chunk.run

    def run(chunk):
        seen.append(gc.get_threshold())
        step(chunk)

    monkeypatch.setattr(sim.array_path.Chunk, "run", run)
    scenario = with_values(
        load_scenario(SCENARIOS / "global_market_odesa.toml"), {"scenario.replications": 2}
    )
    Replicator(scenario, engine="array").run(range(2), daily="none")
    assert seen and seen[0][:2] == before[:2] and seen[0][2] > 1000 * max(1, before[2])
    assert gc.get_threshold() == before
    path = Replicator(scenario, engine="array")._array_path()
    assert path is not None
    results = path.run([0, 1])
    next(results)
    assert gc.get_threshold() != before
    results.close()
    assert gc.get_threshold() == before


# ---------------------------------------------------------------------------- contamination
CONTAMINATION_STRESS = SCENARIOS / "stress" / "contamination_2019.toml"


def _stressed_runs(strategy: str, n: int, values: dict | None = None) -> tuple[list, list]:
    """The contamination stress over a strategy (as `python -m sim stress` merges it), on
    both paths."""
    scenario = stressed(SCENARIOS / strategy, load_stress(CONTAMINATION_STRESS), [])
    scenario = with_values(scenario, {**(values or {}), "scenario.replications": n})
    assert not unsupported(scenario, compile_topology(scenario))
    event = Replicator(scenario, engine="event").run(range(n), daily="none")
    array = Replicator(scenario, engine="array").run(range(n), daily="none")
    return event, array


def _by_refinery(rep: ReplicationResult, column: str) -> dict[str, float]:
    return {row["refinery"]: row[column] for row in rep.refineries}


def _assert_equal(event: list, array: list) -> None:
    problems = [d for e, a in zip(event, array, strict=True) for d in result_differences(e, a)]
    assert not problems, "\n".join(problems[:20])


#: Both refineries planning 30 days ahead, longer than crude takes from Samara: the planner
#: counts what its routes bring beyond the lines' content as refused (`_refused_ahead_t`).
LONG_LOOKAHEAD = {"nodes.mozyr.lookahead_days": 30.0, "nodes.naftan.lookahead_days": 30.0}


@pytest.mark.parametrize(
    ("strategy", "n", "values"),
    [("base.toml", 3, {}), ("kazakh_via_russia.toml", 6, {}), ("base.toml", 2, LONG_LOOKAHEAD)],
)
def test_the_contamination_stress_equals_the_event_path(strategy, n, values):
    """The 2019 contamination merged over a strategy: the dirty batch entering the shared
    Samara–Unecha line, refused at both refineries (no detection delay) into quarantine,
    while the planners count the crude they will refuse; kazakh_via_russia adds its random
    outages."""
    event, array = _stressed_runs(strategy, n, values)
    for rep in event:
        kinds = {(row["asset"], row["event"]) for row in rep.events}
        for refinery in ("mozyr", "naftan"):
            assert {(refinery, "rejection_start"), (refinery, "rejection_end")} <= kinds
        assert min(_by_refinery(rep, "quarantined_t").values()) > 1e4
    _assert_equal(event, array)


def test_the_contamination_replay_equals_the_event_path_and_covers_detection():
    """The 2019 replay forced through the array path (16 replications, one chunk): Mozyr
    takes the first dirty crude in unnoticed for its 2-day detection delay, runs some of it
    off-spec, finds it, moves the rest to quarantine and refuses what follows."""
    n = 16
    scenario = with_values(
        load_scenario(SCENARIOS / "history" / "druzhba_contamination_2019.toml"),
        {"scenario.replications": n},
    )
    assert not unsupported(scenario, compile_topology(scenario))
    event = Replicator(scenario, engine="event").run(range(n), daily="none")
    array = Replicator(scenario, engine="array").run(range(n), daily="none")
    for rep in event:
        found = [row for row in rep.events if row["event"] == "contamination_detected"]
        assert [row["asset"] for row in found] == ["mozyr"]
        assert "moved to quarantine" in found[0]["detail"]
        assert _by_refinery(rep, "offspec_run_t")["mozyr"] > 0
        assert min(_by_refinery(rep, "quarantined_t").values()) > 1e5
    _assert_equal(event, array)


def test_reverse_pumping_and_full_tanks_under_contamination_equal_the_event_path(monkeypatch):
    """The stress over base with Naftan finding contamination after 3 days (it runs some
    off-spec), Mozyr pumping its quarantine back out at 5,000 t/day, and both tank farms no
    larger than their day-0 stock: Mozyr's receipts are cut to its room while dirty crude is
    at the head of its line, so the share shipped is found by bisection on what it accepts
    (`NetworkStep._scale_to_room`)."""
    import sim.array_contamination as contamination

    bisected = []
    scale = contamination.ContaminationRules._scale_refusing

    def spy(self, n, idx, volumes, over, want, limit, plain):
        share = scale(self, n, idx, volumes, over, want, limit, plain)
        bisected.append(not np.array_equal(share, plain))
        return share

    monkeypatch.setattr(contamination.ContaminationRules, "_scale_refusing", spy)
    values = {
        "nodes.naftan.detection_delay_days": 3.0,
        "nodes.mozyr.reverse_pumping_t_per_day": 5000.0,
        "nodes.mozyr.tank_capacity_t": 574600.0,
        "nodes.naftan.tank_capacity_t": 482000.0,
    }
    event, array = _stressed_runs("base.toml", 3, values)
    assert any(bisected)
    for rep in event:
        assert _by_refinery(rep, "reverse_pumped_t")["mozyr"] > 1e5
        assert _by_refinery(rep, "offspec_run_t")["naftan"] > 0
        assert rep.mass_balance["reverse_pumped_t"] > 1e5
    _assert_equal(event, array)


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"nodes.naftan.quarantine_capacity_t": 50000.0}, "limited capacity: naftan"),
        (
            {"disruptions.stress_lopatino_organic_chlorides.contaminant_ppm": 5.0},
            "at or below a refinery's contaminant limit",
        ),
        (
            {
                "disruptions.more.target": "unecha_mozyr",
                "disruptions.more.start_date": "2019-05-01",
                "disruptions.more.duration_days": 3.0,
                "disruptions.more.contaminant_ppm": 300.0,
            },
            "several lines or at several levels",
        ),
    ],
)
def test_contamination_it_cannot_follow_is_refused(values, problem):
    scenario = stressed(SCENARIOS / "base.toml", load_stress(CONTAMINATION_STRESS), [])
    scenario = with_values(scenario, values)
    problems = unsupported(scenario, compile_topology(scenario))
    assert len(problems) == 1 and problem in problems[0]


@pytest.mark.parametrize(
    ("linefills_t_per_km", "dirty_first"), [((1380.0, 411.0), False), ((1330.0, 461.0), True)]
)
def test_a_step_of_clean_and_dirty_crude_enters_the_next_line_in_order(
    monkeypatch, linefills_t_per_km, dirty_first
):
    """With Samara–Unecha's linefill such that one step's outflow holds the front (clean,
    then dirty) or the end (dirty, then clean) of the dirty batch, Unecha–Mozyr takes the
    two as batches in that order (`_commingle`): which of them its head reaches first
    decides what Mozyr refuses in which step (Unecha–Mozyr's linefill such that one step's
    outflow there ends between the two). With base's linefills every step's outflow of
    Samara–Unecha is of one kind."""
    import sim.array_contamination as contamination

    mixed: list[bool] = []
    order = contamination.ContaminationRules._out_order

    def spy(self, track, out_c, head):
        first = order(self, track, out_c, head)
        if track is self.tracks[self.contam.link]:
            dirty = out_c[track.k :].sum(axis=0)
            both = (dirty > 1e-9) & (out_c.sum(axis=0) - dirty > 1e-9)
            mixed.extend(first[both].tolist())
        return first

    monkeypatch.setattr(contamination.ContaminationRules, "_out_order", spy)
    values = {
        "links.samara_unecha.linefill_t_per_km": linefills_t_per_km[0],
        "links.unecha_mozyr.linefill_t_per_km": linefills_t_per_km[1],
    }
    event, array = _stressed_runs("base.toml", 2, values)
    assert mixed and all(first is dirty_first for first in mixed)
    _assert_equal(event, array)


def test_a_second_contamination_goes_unnoticed_again_after_the_alert_ends():
    """A second dirty batch in September, Mozyr with a 2-day detection delay: once its lines
    and tanks are clean its alert ends, so the second batch too enters its tanks unnoticed
    and is found 2 days later (`Refinery.end_alert`)."""
    values = {
        "nodes.mozyr.detection_delay_days": 2.0,
        "disruptions.again.target": "samara_unecha",
        "disruptions.again.start_date": "2019-09-01",
        "disruptions.again.duration_days": 5.0,
        "disruptions.again.contaminant_ppm": 300.0,
    }
    event, array = _stressed_runs("base.toml", 2, values)
    for rep in event:
        found = [row for row in rep.events if row["event"] == "contamination_detected"]
        assert [row["asset"] for row in found] == ["mozyr", "mozyr"]
    _assert_equal(event, array)
