"""What runs on a worker: a chunk of runs in, one complete runs.csv line per run out.

Each run is one replication of its own scenario with no per-day series. Runs whose scenarios
differ only in their seed share the compiled network, the allocator's plan cache and the
unpacked plans (`sim.runner.Replicator`, as the replications of one scenario do): plans depend
on the network and its conditions, never on the seed, so a run's result does not depend on
which runs went before it on the same worker. Runs whose networks plan alike (sampled prices,
voyage delays, valuation) share the plan cache too. A few such entries are kept, the oldest
dropped.
A run that raises becomes a `failed` row with its error; the chunk goes on.
"""

from __future__ import annotations

import csv
import io
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from sim.engine.allocator import Allocator, planning_inputs
from sim.engine.topology import Topology
from sim.results import SUMMARY_KPIS, _cell
from sim.runner import Replicator
from sim.sweep.expand import ResolvedRun, SweepContext, error_text, resolve

#: Columns of runs.csv before the levers, the sampled values and the KPIs.
RUN_COLUMNS = ("run_key", "point", "replication", "seed", "status", "error")
#: Compiled scenarios kept per worker process.
CACHE_SIZE = 4

_local = threading.local()  # one cache per thread: Dask may run several in one process


def runs_columns(lever_keys: Sequence[str], uncertainty_keys: Sequence[str]) -> tuple[str, ...]:
    """Columns of runs.csv, in order."""
    return (*RUN_COLUMNS, *lever_keys, *uncertainty_keys, *SUMMARY_KPIS)


def _lru(name: str) -> OrderedDict:
    if not hasattr(_local, name):
        setattr(_local, name, OrderedDict())
    return getattr(_local, name)


def _shared_allocator(topology: Topology) -> Allocator:
    """The plan cache of an earlier run on this worker whose network plans alike (its
    planning inputs are equal: only prices, delays or valuation differ), else a new one. A plan
    depends on its request and those inputs only, so sharing changes no result."""
    cache: OrderedDict[tuple, Allocator] = _lru("allocators")
    key = planning_inputs(topology)
    allocator = cache.get(key)
    if allocator is None:
        allocator = cache[key] = Allocator(topology)
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    return allocator


def _replicator(context: SweepContext, run: ResolvedRun) -> Replicator:
    assert run.scenario is not None
    key = (context.definition, repr(run.lever_values), repr(run.sampled))
    cache: OrderedDict[tuple, Replicator] = _lru("replicators")
    replicator = cache.get(key)
    if replicator is None:
        replicator = Replicator(run.scenario, _shared_allocator)
        cache[key] = replicator
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    replicator.scenario = run.scenario  # same network and conditions; this run's seed
    return replicator


def execute(context: SweepContext, run: ResolvedRun) -> dict[str, Any]:
    """Run one resolved run: its summary KPIs, or raise."""
    if run.scenario is None:
        raise ValueError(run.error)
    (result,) = _replicator(context, run).run(range(1), daily="none")
    return result.summary


def format_line(cells: Sequence[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([_cell(c) for c in cells])
    return buffer.getvalue()


def run_one(context: SweepContext, point: int, replication: int, lever_values: Sequence[Any]):
    """`(point, replication, ok, line)` of one run; never raises for the run's own failure."""
    run = resolve(context, point, replication, lever_values)
    status, error = "ok", run.error
    summary: dict[str, Any] = {}
    if run.scenario is None:
        status = "failed"
    else:
        try:
            summary = execute(context, run)
        except Exception as exc:  # a run that raises is recorded, and the sweep goes on
            status, error = "failed", error_text(exc)
    nan = math.nan
    kpis = [summary.get(k, nan) if status == "ok" else nan for k in SUMMARY_KPIS]
    cells = [
        run.key,
        point,
        replication,
        run.seed,
        status,
        error,
        *run.lever_values,
        *run.sampled,
        *kpis,
    ]
    return point, replication, status == "ok", format_line(cells)


def run_chunk(context: SweepContext, chunk: Sequence[tuple[int, int, tuple]]) -> list[tuple]:
    """Run every `(point, replication, lever values)` of the chunk, in order."""
    return [run_one(context, point, rep, values) for point, rep, values in chunk]
