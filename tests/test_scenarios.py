"""Every shipped scenario validates and runs; every scenario script runs; same seed, same bytes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim import load_scenario, run, simulate

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_FILES = sorted(
    p for p in (ROOT / "scenarios").rglob("*.toml") if not {"sweeps", "stress"} & set(p.parts)
)
SCRIPTS = sorted((ROOT / "scenarios" / "scripts").glob("*.py"))


def test_there_are_scenarios_and_scripts():
    assert (ROOT / "scenarios" / "base.toml") in SCENARIO_FILES
    assert SCRIPTS


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_scenario_validates_and_runs(path):
    scenario = load_scenario(path, ["scenario.replications=1"])
    result = simulate(scenario, daily="none")
    summary = result.replications[0].summary
    assert summary["refinery_intake_t"] > 0
    assert abs(summary["mass_balance_error_t"]) < 1e-3


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scenario_script_runs(script, tmp_path):
    done = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    # Every script says where it wrote, and wrote a table there.
    assert "results in" in done.stdout or "written to" in done.stdout
    assert any(tmp_path.rglob("*.csv"))


def test_same_seed_gives_byte_identical_result_files(tmp_path):
    scenario = load_scenario(ROOT / "scenarios" / "unecha_mozyr_outage.toml")
    first = run(scenario, out=tmp_path / "a", replications=3, daily="all").folder
    second = run(scenario, out=tmp_path / "b", replications=3, daily="all").folder
    assert first.name == second.name
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        if name == "manifest.json":  # holds start and end times
            continue
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_a_different_seed_changes_only_the_seed(tmp_path):
    # The core engine has no random inputs yet: a new seed must not change the physics.
    scenario = load_scenario(ROOT / "scenarios" / "base.toml")
    a = run(scenario, out=tmp_path, seed=1).summary[0]
    b = run(scenario, out=tmp_path, seed=2).summary[0]
    assert (a["seed"], b["seed"]) == (1, 2)
    for key in a:
        if key != "seed":
            assert a[key] == b[key] or (a[key] != a[key] and b[key] != b[key]), key  # NaN = NaN


def test_scenario_reference_is_generated_from_the_current_schema():
    from sim.scenario.docs import render

    current = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    assert current == render(), "regenerate: python -m sim.scenario.docs > docs/scenarios.md"
