"""Writing a run's result folder: exactly what ran, a manifest, and tidy CSVs.

Besides scenario loading, only this module and sim.folders (which every result folder goes
through) touch the filesystem. A run's folder is claimed before the run, so a second writer is
refused at once; it is written into a hidden temporary beside the final one — the long tables
a replication at a time, as replications finish, so memory does not grow with their number —
and put in place whole at the end. A folder under `results/` is therefore complete or absent;
an existing one is replaced only when asked (`force`), only if this program wrote it, and only
once the new one is complete (docs/reliability.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from sim import registry
from sim.folders import Staging, create
from sim.manifest import base_manifest, manifest_json
from sim.recording import ReplicationResult
from sim.registry import SUMMARY_KPIS
from sim.runner import ScenarioResult
from sim.scenario.schema import Scenario
from sim.scenario.variants import resolved_json, scenario_sha256
from sim.statistics import describe

#: Columns of every table of a run's folder, in order (declared in sim.registry).
TABLES: dict[str, tuple[str, ...]] = {t.name: t.header for t in registry.RUN_TABLES}
STATS_COLUMNS = registry.SUMMARY_STATS.header
#: Tables with many rows per replication (per day, link, event, cargo...): written as each
#: replication finishes, then dropped from memory. summary and refineries stay in memory.
STREAMED: tuple[str, ...] = tuple(t for t in TABLES if t not in ("summary", "refineries"))


def summary_stats(result: ScenarioResult) -> list[dict[str, Any]]:
    """One row per KPI: its distribution over the replications (summary_stats.csv)."""
    rows = result.rows("summary")
    return [{"kpi": kpi, **describe(r[kpi] for r in rows)} for kpi in SUMMARY_KPIS]


def run_folder(out: str | Path, scenario: Scenario) -> Path:
    """`<out>/<scenario name>/seed<seed>-<first 10 hex of the scenario hash>`."""
    sha = scenario_sha256(scenario)
    return Path(out) / scenario.scenario.name / f"seed{scenario.scenario.seed}-{sha[:10]}"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        value = round(value, 6)
        return repr(value + 0.0)  # + 0.0 turns -0.0 into 0.0
    return str(value)


class CsvWriter:
    """A CSV file being written: a header, then rows as they come, flushed to disk on close.
    The file is created new, never through a symbolic link."""

    def __init__(self, path: Path, columns: Sequence[str]):
        self.columns = tuple(columns)
        self.rows = 0
        self._fh: IO[str] = open(path, "w", newline="", encoding="utf-8", opener=create)  # noqa: SIM115
        self._writer = csv.writer(self._fh, lineterminator="\n")
        self._writer.writerow(self.columns)

    def write(self, rows: Iterable[dict[str, Any]]) -> int:
        count = 0
        for row in rows:
            self._writer.writerow([_cell(row[c]) for c in self.columns])
            count += 1
        self.rows += count
        return count

    def close(self) -> None:
        if self._fh.closed:
            return
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
        finally:
            self._fh.close()


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> int:
    """Write a whole CSV file (created new, flushed to disk); returns its number of rows."""
    writer = CsvWriter(path, columns)
    try:
        return writer.write(rows)
    finally:
        writer.close()


def write_text(path: Path, text: str) -> None:
    """Write a whole text file (created new, never through a symbolic link, flushed to disk)."""
    with open(path, "w", encoding="utf-8", opener=create) as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


class RunWriter:
    """A run's result folder being written (a context manager; see the module's notes).

    On entering, the folder is claimed (unless `claim` is false: a run to a target precision
    learns its folder's name, which holds the replication count, only at the end) and a
    temporary made beside it. Called with each replication's result as it finishes (the
    runner's `on_result`), it appends the long tables' rows and drops them from the result.
    `finish` writes the rest and puts the folder in place. However the block ends otherwise,
    the temporary is removed and the claim released.
    """

    def __init__(self, out: str | Path, scenario: Scenario, *, force: bool = False, claim=True):
        self.out = Path(out)
        self.scenario = scenario
        self.claim = claim
        self.staging = Staging(out, "run", force=force)
        self.tables: dict[str, CsvWriter] = {}

    def __enter__(self) -> RunWriter:
        folder = run_folder(self.out, self.scenario)
        try:
            if self.claim:
                self.staging.claim(folder)
            tmp = self.staging.temporary(folder)
            for table in STREAMED:
                self.tables[table] = CsvWriter(tmp / f"{table}.csv", TABLES[table])
        except BaseException:
            self._close()
            raise
        return self

    def __call__(self, replication: ReplicationResult) -> None:
        """Append a finished replication's long tables, and drop them from its result."""
        for table, writer in self.tables.items():
            writer.write(getattr(replication, table))
            setattr(replication, table, [])

    def finish(
        self,
        result: ScenarioResult,
        *,
        started_utc: dt.datetime,
        scenario_file: str | None = None,
        target_ci: dict[str, float] | None = None,
    ) -> Path:
        """Write the rest of the folder and put it in place; return its path. Rows still in
        `result` (not streamed) are written too; `result` is not changed."""
        scenario = result.scenario
        tmp = self.staging.tmp
        assert tmp is not None
        counts = {}
        for table, columns in TABLES.items():
            if table in self.tables:
                writer = self.tables[table]
                writer.write(result.rows(table))
                writer.close()
                counts[table] = writer.rows
            else:
                counts[table] = write_csv(tmp / f"{table}.csv", columns, result.rows(table))
        counts["summary_stats"] = write_csv(
            tmp / "summary_stats.csv", STATS_COLUMNS, summary_stats(result)
        )
        write_text(tmp / "scenario.resolved.json", resolved_json(scenario))
        engine_seconds = sum(r.counters["engine_seconds"] for r in result.replications)
        manifest = {
            **base_manifest("run", seed=scenario.scenario.seed, started_utc=started_utc),
            "scenario_name": scenario.scenario.name,
            "scenario_file": scenario_file,
            "scenario_sha256": scenario_sha256(scenario),
            "replications": scenario.scenario.replications,
            "engine_seconds": round(engine_seconds, 4),
            "plans_computed": result.plans_computed,
            "plans_reused": result.plans_reused,
            "target_ci_half_width": target_ci or {},
            "rows": counts,
        }
        write_text(tmp / "manifest.json", manifest_json(manifest))
        return self.staging.commit(run_folder(self.out, scenario))

    def _close(self) -> None:
        try:
            for writer in self.tables.values():
                writer.close()
        finally:
            self.staging.__exit__(None, None, None)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._close()


def write_run(
    result: ScenarioResult,
    out: str | Path,
    *,
    force: bool = False,
    started_utc: dt.datetime,
    scenario_file: str | None = None,
    target_ci: dict[str, float] | None = None,
) -> Path:
    """Write the result folder of a run held in memory, and return its path."""
    with RunWriter(out, result.scenario, force=force) as writer:
        return writer.finish(
            result, started_utc=started_utc, scenario_file=scenario_file, target_ci=target_ci
        )
