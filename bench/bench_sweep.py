"""Sweep benchmark: replications per second on the local pool, the cost per run of the pool and
of a Dask LocalCluster against running the same runs in one process, and the peak memory of a
10,000-run sweep.

Usage:
    python bench/bench_sweep.py            # the figures of docs/performance.md ("Sweeps")
    python bench/bench_sweep.py --quick    # small sweeps, once each (≈ 20 s): a smoke run

Every case is a whole `python -m sim sweep` as a user runs it (loading, runs, runs.csv appended,
sorted, points.csv and the manifest written), timed in a fresh subprocess so that each starts
cold, the same way. The sweep: base.toml, no levers, no uncertainties, N replications (each run
is one replication of base.toml with its own seed, one simulated year; the memory case uses
`--set scenario.horizon_days=30`). Prints a table and writes bench/out/sweep.json. Targets are
printed next to the figures, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
BASE_TOML = ROOT / "scenarios" / "base.toml"

#: Targets (printed next to the figures, not asserted).
TARGET_1000_2W_S = 5.0
TARGET_POOL_OVERHEAD_MS = 1.0
TARGET_DASK_OVERHEAD_MS = 5.0
TARGET_PEAK_MB = 1024.0

SWEEP = """[sweep]
name = "{name}"
description = "benchmark: base.toml, {runs} replications, no levers"
base = "{base}"
replications = {runs}
seed = 1
"""

#: Runs a sweep in this (fresh) process; prints seconds, peak RSS of this process and of its
#: largest child (pool workers), MB. For Dask, starts a LocalCluster first (timed apart).
DRIVER = """
import json, resource, sys, time
from sim.sweep import run_sweep
file, out, workers, dask_workers, overrides = sys.argv[1:6]
if workers == "pool1":  # a one-process pool (--workers 1 runs serially, without a pool)
    import sim.sweep.run
    from sim.sweep.executors import Pool
    sim.sweep.run.executor = lambda workers, dask: Pool(1)
    workers = None
else:
    workers = int(workers) if workers != "-" else None
overrides = [o for o in overrides.split(";") if o]
cluster_s = 0.0
cluster = None
dask = None
if dask_workers != "-":
    from distributed import LocalCluster
    t = time.perf_counter()
    cluster = LocalCluster(n_workers=int(dask_workers), threads_per_worker=1, processes=True,
                           dashboard_address=None)
    dask = cluster.scheduler_address
    # Workers import the simulator when they first need it: do it now, timed with the start.
    from distributed import Client
    with Client(cluster, set_as_default=False) as client:
        client.run(__import__, "sim.sweep.worker")
    cluster_s = time.perf_counter() - t
t = time.perf_counter()
output = run_sweep(file, workers=workers, dask=dask, out=out, overrides=overrides)
seconds = time.perf_counter() - t
if cluster is not None:
    cluster.close()
self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "cluster_start_s": cluster_s, "runs": output.runs,
                  "done": output.done, "failed": output.failed, "executor": output.executor,
                  "self_peak_mb": self_mb, "child_peak_mb": child_mb}))
