"""The issue-12 benchmark table, in one run: engine vs common-style SimPy vs plain numpy.

    PYTHONPATH=<tree> python bench/bench_table.py            # the full table (≈ 10 min)
    PYTHONPATH=<tree> python bench/bench_table.py --quick    # smoke run (seconds)

Rows: case × replications. Cases: `base` (scenarios/base.toml), `risk_regime` (the status quo
under the shipped risk regime, scenarios/risk_regime.toml: random outages drawn per
replication) and `synthetic_200` (bench/synthetic.py's 200-node network). Replications 1, 100
and 10,000 (`--reps`).

Every measurement is a fresh process (imports and plan cache cold, as a user's run starts);
CPU seconds by `time.process_time` (so the other core's work does not count), peak resident
set by `ru_maxrss` (imports included) and, in a second, separate run, the peak of traced Python
allocations (`tracemalloc`, numpy's arrays included; tracing slows a run, so it is never timed).
Columns:

- event path: `Replicator(...).run(range(n), daily="none")` with `engine="event"` (what
  `simulate(scenario, daily="none")` does);
- array path: the same with `engine="array"` (below 16 replications the runner runs them on the
  event path, and the cell says so); refused scenarios say why (sim.array_refusals.unsupported);
- common style: bench_engine's `run_common_style` (a `simpy.Container` per node, a process per
  pipeline doing get/put each day, a process per refinery) on the same network, moving the
  volumes the engine's allocator plans for each day; its per-day plans are computed before the
  clock starts. It is one replication at a time with no shared state, so its cost is linear
  in the replications: it is timed at 1 and at `--common-reps` (100) and larger counts are
  extrapolated from the latter, as the cell says;
- plain numpy step: bench_array's `plain_step_runs`, every replication an array axis;
- ratios: common style / event path and common style / array path (CPU per rep-year, same
  network), array path / plain numpy step.

Runs too long to measure (`--max-event-cpu-s`, estimated from the 100-replication run) are
extrapolated linearly from the largest measured count, and the cell says so. "10,000 base
replication-years on 2 cores" is the wall time of two concurrent fresh processes on the array
path, replications 0–4,999 and 5,000–9,999 (imports included), started together. Memory in
replications, as a user meets it: the peak RSS of `python -m sim run scenarios/base.toml
--daily none` (array path) at 100 and 10,000 replications (`--memory-reps`).

Writes bench/out/table.json (`--quick`: table_quick.json; git-ignored) and prints the table as
Markdown.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
CASES = ("base", "risk_regime", "synthetic_200")

_CHILD = r"""
import json, os, resource, sys, time, tracemalloc
sys.path.insert(0, sys.argv[6])
from bench_table import load_case
mode, case, reps, start, trace = (sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
                                  sys.argv[5] == "1")
scenario = load_case(case, reps)
years = scenario.scenario.horizon_days / 365.0
extra = {}
if mode == "common":
    from bench_engine import reference_network, run_common_style
    from sim.engine.topology import compile_topology
    net = reference_network(scenario, compile_topology(scenario))  # its plans: not timed
if trace:
    tracemalloc.start()
cpu, wall = time.process_time(), time.perf_counter()
if mode in ("event", "array"):
    from sim.runner import Replicator
    replicator = Replicator(scenario, engine=mode)
    results = replicator.run(range(start, start + reps), daily="none")
    if mode == "array":
        extra["array_ran"] = replicator._array is not None and reps >= 16
    extra["link_tonnes_rep0_t"] = sum(row["tonnes_t"] for row in results[0].flows)
elif mode == "plain":
    from bench_array import plain_step_runs
    plain_step_runs(scenario, reps)
else:
    moved = [run_common_style(net)[2] for _ in range(reps)]
    extra["link_tonnes_rep0_t"] = moved[0]
out = {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall,
       "rep_years": reps * years, **extra}
