"""Changed scenarios, their identity, and what every manifest records about where results came
from: one way to change a scenario (validated again), one seed derivation described from the
code, one set of manifest keys."""

from __future__ import annotations

import datetime as dt
import json
import zlib

import numpy as np
import pytest

from sim import compare, run
from sim.errors import ScenarioError
from sim.manifest import KINDS, base_manifest
from sim.n1 import n1_analysis, start_days
from sim.randomness import (
    LATIN_HYPERCUBE_STREAM,
    N1_START_STREAM,
    derived_seed,
    describe_seed_derivation,
    replication_seed_sequence,
    root_seed_sequence,
    stream,
    stream_seed_sequence,
    uncertainty_stream,
)
from sim.runner import simulate_to_precision
from sim.scenario.variants import scenario_sha256, set_dotted, with_values
from tests.builders import build, chain

COMMON_KEYS = (
    "program",
    "program_version",
    "python_version",
    "kind",
    "seed",
    "seed_derivation",
    "engine",
    "start_time_utc",
    "end_time_utc",
    "status",
)


# ------------------------------------------------------------------ with_values


def test_with_values_sets_dotted_keys_and_validates_again():
    base = build(chain())
    changed = with_values(base, {"scenario.seed": 7, "links.line.capacity_t_per_day": 500.0})
    assert changed.scenario.seed == 7 and changed.links["line"].capacity_t_per_day == 500.0
    assert base.scenario.seed == 1  # the original is untouched
    assert scenario_sha256(changed) != scenario_sha256(base)
    assert with_values(base, {}) is base


def test_with_values_checks_the_schema_and_then_the_rules_as_a_file():
    base = build(chain())
    with pytest.raises(ScenarioError) as caught:  # the schema: a count below 1
        with_values(base, {"scenario.replications": 0}, file="variant")
    assert [(p.file, p.key) for p in caught.value.problems] == [
        ("variant", "scenario.replications")
    ]
    with pytest.raises(ScenarioError) as caught:  # a rule (checks.py): stock above the tanks
        with_values(base, {"nodes.ref.initial_stock_t": 1e9})
    assert [p.key for p in caught.value.problems] == ["nodes.ref.initial_stock_t"]


def test_run_with_a_bad_seed_is_a_scenario_error(tmp_path):
    with pytest.raises(ScenarioError):
        run(build(chain()), seed=-1, out=tmp_path)


def test_set_dotted_copies_only_the_path():
    data = {"a": {"b": 1, "c": {"d": 2}}, "e": {"f": 3}}
    out = set_dotted(data, "a.b", 5)
    assert out == {"a": {"b": 5, "c": {"d": 2}}, "e": {"f": 3}}
    assert data["a"]["b"] == 1 and out["e"] is data["e"] and out["a"]["c"] is data["a"]["c"]


def test_target_ci_returns_a_validated_scenario_with_the_count_reached():
    base = build(chain())
    result = simulate_to_precision(base, {"unserved_t": 1e9}, 8, daily="none")
    assert result.scenario.scenario.replications == len(result.replications) == 2
    assert result.scenario == with_values(base, {"scenario.replications": 2})


def test_scenario_sha256_is_still_where_it_was():
    from sim.results import resolved_json
    from sim.results import scenario_sha256 as old_home

    assert old_home is scenario_sha256
    assert json.loads(resolved_json(build(chain())))["scenario"]["name"] == "test"


# ------------------------------------------------------------------ seed derivation


def test_the_seed_derivation_text_is_what_the_functions_do():
    sequence = replication_seed_sequence(20190101, 3)
    assert (sequence.entropy, sequence.spawn_key) == (20190101, (3,))
    text = describe_seed_derivation("run")
    assert text.startswith("replication r: numpy SeedSequence(entropy=seed, spawn_key=(r,))")
    assert "spawn_key=(r, crc32(NAME))" in text
    named = stream_seed_sequence(sequence, "voyage:x")
    assert named.spawn_key == (3, zlib.crc32(b"voyage:x"))
    first = stream(sequence, "voyage:x").random()
    assert first == np.random.Generator(np.random.PCG64(named)).random()


def test_the_sweep_seed_derivation_names_the_replication_only():
    """A run's sequence is the replication's alone, the same at every point (it once said
    `spawn_key=(p, r)`)."""
    text = describe_seed_derivation("sweep")
    assert "entropy=sweep seed, spawn_key=(r,))" in text and "(p, r)" not in text
    assert f"crc32({uncertainty_stream('K')!r})" in text
    assert f"spawn_key=(crc32({LATIN_HYPERCUBE_STREAM!r}),)" in text
    assert root_seed_sequence(5).spawn_key == ()
    assert derived_seed(replication_seed_sequence(11, 0)) < 2**63


def test_n1_start_days_draw_from_their_named_stream():
    days = start_days(42, 3, 365, 20)
    rngs = [stream(replication_seed_sequence(42, r), N1_START_STREAM) for r in range(3)]
    assert days == [int(rng.integers(0, 346)) for rng in rngs]
    assert f"crc32({N1_START_STREAM!r})" in describe_seed_derivation("n1")


def test_every_kind_has_a_description_and_no_other_does():
    assert len({describe_seed_derivation(kind) for kind in KINDS}) == len(KINDS)
    with pytest.raises(ValueError):
        describe_seed_derivation("nonsense")


# ------------------------------------------------------------------ manifests


def test_base_manifest_keys_in_order():
    started = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    manifest = base_manifest("n1", seed=3, started_utc=started, status="running")
    assert tuple(manifest) == COMMON_KEYS
    assert manifest["program"] == "oil-supply-sim" and manifest["kind"] == "n1"
    assert manifest["seed_derivation"] == describe_seed_derivation("n1")
    assert manifest["start_time_utc"] == "2020-01-01T00:00:00+00:00"
    with pytest.raises(ValueError):
        base_manifest("nonsense", seed=3, started_utc=started)


def test_run_comparison_and_n1_manifests_share_the_common_keys(tmp_path):
    scenario = build(chain())
    folders = {
        "run": run(scenario, out=tmp_path, daily="none").folder,
        "comparison": compare([scenario, scenario], replications=2, out=tmp_path).folder,
        "n1": n1_analysis(scenario, 5, replications=1, out=tmp_path).folder,
    }
    for kind, folder in folders.items():
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert set(COMMON_KEYS) <= set(manifest), kind
        assert manifest["kind"] == kind and manifest["status"] == "completed"
        assert manifest["seed"] == 1
        assert manifest["seed_derivation"] == describe_seed_derivation(kind)
