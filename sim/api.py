"""The public API: load a scenario, run it, get the result folder and tables back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sim.results import ensure_free, run_folder, write_run
from sim.runner import DAILY_CHOICES, ScenarioResult, simulate
from sim.scenario.loading import load_scenario
from sim.scenario.schema import Scenario


@dataclass
class RunOutput:
    """Where a run wrote its files, and its results in memory."""

    folder: Path
    result: ScenarioResult

    @property
    def summary(self) -> list[dict]:
        """One row per replication, as in summary.csv."""
        return self.result.rows("summary")

    @property
    def refineries(self) -> list[dict]:
        """One row per replication and refinery, as in refineries.csv."""
        return self.result.rows("refineries")


def _with_settings(scenario: Scenario, replications: int | None, seed: int | None) -> Scenario:
    updates = {}
    if replications is not None:
        updates["replications"] = replications
    if seed is not None:
        updates["seed"] = seed
    if not updates:
        return scenario
    data = scenario.model_dump()
    data["scenario"].update(updates)
    return Scenario.model_validate(data)


def run(
    scenario: Scenario | str | Path,
    *,
    overrides: Iterable[str] = (),
    replications: int | None = None,
    seed: int | None = None,
    out: str | Path = "results",
    force: bool = False,
    daily: str = "first",
) -> RunOutput:
    """Run a scenario (a `Scenario` or a file path) and write its result folder under `out`.

    `daily` is "first" (per-day series of replication 0 only), "all" or "none".
    Raises ScenarioError for invalid input, ResultsExistError if the folder exists and
    `force` is false, MassBalanceError if the engine's books do not close.
    """
    if daily not in DAILY_CHOICES:
        raise ValueError(f"daily must be one of {DAILY_CHOICES}, not {daily!r}")
    scenario_file = None
    if not isinstance(scenario, Scenario):
        scenario_file = str(scenario)
        scenario = load_scenario(scenario, overrides)
    scenario = _with_settings(scenario, replications, seed)
    ensure_free(run_folder(out, scenario), force)  # fail before the work, not after
    started = dt.datetime.now(dt.UTC)
    result = simulate(scenario, daily=daily)
    folder = write_run(result, out, force=force, started_utc=started, scenario_file=scenario_file)
    return RunOutput(folder, result)
