"""Replication-years per second per core, and peak memory, of `simulate()` on a scenario.

Complements bench_engine.py (which times the engine alone, warm, per replication): this times
what a user's `simulate(scenario, daily="none")` costs end to end — building each replication,
running it, its result rows, the mass-balance check — for 1, 100 and 1,000 replications, each
case in a fresh process (so the 1-replication case is cold: plans, N−1, imports' first use).

    PYTHONPATH=<tree> python bench/bench_throughput.py scenarios/base.toml [--reps 1 100 1000]

`--tree PATH` measures another checkout (its `sim` first on the path; the scenario path is read
relative to the current directory, so an older tree can run today's or its own scenario).

Per case: CPU seconds (`time.process_time`, so other work on the machine's cores does not
count), replication-years per CPU second (= per second on one core), and peak memory: the
process's peak resident set (`ru_maxrss`, imports included) and the peak of Python allocations
during the call (`tracemalloc`, in a second run of the same case, since tracing slows it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

_CHILD = r"""
import json, resource, sys, time, tracemalloc
from sim.scenario.loading import load_scenario
from sim.runner import simulate
path, reps, trace = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
scenario = load_scenario(path, [f"scenario.replications={reps}"])
years = scenario.scenario.horizon_days / 365.0
if trace:
    tracemalloc.start()
started = time.process_time()
simulate(scenario, daily="none")
cpu = time.process_time() - started
out = {"cpu_s": cpu, "rep_years": reps * years}
if trace:
    out["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def _child(tree: str, scenario: str, reps: int, trace: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=tree)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, scenario, str(reps), "1" if trace else "0"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("--reps", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--tree", default=os.getcwd(), help="checkout whose sim/ is measured")
    parser.add_argument("--no-trace", action="store_true", help="skip the tracemalloc runs")
    args = parser.parse_args()
    tree = os.path.abspath(args.tree)
    print("reps  cpu_s  ms/rep-year  rep-years/s/core  maxrss_MB  traced_peak_MB")
    for reps in args.reps:
        plain = _child(tree, args.scenario, reps, False)
        traced = {} if args.no_trace else _child(tree, args.scenario, reps, True)
        per = plain["cpu_s"] / plain["rep_years"]
        print(
            f"{reps:>4}  {plain['cpu_s']:6.2f}  {per * 1000:11.2f}  {1 / per:16.1f}  "
            f"{plain['maxrss_mb']:9.0f}  {traced.get('traced_peak_mb', float('nan')):14.1f}"
        )


if __name__ == "__main__":
    main()
