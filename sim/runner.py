"""Running a scenario: its replications, each from its own seed sequence.

Results are kept in memory, unless the caller takes each replication's result as it finishes
(`on_result`) and asks for none to be kept (`keep=False`): sim.results writes every table to
disk then, and keeps only each KPI's value, so a run's memory does not grow with its
replications beyond 8 bytes per KPI and replication.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Generator
from dataclasses import dataclass

import numpy as np

from sim.array_path import CHUNK_REPLICATIONS, ArrayPath
from sim.array_refusals import unsupported
from sim.engine.allocator import Allocator
from sim.engine.simulation import ExecutableCache, Simulation
from sim.engine.topology import Topology, compile_topology
from sim.engines import engine_setting
from sim.kinds import Daily
from sim.randomness import replication_seed_sequence
from sim.recording import Recorder, ReplicationResult, check_mass_balance
from sim.scenario.schema import Scenario
from sim.scenario.variants import with_values
from sim.statistics import KpiValues

#: `daily` values: which replications record the per-day series (sim.kinds.Daily).
DAILY_CHOICES = tuple(d.value for d in Daily)

#: Called with each replication's result as it finishes, in replication order.
OnResult = Callable[[ReplicationResult], None]

#: Fewer replications than this at once run on the event path even with `--engine array`: the
#: array path's cost per step is paid once for all its replications, and below this the event
#: path is cheaper (measured on base: 1 replication 0.18 s against 0.02 s; 100: 0.24 s against
#: 1.1 s, bench/bench_array.py).
ARRAY_MIN_REPLICATIONS = 16

#: (scenario, reason) pairs already told: the fallback is said once per scenario.
_FALLBACKS_SAID: set[tuple[str, str]] = set()


@dataclass
class ScenarioResult:
    """Every replication's result, in replication order."""

    scenario: Scenario
    replications: list[ReplicationResult]
    plans_computed: int
    plans_reused: int
    plan_seconds: float

    def rows(self, table: str) -> list[dict]:
        """All replications' rows of one table (`summary`, `refineries`, `daily`, ...)."""
        out: list[dict] = []
        for rep in self.replications:
            value = getattr(rep, table)
            out.extend([value] if isinstance(value, dict) else value)
        return out


def run_replication(
    scenario: Scenario,
    topology: Topology,
    replication: int,
    seed_sequence: np.random.SeedSequence,
    *,
    record_daily: bool = False,
    allocator: Allocator | None = None,
    executables: ExecutableCache | None = None,
    fifo_log: dict[str, list] | None = None,
    extra: list[Callable[[Simulation], Generator]] | None = None,
    stepping: str | None = None,
) -> tuple[Simulation, ReplicationResult]:
    """Build one replication, record it, run it and check its books (MassBalanceError).
    `stepping`: "segments" or "daily" (None: $SIM_STEPPING, else segments)."""
    sim = Simulation(
        scenario,
        topology,
        replication,
        seed_sequence,
        allocator=allocator,
        fifo_log=fifo_log,
        executables=executables,
        stepping=stepping,
    )
    recorder = Recorder(scenario, topology, sim.network, replication, record_daily)
    sim.attach(recorder)
    sim.run(extra)
    result = recorder.result()
    check_mass_balance(result)
    return sim, result


def _ignore(result: ReplicationResult) -> None:
    """What becomes of a result nobody takes or keeps."""


