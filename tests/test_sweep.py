"""Parameter sweeps: the sweep file, identical results on every executor, kill and resume,
failed runs, invalid files, the folder, progress, and the shipped sweeps."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from sim import simulate
from sim.cli import main
from sim.randomness import derived_seed, replication_seed_sequence
from sim.results import SUMMARY_KPIS
from sim.sweep import load_sweep, run_sweep
from sim.sweep.expand import SweepContext, lever_points, resolve
from sim.sweep.progress import progress
from sim.sweep.store import STATS, points_columns
from sim.sweep.worker import run_one, runs_columns

REPO = Path(__file__).resolve().parents[1]
BASE = REPO / "scenarios" / "base.toml"
SWEEPS = sorted((REPO / "scenarios" / "sweeps").glob("*.toml"))
FILES = ("runs.csv", "points.csv")

#: A small sweep over base.toml with every kind of lever and distribution: 2 × 3 values × 2
#: Latin-hypercube samples = 12 lever points, 3 replications each, 45 days per run.
SWEEP = f"""
[sweep]
name = "small"
description = "every kind of lever and distribution"
base = "{BASE.as_posix()}"
replications = 3
seed = 11
samples = 2

[overrides.scenario]
horizon_days = 45

[overrides.disruptions.cut]
target = "unecha_mozyr"
start_date = 2019-01-10
duration_days = 10
capacity_factor = 0.0

[levers]
"disruptions.cut.capacity_factor" = {{ values = [0.0, 0.5] }}
"links.unecha_mozyr.capacity_t_per_day" = {{ start = 30000, stop = 50000, step = 10000 }}
"nodes.mozyr.initial_stock_t" = {{ low = 150000, high = 480000 }}

