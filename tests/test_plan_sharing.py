"""Plan caches shared between networks that plan alike (issue 12: no cold cost that can be
shared): the declared planning inputs cover every field the allocator reads, and sweep runs
that differ only in a price share one cache without changing a result."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest

from sim.engine.allocator import PLANNING_FIELDS, Allocator, planning_inputs
from sim.engine.topology import compile_topology
from sim.randomness import replication_seed_sequence
from sim.runner import Replicator, run_replication
from sim.scenario.loading import load_scenario, validate_data
from sim.sweep import worker

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "scenarios").glob("*.toml")) + sorted(
    (ROOT / "scenarios" / "history").glob("*.toml")
)


def _recording(spec, seen: set[tuple[str, str]]):
    """A copy of a frozen spec that notes every field read from it."""
    cls = type(spec)
    names = {f.name for f in dataclasses.fields(spec)}

    def getattribute(self, name):
        if name in names:
            seen.add((cls.__name__, name))
        return object.__getattribute__(self, name)

    recording = type(f"Recording{cls.__name__}", (cls,), {"__getattribute__": getattribute})
    return recording(**{f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)})


def _synthetic_scenario():
    spec = importlib.util.spec_from_file_location("synthetic", ROOT / "bench" / "synthetic.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return validate_data(module.synthetic_scenario(20), "synthetic_20")


# Every shipped scenario, and a synthetic network whose free-routed contracts and shared
# bottlenecks make its plans linear programmes.
NETWORKS = [path.name for path in SHIPPED] + ["synthetic_20"]


@pytest.mark.parametrize("name", NETWORKS)
def test_the_planning_fields_cover_every_field_the_allocator_reads(name):
    if name == "synthetic_20":
        scenario = _synthetic_scenario()
    else:
        scenario = load_scenario(next(p for p in SHIPPED if p.name == name))
    topology = compile_topology(scenario)
    seen: set[tuple[str, str]] = set()
    recorded = dataclasses.replace(
        topology,
        links=tuple(_recording(s, seen) for s in topology.links),
        contracts=tuple(_recording(s, seen) for s in topology.contracts),
        transit=tuple(_recording(s, seen) for s in topology.transit),
    )
    allocator = Allocator(recorded)
    run_replication(scenario, topology, 0, replication_seed_sequence(0, 0), allocator=allocator)
    assert allocator.plans_computed > 0
    declared = {(kind, field) for kind, names in PLANNING_FIELDS.items() for field in names}
    assert seen - declared == set(), f"{name}: the allocator reads fields not in its key"


def test_prices_leave_the_planning_inputs_alone_and_tariffs_do_not():
    path = ROOT / "scenarios" / "base.toml"
    plain = planning_inputs(compile_topology(load_scenario(path)))
    priced = load_scenario(path, ["prices.urals.usd_per_bbl=90"])
    tariff = load_scenario(path, ["links.unecha_mozyr.tariff_usd_per_t=9"])
    assert planning_inputs(compile_topology(priced)) == plain
    assert planning_inputs(compile_topology(tariff)) != plain


def test_sweep_runs_with_other_prices_share_plans_and_results_are_unchanged(monkeypatch):
    path = ROOT / "scenarios" / "diversified.toml"
    overrides: list[str] = []
    monkeypatch.setattr(worker, "_local", type(worker._local)())  # a fresh worker
    summaries, computed = [], []
    for brent in (40.0, 80.0):
        scenario = load_scenario(path, [*overrides, f"prices.brent.usd_per_bbl={brent}"])
        shared = Replicator(scenario, worker._shared_allocator)
        (result,) = shared.run(range(1), daily="none")
        (alone,) = Replicator(scenario).run(range(1), daily="none")
        assert result.summary == alone.summary
        summaries.append(result.summary)
        computed.append(shared.allocator.plans_computed)
    assert computed[0] > 0 and computed[1] == computed[0]  # the second run solved nothing new
    assert summaries[0]["supply_cost_usd"] != summaries[1]["supply_cost_usd"]
