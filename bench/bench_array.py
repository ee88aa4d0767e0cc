"""The array path against the event path and against a plain numpy daily step (issue 12).

    PYTHONPATH=<tree> python bench/bench_array.py [scenarios/base.toml] [--reps 1 100 10000]

Each case runs in a fresh process. Per case: CPU seconds (`time.process_time`), wall seconds,
replication-years per CPU second (= per second on one core), the process's peak resident set
(`ru_maxrss`, imports included) and, in a second run, the peak of Python-traced allocations
(`tracemalloc`; numpy's arrays are traced too).

The cases:

- `event`: `simulate(scenario, daily="none")` on the event path (the reference);
- `array`: the same call with `SIM_ENGINE=array`: every table's rows, as a user gets them;
- `array-step`: the array path's stepping alone (sim.array_chunk `Chunk.run`, chunk by chunk,
  no rows built): the part that `plain` bounds;
- `plain`: the honest lower bound, written here: the same network and routes, every
  replication as an array axis, each contract's monthly nomination on its declared route, the
  refineries' run rule (planner, minimum run, stops, tank room) and the stocks: nothing
  recorded but the runs, no batches followed, no make-up, no allocator, no prices.

`--quick` runs 1 and 100 replications only (a smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

_CHILD = r"""
import json, os, resource, sys, time, tracemalloc
case, path, reps, trace = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
sys.path.insert(0, os.path.dirname(sys.argv[5]))
from bench_array import plain_step_runs, array_steps
from sim.scenario.loading import load_scenario
from sim.runner import simulate
scenario = load_scenario(path, [f"scenario.replications={reps}"])
years = scenario.scenario.horizon_days / 365.0
if trace:
    tracemalloc.start()
started, wall = time.process_time(), time.perf_counter()
if case in ("event", "array"):
    os.environ["SIM_ENGINE"] = case
    simulate(scenario, daily="none")
elif case == "array-step":
    array_steps(scenario, reps)
else:
    plain_step_runs(scenario, reps)
out = {"cpu_s": time.process_time() - started, "wall_s": time.perf_counter() - wall,
       "rep_years": reps * years}
if trace:
    out["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def array_steps(scenario, replications: int) -> None:
    """The array path's stepping of `replications`, chunk by chunk, no rows built."""
    from sim import array_path
    from sim.array_chunk import Chunk
    from sim.engine.allocator import Allocator
    from sim.engine.topology import compile_topology

    topology = compile_topology(scenario)
    path = array_path.ArrayPath(scenario, topology, Allocator(topology))
    size = array_path.CHUNK_REPLICATIONS
    for start in range(0, replications, size):
        Chunk(path, list(range(start, min(replications, start + size)))).run()


def plain_step_runs(scenario, replications: int):
    """Runs of every refinery over the horizon, t: a plain numpy daily step (see above)."""
    import math

    import numpy as np

    from sim.engine.topology import compile_topology
    from sim.units import days_in_month, first_of_next_month

    topo = compile_topology(scenario)
    names = list(topo.refineries)
    specs = [topo.refineries[n] for n in names]
    n, m = replications, len(specs)
    routes = [(c, c.routes[0]) for c in topo.contracts if c.routes]
    to_ref = np.array([names.index(c.destination) for c, _ in routes])
    target = np.array([s.target_run_t_per_day for s in specs])
    capacity_t = np.array([s.tank_capacity_t for s in specs])
    min_stock = np.array([s.min_operating_stock_t for s in specs])
    floor = np.array(
        [max(s.min_operating_stock_t, s.cover_target_days * s.target_run_t_per_day) for s in specs]
    )
    lookahead = np.array([max(s.lookahead_days, 1.0) for s in specs])
    minimum = np.array([s.min_technical_rate_t_per_day for s in specs])
    stock = np.tile(np.array([s.initial_stock_t for s in specs], dtype=float), (n, 1))
    online = np.ones((n, m), dtype=bool)
    down_until = np.zeros((n, m))
    runs = np.zeros((n, m))
    link_up = np.ones((n, len(topo.links)))  # outages would switch these (none in base)
    start = scenario.scenario.start_date
    month = start.replace(day=1)
    next_turn = (first_of_next_month(month) - start).days
    rates = np.zeros(len(routes))
    for k in range(round(scenario.scenario.horizon_days)):
        if k == next_turn or k == 0:
            if k:
                month = first_of_next_month(month)
                next_turn = (first_of_next_month(month) - start).days
            rates = np.array([c.volume_t_per_month / days_in_month(month) for c, _ in routes])
        up = np.ones((n, len(routes)))
        for i, (_, links) in enumerate(routes):
            for link in links:
                up[:, i] *= link_up[:, link]
        volumes = rates * up
        expected = np.zeros((n, m))
        np.add.at(expected.T, to_ref, volumes.T)
        planned = np.minimum(
            target, np.maximum(expected + np.maximum(stock - floor, 0.0) / lookahead, minimum)
        )
        above = np.maximum(stock - min_stock, 0.0)
        room = np.maximum(capacity_t - stock, 0.0) + np.minimum(planned, expected + above)
        inflow = np.minimum(expected, room)
        run = np.minimum(planned, inflow + above)
        stop = online & (run < minimum)
        down_until = np.where(stop, k + 3.0, down_until)
        online = (online & ~stop) | (~online & (k >= down_until) & (run >= minimum))
        run = np.where(online, run, 0.0)
        stock = stock + inflow - run
        runs += run
    assert math.isfinite(float(runs.sum()))
    return runs


def _child(case: str, scenario: str, reps: int, trace: bool) -> dict:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            case,
            scenario,
            str(reps),
            "1" if trace else "0",
            os.path.abspath(__file__),
        ],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="scenarios/base.toml")
    parser.add_argument("--reps", type=int, nargs="+", default=[1, 100, 10000])
    parser.add_argument("--cases", nargs="+", default=["event", "array", "array-step", "plain"])
    parser.add_argument("--no-trace", action="store_true", help="skip the tracemalloc runs")
    parser.add_argument("--quick", action="store_true", help="1 and 100 replications only")
    args = parser.parse_args()
    reps = [1, 100] if args.quick else args.reps
    print(
        f"{'case':<11} {'reps':>6} {'CPU s':>8} {'wall s':>7} {'rep-yr/s/core':>14} "
        f"{'maxrss MB':>10} {'traced MB':>10}"
    )
    for n in reps:
        for case in args.cases:
            out = _child(case, args.scenario, n, trace=False)
            traced = float("nan")
            if not args.no_trace:
                traced = _child(case, args.scenario, n, trace=True)["traced_peak_mb"]
            rate = out["rep_years"] / out["cpu_s"] if out["cpu_s"] > 0 else float("inf")
            print(
                f"{case:<11} {n:>6} {out['cpu_s']:>8.2f} {out['wall_s']:>7.2f} {rate:>14.0f} "
                f"{out['maxrss_mb']:>10.0f} {traced:>10.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
