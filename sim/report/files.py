"""Reading result folders: CSV rows with numbers parsed, JSON, and what kind of folder it is.

The report reads only the files a run, a comparison, a sweep, an N−1 analysis or a stress
test wrote (docs/results.md); it never
imports the engine. A missing value is an empty cell in the CSVs and NaN here.
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
    """A folder the report cannot read: not a result folder, or a file it needs is missing."""


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


def read_rows(path: Path, text_columns: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Rows of a CSV file; every column not in `text_columns` parsed as a number where it can be.

    A column whose cells are not all numbers (or empty) stays text.
    """
    path = Path(path)
    if not path.is_file():
        raise ReportError(f"{path} is missing")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        columns = list(reader.fieldnames or [])
    text = set(text_columns)
    for column in columns:
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
    with Path(path).open(newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh), [])


def read_json(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def finite(values: Iterable[float]) -> list[float]:
    """The values that are numbers (NaN and infinities left out)."""
    return [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]


def mean(values: Iterable[float]) -> float:
    """Mean of the finite values; NaN when there are none."""
    xs = finite(values)
    return math.fsum(xs) / len(xs) if xs else NAN
