"""The stress command: strategies through named stresses on common random numbers."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sim import registry
from sim.cli import main
from sim.errors import ScenarioError
from sim.stress import UNSTRESSED, load_stress, run_stress, shipped_stresses

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SHORT = ["scenario.horizon_days=150"]


def test_the_shipped_stresses_are_the_five_the_issue_names():
    names = {load_stress(p).name for p in shipped_stresses()}
    assert names == {
        "contamination_2019",
        "russian_cutoff_90d_transit_refused",
        "russian_cutoff_90d_transit_kept",
        "baltic_port_closure",
        "odesa_brody_outage",
    }


def test_a_strategy_compared_with_itself_differs_by_nothing(tmp_path):
    strategy = SCENARIOS / "kazakh_via_russia.toml"
    output = run_stress(
        [strategy, strategy],
        [SCENARIOS / "stress" / "russian_cutoff_90d_transit_kept.toml"],
        replications=3,
        overrides=SHORT,
        out=tmp_path,
    )
    assert output.strategies == ["kazakh_via_russia", "kazakh_via_russia-2"]
    for row in output.summary:
        assert row["unserved_diff_vs_first_mean"] == 0.0
        assert (
            row["unserved_diff_vs_first_ci95_low"] == row["unserved_diff_vs_first_ci95_high"] == 0.0
        )
    by = {(r["strategy"], r["stress"], r["replication"]): r for r in output.rows}
    for (strategy, stress, rep), row in by.items():
        if strategy == "kazakh_via_russia-2":
            twin = by["kazakh_via_russia", stress, rep]
            assert {k: row[k] for k in registry.STRESS_KPIS} == {
                k: twin[k] for k in registry.STRESS_KPIS
            }
    with (output.folder / "stress.csv").open() as fh:
        header = next(csv.reader(fh))
    assert tuple(header) == registry.STRESS.header


def test_transit_refused_cancels_the_kazakh_option_and_transit_kept_does_not(tmp_path):
    output = run_stress(
        [SCENARIOS / "risk_regime.toml", SCENARIOS / "kazakh_via_russia.toml"],
        [
            SCENARIOS / "stress" / "russian_cutoff_90d_transit_refused.toml",
            SCENARIOS / "stress" / "russian_cutoff_90d_transit_kept.toml",
        ],
        replications=4,
        overrides=SHORT,
        out=tmp_path,
    )
    row = {(r["stress"], r["strategy"]): r for r in output.summary}
    kept = row["russian_cutoff_90d_transit_kept", "kazakh_via_russia"]
    refused = row["russian_cutoff_90d_transit_refused", "kazakh_via_russia"]
    # Transit kept: Kazakh crude still flows, so the strategy loses clearly less than the
    # status quo.
    assert kept["unserved_diff_vs_first_ci95_high"] < 0
    # Transit refused: Kazakh crude through Druzhba stops too; it saves far less.
    assert refused["unserved_diff_vs_first_mean"] > kept["unserved_diff_vs_first_mean"] / 4
    assert row[UNSTRESSED, "kazakh_via_russia"]["extra_unserved_t_mean"] == 0.0


def test_a_bad_stress_file_names_the_file_and_key(tmp_path):
    bad = tmp_path / "bad.toml"
    disruption = '[overrides.disruptions.d]\ntarget = "nowhere"\nstart_date = 2019-03-01\n'
    bad.write_text(f'[stress]\nname = "x"\ncolour = "red"\n\n{disruption}duration_days = 5\n')
    with pytest.raises(ScenarioError) as err:
        load_stress(bad)
    assert any(p.key == "stress.colour" for p in err.value.problems)
    bad.write_text(f'[stress]\nname = "x"\n\n{disruption}duration_days = 5\n')
    with pytest.raises(ScenarioError) as err:
        run_stress([SCENARIOS / "base.toml"], [bad], out=tmp_path)
    problem = err.value.problems[0]
    assert problem.file == str(bad) and problem.key == "overrides.disruptions.d.target"


def test_the_cli_writes_the_folder_and_prints_the_table(tmp_path, capsys):
    code = main(
        [
            "stress",
            str(SCENARIOS / "risk_regime.toml"),
            str(SCENARIOS / "global_market_klaipeda.toml"),
            "--stress",
            str(SCENARIOS / "stress" / "baltic_port_closure.toml"),
            "--replications",
            "2",
            "--out",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "baltic_port_closure:" in out and "stress results written to" in out
    folder = next((tmp_path / "stress").iterdir())
    assert {p.name for p in folder.iterdir()} == {
        "stress.csv",
        "stress_summary.csv",
        "manifest.json",
    }