[uncertainties]
"prices.urals.usd_per_bbl" = {{ distribution = "normal", mean = 63.59, sd = 8, low = 55 }}
"disruptions.cut.duration_days" = {{ distribution = "triangular", low = 2, mode = 10, high = 20 }}
"nodes.naftan.initial_stock_t" = {{ distribution = "uniform", low = 300000, high = 480000 }}
"links.unecha_polotsk.capacity_t_per_day" = {{ distribution = "choice", values = [25000, 30000], weights = [1, 3] }}
"links.unecha_mozyr.tariff_usd_per_t" = {{ distribution = "lognormal", median = 1.09, sigma = 0.2 }}
"nodes.mozyr.restart_days" = {{ distribution = "uniform", low = 1, high = 5, integer = true }}
"""  # noqa: E501


def write_sweep(folder: Path, text: str = SWEEP, name: str = "small.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def same_files(a: Path, b: Path) -> None:
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, Path]:
    """The small sweep file, and its folder from an uninterrupted serial run."""
    root = tmp_path_factory.mktemp("small")
    file = write_sweep(root)
    output = run_sweep(file, workers=1, out=root / "serial")
    assert output.complete and output.done == 36 and output.failed == 0
    return file, output.folder


# ------------------------------------------------------------------ executors


def test_the_local_pool_gives_the_serial_files_byte_for_byte(small, tmp_path):
    file, serial = small
    output = run_sweep(file, workers=2, out=tmp_path)
    assert output.executor == "local process pool, 2 workers"
    same_files(serial, output.folder)


@pytest.mark.parametrize("processes", [True, False], ids=["worker-processes", "worker-threads"])
def test_a_dask_cluster_gives_the_serial_files_byte_for_byte(small, tmp_path, processes):
    distributed = pytest.importorskip("distributed")
    file, serial = small
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        by_address = run_sweep(file, dask=cluster.scheduler_address, out=tmp_path / "a")
        by_client = run_sweep(file, dask=client, out=tmp_path / "b")
    assert by_address.executor.startswith("Dask cluster at ")
    same_files(serial, by_address.folder)
    same_files(serial, by_client.folder)


def test_runs_csv_has_one_sorted_row_per_run_with_its_inputs_and_kpis(small):
    file, folder = small
    sweep = load_sweep(file)
    rows = read_rows(folder / "runs.csv")
    assert list(rows[0]) == list(
        runs_columns(list(sweep.spec.levers), list(sweep.spec.uncertainties))
    )
    assert [(int(r["point"]), int(r["replication"])) for r in rows] == [
        (p, r) for p in range(12) for r in range(3)
    ]
    assert len({r["run_key"] for r in rows}) == 36
    assert {r["status"] for r in rows} == {"ok"} and {r["error"] for r in rows} == {""}
    for row in rows:
        seed = derived_seed(replication_seed_sequence(11, int(row["replication"])))
        assert int(row["seed"]) == seed
        assert float(row["refinery_intake_t"]) > 0
        assert abs(float(row["mass_balance_error_t"])) < 1e-3
    # Common random numbers: replication r has the same seed at every lever point.
    seeds = {(int(r["point"]), int(r["replication"])): r["seed"] for r in rows}
    assert all(seeds[(p, r)] == seeds[(0, r)] for p, r in seeds)
    assert len({seeds[(0, r)] for r in range(3)}) == 3


def test_levers_cross_grids_with_a_latin_hypercube(small):
    file, folder = small
    # One row per point (its first KPI's): the lever values are the same on every KPI's row.
    rows = [r for r in read_rows(folder / "points.csv") if r["kpi"] == SUMMARY_KPIS[0]]
    grid = [
        (r["disruptions.cut.capacity_factor"], r["links.unecha_mozyr.capacity_t_per_day"])
        for r in rows
    ]
    assert grid == [(f, c) for f in ("0.0", "0.5") for c in ("30000", "40000", "50000")
                    for _ in range(2)]  # fmt: skip
    stocks = [float(r["nodes.mozyr.initial_stock_t"]) for r in rows]
    assert stocks[:2] == stocks[2:4] == stocks[-2:]  # one sample, reused for every combination
    # Latin hypercube: one value in each half of [150 000, 480 000].
    halves = sorted(int((s - 150000) // 165000) for s in stocks[:2])
    assert halves == [0, 1]
    assert all(round(s, 6) == s for s in stocks)
    points = lever_points(load_sweep(file).spec)
    assert [p.index for p in points] == list(range(12))


def test_uncertainties_are_drawn_within_their_distributions(small):
    _, folder = small
    rows = read_rows(folder / "runs.csv")

    def column(key: str) -> list[float]:
        return [float(r[key]) for r in rows]

    assert min(column("prices.urals.usd_per_bbl")) >= 55
    assert all(2 <= v <= 20 for v in column("disruptions.cut.duration_days"))
    assert all(300000 <= v < 480000 for v in column("nodes.naftan.initial_stock_t"))
    assert set(column("links.unecha_polotsk.capacity_t_per_day")) == {25000, 30000}
    assert all(v > 0 for v in column("links.unecha_mozyr.tariff_usd_per_t"))
    assert {r["nodes.mozyr.restart_days"] for r in rows} <= {"1", "2", "3", "4", "5"}
    # Afresh in every replication (3 different prices), the same at every lever point for a
    # given replication (common random numbers).
    prices = {(r["point"], r["replication"]): r["prices.urals.usd_per_bbl"] for r in rows}
    assert len(set(prices.values())) == 3
    assert all(prices[(p, rep)] == prices[("0", rep)] for p, rep in prices)


def test_a_run_is_a_function_of_its_identity_only(small):
    """The same run resolved twice, and in another order, is the same; and the worker's
    compiled-scenario cache gives what a plain simulate() gives."""
    file, folder = small
    sweep = load_sweep(file)
    context = SweepContext.of(sweep)
    points = lever_points(sweep.spec)
    rows = read_rows(folder / "runs.csv")
    for point, replication in [(7, 2), (0, 0), (7, 2)]:
        run = resolve(context, point, replication, points[point].values)
        row = rows[point * 3 + replication]
        assert run.key == row["run_key"]
        assert run.scenario is not None and run.scenario.scenario.seed == int(row["seed"])
        plain = simulate(run.scenario, daily="none").replications[0].summary
        assert float(row["unserved_t"]) == round(plain["unserved_t"], 6)
        *_, line = run_one(context, point, replication, points[point].values)
        with (folder / "runs.csv").open(encoding="utf-8") as fh:
            assert line == fh.readlines()[1 + point * 3 + replication]


def test_points_csv_summarises_each_point_over_its_runs(small):
    file, folder = small
    sweep = load_sweep(file)
    runs = read_rows(folder / "runs.csv")
    rows = read_rows(folder / "points.csv")
    levers = list(sweep.spec.levers)
    assert list(rows[0]) == list(points_columns(levers))
    # Long form: one row per lever point and KPI, points in order, KPIs in runs.csv's order.
    assert len(rows) == 12 * len(SUMMARY_KPIS)
    assert [(r["point"], r["kpi"]) for r in rows] == [
        (str(p), k) for p in range(12) for k in SUMMARY_KPIS
    ]
    assert list(rows[0])[-len(STATS) - 1 :] == ["kpi", *STATS]
    assert len(rows[0]) == 1 + len(levers) + 3 + 1 + len(STATS)  # narrow, however many KPIs
    for row in rows:
        mine = [r for r in runs if r["point"] == row["point"]]
        assert (row["runs"], row["ok"], row["failed"]) == ("3", "3", "0")
        assert [row[k] for k in levers] == [mine[0][k] for k in levers]
        values = [float(r[row["kpi"]]) for r in mine if r[row["kpi"]] != ""]
        assert int(row["n"]) == len(values)
        if not values:
            assert row["mean"] == ""
            continue
        assert math.isclose(float(row["mean"]), sum(values) / len(values), abs_tol=1e-5)
        assert float(row["p50"]) == pytest.approx(np.percentile(values, 50), abs=1e-5)
        assert float(row["ci95_low"]) <= float(row["mean"]) <= float(row["ci95_high"])
    unserved = [r for r in rows if r["kpi"] == "unserved_t"]
    assert len(unserved) == 12 and all(r["n"] == "3" for r in unserved)


def test_the_manifest_counts_runs_and_names_the_sweep(small):
    file, folder = small
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "sweep" and manifest["status"] == "completed"
    assert manifest["counts"] == {"done": 36, "failed": 0, "reused": 0, "missing": 0}
    assert manifest["seed"] == 11 and manifest["points"] == 12 and manifest["runs"] == 36
    assert manifest["sweep_sha256"] == load_sweep(file).file_sha256
    assert manifest["levers"][0] == "disruptions.cut.capacity_factor"
    assert manifest["program_version"]


# ------------------------------------------------------------------ kill and resume


def _kill_part_way(cmd: list[str], runs_csv: Path, cwd: Path) -> int:
    """Start the sweep, SIGKILL it once runs.csv has rows; its pool workers must exit too.
    Returns the number of complete rows it left."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if runs_csv.exists() and runs_csv.read_bytes().count(b"\n") > 1:
                break
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.005)
        children = psutil.Process(proc.pid).children(recursive=True)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
    # The pool's workers notice their parent is gone and exit (they must not linger).
    gone, alive = psutil.wait_procs(children, timeout=10)
    for child in alive:  # only processes this test started
        child.kill()
    assert not alive, f"workers still running after their parent was killed: {alive}"
    return runs_csv.read_bytes().count(b"\n") - 1


