"""Writing a run's result folder: exactly what ran, a manifest, and tidy CSVs.

The only module besides scenario loading that touches the filesystem. Everything is written
into a hidden temporary folder beside the final one and renamed into place at the end, so a
folder under `results/` is either complete or absent; an existing folder is replaced only when
asked (`force`), and then only once the new one is complete.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from sim import registry
from sim.errors import ResultsExistError
from sim.manifest import base_manifest, manifest_json
from sim.registry import SUMMARY_KPIS
from sim.runner import ScenarioResult
from sim.scenario.schema import Scenario
from sim.scenario.variants import resolved_json, scenario_sha256
from sim.statistics import describe

#: Columns of every table of a run's folder, in order (declared in sim.registry).
TABLES: dict[str, tuple[str, ...]] = {t.name: t.header for t in registry.RUN_TABLES}
STATS_COLUMNS = registry.SUMMARY_STATS.header


def summary_stats(result: ScenarioResult) -> list[dict[str, Any]]:
    """One row per KPI: its distribution over the replications (summary_stats.csv)."""
    rows = result.rows("summary")
    return [{"kpi": kpi, **describe(r[kpi] for r in rows)} for kpi in SUMMARY_KPIS]


def run_folder(out: str | Path, scenario: Scenario) -> Path:
    """`<out>/<scenario name>/seed<seed>-<first 10 hex of the scenario hash>`."""
    sha = scenario_sha256(scenario)
    return Path(out) / scenario.scenario.name / f"seed{scenario.scenario.seed}-{sha[:10]}"


def ensure_free(folder: Path, force: bool) -> None:
    if folder.exists() and not force:
        raise ResultsExistError(
            f"{folder} exists already; pass --force to replace it, or --out elsewhere"
        )


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        value = round(value, 6)
        return repr(value + 0.0)  # + 0.0 turns -0.0 into 0.0
    return str(value)


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row[c]) for c in columns])
            count += 1
    return count


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def write_folder_atomically(folder: Path, force: bool, write: Callable[[Path], None]) -> None:
    """`write(tmp)` into a hidden temporary folder beside `folder`, then rename it into place.

    An existing folder is replaced only with `force`, and only once the new one is complete.
    """
    ensure_free(folder, force)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        write(tmp)
        if folder.exists():  # force: swap in the new folder, then drop the old one
            trash = folder.with_name(f".{folder.name}.old-{os.getpid()}")
            folder.rename(trash)
            tmp.rename(folder)
            shutil.rmtree(trash)
        else:
            tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_run(
    result: ScenarioResult,
    out: str | Path,
    *,
    force: bool = False,
    started_utc: dt.datetime,
    scenario_file: str | None = None,
    target_ci: dict[str, float] | None = None,
) -> Path:
    """Write the result folder atomically and return its path."""
    scenario = result.scenario
    folder = run_folder(out, scenario)

    def write(tmp: Path) -> None:
        counts = {}
        for table, columns in TABLES.items():
            counts[table] = write_csv(tmp / f"{table}.csv", columns, result.rows(table))
        counts["summary_stats"] = write_csv(
            tmp / "summary_stats.csv", STATS_COLUMNS, summary_stats(result)
        )
        _write_text(tmp / "scenario.resolved.json", resolved_json(scenario))
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
        _write_text(tmp / "manifest.json", manifest_json(manifest))

    write_folder_atomically(folder, force, write)
    return folder
