"""The sweep folder `<out>/<sweep name>/`: manifest.json, runs.csv and points.csv.

- runs.csv grows while the sweep runs: each finished chunk's rows are appended as complete lines
  in one write, then flushed to disk (os.fsync), so a process killed at any moment leaves only
  whole rows, perhaps followed by one truncated line, which a resume drops.
- When every run is present, runs.csv is rewritten sorted by point and replication (atomically:
  a temporary file renamed over it), so it does not depend on the order runs finished in.
- points.csv and manifest.json are always written whole and renamed into place.

Sorting and the statistics stream through the file: what is held in memory is an index of
three integers per run, and the values of one lever point at a time.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import ResultsExistError
from sim.results import SUMMARY_KPIS, _cell
from sim.statistics import describe
from sim.sweep.expand import Point
from sim.sweep.worker import format_line

#: Statistics of each KPI in points.csv, in order (sim.statistics.describe).
STATS = ("n", "mean", "sd", "ci95_low", "ci95_high", "p5", "p50", "p95")


class SweepFolderError(ResultsExistError):
    """The sweep folder exists and cannot be used as asked (exists, or belongs to another
    sweep definition)."""


def points_columns(lever_keys: Sequence[str]) -> tuple[str, ...]:
    """Columns of points.csv, in order."""
    stats = tuple(f"{kpi}_{stat}" for kpi in SUMMARY_KPIS for stat in STATS)
    return ("point", *lever_keys, "runs", "ok", "failed", *stats)


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, flush it to disk, rename it over `path`."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@dataclass
class Existing:
    """What an earlier invocation left in runs.csv."""

    keys: set[str] = field(default_factory=set)
    identities: dict[tuple[int, int], str] = field(default_factory=dict)
    ok: int = 0
    failed: int = 0


class SweepFolder:
    """A sweep's result folder."""

    def __init__(self, folder: Path, columns: Sequence[str]):
        self.folder = folder
        self.columns = tuple(columns)
        self.runs = folder / "runs.csv"
        self.points = folder / "points.csv"
        self.manifest = folder / "manifest.json"
        self._fd: int | None = None

    # -------------------------------------------------------------- opening

    def check_free(self, resume: bool, force: bool) -> None:
        """Raise before any work if the folder exists and neither resume nor force was asked."""
        if self.folder.exists() and not (resume or force):
            raise SweepFolderError(
                f"{self.folder} exists already; pass --resume to run only what is missing, "
                "--force to start again, or --out elsewhere"
            )

    def start(self, definition: str, resume: bool, force: bool) -> Existing:
        """Create the folder, or open it to resume; returns the runs already there."""
        self.check_free(resume, force)
        if self.folder.exists() and resume and not force:
            if self.manifest.exists():
                return self._reopen(definition)
            if any(self.folder.iterdir()):
                raise SweepFolderError(
                    f"{self.folder} has no manifest.json: not a sweep folder to resume; "
                    "pass --force to start again, or --out elsewhere"
                )
        if self.folder.exists():  # force, or an empty folder: start again
            trash = self.folder.with_name(f".{self.folder.name}.old-{os.getpid()}")
            self.folder.rename(trash)
            shutil.rmtree(trash)
        self.folder.mkdir(parents=True)
        return Existing()

    def create_runs(self) -> None:
        """A new runs.csv: the header alone (after the manifest, so a folder with rows always
        has a manifest)."""
        if not self.runs.exists():
            write_atomically(self.runs, format_line(self.columns))

    def _reopen(self, definition: str) -> Existing:
        try:
            manifest = json.loads(self.manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SweepFolderError(f"{self.manifest}: cannot be read ({exc})") from None
        if manifest.get("definition_sha256") != definition:
            raise SweepFolderError(
                f"{self.folder} holds another sweep (its sweep file, base scenario, --set or "
                "replications differ); pass --force to start again, or --out elsewhere"
            )
        if not self.runs.exists():
            write_atomically(self.runs, format_line(self.columns))
            return Existing()
        self._drop_truncated_line()
        with self.runs.open(encoding="utf-8", newline="") as fh:
            header = fh.readline()
            if header != format_line(self.columns):
                raise SweepFolderError(
                    f"{self.runs}: columns differ from this program's; pass --force to start "
                    "again, or --out elsewhere"
                )
            existing = Existing()
            for line in fh:
                key, point, replication, _, status = line.split(",", 5)[:5]
                identity = (int(point), int(replication))
                if key in existing.keys or identity in existing.identities:
                    continue  # never counted twice (not written twice either)
                existing.keys.add(key)
                existing.identities[identity] = key
                if status == "ok":
                    existing.ok += 1
                else:
                    existing.failed += 1
        return existing

    def _drop_truncated_line(self) -> None:
        """Cut runs.csv after its last complete line (a killed write may leave part of one)."""
        size = self.runs.stat().st_size
        if size == 0:
            write_atomically(self.runs, format_line(self.columns))
            return
        with self.runs.open("rb+") as fh:
            fh.seek(max(0, size - 1))
            if fh.read(1) == b"\n":
                return
            block = 1 << 16
            end = size
            while end > 0:
                start = max(0, end - block)
                fh.seek(start)
                data = fh.read(end - start)
                cut = data.rfind(b"\n")
                if cut >= 0:
                    fh.truncate(start + cut + 1)
                    fh.flush()
                    os.fsync(fh.fileno())
                    return
                end = start
            fh.truncate(0)
        write_atomically(self.runs, format_line(self.columns))

    # -------------------------------------------------------------- appending

    def append(self, lines: Sequence[str]) -> None:
        """Append complete rows in one write, then flush them to disk."""
        if not lines:
            return
        if self._fd is None:
            self._fd = os.open(self.runs, os.O_WRONLY | os.O_APPEND)
        data = "".join(lines).encode("utf-8")
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -------------------------------------------------------------- finishing

    def _index(self) -> tuple[np.ndarray, np.ndarray, int]:
        """Byte offset and length of every row in (point, replication) order; rows of a
        (point, replication) seen before are left out. Also the header's length."""
        points, reps, offsets, lengths = [], [], [], []
        with self.runs.open("rb") as fh:
            header = len(fh.readline())
            offset = header
            for line in fh:
                if not line.endswith(b"\n"):
                    break
                _, point, replication = line.split(b",", 3)[:3]
                points.append(int(point))
                reps.append(int(replication))
                offsets.append(offset)
                lengths.append(len(line))
                offset += len(line)
        p = np.asarray(points, dtype=np.int64)
        r = np.asarray(reps, dtype=np.int64)
        order = np.lexsort((np.asarray(offsets, dtype=np.int64), r, p))
        keep = np.ones(len(order), dtype=bool)
        if len(order) > 1:
            same = (p[order][1:] == p[order][:-1]) & (r[order][1:] == r[order][:-1])
            keep[1:] = ~same
        order = order[keep]
        return np.asarray(offsets, dtype=np.int64)[order], np.asarray(lengths)[order], header

    def _sorted_lines(self) -> Iterator[bytes]:
        offsets, lengths, _ = self._index()
        with self.runs.open("rb") as fh:
            for offset, length in zip(offsets.tolist(), lengths.tolist(), strict=True):
                fh.seek(offset)
                yield fh.read(length)

    def sort_runs(self) -> None:
        """Rewrite runs.csv in (point, replication) order, atomically."""
        self.close()
        tmp = self.runs.with_name(f".{self.runs.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as out:
            out.write(format_line(self.columns).encode("utf-8"))
            for line in self._sorted_lines():
                out.write(line)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.runs)

    def write_points(self, points: Sequence[Point], lever_keys: Sequence[str]) -> int:
        """points.csv from runs.csv: one row per lever point, statistics over its ok runs."""
        first_kpi = len(self.columns) - len(SUMMARY_KPIS)
        status_col = self.columns.index("status")
        rows_by_point = self._rows_by_point(first_kpi, status_col)
        columns = points_columns(lever_keys)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        current = next(rows_by_point, None)
        for point in points:
            values: list[list[float]] = [[] for _ in SUMMARY_KPIS]
            runs, ok = 0, 0
            if current is not None and current[0] == point.index:
                _, runs, ok, values = current
                current = next(rows_by_point, None)
            row: list[Any] = [point.index, *point.values, runs, ok, runs - ok]
            for kpi_values in values:
                stats = describe(kpi_values)
                row.extend(stats[s] for s in STATS)
            writer.writerow([_cell(v) for v in row])
        write_atomically(self.points, buffer.getvalue())
        return len(points)

    def _rows_by_point(self, first_kpi: int, status_col: int) -> Iterator[tuple]:
        """(point, runs, ok, KPI values of its ok runs) for each point present, in order."""
        group: tuple[int, int, int, list[list[float]]] | None = None
        for raw in self._sorted_lines():
            cells = next(csv.reader([raw.decode("utf-8")]))
            point = int(cells[1])
            if group is None or group[0] != point:
                if group is not None:
                    yield group
                group = (point, 0, 0, [[] for _ in SUMMARY_KPIS])
            ok = cells[status_col] == "ok"
            if ok:
                for values, cell in zip(group[3], cells[first_kpi:], strict=True):
                    values.append(float(cell) if cell else float("nan"))
            group = (point, group[1] + 1, group[2] + int(ok), group[3])
        if group is not None:
            yield group

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_atomically(self.manifest, json.dumps(manifest, indent=2) + "\n")