@pytest.mark.slow
def test_a_killed_sweep_resumes_to_the_files_of_an_uninterrupted_one(tmp_path):
    text = SWEEP.replace("replications = 3", "replications = 40").replace(
        'name = "small"', 'name = "killed"'
    )
    file = write_sweep(tmp_path, text, "killed.toml")
    out = tmp_path / "out"
    folder = out / "killed"
    cmd = [sys.executable, "-m", "sim", "sweep", str(file), "--workers", "2", "--out", str(out)]
    left = _kill_part_way(cmd, folder / "runs.csv", tmp_path)
    assert 0 < left < 480, left
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "running"
    assert not (folder / "points.csv").exists()
    # A killed write could leave part of a line: the resume drops it.
    with (folder / "runs.csv").open("a", encoding="utf-8") as fh:
        fh.write("deadbeef,3,1,12")

    # Without --resume (or --force) the folder is not touched.
    before = (folder / "runs.csv").read_bytes()
    assert main(["sweep", str(file), "--out", str(out), "--quiet"]) == 3
    assert (folder / "runs.csv").read_bytes() == before

    done = subprocess.run(
        [*cmd, "--resume", "--quiet"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"sweep written to {folder}"
    rows = read_rows(folder / "runs.csv")
    assert len(rows) == 480
    assert len({(r["point"], r["replication"]) for r in rows}) == 480
    assert len({r["run_key"] for r in rows}) == 480
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "completed" and manifest["invocations"] == 2
    assert manifest["counts"] == {"done": 480, "failed": 0, "reused": left, "missing": 0}

    whole = run_sweep(file, workers=1, out=tmp_path / "whole")
    same_files(folder, whole.folder)

    # Resuming a complete sweep runs nothing and changes nothing.
    again = run_sweep(file, workers=2, out=out, resume=True)
    assert (again.reused, again.done, again.missing) == (480, 480, 0)
    same_files(folder, whole.folder)


def test_an_interrupted_sweep_keeps_finished_runs_and_resumes(small, tmp_path, monkeypatch):
    """Ctrl-C (KeyboardInterrupt) part-way: rows so far are kept, the manifest says so."""
    file, serial = small
    import sim.sweep.worker as worker

    real = worker.execute
    calls = {"n": 0}

    def stop_after_ten(context, run):
        calls["n"] += 1
        if calls["n"] > 10:
            raise KeyboardInterrupt
        return real(context, run)

    monkeypatch.setattr(worker, "execute", stop_after_ten)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(file, workers=1, out=tmp_path)
    folder = tmp_path / "small"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "interrupted"
    assert manifest["counts"]["done"] == len(read_rows(folder / "runs.csv")) > 0
    monkeypatch.setattr(worker, "execute", real)
    output = run_sweep(file, workers=1, out=tmp_path, resume=True)
    assert output.complete and output.reused == manifest["counts"]["done"]
    same_files(serial, folder)


def test_another_sweep_in_the_folder_is_not_resumed(small, tmp_path):
    file, _ = small
    run_sweep(file, workers=1, out=tmp_path, replications=1)
    argv = ["sweep", str(file), "--out", str(tmp_path), "--resume", "--quiet"]
    assert main(argv) == 3  # 3 replications now: another definition
    assert main([*argv[:-2], "--replications", "1", "--resume", "--quiet"]) == 0
    assert main([*argv[:-2], "--force", "--replications", "2", "--quiet"]) == 0
    assert len(read_rows(tmp_path / "small" / "runs.csv")) == 24


# ------------------------------------------------------------------ failed runs


def test_a_run_that_raises_is_recorded_and_the_others_complete(tmp_path, monkeypatch, capsys):
    # Prices drawn around 55 USD/bbl with sd 20: some draws are below 50 USD/bbl (365 USD/t at
    # 7.3 bbl/t), where base.toml's export-duty formula does not hold, so those runs' scenarios
    # are invalid; and one run raises inside the engine.
    text = (
        SWEEP.replace("mean = 63.59, sd = 8, low = 55", "mean = 55, sd = 20")
        .replace("replications = 3", "replications = 2")
        .replace('name = "small"', 'name = "failing"')
    )
    file = write_sweep(tmp_path, text, "failing.toml")
    import sim.sweep.worker as worker

    real = worker.execute

    def engine_breaks_on_point_5(context, run):
        if (run.point, run.replication) == (5, 1):
            raise RuntimeError("engine broke\non two lines")
        return real(context, run)

    monkeypatch.setattr(worker, "execute", engine_breaks_on_point_5)
    assert main(["sweep", str(file), "--workers", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rows = read_rows(tmp_path / "failing" / "runs.csv")
    failed = [r for r in rows if r["status"] == "failed"]
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(rows) == 24 and failed and ok
    assert f"{len(ok)} done, {len(failed)} failed" in out
    broken = [r for r in failed if (r["point"], r["replication"]) == ("5", "1")]
    assert broken[0]["error"] == "RuntimeError: engine broke on two lines"
    for row in failed:
        assert row["refinery_intake_t"] == "" and row["unserved_t"] == ""
        if row is not broken[0]:
            assert float(row["prices.urals.usd_per_bbl"]) * 7.3 <= 365
            assert row["error"].startswith("invalid scenario: prices.urals.usd_per_bbl: ")
    for row in ok:
        assert float(row["prices.urals.usd_per_bbl"]) * 7.3 > 365
        assert float(row["refinery_intake_t"]) > 0
    points = [p for p in read_rows(tmp_path / "failing" / "points.csv") if p["kpi"] == "unserved_t"]
    assert sum(int(p["failed"]) for p in points) == len(failed)
    assert all(int(p["n"]) == int(p["ok"]) for p in points)
    manifest = json.loads((tmp_path / "failing" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["failed"] == len(failed)


# ------------------------------------------------------------------ invalid sweep files

BAD = f"""
[sweep]
name = "bad"
base = "{BASE.as_posix()}"
replications = "ten"
seed = 1
colour = "red"

[levers]
"links.nope.capacity_t_per_day" = {{ values = [1, 2] }}
"links.unecha_mozyr.capacity_t_per_day" = {{ values = ["wide", "narrow"] }}
"links.unecha_mozyr.lenght_km" = {{ values = [300] }}
"nodes.mozyr.target_run_t_per_day" = {{ values = [1], start = 0, stop = 1, step = 1 }}
"nodes.naftan.initial_stock_t" = {{ low = 1, high = 2 }}
"scenario.seed" = {{ values = [1, 2] }}

[uncertainties]
"prices.urals.usd_per_bbl" = {{ distribution = "uniform", low = 80, high = 50 }}
"links.unecha_polotsk.tariff_usd_per_t" = {{ distribution = "gamma", shape = 2 }}
"nodes.mozyr.restart_days" = {{ distribution = "triangular", low = 1, mode = 9, high = 5 }}
"links.surgut_polotsk.capacity_t_per_day" = {{ distribution = "choice", values = [1, 2], weights = [1] }}
"links.unecha_mozyr.capacity_t_per_day" = {{ distribution = "normal", mean = 1, sd = -1 }}
"nodes.mozyr.tank_capacity_t" = {{ distribution = "normal", mean = -5, sd = 1 }}
"""  # noqa: E501


def test_a_bad_sweep_file_gets_every_problem_listed_and_no_folder(tmp_path, capsys):
    file = write_sweep(tmp_path, BAD, "bad.toml")
    out = tmp_path / "out"
    assert main(["sweep", str(file), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    expected = [
        "sweep.replications: Input should be a valid integer",
        "sweep.colour: unknown key",
        'levers."links.nope.capacity_t_per_day": links.nope is not in the base scenario',
        "levers.\"links.unecha_mozyr.capacity_t_per_day\": value 'wide': Input should be a "
        "valid number",
        'levers."links.unecha_mozyr.lenght_km": value 300: unknown key',
        'levers."nodes.mozyr.target_run_t_per_day": give exactly one of',
        "sweep.samples: required: levers nodes.naftan.initial_stock_t are sampled",
        'levers."scenario.seed": is set by the sweep for each run',
        'uncertainties."prices.urals.usd_per_bbl": high 50.0 must be above low 80.0',
        'uncertainties."links.unecha_polotsk.tariff_usd_per_t".distribution: unknown '
        "distribution 'gamma'",
        'uncertainties."nodes.mozyr.restart_days": mode 9.0 must lie from low 1.0 to high 5.0',
        'uncertainties."links.surgut_polotsk.capacity_t_per_day": 1 weights for 2 values',
        'uncertainties."links.unecha_mozyr.capacity_t_per_day".sd: Input should be greater than 0',
        'uncertainties."links.unecha_mozyr.capacity_t_per_day": is a lever too',
        'uncertainties."nodes.mozyr.tank_capacity_t": value -5.0: Input should be greater than 0',
    ]
    for text in expected:
        assert f"{file}: {text}" in err, text
    assert "Traceback" not in err
    assert f"invalid input: {len(err.strip().splitlines()) - 1} problem(s)" in err
    assert not out.exists()


def test_a_missing_base_or_broken_toml_is_reported(tmp_path, capsys):
    missing = write_sweep(
        tmp_path, '[sweep]\nname = "m"\nbase = "nowhere.toml"\nreplications = 1\nseed = 0\n'
    )
    assert main(["sweep", str(missing), "--out", str(tmp_path / "o")]) == 2
    assert "sweep.base: file 'nowhere.toml' not found" in capsys.readouterr().err
    broken = write_sweep(tmp_path, "[sweep\n", "broken.toml")
    assert main(["sweep", str(broken), "--out", str(tmp_path / "o")]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


LIMITS = f"""
[sweep]
name = "limits"
base = "{BASE.as_posix()}"
replications = 10
seed = 1

[levers]
"links.unecha_mozyr.capacity_t_per_day" = {{ start = 1000, stop = 2000, step = 1 }}
"links.unecha_polotsk.capacity_t_per_day" = {{ start = 1000, stop = 2000, step = 1 }}
"""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            ('name = "limits"', 'name = ".."'),
            "sweep.name: String should match pattern",
            id="name_dot_dot",
        ),
        pytest.param(
            ("replications = 10", "replications = 10\nsamples = inf"),
            "sweep.samples: Input should be a finite number",
            id="not_finite",
        ),
        pytest.param(
            ("stop = 2000, step = 1 }\n", "stop = 2e12, step = 1 }\n"),
            'levers."links.unecha_mozyr.capacity_t_per_day".stop: must be within ±1e12',
            id="too_large",
        ),
        pytest.param(
            ("stop = 2000, step = 1 }\n", "stop = 2e6, step = 1 }\n"),
            'levers."links.unecha_mozyr.capacity_t_per_day": the range has 1,999,001 values; '
            "at most 1,000,000",
            id="range_too_long",
        ),
        pytest.param(
            ("", ""),
            "levers: 1,002,001 lever point(s) × replications make 10,020,010 runs; at most "
            "1,000,000 are run",
            id="too_many_runs",
        ),
    ],
)
def test_sweep_limits_are_reported(tmp_path, capsys, change, expected):
    file = write_sweep(tmp_path, LIMITS.replace(*change) if change[0] else LIMITS, "l.toml")
    assert main(["sweep", str(file), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{file}: {expected}" in err, err
    assert "Traceback" not in err


def test_overrides_problems_point_at_the_overrides_table(tmp_path):
    text = SWEEP.replace("duration_days = 10\n", "duration_days = -1\n", 1)
    file = write_sweep(tmp_path, text, "o.toml")
    with pytest.raises(Exception) as info:
        load_sweep(file)
    assert "overrides.disruptions.cut.duration_days: Input should be greater than 0" in str(
        info.value
    )


# ------------------------------------------------------------------ progress


def test_progress_is_plain_lines_off_a_terminal_and_a_bar_on_one():
    plain = io.StringIO()
    shown = progress("x", 10, 2, quiet=False, stream=plain)
    shown.update(3, 1)
    shown.close()
    lines = plain.getvalue().splitlines()
    assert lines[0].startswith("sweep x: 5/10 runs (50 %), 1 failed, ")
    assert "runs/s, ETA " in lines[-1]

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    bar = progress("x", 10, 0, quiet=False, stream=terminal)
    bar.update(10, 0)
    bar.close()
    assert "10/10" in terminal.getvalue() and "run/s" in terminal.getvalue()

    quiet = io.StringIO()
    nothing = progress("x", 10, 0, quiet=True, stream=quiet)
    nothing.update(10, 0)
    nothing.close()
    assert quiet.getvalue() == ""


# ------------------------------------------------------------------ shipped sweeps and docs


def test_there_are_shipped_sweeps():
    assert SWEEPS


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.name)
def test_shipped_sweep_validates_and_its_first_run_runs(path):
    sweep = load_sweep(path)
    points = lever_points(sweep.spec)
    assert len(points) >= 2 and sweep.spec.levers and sweep.spec.uncertainties
    context = SweepContext.of(sweep)
    _, _, ok, line = run_one(context, 0, 0, points[0].values)
    assert ok, line


def test_the_sweep_reference_is_generated_from_the_current_schema():
    from sim.sweep.docs import render

    current = (REPO / "docs" / "sweeps.md").read_text(encoding="utf-8")
    assert current == render(), "regenerate: python -m sim.sweep.docs > docs/sweeps.md"


def test_the_example_in_the_sweep_reference_is_valid(tmp_path):
    text = (REPO / "docs" / "sweeps.md").read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    # The example sits in scenarios/sweeps/ in spirit: its base is relative to that folder.
    sweeps = REPO / "scenarios" / "sweeps"
    example = example.replace('"../', f'"{sweeps.as_posix()}/../')
    sweep = load_sweep(write_sweep(tmp_path, example, "example.toml"))
    assert len(lever_points(sweep.spec)) == 9


def test_the_example_in_the_readme_is_valid(tmp_path):
    text = (REPO / "README.md").read_text(encoding="utf-8").split("## Sweeps", 1)[1]
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    sweeps = REPO / "scenarios" / "sweeps"
    example = example.replace('"../', f'"{sweeps.as_posix()}/../')
    sweep = load_sweep(write_sweep(tmp_path, example, "readme.toml"))
    assert len(lever_points(sweep.spec)) == 36