"""


def run_case(
    runs: int,
    *,
    workers: int | str | None = None,
    dask_workers: int | None = None,
    overrides: tuple[str, ...] = (),
    work: Path,
) -> dict[str, Any]:
    name = f"bench_{runs}_{workers or 0}_{dask_workers or 0}_{len(overrides)}"
    file = work / f"{name}.toml"
    file.write_text(SWEEP.format(name=name, runs=runs, base=BASE_TOML.as_posix()))
    out = Path(tempfile.mkdtemp(prefix="out", dir=work))  # a fresh folder for every case
    cmd = [
        sys.executable, "-c", DRIVER, str(file), str(out),
        str(workers) if workers else "-", str(dask_workers) if dask_workers else "-",
        ";".join(overrides),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=work)
    if done.returncode != 0:
        raise SystemExit(f"benchmark case {name} failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["done"] != runs:
        raise SystemExit(f"benchmark case {name}: {result['failed']} runs failed")
    result["runs_per_s"] = runs / result["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sweeps (a smoke run)")
    parser.add_argument("--runs", type=int, help="replications of the timing cases (default 1000)")
    parser.add_argument(
        "--overhead-runs", type=int, help="runs of the overhead cases (default 2000)"
    )
    parser.add_argument(
        "--memory-runs", type=int, help="runs of the peak-memory case (default 10000)"
    )
    parser.add_argument(
        "--repeat", type=int, help="times each overhead case runs, the fastest kept (default 3)"
    )
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask cases")
    parser.add_argument("--out", type=Path, default=OUT / "sweep.json", help="JSON output file")
    args = parser.parse_args()
    runs = args.runs or (100 if args.quick else 1000)
    overhead_runs = args.overhead_runs or (200 if args.quick else 2000)
    memory_runs = args.memory_runs or (1000 if args.quick else 10000)
    repeat = args.repeat or (1 if args.quick else 3)
    try:
        metadata.version("distributed")
        dask = not args.no_dask
    except metadata.PackageNotFoundError:
        dask = False
    short = ("scenario.horizon_days=30",)

    cases: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as tmp:
        work = Path(tmp)
        cases["serial"] = run_case(runs, workers=1, work=work)
        cases["pool_1"] = run_case(runs, workers="pool1", work=work)
        cases["pool_2"] = run_case(runs, workers=2, work=work)
        if dask:
            cases["dask_1"] = run_case(runs, dask_workers=1, work=work)
            cases["dask_2"] = run_case(runs, dask_workers=2, work=work)

        # Overhead: the same short runs in one process, on a one-process pool and on a
        # one-worker cluster; the fastest of `repeat` each (timing noise is one-sided).
        def fastest(**kwargs: Any) -> dict[str, Any]:
            tries = [
                run_case(overhead_runs, overrides=short, work=work, **kwargs) for _ in range(repeat)
            ]
            return min(tries, key=lambda c: c["seconds"])

        cases["overhead_serial"] = fastest(workers=1)
        cases["overhead_pool_1"] = fastest(workers="pool1")
        if dask:
            cases["overhead_dask_1"] = fastest(dask_workers=1)
        cases["memory_small"] = run_case(memory_runs // 10, workers=2, overrides=short, work=work)
        cases["memory"] = run_case(memory_runs, workers=2, overrides=short, work=work)

    def overhead_ms(key: str) -> float:
        base = cases["overhead_serial"]["seconds"]
        return (cases[key]["seconds"] - base) / overhead_runs * 1e3

    report: dict[str, Any] = {
        "date_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "runs": runs,
        "overhead_runs": overhead_runs,
        "memory_runs": memory_runs,
        "cases": cases,
        "pool_overhead_ms_per_run": overhead_ms("overhead_pool_1"),
        "dask_overhead_ms_per_run": overhead_ms("overhead_dask_1") if dask else None,
    }
    print(f"sweep of base.toml, {runs} replications (one simulated year each), cold start")
    rows = [
        ("serial (--workers 1)", cases["serial"]),
        ("pool, 1 worker", cases["pool_1"]),
        ("pool, 2 workers", cases["pool_2"]),
    ]
    if dask:
        rows += [
            ("Dask LocalCluster, 1 worker", cases["dask_1"]),
            ("Dask LocalCluster, 2 workers", cases["dask_2"]),
        ]
    print(f"{'executor':<30} {'seconds':>8} {'runs/s':>8} {'ms/run':>7} {'cluster start s':>15}")
    print(f"{'':<30} {'':>8} {'':>8} {'':>7} {'(incl. imports)':>15}")
    for label, case in rows:
        print(
            f"{label:<30} {case['seconds']:>8.2f} {case['runs_per_s']:>8.1f} "
            f"{case['seconds'] / runs * 1e3:>7.2f} {case['cluster_start_s']:>15.2f}"
        )
    scale = 1000 / runs
    print(
        f"\n{runs} replications with 2 workers: {cases['pool_2']['seconds']:.2f} s "
        f"(≈ {cases['pool_2']['seconds'] * scale:.2f} s per 1,000; target < {TARGET_1000_2W_S} s)"
    )
    print(
        f"\noverhead per run against one process ({overhead_runs} runs of 30 days, fastest of "
        f"{repeat}; serial {cases['overhead_serial']['seconds']:.2f} s):"
    )
    print(
        f"  pool {report['pool_overhead_ms_per_run']:.3f} ms "
        f"({cases['overhead_pool_1']['seconds']:.2f} s; target < {TARGET_POOL_OVERHEAD_MS} ms)"
    )
    if dask:
        print(
            f"  Dask {report['dask_overhead_ms_per_run']:.3f} ms "
            f"({cases['overhead_dask_1']['seconds']:.2f} s, cluster start "
            f"{cases['overhead_dask_1']['cluster_start_s']:.2f} s not included; "
            f"target < {TARGET_DASK_OVERHEAD_MS} ms)"
        )
    print()
    for key in ("memory_small", "memory"):
        case = cases[key]
        print(
            f"peak memory, {case['runs']} runs of 30 days on 2 workers: main process "
            f"{case['self_peak_mb']:.0f} MB, largest worker {case['child_peak_mb']:.0f} MB, "
            f"{case['seconds']:.1f} s"
        )
    total = cases["memory"]["self_peak_mb"] + 2 * cases["memory"]["child_peak_mb"]
    report["memory_peak_mb_bound"] = total
    print(f"  all three processes at most {total:.0f} MB (target < {TARGET_PEAK_MB:.0f} MB)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
