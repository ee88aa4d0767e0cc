"""Reading result folders: CSV rows with numbers parsed, JSON, and what kind of folder it is.

The report reads only the files a run, a comparison, a sweep, an N−1 analysis or a stress
test wrote (docs/results.md); it never imports the engine. A missing value is an empty cell in
the CSVs and NaN here. A damaged file — not UTF-8, truncated, rows of the wrong length, a column
missing, JSON that does not parse, a symbolic link — raises ReportError naming it.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

NAN = float("nan")

#: What identifies each kind of result folder, checked in this order.
KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("run", ("summary.csv", "daily.csv")),
    ("comparison", ("comparison.csv",)),
    ("sweep", ("points.csv",)),
    ("n1", ("n1.csv",)),
    ("stress", ("stress_summary.csv",)),
)


class ReportError(ValueError):
    """A folder the report cannot read: not a result folder, or a file it needs is missing or
    damaged."""


class Row(dict):
    """A CSV row: a column the file lacks is a ReportError naming the file, not a KeyError."""

    __slots__ = ("path",)

    def __init__(self, path: Path, cells: dict[str, Any]):
        super().__init__(cells)
        self.path = path

    def __missing__(self, column: str) -> Any:
        raise ReportError(
            f"{self.path} has no column {column!r}: damaged, or written by another version "
            "of the program"
        )


def _damaged(path: Path, why: str) -> ReportError:
    return ReportError(f"{path} is damaged ({why}); run the command that wrote it again")


def _readable(path: Path) -> Path:
    if path.is_symlink():
        raise ReportError(f"{path} is a symbolic link; result files are never followed")
    if not path.is_file():
        raise ReportError(f"{path} is missing")
    return path


def detect_kind(folder: Path) -> str:
    """`run`, `comparison`, `sweep`, `n1` or `stress`, from the files in the folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReportError(f"{folder} is not a folder")
    for kind, files in KINDS:
        if all((folder / name).is_file() for name in files):
            return kind
    wanted = "; ".join(f"{kind}: {' + '.join(files)}" for kind, files in KINDS)
    raise ReportError(f"{folder} is not a result folder (expected {wanted})")


def number(cell: str | None) -> float:
    """A CSV cell as a float; an empty cell (a missing value) is NaN."""
    if cell is None or cell == "":
        return NAN
    return float(cell)


def read_rows(
    path: Path, text_columns: Iterable[str] = (), *, partial_last_row: bool = False
) -> list[dict[str, Any]]:
    """Rows of a CSV file; every column not in `text_columns` parsed as a number where it can be.

    A column whose cells are not all numbers (or empty) stays text. A row with more or fewer
    cells than the header is damage (ReportError), except a last row cut short when
    `partial_last_row` (a sweep killed while appending): it is left out.
    """
    path = _readable(Path(path))
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            cells = [row for row in reader if row]  # blank lines are no rows (as DictReader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise _damaged(path, str(exc)) from None
    if not header:
        raise _damaged(path, "empty: no header")
    if partial_last_row and cells and len(cells[-1]) < len(header):
        cells.pop()
    for index, line in enumerate(cells, 2):
        if len(line) != len(header):
            raise _damaged(path, f"row {index} has {len(line)} cells, the header {len(header)}")
    rows: list[dict[str, Any]] = [Row(path, dict(zip(header, line, strict=True))) for line in cells]
    text = set(text_columns)
    for column in header:
        if column in text:
            continue
        try:
            parsed = [number(row[column]) for row in rows]
        except (TypeError, ValueError):
            continue
        for row, value in zip(rows, parsed, strict=True):
            row[column] = value
    return rows


def columns_of(path: Path) -> list[str]:
    """The header of a CSV file."""
    path = _readable(Path(path))
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return next(csv.reader(fh), [])
    except (UnicodeDecodeError, csv.Error) as exc:
        raise _damaged(path, str(exc)) from None


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object; {} when the file is absent (a manifest is optional to the report)."""
    path = Path(path)
    if not path.is_symlink() and not path.exists():
        return {}
    _readable(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _damaged(path, f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _damaged(path, "not a JSON object")
    return data


def finite(values: Iterable[float]) -> list[float]:
    """The values that are numbers (NaN and infinities left out)."""
    return [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]


def mean(values: Iterable[float]) -> float:
    """Mean of the finite values; NaN when there are none."""
    xs = finite(values)
    return math.fsum(xs) / len(xs) if xs else NAN
