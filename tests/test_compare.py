"""Comparing strategies on common random numbers: statistics, the folder, the command line."""

from __future__ import annotations

import csv
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from scipy.stats import t

from sim import compare
from sim.cli import main
from sim.compare import (
    COMPARISON_COLUMNS,
    KPIS,
    REPLICATION_COLUMNS,
    comparison_rows,
    mean_ci,
    paired_differences,
    strategy_labels,
)
from sim.scenario.loading import ALLOW_OUTSIDE_EXTENDS_ENV

REPO = Path(__file__).resolve().parents[1]
BASE = REPO / "scenarios" / "base.toml"
OUTAGE = REPO / "scenarios" / "unecha_mozyr_outage.toml"
SHORT = "scenario.horizon_days=60"
# The outage starts on day 120 (1 May 2019) and lasts 20 days: 150 days take it in.
COVERS_OUTAGE = "scenario.horizon_days=150"
FILES = ("comparison.csv", "manifest.json", "ranking.csv", "replications.csv")
NAN = float("nan")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def number(cell: str) -> float:
    return float(cell) if cell else NAN


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# ------------------------------------------------------------------ statistics


def test_mean_ci_matches_a_hand_computation():
    n, mean, sd, low, high = mean_ci([1, 2, 3, 4])
    # sd = sqrt(((1.5² + 0.5²) · 2) / 3) = sqrt(5 / 3)
    half = t.ppf(0.975, 3) * math.sqrt(5 / 3) / 2
    assert (n, mean) == (4, 2.5)
    assert sd == pytest.approx(1.2909944, abs=1e-7)
    assert sd == pytest.approx(math.sqrt(5 / 3), rel=1e-15)
    assert half == pytest.approx(2.0542603, abs=1e-7)  # t(0.975, 3) = 3.1824463
    assert low == pytest.approx(2.5 - half, rel=1e-15)
    assert high == pytest.approx(2.5 + half, rel=1e-15)


def test_mean_ci_leaves_out_nans_and_reports_n_used():
    assert mean_ci([1.0, NAN, 3.0])[:3] == (2, 2.0, pytest.approx(math.sqrt(2)))
    n, mean, sd, low, high = mean_ci([NAN, NAN])
    assert n == 0
    assert all(math.isnan(v) for v in (mean, sd, low, high))


def test_mean_ci_half_width_is_zero_for_one_value_or_no_spread():
    assert mean_ci([7.5]) == (1, 7.5, 0.0, 7.5, 7.5)
    assert mean_ci([0.1, 0.1, 0.1]) == (3, 0.1, 0.0, 0.1, 0.1)


def test_paired_differences_are_other_minus_first_per_replication():
    diffs = paired_differences([1.0, 2.0, NAN], [1.5, 1.0, 4.0])
    assert diffs[:2] == [0.5, -1.0]
    assert math.isnan(diffs[2])
    with pytest.raises(ValueError, match="length"):
        paired_differences([1.0], [1.0, 2.0])


def test_comparison_rows_on_hand_made_values():
    first = {kpi: [1.0, 2.0, 3.0, 4.0] for kpi in KPIS}
    other = {kpi: [2.0, 2.0, 5.0, NAN] for kpi in KPIS}  # differences 1, 0, 2, (left out)
    rows = comparison_rows(["a", "b"], [first, other])
    assert [(r["kpi"], r["strategy"]) for r in rows] == [(k, s) for k in KPIS for s in "ab"]
    a, b = rows[0], rows[1]
    assert (a["diff_vs_first_mean"], a["diff_vs_first_ci95_low"]) == (0.0, 0.0)
    assert a["diff_vs_first_ci95_high"] == 0.0
    assert (b["n"], b["mean"]) == (3, 3.0)
    _, diff_mean, _, diff_low, diff_high = mean_ci([1.0, 0.0, 2.0])
    assert diff_mean == 1.0
    assert (b["diff_vs_first_mean"], b["diff_vs_first_ci95_low"]) == (diff_mean, diff_low)
    assert b["diff_vs_first_ci95_high"] == diff_high
    assert diff_high - 1.0 == pytest.approx(t.ppf(0.975, 2) * 1.0 / math.sqrt(3))


