"""Segments and the daily step give the same results to the last byte.

The network clock runs days on which nothing discrete can change through
`NetworkStep.quiet_step` ("segments", the default), with per-line clocks for lines that only
repeat yesterday's push; the full daily step stays the reference path behind
$SIM_STEPPING=daily. Every shipped scenario (2 replications, every day's rows), one
comparison and one stress run are written both ways, and every CSV is compared byte for
byte; random networks and the benchmark's synthetic networks (no shared lines, so the
per-line clocks run on them) are compared row for row, every value exactly.
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.engine.simulation import STEPPING_ENV, Simulation, stepping_from_env
from sim.engine.topology import compile_topology
from sim.randomness import replication_seed_sequence
from sim.runner import run_replication
from sim.scenario.loading import load_scenario
from sim.scenario.schema import Scenario
from tests.builders import build
from tests.random_networks import networks

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted(
    [*ROOT.glob("scenarios/*.toml"), *ROOT.glob("scenarios/history/*.toml")],
    key=lambda p: p.as_posix(),
)


def _cli(*argv: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(list(argv)) == 0, argv


def _write_all(out: Path) -> None:
    for scenario in SCENARIOS:
        _cli(
            "run", str(scenario), "--replications", "2", "--daily", "all",
            "--out", str(out), "--quiet",
        )  # fmt: skip
    _cli(
        "compare", str(ROOT / "scenarios/base.toml"),
        str(ROOT / "scenarios/unecha_mozyr_outage.toml"),
        "--replications", "2", "--out", str(out), "--quiet",
    )  # fmt: skip
    _cli(
        "stress", str(ROOT / "scenarios/base.toml"), str(ROOT / "scenarios/diversified.toml"),
        "--stress", str(ROOT / "scenarios/stress/contamination_2019.toml"),
        "--stress", str(ROOT / "scenarios/stress/russian_cutoff_90d_transit_kept.toml"),
        "--replications", "2", "--out", str(out), "--quiet",
    )  # fmt: skip


def _csvs(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.csv")}


@pytest.mark.slow
def test_segments_write_the_same_csvs_as_the_daily_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STEPPING_ENV, "daily")
    _write_all(tmp_path / "daily")
    monkeypatch.setenv(STEPPING_ENV, "segments")
    _write_all(tmp_path / "segments")
    daily, segments = _csvs(tmp_path / "daily"), _csvs(tmp_path / "segments")
    assert len(daily) > 10 * len(SCENARIOS)
    assert sorted(daily) == sorted(segments)
    differing = [name for name in daily if daily[name] != segments[name]]
    assert differing == []


def test_quiet_days_are_most_days_of_base() -> None:
    """The comparison above only means something if segments run: most days of base are quiet,
    and the daily reference runs none."""
    scenario = load_scenario(ROOT / "scenarios/base.toml")
    topology = compile_topology(scenario)
    counts = {}
    for stepping in ("segments", "daily"):
        sim = Simulation(scenario, topology, 0, replication_seed_sequence(1, 0), stepping=stepping)
        sim.run()
        counts[stepping] = (sim.steps, sim.quiet_steps, sim.segments)
    steps, quiet, segments = counts["segments"]
    assert quiet > steps * 0.8 and 1 <= segments < steps / 5
    assert counts["daily"] == (steps, 0, 0)


def test_stepping_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STEPPING_ENV, "weekly")
    with pytest.raises(ValueError, match="SIM_STEPPING='weekly'.*segments, daily"):
        stepping_from_env()
    monkeypatch.delenv(STEPPING_ENV)
    assert stepping_from_env() == "segments"


def _rows(scenario: Scenario, stepping: str) -> tuple[dict[str, Any], int]:
    """Every table's rows of replication 0 (every day's too), as text, and its quiet days."""
    sim, result = run_replication(
        scenario,
        compile_topology(scenario),
        0,
        replication_seed_sequence(scenario.scenario.seed, 0),
        record_daily=True,
        stepping=stepping,
    )
    tables = {k: repr(v) for k, v in vars(result).items() if k != "counters"}
    return tables, sim.quiet_steps


def _same_both_ways(scenario: Scenario) -> int:
    daily, quiet_daily = _rows(scenario, "daily")
    segments, quiet = _rows(scenario, "segments")
    assert quiet_daily == 0
    assert [k for k in daily if daily[k] != segments[k]] == []
    return quiet


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(max_nodes=9))
def test_segments_match_the_daily_step_on_random_networks(data: dict[str, Any]) -> None:
    _same_both_ways(build(data))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(max_nodes=9), st.data())
def test_segments_match_the_daily_step_with_a_line_shared_with_third_parties(
    data: dict[str, Any], draws: st.DataObject
) -> None:
    """A shared line pushes every day through its own code; the lines below it repeat when
    what leaves it is the same crude and tonnes as the day before."""
    link = data["links"][draws.draw(st.sampled_from(sorted(data["links"])))]
    link["third_party_t_per_day"] = draws.draw(st.floats(0.05, 0.6)) * link["capacity_t_per_day"]
    link["third_party_share_rule"] = draws.draw(st.sampled_from(["pro_rata", "third_party_first"]))
    _same_both_ways(build(data))


@pytest.mark.slow
@pytest.mark.parametrize("n_nodes", [20, 50])
def test_segments_match_the_daily_step_on_synthetic_networks(n_nodes: int) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from synthetic import synthetic_scenario
    finally:
        sys.path.remove(str(ROOT / "bench"))
    data = synthetic_scenario(n_nodes, 12345)
    scenario = build(data)
    assert _same_both_ways(scenario) > 300
