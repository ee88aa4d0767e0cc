"""Memory of `python -m sim run scenarios/base.toml --daily none`, by replications and path.

    PYTHONPATH=<tree> python bench/bench_run_memory.py --reps 100,10000 --engines array,event

Per cell, two fresh processes: peak resident set (bench_table.cli_memory: `ru_maxrss` of the
run, imports included, ≈ 66 MB of it) and, separately, the peak of traced Python allocations
(`tracemalloc` started before `sim.cli.main`, so the lazily imported modules count; numpy's
arrays included). Tracing slows the event path several times over: 10,000 replications take
≈ 15 min CPU. Prints one JSON line per cell.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_table import base_run_figure, cli_memory  # noqa: E402

_TRACED = r"""
import sys, tempfile, tracemalloc
from sim.cli import main
with tempfile.TemporaryDirectory() as out:
    tracemalloc.start()
    argv = ["run", sys.argv[1], "--replications", sys.argv[2], "--daily", "none", "--out", out,
            "--quiet"]
    assert main(argv) == 0
    print(tracemalloc.get_traced_memory()[1] / 2**20)
"""


def traced_peak_mb(reps: int, engine: str) -> float:
    return base_run_figure(_TRACED, reps, engine)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", default="100,10000", help="comma-separated replications")
    parser.add_argument("--engines", default="array,event", help="comma-separated paths")
    args = parser.parse_args(argv)
    for engine in args.engines.split(","):
        for reps in (int(n) for n in args.reps.split(",")):
            cell = {
                "engine": engine,
                "replications": reps,
                "maxrss_mb": round(cli_memory(reps, engine), 1),
                "traced_peak_mb": round(traced_peak_mb(reps, engine), 2),
            }
            print(json.dumps(cell), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