def test_strategy_labels_make_repeated_names_unique():
    assert strategy_labels(["a", "b"]) == ["a", "b"]
    assert strategy_labels(["a", "a", "a"]) == ["a", "a-2", "a-3"]
    assert strategy_labels(["a", "a", "a-2"]) == ["a", "a-3", "a-2"]


# ------------------------------------------------------------------ comparisons


def test_a_scenario_compared_with_itself_differs_by_exactly_zero(tmp_path):
    output = compare([BASE, BASE], overrides=[SHORT], replications=3, out=tmp_path)
    assert output.strategies == ["base", "base-2"]
    assert output.folder == tmp_path / "comparisons" / "base__vs__base-2-seed20190101-n3"
    first, second = (output.results[i].replications for i in (0, 1))
    assert len(first) == len(second) == 3
    for kpi in KPIS:
        for rep_a, rep_b in zip(first, second, strict=True):
            assert paired_differences([rep_a.summary[kpi]], [rep_b.summary[kpi]]) == [0.0]
    for row in output.comparison:
        assert row["n"] == 3
        for column in ("diff_vs_first_mean", "diff_vs_first_ci95_low", "diff_vs_first_ci95_high"):
            assert row[column] == 0.0, (row["kpi"], row["strategy"], column)
    written = read_csv(output.folder / "comparison.csv")
    assert {r[c] for r in written for c in COMPARISON_COLUMNS if c.startswith("diff")} == {"0.0"}