class Replicator:
    """Runs replications of one scenario, sharing the compiled network, the allocator's plan
    cache and the unpacked plans between them (and between batches)."""

    def __init__(
        self,
        scenario: Scenario,
        allocators: Callable[[Topology], Allocator] = Allocator,
        engine: str | None = None,
    ):
        self.scenario = scenario
        self.topology = compile_topology(scenario)
        #: `allocators` may hand out a plan cache shared with other networks of equal planning
        #: inputs (sim.engine.allocator.planning_inputs), as a sweep's worker does.
        self.allocator = allocators(self.topology)
        self.executables: ExecutableCache = {}
        self.engine = engine or engine_setting()
        self._array: ArrayPath | None = None
        if self.engine == "array":
            self._array = self._array_path()

    def _array_path(self) -> ArrayPath | None:
        """The array path for this scenario, or None (said once) when it cannot run it."""
        reasons = unsupported(self.scenario, self.topology)
        if not reasons:
            return ArrayPath(self.scenario, self.topology, self.allocator)
        said = (self.scenario.scenario.name, "; ".join(reasons))
        if said not in _FALLBACKS_SAID:
            _FALLBACKS_SAID.add(said)
            print(
                f"note: the array path cannot run scenario {said[0]!r} ({said[1]}): "
                "its replications run on the event path",
                file=sys.stderr,
            )
        return None

    def run(
        self,
        replications: range,
        daily: str = "first",
        on_result: OnResult | None = None,
        keep: bool = True,
    ) -> list[ReplicationResult]:
        """The replications' results in order (none if not `keep`: `on_result` took them)."""
        results: list[ReplicationResult] = []
        pending: list[int] = []  # replications waiting for the array path, in order

        taken = on_result or _ignore
        kept = results.append if keep else _ignore

        def done(result: ReplicationResult) -> None:
            taken(result)
            kept(result)

        def flush() -> None:
            if self._array is not None and len(pending) >= ARRAY_MIN_REPLICATIONS:
                for result in self._array.run(pending):
                    done(result)
            else:  # too few to repay the array path's cost per step
                for p in pending:
                    done(self._event(p, record_daily=False))
            pending.clear()

        # Chunks of equal width: 2,500 replications step as 2 × 1,250, not 2,048 + 452 (a
        # narrow chunk costs more per replication: 452 wide ≈ 0.8 ms against 0.4).
        chunks = max(1, math.ceil(len(replications) / CHUNK_REPLICATIONS))
        width = math.ceil(len(replications) / chunks)
        for r in replications:
            record_daily = daily == "all" or (daily == "first" and r == 0)
            if self._array is not None and not record_daily:
                # The array path keeps no per-day series: those replications run as events.
                pending.append(r)
                if len(pending) >= width:
                    flush()
                continue
            if pending:
                flush()
            done(self._event(r, record_daily))
        if pending:
            flush()
        return results

    def _event(self, r: int, record_daily: bool) -> ReplicationResult:
        """Replication r on the event path."""
        _, result = run_replication(
            self.scenario,
            self.topology,
            r,
            replication_seed_sequence(self.scenario.scenario.seed, r),
            record_daily=record_daily,
            allocator=self.allocator,
            executables=self.executables,
        )
        return result

    def result(self, replications: list[ReplicationResult]) -> ScenarioResult:
        a = self.allocator
        return ScenarioResult(
            self.scenario, replications, a.plans_computed, a.plans_reused, a.solve_seconds
        )


def simulate(
    scenario: Scenario,
    daily: str = "first",
    on_result: OnResult | None = None,
    engine: str | None = None,
    keep: bool = True,
) -> ScenarioResult:
    """Run every replication of `scenario` (nothing is written here; `on_result` is called
    with each replication's result as it finishes). `engine`: `event` or `array` (default:
    `engine_setting()`). With `keep=False` the result holds no replications: `on_result` has
    taken each one (what `sim.run` does, so its memory stays flat)."""
    replicator = Replicator(scenario, engine=engine)
    return replicator.result(
        replicator.run(range(scenario.scenario.replications), daily, on_result, keep)
    )


def simulate_to_precision(
    scenario: Scenario,
    target_half_width: dict[str, float],
    max_replications: int,
    daily: str = "first",
    on_result: OnResult | None = None,
    keep: bool = True,
) -> ScenarioResult:
    """Add replications until every named KPI's 95 % CI half-width is at most its target (or
    `max_replications` is reached). Replication r is the same whichever batch runs it, so the
    result equals a plain run with the final count. The returned scenario carries that count.
    `keep=False`: as `simulate` (the stopping rule needs only the targeted KPIs' values)."""
    replicator = Replicator(scenario)
    values = KpiValues(target_half_width)

    def take(result: ReplicationResult) -> None:
        values.add(result.summary)
        if on_result is not None:
            on_result(result)

    n = max(2, scenario.scenario.replications)
    results = replicator.run(range(n), daily, take, keep)
    while n < max_replications and not precise_enough(values, target_half_width):
        more = min(n, max_replications - n)  # double each time
        results += replicator.run(range(n, n + more), daily, take, keep)
        n += more
    replicator.scenario = with_values(scenario, {"scenario.replications": n})
    return replicator.result(results)


def precise_enough(values: KpiValues, target: dict[str, float]) -> bool:
    """Whether every targeted KPI's 95 % CI half-width is at most its target."""
    return all(values.half_width(k) <= target[k] for k in target)
