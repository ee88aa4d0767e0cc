"""The sweep folder `<out>/<sweep name>/`: manifest.json, runs.csv and points.csv.

- runs.csv grows while the sweep runs: each finished chunk's rows are appended as complete lines
  in one write, then flushed to disk (os.fsync), so a process killed at any moment leaves only
  whole rows, perhaps followed by one truncated line, which a resume drops.
- When every run is present, runs.csv is rewritten sorted by point and replication (atomically:
  a temporary file renamed over it), so it does not depend on the order runs finished in.
- points.csv and manifest.json are always written whole and renamed into place.
- The folder is claimed for the sweep's whole life (sim.folders: a lock beside it that dies
  with its process), so two sweeps never write one folder; `--force` starts again only over a
  sweep folder this program wrote, swapping a fresh folder in (never leaving none); nothing is
  written through a symbolic link.

Sorting and the statistics stream through the file: what is held in memory is an index of
three integers per run, and the values of one lever point at a time.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim import folders, registry
from sim.errors import ResultsExistError
from sim.folders import FolderLock, NotOurFolderError, check_ours, create, writer_tag
from sim.results import SUMMARY_KPIS, _cell
from sim.statistics import describe
from sim.sweep.expand import Point
from sim.sweep.worker import format_line
from sim.version import PROGRAM

#: Statistics of each KPI in points.csv, in order (sim.statistics.describe).
STATS = registry.STATS


class SweepFolderError(ResultsExistError):
    """The sweep folder exists and cannot be used as asked (exists, or belongs to another
    sweep definition)."""


def points_columns(lever_keys: Sequence[str]) -> tuple[str, ...]:
    """Columns of points.csv, in order: `point`, the levers, then the registry's (runs, ok,
    failed, kpi and its statistics)."""
    point, *rest = registry.SWEEP_POINTS.header
    return (point, *lever_keys, *rest)


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to a new temporary file beside `path`, flush it to disk, rename it over
    `path` (a symbolic link there is replaced, never written through)."""
    folders.write_file(path.parent, path.name, text.encode("utf-8"), sync=True)


def _regular(path: Path) -> Path:
    """`path`, refused if it is a symbolic link (the folder's files are never followed)."""
    if path.is_symlink():
        raise SweepFolderError(f"{path} is a symbolic link; not followed")
    return path


@dataclass
class Existing:
    """What an earlier invocation left in runs.csv."""

    keys: set[str] = field(default_factory=set)
    identities: dict[tuple[int, int], str] = field(default_factory=dict)
    ok: int = 0
    failed: int = 0


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | folders.O_NOFOLLOW | folders.O_CLOEXEC)


