"""Monte Carlo: replication statistics, and adding replications to a target precision."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from sim import load_scenario, run
from sim.cli import main
from sim.statistics import describe, mean_ci
from tests.test_scenarios import ROOT

RANDOM_OUTAGES = 'disruptions.rand={target="unecha_mozyr",random={mtbf_days=60,mttr_days=6}}'


def test_describe_on_hand_made_values():
    d = describe([1.0, 2.0, 3.0, 4.0, float("nan")])
    assert d["n"] == 4 and d["mean"] == 2.5
    assert d["sd"] == pytest.approx(math.sqrt(5 / 3))
    half = 3.182446305284263 * math.sqrt(5 / 3) / 2  # t(0.975, 3) · sd / √n
    assert (d["ci95_low"], d["ci95_high"]) == pytest.approx((2.5 - half, 2.5 + half))
    assert (d["p5"], d["p50"], d["p95"]) == pytest.approx(
        tuple(np.percentile([1, 2, 3, 4], [5, 50, 95]))
    )
    assert mean_ci([7.0]) == (1, 7.0, 0.0, 7.0, 7.0)


def test_summary_stats_csv_summarises_every_kpi_over_replications(tmp_path):
    scenario = load_scenario(ROOT / "scenarios" / "unecha_mozyr_outage.toml", [RANDOM_OUTAGES])
    output = run(scenario, out=tmp_path, replications=6, daily="none")
    with (output.folder / "summary_stats.csv").open() as fh:
        stats = {row["kpi"]: row for row in csv.DictReader(fh)}
    unserved = [r["unserved_t"] for r in output.summary]
    assert int(stats["unserved_t"]["n"]) == 6
    assert float(stats["unserved_t"]["mean"]) == pytest.approx(np.mean(unserved), rel=1e-6)
    assert float(stats["unserved_t"]["p50"]) == pytest.approx(np.median(unserved), rel=1e-6)
    assert float(stats["unserved_t"]["sd"]) > 0  # random outages make replications differ


def test_target_ci_adds_replications_until_the_interval_is_tight_enough(tmp_path, capsys):
    args = [
        "run",
        str(ROOT / "scenarios" / "unecha_mozyr_outage.toml"),
        "--set",
        RANDOM_OUTAGES,
        "--out",
        str(tmp_path),
        "--daily",
        "none",
        "--target-ci",
        # ±6.6 run-cut days after 64 replications (with Belarus's own crude in base.toml).
        "run_cut_days=8",
        "--max-replications",
        "64",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "target confidence interval reached with" in out
    n = int(out.split("reached with ")[1].split()[0])
    assert 2 < n <= 64
    [folder] = list((tmp_path / "unecha_mozyr_outage").iterdir())
    with (folder / "summary.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == n
    _, _, _, low, high = mean_ci(float(r["run_cut_days"]) for r in rows)
    assert (high - low) / 2 <= 8
    # The same count run directly gives the same replications (seeds do not depend on batches).
    direct = run(
        load_scenario(ROOT / "scenarios" / "unecha_mozyr_outage.toml", [RANDOM_OUTAGES]),
        out=tmp_path / "direct",
        replications=n,
        daily="none",
    )
    assert [r["run_cut_days"] for r in direct.summary] == [float(r["run_cut_days"]) for r in rows]


def test_target_ci_on_an_unknown_kpi_is_a_clear_error(tmp_path, capsys):
    code = main(
        ["run", str(ROOT / "scenarios" / "base.toml"), "--out", str(tmp_path), "--target-ci", "x=1"]
    )
    assert code == 2
    assert "unknown KPI x" in capsys.readouterr().err


@pytest.mark.parametrize("halfwidth", ["nan", "inf", "0", "-1"])
def test_target_ci_halfwidth_must_be_finite_and_positive(tmp_path, capsys, halfwidth):
    base = str(ROOT / "scenarios" / "base.toml")
    argv = ["run", base, "--out", str(tmp_path), "--target-ci", f"unserved_t={halfwidth}"]
    assert main(argv) == 2
    assert "expected KPI=HALFWIDTH with HALFWIDTH > 0" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
