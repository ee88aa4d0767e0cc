"""Running a scenario: its replications, each from its own seed sequence."""

from __future__ import annotations

from dataclasses import dataclass

from sim.engine.allocator import Allocator
from sim.engine.simulation import Simulation
from sim.engine.topology import compile_topology
from sim.randomness import replication_seed_sequence
from sim.recording import ReplicationResult
from sim.scenario.schema import Scenario

DAILY_CHOICES = ("first", "all", "none")


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


def simulate(scenario: Scenario, daily: str = "first") -> ScenarioResult:
    """Run every replication of `scenario` in memory (nothing is written)."""
    topology = compile_topology(scenario)
    allocator = Allocator(topology)
    executables: dict = {}  # unpacked plans, shared like the allocator's plan cache
    results = []
    for r in range(scenario.scenario.replications):
        record_daily = daily == "all" or (daily == "first" and r == 0)
        sim = Simulation(
            scenario,
            topology,
            r,
            replication_seed_sequence(scenario.scenario.seed, r),
            record_daily=record_daily,
            allocator=allocator,
            executables=executables,
        )
        results.append(sim.run())
    return ScenarioResult(
        scenario, results, allocator.plans_computed, allocator.plans_reused, allocator.solve_seconds
    )