class SweepFolder:
    """A sweep's result folder."""

    def __init__(self, folder: Path, columns: Sequence[str], out: Path | None = None):
        self.folder = folder
        self.out = folder.parent if out is None else Path(out)
        self.columns = tuple(columns)
        self.runs = folder / "runs.csv"
        self.points = folder / "points.csv"
        self.manifest = folder / "manifest.json"
        self._fd: int | None = None
        self._lock: FolderLock | None = None

    # -------------------------------------------------------------- opening

    def claim(self, resume: bool, force: bool) -> None:
        """Lock the folder for the sweep's life, put back or clean what killed writers left,
        and raise before any work if it exists and neither resume nor force was asked (or
        force would replace what is not a sweep folder of this program)."""
        if self._lock is not None:
            return
        self.folder = folders.checked_folder(self.out, self.folder)
        lock = FolderLock(self.folder).acquire()
        try:
            folders.recover(self.folder)
            folders.clean_stale(self.folder.parent)
            self.check_free(resume, force)
            if force and os.path.lexists(self.folder):
                check_ours(self.folder, "sweep")
        except BaseException:
            lock.release()
            raise
        self._lock = lock

    def release(self) -> None:
        """Close runs.csv and let go of the folder."""
        self.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def check_free(self, resume: bool, force: bool) -> None:
        """Raise before any work if the folder exists and neither resume nor force was asked."""
        if os.path.lexists(self.folder) and not (resume or force):
            raise SweepFolderError(
                f"{self.folder} exists already; pass --resume to run only what is missing, "
                "--force to start again, or --out elsewhere"
            )

    def invocations(self) -> int:
        """How many invocations the manifest counts (0 if it cannot be read)."""
        try:
            return int(json.loads(_regular(self.manifest).read_text("utf-8"))["invocations"])
        except (OSError, ValueError, KeyError, TypeError, SweepFolderError):
            return 0

    def start(self, definition: str, resume: bool, force: bool) -> Existing:
        """Create the folder, or open it to resume; returns the runs already there."""
        self.claim(resume, force)
        exists = os.path.lexists(self.folder)
        if exists and resume and not force:
            if self.folder.is_symlink() or not self.folder.is_dir():
                raise SweepFolderError(f"{self.folder} is not a folder; not resumed")
            folders.clean_stale(self.folder)  # temporaries of a killed invocation
            if os.path.lexists(self.manifest):
                return self._reopen(definition)
            if any(self.folder.iterdir()):
                raise SweepFolderError(
                    f"{self.folder} has no manifest.json: not a sweep folder to resume; "
                    "pass --force to start again, or --out elsewhere"
                )
            return Existing()
        if exists:  # force (checked: ours): swap a new, empty folder in, then drop the old
            tmp = self.folder.with_name(f".{self.folder.name}.{writer_tag()}.tmp")
            tmp.mkdir()
            folders.put_in_place(tmp, self.folder)
            folders.remove(tmp)
        else:
            self.folder.mkdir()
        return Existing()

    def create_runs(self) -> None:
        """A new runs.csv: the header alone (after the manifest, so a folder with rows always
        has a manifest)."""
        if not self.runs.exists():
            write_atomically(self.runs, format_line(self.columns))

    def _reopen(self, definition: str) -> Existing:
        try:
            manifest = json.loads(_regular(self.manifest).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SweepFolderError(f"{self.manifest}: cannot be read ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("program") != PROGRAM:
            raise NotOurFolderError(
                f"{self.folder} was not written by {PROGRAM}; not resumed (--out elsewhere)"
            )
        if manifest.get("kind") != "sweep":
            raise NotOurFolderError(f"{self.folder} holds a {manifest.get('kind')} result")
        if manifest.get("definition_sha256") != definition:
            raise SweepFolderError(
                f"{self.folder} holds another sweep (its sweep file, base scenario, --set or "
                "replications differ); pass --force to start again, or --out elsewhere"
            )
        if not os.path.lexists(_regular(self.runs)):
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
        size = _regular(self.runs).stat().st_size
        if size == 0:
            write_atomically(self.runs, format_line(self.columns))
            return
        with open(self.runs, "rb+", opener=_no_follow) as fh:
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
        """Append complete rows in one write, then flush them to disk. A write that fails
        part-way (a full disk) is cut back off, so no partial row is left to run into the next."""
        if not lines:
            return
        if self._fd is None:
            flags = os.O_WRONLY | os.O_APPEND | folders.O_NOFOLLOW | folders.O_CLOEXEC
            self._fd = os.open(self.runs, flags)
        data = "".join(lines).encode("utf-8")
        view = memoryview(data)
        size = os.fstat(self._fd).st_size
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            os.fsync(self._fd)
        except OSError:
            os.ftruncate(self._fd, size)
            raise

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
        tmp = self.runs.with_name(f".{self.runs.name}.{writer_tag()}.tmp")
        try:
            with open(tmp, "wb", opener=create) as out:
                out.write(format_line(self.columns).encode("utf-8"))
                for line in self._sorted_lines():
                    out.write(line)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.runs)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def write_points(self, points: Sequence[Point], lever_keys: Sequence[str]) -> int:
        """points.csv from runs.csv: one row per lever point and KPI (long form, as
        summary_stats.csv and comparison.csv), statistics over the point's ok runs."""
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
            first: list[Any] = [point.index, *point.values, runs, ok, runs - ok]
            for kpi, kpi_values in zip(SUMMARY_KPIS, values, strict=True):
                stats = describe(kpi_values)
                row = [*first, kpi, *(stats[s] for s in STATS)]
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