def test_paired_differences_against_the_first_match_replications_csv(tmp_path, capsys):
    argv = [
        "compare",
        str(BASE),
        str(OUTAGE),
        "--replications",
        "2",
        "--set",
        COVERS_OUTAGE,
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "comparisons" / "base__vs__unecha_mozyr_outage-seed20190101-n2"
    assert out.splitlines()[-1] == f"comparison written to {folder}"

    reps = read_csv(folder / "replications.csv")
    assert list(reps[0]) == list(REPLICATION_COLUMNS)
    assert [(r["strategy"], r["replication"]) for r in reps] == [
        ("base", "0"),
        ("base", "1"),
        ("unecha_mozyr_outage", "0"),
        ("unecha_mozyr_outage", "1"),
    ]
    assert {r["seed"] for r in reps} == {"20190101"}
    by_strategy = {
        s: {kpi: [number(r[kpi]) for r in reps if r["strategy"] == s] for kpi in KPIS}
        for s in ("base", "unecha_mozyr_outage")
    }
    rows = read_csv(folder / "comparison.csv")
    assert list(rows[0]) == list(COMPARISON_COLUMNS)
    assert len(rows) == 2 * len(KPIS)
    for row in rows:
        kpi = row["kpi"]
        n, mean, _, low, high = mean_ci(by_strategy[row["strategy"]][kpi])
        assert int(row["n"]) == n == 2
        assert number(row["mean"]) == pytest.approx(mean, rel=1e-9, abs=1e-6)
        assert number(row["ci95_low"]) == pytest.approx(low, rel=1e-9, abs=1e-6)
        assert number(row["ci95_high"]) == pytest.approx(high, rel=1e-9, abs=1e-6)
        diffs = paired_differences(by_strategy["base"][kpi], by_strategy[row["strategy"]][kpi])
        _, diff_mean, _, diff_low, diff_high = mean_ci(diffs)
        for column, expected in (
            ("diff_vs_first_mean", diff_mean),
            ("diff_vs_first_ci95_low", diff_low),
            ("diff_vs_first_ci95_high", diff_high),
        ):
            assert number(row[column]) == pytest.approx(expected, rel=1e-9, abs=1e-5), (kpi, column)
    outage = {r["kpi"]: r for r in rows if r["strategy"] == "unecha_mozyr_outage"}
    assert number(outage["unserved_t"]["diff_vs_first_mean"]) > 0  # the outage cuts runs
    assert number(outage["refinery_intake_t"]["diff_vs_first_mean"]) < 0

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "completed"
    assert (manifest["seed"], manifest["replications"]) == (20190101, 2)
    assert [s["scenario_file"] for s in manifest["strategies"]] == [str(BASE), str(OUTAGE)]
    assert all(len(s["scenario_sha256"]) == 64 for s in manifest["strategies"])
    assert manifest["start_time_utc"] and manifest["end_time_utc"]


def test_seed_and_replications_default_to_the_first_scenario(tmp_path, monkeypatch):
    monkeypatch.setenv(ALLOW_OUTSIDE_EXTENDS_ENV, "1")  # the files extend base.toml by its path
    other = tmp_path / "other.toml"
    other.write_text(
        f'extends = "{BASE.as_posix()}"\n[scenario]\nname = "other"\nseed = 5\nreplications = 4\n',
        encoding="utf-8",
    )
    first = tmp_path / "first.toml"
    first.write_text(
        f'extends = "{BASE.as_posix()}"\n[scenario]\nname = "first"\nseed = 9\nreplications = 2\n',
        encoding="utf-8",
    )
    output = compare([first, other], overrides=[SHORT], out=tmp_path / "out")
    assert (output.seed, output.replications) == (9, 2)
    assert output.folder.name == "first__vs__other-seed9-n2"
    for result in output.results:
        assert (result.scenario.scenario.seed, result.scenario.scenario.replications) == (9, 2)
    assert {r["seed"] for r in output.replication_rows} == {9}


# ------------------------------------------------------------------ command line


@pytest.fixture
def bad_files(tmp_path: Path) -> list[Path]:
    """Two invalid scenarios extending a copy of base.toml, with their bad keys."""
    shutil.copy(BASE, tmp_path / "base.toml")
    one = tmp_path / "bad_one.toml"
    one.write_text(
        'extends = "base.toml"\n[scenario]\nname = "bad_one"\n'
        "[links.unecha_mozyr]\ncapacity_t_per_day = -5\n",
        encoding="utf-8",
    )
    two = tmp_path / "bad_two.toml"
    two.write_text(
        'extends = "base.toml"\n[scenario]\nname = "bad_two"\n[nodes.mozyr]\ntank_size = 3\n',
        encoding="utf-8",
    )
    return [one, two]


def test_cli_writes_the_folder_and_refuses_to_overwrite(tmp_path, capsys):
    out_dir = tmp_path / "results"
    argv = ["compare", str(BASE), str(OUTAGE), "--set", COVERS_OUTAGE, "--out", str(out_dir)]
    argv += ["--replications", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    folder = out_dir / "comparisons" / "base__vs__unecha_mozyr_outage-seed20190101-n1"
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]  # no temporary left
    lines = out.splitlines()
    assert lines[-1] == f"comparison written to {folder}"
    header = next(line for line in lines if line.startswith("kpi"))
    assert "base" in header and "Δ unecha_mozyr_outage − base" in header
    for kpi in KPIS:
        assert any(line.startswith(kpi) and "±" in line for line in lines), kpi
    before = snapshot(out_dir)

    assert main(argv) == 3
    captured = capsys.readouterr()
    assert "exists already" in captured.err and "--force" in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""
    assert snapshot(out_dir) == before

    assert main([*argv, "--force", "--quiet"]) == 0
    assert capsys.readouterr().out == f"comparison written to {folder}\n"
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]


def test_cli_bad_scenarios_exit_2_list_every_problem_and_write_nothing(bad_files, tmp_path, capsys):
    out_dir = tmp_path / "results"
    argv = ["compare", str(BASE), *map(str, bad_files), "--set", SHORT, "--out", str(out_dir)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    assert "2 problem(s)" in captured.err
    assert f"{bad_files[0]}: links.unecha_mozyr.capacity_t_per_day: " in captured.err
    assert f"{bad_files[1]}: nodes.mozyr.tank_size: unknown key" in captured.err
    assert not out_dir.exists()


def test_cli_bad_scenario_in_a_subprocess_prints_no_traceback(bad_files, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "compare", str(BASE), str(bad_files[1])],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert f"{bad_files[1]}: nodes.mozyr.tank_size: unknown key" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "results").exists()


