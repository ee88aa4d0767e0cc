"""The public API: load a scenario, run it, get the result folder and tables back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from sim.recording import ReplicationResult
from sim.results import SUMMARY_KPIS, RunWriter, read_table
from sim.runner import DAILY_CHOICES, ScenarioResult, simulate, simulate_to_precision
from sim.scenario.loading import load_scenario
from sim.scenario.schema import Scenario
from sim.scenario.variants import with_values
from sim.statistics import KpiValues


@dataclass
class RunOutput:
    """Where a run wrote its files, and what it kept in memory: each KPI's value per
    replication (`kpis`) and the scenario as run (`result.scenario`, with its replication
    count; `result.replications` is empty). Every table went to the folder's CSVs as
    replications finished, so a run's memory does not grow with its replications; `summary`
    and `refineries` read their rows back on first use. (`simulate` keeps everything.)"""

    folder: Path
    result: ScenarioResult
    kpis: KpiValues

    @cached_property
    def summary(self) -> list[dict]:
        """One row per replication, as in summary.csv (read from it on first use)."""
        return read_table(self.folder / "summary.csv", "summary")

    @cached_property
    def refineries(self) -> list[dict]:
        """One row per replication and refinery, as in refineries.csv (read on first use)."""
        return read_table(self.folder / "refineries.csv", "refineries")


def _with_settings(scenario: Scenario, replications: int | None, seed: int | None) -> Scenario:
    """The scenario with `replications` and `seed` where given (validated again)."""
    settings = {"scenario.replications": replications, "scenario.seed": seed}
    return with_values(scenario, {k: v for k, v in settings.items() if v is not None})


def run(
    scenario: Scenario | str | Path,
    *,
    overrides: Iterable[str] = (),
    replications: int | None = None,
    seed: int | None = None,
    out: str | Path = "results",
    force: bool = False,
    daily: str = "first",
    target_ci: dict[str, float] | None = None,
    max_replications: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> RunOutput:
    """Run a scenario (a `Scenario` or a file path) and write its result folder under `out`.

    `daily` is "first" (per-day series of replication 0 only), "all" or "none".
    `target_ci` ({KPI: half-width}) adds replications (doubling, up to `max_replications`)
    until each KPI's 95 % confidence interval is that tight; the folder records the count.
    Raises ScenarioError for invalid input; ResultsExistError if the folder exists and
    `force` is false, another process is writing it, or `force` would replace a folder this
    program did not write (sim.folders); MassBalanceError if the engine's books do not close.
    Every table goes to the folder as replications finish (see `RunOutput`). `progress`, if
    given, is called with (replications done, replications planned) as each one finishes (to a
    target precision: planned is `max_replications`).
    """
    if daily not in DAILY_CHOICES:
        raise ValueError(f"daily must be one of {DAILY_CHOICES}, not {daily!r}")
    scenario_file = None
    if not isinstance(scenario, Scenario):
        scenario_file = str(scenario)
        scenario = load_scenario(scenario, overrides)
    scenario = _with_settings(scenario, replications, seed)
    started = dt.datetime.now(dt.UTC)
    if target_ci:
        unknown = sorted(set(target_ci) - set(SUMMARY_KPIS))
        if unknown:
            raise ValueError(
                f"--target-ci: unknown KPI {', '.join(unknown)}; one of {', '.join(SUMMARY_KPIS)}"
            )
    # The folder is claimed before the work (refused at once if it exists or another process
    # writes it), except to a target precision: its name holds the final replication count.
    with RunWriter(out, scenario, force=force, claim=not target_ci) as writer:
        on_result: Callable[[ReplicationResult], None] = writer
        if progress is not None:
            planned = max_replications if target_ci else scenario.scenario.replications
            done = 0

            def on_result(replication: ReplicationResult) -> None:
                nonlocal done
                writer(replication)
                done += 1
                progress(done, max(planned, done))

        if target_ci:
            result = simulate_to_precision(
                scenario, target_ci, max_replications, daily=daily, on_result=on_result, keep=False
            )
        else:
            result = simulate(scenario, daily=daily, on_result=on_result, keep=False)
        folder = writer.finish(
            result, started_utc=started, scenario_file=scenario_file, target_ci=target_ci
        )
    return RunOutput(folder, result, writer.kpis)