if trace:
    out["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def load_case(name: str, replications: int):
    """The scenario of a case, with `replications` replications of one year."""
    sys.path.insert(0, str(HERE))
    from bench_engine import base_case, synthetic_case

    from sim.scenario.loading import load_scenario

    if name == "base":
        return base_case(replications).scenario
    if name == "risk_regime":
        return load_scenario(
            ROOT / "scenarios" / "risk_regime.toml",
            [f"scenario.replications={replications}", "scenario.horizon_days=365"],
        )
    if name == "synthetic_200":
        return synthetic_case(200, replications).scenario
    raise ValueError(f"no case {name!r} (cases: {', '.join(CASES)})")


def _start(mode: str, case: str, reps: int, start: int = 0, trace: bool = False):
    args = [sys.executable, "-c", _CHILD, mode, case, str(reps), str(start), "1" if trace else "0"]
    return subprocess.Popen(
        [*args, str(HERE)], env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _finish(proc) -> dict[str, Any]:
    out, err = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"benchmark child failed:\n{err.decode()}")
    return json.loads(out.decode().strip().splitlines()[-1])


def child(mode: str, case: str, reps: int, trace: bool = False) -> dict[str, Any]:
    return _finish(_start(mode, case, reps, trace=trace))


def refusal(case: str) -> str | None:
    """Why the array path refuses a case (None: it runs it)."""
    from sim.array_refusals import unsupported
    from sim.engine.topology import compile_topology

    scenario = load_case(case, 1)
    reasons = unsupported(scenario, compile_topology(scenario))
    if not reasons:
        return None
    more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
    return reasons[0] + more


def extrapolate(basis: dict, reps: int) -> dict[str, Any]:
    """A cell estimated linearly from a measured one of fewer replications."""
    scale = reps / basis["reps"]
    return {
        "reps": reps,
        "cpu_s": basis["cpu_s"] * scale,
        "rep_years": basis["rep_years"] * scale,
        "extrapolated_from": basis["reps"],
    }


def measure(mode: str, case: str, reps: int, args, basis: dict | None) -> dict[str, Any]:
    """One cell: measured, or extrapolated from `basis` (a smaller measured count) when its
    estimated CPU time exceeds `--max-cpu-s`."""
    if basis is not None and basis["cpu_s"] / basis["reps"] * reps > args.max_cpu_s:
        return extrapolate(basis, reps)
    print(f"  {mode} {case} {reps} ...", file=sys.stderr, flush=True)
    out = child(mode, case, reps)
    out["reps"] = reps
    if mode != "common" and reps <= args.trace_max_reps:
        out["traced_peak_mb"] = child(mode, case, reps, trace=True)["traced_peak_mb"]
    return out


def two_cores(case: str, reps: int) -> dict[str, Any]:
    """`reps` replications on the array path as two concurrent processes of half each."""
    half = reps // 2
    started = time.perf_counter()
    procs = [_start("array", case, half, 0), _start("array", case, reps - half, half)]
    parts = [_finish(p) for p in procs]
    return {
        "reps": reps,
        "wall_s": time.perf_counter() - started,
        "cpu_s_each": [p["cpu_s"] for p in parts],
        "maxrss_mb_each": [p["maxrss_mb"] for p in parts],
        "how": f"2 fresh processes started together, engine=array, replications 0-{half - 1} "
        f"and {half}-{reps - 1}; wall time from start to both done, imports included",
    }


_CLI = r"""
import resource, subprocess, sys, tempfile
with tempfile.TemporaryDirectory() as out:
    subprocess.run([sys.executable, "-m", "sim", "run", sys.argv[1], "--replications", sys.argv[2],
                    "--daily", "none", "--out", out, "--quiet"], check=True, capture_output=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""


def cli_memory(reps: int, engine: str = "array") -> float:
    """Peak RSS, MB, of `python -m sim run scenarios/base.toml --daily none` with `reps`
    replications: the user's path, which streams the long tables to disk as replications finish.
    Measured through a go-between process, whose RUSAGE_CHILDREN holds that run's peak alone."""
    return base_run_figure(_CLI, reps, engine)


def base_run_figure(script: str, reps: int, engine: str) -> float:
    """The number a fresh process running `script` (argv: scenarios/base.toml, `reps`) prints
    last, on the path `engine`."""
    done = subprocess.run(
        [sys.executable, "-c", script, str(ROOT / "scenarios" / "base.toml"), str(reps)],
        env={**os.environ, "SIM_ENGINE": engine},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def run_table(args) -> dict[str, Any]:
    rows = []
    for case in args.cases:
        refused = refusal(case)
        cells: dict[str, dict] = {"event": {}, "array": {}, "plain": {}, "common": {}}
        for reps in args.reps:
            row: dict[str, Any] = {"case": case, "reps": reps}
            for mode in ("event", "array", "plain", "common"):
                if mode in ("array", "plain") and refused:
                    row[mode] = {"refused": refused}
                    continue
                measured = cells[mode]
                if mode == "common" and reps > args.common_reps:
                    # Linear in the replications (one at a time, nothing shared): extrapolate.
                    if args.common_reps not in measured:
                        measured[args.common_reps] = measure(
                            mode, case, args.common_reps, args, None
                        )
                    cell = extrapolate(measured[args.common_reps], reps)
                else:
                    basis = measured[max(measured)] if measured and reps > 100 else None
                    cell = measure(mode, case, reps, args, basis)
                if "extrapolated_from" not in cell:
                    cells[mode][reps] = cell
                row[mode] = cell
            rows.append(row)
    out: dict[str, Any] = {"rows": rows}
    if "base" in args.cases and not refusal("base"):
        print(f"  two cores, base, {args.two_core_reps} ...", file=sys.stderr, flush=True)
        out["two_cores"] = two_cores("base", args.two_core_reps)
        print("  sim run memory, base ...", file=sys.stderr, flush=True)
        out["sim_run_maxrss_mb"] = {n: cli_memory(n) for n in args.memory_reps}
    return out


# ------------------------------------------------------------------------------------- output
def _rate(cell: dict) -> float:
    return cell["rep_years"] / cell["cpu_s"] if cell["cpu_s"] > 0 else float("inf")


def _time(cell: dict) -> str:
    if "refused" in cell:
        return f"refused: {cell['refused']}"
    rate = _rate(cell)
    text = f"{cell['cpu_s']:,.2f} s, " + (f"{rate:,.0f}" if rate >= 10 else f"{rate:.2f}")
    if "extrapolated_from" in cell:
        return f"≈ {text} (extrapolated from {cell['extrapolated_from']:,})"
    if cell.get("array_ran") is False:
        text += " (ran on the event path: < 16 reps)"
    return text


def _mem(cell: dict) -> str:
    if "refused" in cell or "extrapolated_from" in cell:
        return "–"
    traced = cell.get("traced_peak_mb")
    return f"{cell['maxrss_mb']:.0f} / " + ("–" if traced is None else f"{traced:.1f}")


def _ratio(a: dict, b: dict) -> str:
    if "refused" in a or "refused" in b:
        return "–"
    mark = "≈ " if "extrapolated_from" in a or "extrapolated_from" in b else ""
    return f"{mark}{(a['cpu_s'] / a['rep_years']) / (b['cpu_s'] / b['rep_years']):.2f}"


def markdown(report: dict) -> str:
    lines = [
        "| case | reps | event path: CPU s, rep-yr/s/core | event: RSS / traced MB "
        "| array path: CPU s, rep-yr/s/core | array: RSS / traced MB "
        "| common-style SimPy: CPU s, rep-yr/s/core | plain numpy step: CPU s, rep-yr/s/core "
        "| engine speed-up vs common style: event | same: array | array ÷ plain (CPU) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        lines.append(
            f"| {r['case']} | {r['reps']:,} | {_time(r['event'])} | {_mem(r['event'])} "
            f"| {_time(r['array'])} | {_mem(r['array'])} | {_time(r['common'])} "
            f"| {_time(r['plain'])} | {_ratio(r['common'], r['event'])} "
            f"| {_ratio(r['common'], r['array'])} | {_ratio(r['array'], r['plain'])} |"
        )
    lines.append("")
    for r in report["rows"]:
        e, c = r["event"], r["common"]
        if r["reps"] == 1 and "link_tonnes_rep0_t" in c:
            lines.append(
                f"- {r['case']}: link tonnes moved in replication 0, common style / engine = "
                f"{c['link_tonnes_rep0_t'] / e['link_tonnes_rep0_t']:.4f}"
            )
    two = report.get("two_cores")
    if two:
        lines.append("")
        lines.append(
            f"{two['reps']:,} base replication-years on 2 cores: {two['wall_s']:.2f} s wall "
            f"({two['how']}; CPU {', '.join(f'{c:.2f}' for c in two['cpu_s_each'])} s)."
        )
    memory = report.get("sim_run_maxrss_mb")
    if memory:
        lines.append(
            "`python -m sim run scenarios/base.toml --daily none` (array path), peak RSS: "
            + ", ".join(f"{float(mb):.0f} MB at {int(n):,}" for n, mb in memory.items())
            + " replications."
        )
    return "\n".join(lines)


def revision() -> dict[str, Any]:
    import sim

    package = Path(sim.__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=package, capture_output=True, text=True)
        return done.stdout.strip()

    return {
        "sim_package": str(package),
        "commit": git("rev-parse", "HEAD"),
        "sim_modified": bool(git("status", "--porcelain", "--", "sim")),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: base, 1 and 20 reps")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--reps", type=int, nargs="+", default=[1, 100, 10000])
    parser.add_argument("--common-reps", type=int, default=100, help="largest common-style run")
    parser.add_argument(
        "--max-cpu-s",
        type=float,
        default=600.0,
        help="extrapolate a run past 100 reps whose estimated CPU exceeds this",
    )
    parser.add_argument(
        "--trace-max-reps", type=int, default=100, help="tracemalloc runs up to this many reps"
    )
    parser.add_argument("--two-core-reps", type=int, default=10000)
    parser.add_argument(
        "--memory-reps", type=int, nargs="+", default=[100, 10000], help="sim run memory runs"
    )
    parser.add_argument(
        "--out", type=Path, help="default bench/out/table.json (quick: table_quick.json)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.cases, args.reps, args.common_reps = ["base"], [1, 20], 20
        args.trace_max_reps, args.two_core_reps, args.memory_reps = 20, 40, [20]
    # A smoke run never overwrites the full table's figures.
    args.out = args.out or OUT / ("table_quick.json" if args.quick else "table.json")
    started = time.perf_counter()
    report = run_table(args)
    report.update(
        generated=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        command=" ".join(["python", "bench/bench_table.py", *(argv or sys.argv[1:])]),
        revision=revision(),
        nproc=os.cpu_count(),
        load_average=os.getloadavg(),
        wall_seconds=time.perf_counter() - started,
    )
    text = markdown(report)
    report["markdown"] = text
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out} in {report['wall_seconds']:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