def test_cli_different_horizons_are_invalid(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(ALLOW_OUTSIDE_EXTENDS_ENV, "1")  # short.toml extends base.toml by its path
    short = tmp_path / "short.toml"
    short.write_text(
        f'extends = "{BASE.as_posix()}"\n[scenario]\nname = "short"\nhorizon_days = 30\n',
        encoding="utf-8",
    )
    assert main(["compare", str(BASE), str(short), "--out", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err
    assert f"{short}: scenario.horizon_days: is 30 but 365 in the first scenario" in err
    assert not (tmp_path / "results").exists()


def test_cli_needs_two_files_and_sane_settings(tmp_path, capsys):
    out = ["--out", str(tmp_path / "results")]
    assert main(["compare", str(BASE), *out]) == 2
    assert "at least two" in capsys.readouterr().err
    assert main(["compare", str(BASE), str(BASE), "--replications", "0", *out]) == 2
    assert "--replications must be at least 1" in capsys.readouterr().err
    assert main(["compare", str(BASE), str(BASE), "--seed", "-1", *out]) == 2
    assert "--seed must be zero or more" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


def test_ranking_puts_the_best_first_with_paired_verdicts():
    from sim.compare import ranking_rows

    values = [
        {"net_value_usd": [10.0, 11.0, 12.0]},  # a: mean 11, paired with c: no difference
        {"net_value_usd": [9.0, 6.0, 10.0]},  # b: exactly 3 less than c every time: worse
        {"net_value_usd": [12.0, 9.0, 13.0]},  # c: mean 11.33, the best
    ]
    rows = ranking_rows(["a", "b", "c"], values, "net_value_usd")
    assert [r["strategy"] for r in rows] == ["c", "a", "b"]
    verdicts = {r["strategy"]: r["verdict"] for r in rows}
    assert verdicts["c"] == "best"
    assert verdicts["a"] == "no difference detected at 3 replications"
    assert verdicts["b"] == "worse"
    b = next(r for r in rows if r["strategy"] == "b")
    assert b["diff_vs_best_mean"] == pytest.approx(-3.0)


def test_ranking_with_one_replication_says_there_is_no_interval():
    from sim.compare import ranking_rows

    rows = ranking_rows(
        ["a", "b"], [{"net_value_usd": [5.0]}, {"net_value_usd": [4.0]}], "net_value_usd"
    )
    assert rows[1]["verdict"] == "worse (1 replication, no interval)"


def test_long_comparison_names_are_cut_short_and_stay_unique():
    from sim.compare import MAX_FOLDER_NAME, comparison_name

    short = comparison_name(["a", "b"], 7, 3)
    assert short == "a__vs__b-seed7-n3"
    names = [f"strategy_{i}_" + "x" * 50 for i in range(6)]
    long = comparison_name(names, 20190101, 100)
    other = comparison_name([*names[:-1], names[-1] + "y"], 20190101, 100)
    assert len(long) <= MAX_FOLDER_NAME and len(other) <= MAX_FOLDER_NAME
    assert long != other
    assert long.endswith("-seed20190101-n100")


def test_a_clear_but_tiny_difference_is_no_practical_difference():
    from sim.compare import ranking_rows

    values = [{"net_value_usd": [100.0, 200.0, 300.0]}, {"net_value_usd": [99.0, 199.0, 299.0]}]
    # Exactly 1 USD less in every replication: the CI excludes zero, but 1 USD does not matter.
    rows = ranking_rows(["a", "b"], values, "net_value_usd", threshold=1e6)
    assert rows[1]["verdict"] == "no practical difference"
    assert ranking_rows(["a", "b"], values, "net_value_usd")[1]["verdict"] == "worse"


def test_the_report_does_not_call_a_tiny_difference_clear():
    from sim.report.comparison import verdict

    assert verdict("landed_cost_usd_per_t", 0.005, 0.015, 0.01, 0.1) == "unclear"
    assert verdict("landed_cost_usd_per_t", 0.5, 1.5, 1.0, 0.1) == "worse"


def test_threshold_for_an_unknown_kpi_is_refused(capsys):
    code = main(
        [
            "compare",
            str(BASE),
            str(BASE),
            "--threshold",
            "landed_cost=1",
        ]
    )
    assert code == 2
    assert "not a compared KPI: landed_cost" in capsys.readouterr().err


def test_verdicts_against_the_reference_follow_the_kpis_better_direction():
    from sim.compare import ranking_rows

    values = [
        {"unserved_t": [10.0, 20.0, 30.0]},  # a: the reference
        {"unserved_t": [5.0, 14.0, 26.0]},  # b: 4–6 t fewer every time: better (lower)
        {"unserved_t": [13.0, 23.0, 33.0]},  # c: 3 t more every time: worse
        {"unserved_t": [15.0, 10.0, 35.0]},  # d: +5, −10, +5: no difference detected
    ]
    rows = {r["strategy"]: r for r in ranking_rows(["a", "b", "c", "d"], values, "unserved_t")}
    assert [rows[s]["rank"] for s in "badc"] == [1, 2, 3, 4]  # lower is better: b first
    assert rows["a"]["verdict_vs_reference"] == "reference"
    assert rows["b"]["verdict_vs_reference"] == "better"
    assert rows["b"]["diff_vs_reference_mean"] == pytest.approx(-5.0)
    assert rows["c"]["verdict_vs_reference"] == "worse"
    assert rows["d"]["verdict_vs_reference"] == "no difference detected at 3 replications"
    assert rows["a"]["verdict"] == "worse"  # against the best, b: 4–6 t more every time


def test_ranking_csv_ranks_every_kpi_that_is_not_zero_everywhere(tmp_path, capsys):
    out = ["--out", str(tmp_path), "--replications", "2", "--set", COVERS_OUTAGE]
    assert main(["compare", str(BASE), str(OUTAGE), *out]) == 0
    printed = capsys.readouterr().out
    (folder,) = (tmp_path / "comparisons").iterdir()
    ranking = read_csv(folder / "ranking.csv")
    kpis = list(dict.fromkeys(r["kpi"] for r in ranking))
    assert kpis[0] == "net_value_usd" and "unserved_t" in kpis and "landed_cost_usd_per_t" in kpis
    for kpi in kpis:
        rows = [r for r in ranking if r["kpi"] == kpi]
        assert [r["strategy"] for r in rows if r["verdict_vs_reference"] == "reference"] == ["base"]
        assert any(float(r["mean"]) != 0 for r in rows)
    unserved = {r["strategy"]: r for r in ranking if r["kpi"] == "unserved_t"}
    assert unserved["base"]["rank"] == "1"  # the outage loses crude: base serves more
    assert unserved["unecha_mozyr_outage"]["verdict_vs_reference"] == "worse"
    assert "Against base (the reference)" in printed
    assert "unecha_mozyr_outage: " in printed and "worse on" in printed


def test_reference_chooses_the_strategy_the_others_are_measured_against(tmp_path, capsys):
    out = ["--out", str(tmp_path), "--replications", "2", "--set", COVERS_OUTAGE]
    args = ["compare", str(BASE), str(OUTAGE), *out, "--reference", "unecha_mozyr_outage"]
    assert main(args) == 0
    (folder,) = (tmp_path / "comparisons").iterdir()
    assert folder.name.startswith("unecha_mozyr_outage__vs__base")
    rows = read_csv(folder / "comparison.csv")
    assert rows[0]["strategy"] == "unecha_mozyr_outage"
    assert "(reference)" in capsys.readouterr().out
    # A reference that is none of the strategies: exit 2, a suggestion, nothing written.
    bad = ["compare", str(BASE), str(OUTAGE), "--out", str(tmp_path / "b"), "--reference", "bse"]
    assert main(bad) == 2
    err = capsys.readouterr().err
    assert "--reference" in err and "did you mean 'base'" in err and "Traceback" not in err
    assert not (tmp_path / "b").exists()
