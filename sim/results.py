"""Writing a run's result folder: exactly what ran, a manifest, and tidy CSVs.

Besides scenario loading, only this module and sim.folders (which every result folder goes
through) touch the filesystem. A run's folder is claimed before the run, so a second writer is
refused at once; it is written into a hidden temporary beside the final one — every table's rows
a replication at a time, as replications finish, keeping only each KPI's value for
summary_stats.csv, so memory does not grow with their number — and put in place whole at the
end. A folder under `results/` is therefore complete or absent;
an existing one is replaced only when asked (`force`), only if this program wrote it, and only
once the new one is complete (docs/reliability.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from sim import registry
from sim.folders import Staging, create
from sim.manifest import add_replication, base_manifest, engine_replications, manifest_json
from sim.recording import ReplicationResult
from sim.registry import SUMMARY_KPIS
from sim.runner import ScenarioResult
from sim.scenario.schema import Scenario
from sim.scenario.variants import resolved_json, scenario_sha256
from sim.statistics import KpiValues

#: Columns of every table of a run's folder, in order (declared in sim.registry).
TABLES: dict[str, tuple[str, ...]] = {t.name: t.header for t in registry.RUN_TABLES}
_UNITS: dict[str, dict[str, str]] = {
    t.name: {c.name: c.unit for c in t.columns} for t in registry.RUN_TABLES
}
STATS_COLUMNS = registry.SUMMARY_STATS.header
#: Tables with many rows per replication (per day, link, event, cargo...): dropped from a
#: replication's result once written. (summary and refineries, a few KB, stay with it, for a
#: caller that keeps the results.)
DROPPED: tuple[str, ...] = tuple(t for t in TABLES if t not in ("summary", "refineries"))
#: A cell `CsvWriter` wrote from an int (a float is written with a point or an exponent).
_INTEGER = re.compile(r"-?[0-9]+")


def run_folder(out: str | Path, scenario: Scenario) -> Path:
    """`<out>/<scenario name>/seed<seed>-<first 10 hex of the scenario hash>`."""
    sha = scenario_sha256(scenario)
    return Path(out) / scenario.scenario.name / f"seed{scenario.scenario.seed}-{sha[:10]}"


def _number(cell: str) -> int | float:
    if _INTEGER.fullmatch(cell):
        return int(cell)
    return float(cell) if cell else math.nan


def read_table(path: Path, table: str) -> list[dict[str, Any]]:
    """The rows of one of a run's CSVs (`table`: its name in sim.registry) as `CsvWriter`
    wrote them: a column with a unit as numbers (an int where an int was written, a float
    otherwise, NaN for an empty cell); an id or text column (no unit) as ints if every cell is
    one, else as text. Floats come back as written: rounded to 6 decimals."""
    units = _UNITS[table]
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        columns: list[list[Any]] = [[] for _ in header]
        for line in reader:
            for column, cell in zip(columns, line, strict=True):
                column.append(cell)
    for i, name in enumerate(header):
        cells = columns[i]
        if units.get(name):
            columns[i] = [_number(c) for c in cells]
        elif all(_INTEGER.fullmatch(c) for c in cells):
            columns[i] = [int(c) for c in cells]
    return [dict(zip(header, row, strict=True)) for row in zip(*columns, strict=True)]


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
    runner's `on_result`), it appends every table's rows, drops the long tables from the
    result, and keeps the replication's KPIs (`kpis`) and engine seconds for the rest.
    `finish` writes the rest and puts the folder in place. However the block ends otherwise,
    the temporary is removed and the claim released.
    """

    def __init__(self, out: str | Path, scenario: Scenario, *, force: bool = False, claim=True):
        self.out = Path(out)
        self.scenario = scenario
        self.claim = claim
        self.staging = Staging(out, "run", force=force)
        self.tables: dict[str, CsvWriter] = {}
        #: Each KPI's value per replication taken, in order (summary_stats.csv; `sim.run`).
        self.kpis = KpiValues(SUMMARY_KPIS)
        self.engine_seconds = 0.0
        #: Replications each path ran (`sim.manifest.engine_replications`).
        self.paths = engine_replications(())
        self.taken = 0

    def __enter__(self) -> RunWriter:
        folder = run_folder(self.out, self.scenario)
        try:
            if self.claim:
                self.staging.claim(folder)
            tmp = self.staging.temporary(folder)
            for table in TABLES:
                self.tables[table] = CsvWriter(tmp / f"{table}.csv", TABLES[table])
        except BaseException:
            self._close()
            raise
        return self

    def __call__(self, replication: ReplicationResult) -> None:
        """Append a finished replication's tables, and drop the long ones from its result."""
        self._take(replication)
        for table in DROPPED:
            setattr(replication, table, [])
        self.taken += 1

    def _take(self, replication: ReplicationResult) -> None:
        for table, writer in self.tables.items():
            rows = getattr(replication, table)
            writer.write([rows] if isinstance(rows, dict) else rows)
        self.kpis.add(replication.summary)
        # Summed in replication order, as a sum over the replications held in memory would.
        self.engine_seconds += replication.counters["engine_seconds"]
        self.paths = add_replication(self.paths, replication.counters)

    def finish(
        self,
        result: ScenarioResult,
        *,
        started_utc: dt.datetime,
        scenario_file: str | None = None,
        target_ci: dict[str, float] | None = None,
    ) -> Path:
        """Write the rest of the folder and put it in place; return its path. The replications
        `result` holds past those this writer took as they finished (all of them for a result
        held in memory; none for a run that streamed them, kept or not) are written too;
        `result` is not changed."""
        scenario = result.scenario
        tmp = self.staging.tmp
        assert tmp is not None
        for replication in result.replications[self.taken :]:
            self._take(replication)
        counts = {}
        for table, writer in self.tables.items():
            writer.close()
            counts[table] = writer.rows
        counts["summary_stats"] = write_csv(
            tmp / "summary_stats.csv", STATS_COLUMNS, self.kpis.describe()
        )
        write_text(tmp / "scenario.resolved.json", resolved_json(scenario))
        engine_seconds = self.engine_seconds
        manifest = {
            **base_manifest("run", seed=scenario.scenario.seed, started_utc=started_utc),
            "scenario_name": scenario.scenario.name,
            "scenario_file": scenario_file,
            "scenario_sha256": scenario_sha256(scenario),
            "replications": scenario.scenario.replications,
            "engine_replications": self.paths,
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
