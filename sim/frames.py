"""Result folders as pandas DataFrames: `sim.read_results(folder)`.

Reads files only (like the report): every CSV of a run, comparison, stress, N−1 or sweep folder
becomes a DataFrame keyed by its file name without `.csv`, with typed columns:

- a column the registry (sim/registry.py) gives the unit `ISO date`, or named `date`:
  datetime64;
- a column whose cells are all numbers (or empty): Int64 (nullable integer) when its unit is
  none, `count` or `0/1` and every value is whole — replication numbers, seeds, ranks, counts —
  else float64 (an empty cell is NaN);
- any other column (ids, kinds, names, free text): `category`.

A sweep's runs.csv and points.csv have a column per lever and uncertainty, which no registry
declares: they are typed by the same rules from their cells. points.csv is long (one row per
lever point and KPI); `wide_points(frame)` pivots it to one row per point. pandas is an optional
dependency (`pip install 'oil-supply-sim[pandas]'`), imported only when these functions run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim import registry

if TYPE_CHECKING:
    import pandas as pd

#: Which files make a folder of each kind (the first kind that matches wins).
FOLDER_KINDS: tuple[tuple[str, str], ...] = (
    ("run", "summary.csv"),
    ("comparison", "comparison.csv"),
    ("stress", "stress.csv"),
    ("n1", "n1.csv"),
    ("sweep", "runs.csv"),
)
#: Units whose whole-number columns become integers.
_INTEGER_UNITS = ("", "count", "0/1")


def _tables() -> dict[str, registry.Table]:
    tables = dict(registry.TABLES)
    for table in (
        registry.COMPARISON, registry.COMPARISON_REPLICATIONS, registry.COMPARISON_RANKING,
        registry.STRESS, registry.STRESS_SUMMARY, registry.N1, registry.N1_REPLICATIONS,
        registry.SWEEP_POINTS,
    ):  # fmt: skip
        tables[table.name] = table
    return tables


def folder_kind(folder: Path) -> str:
    """`run`, `comparison`, `stress`, `n1` or `sweep`, from the files in the folder."""
    for kind, name in FOLDER_KINDS:
        if (folder / name).is_file():
            return kind
    wanted = ", ".join(f"{name} ({kind})" for kind, name in FOLDER_KINDS)
    raise ValueError(f"{folder} is not a result folder: it holds none of {wanted}")


def _typed(column: Any, unit: str | None, name: str) -> Any:
    import pandas as pd

    cells = column.replace("", pd.NA)
    if unit == "ISO date" or name == "date":
        return pd.to_datetime(cells)
    try:
        numbers = pd.to_numeric(cells)
    except (ValueError, TypeError):
        return cells.astype("category")
    values = numbers.dropna()
    whole = bool(len(values)) and bool((values == values.round()).all())
    if whole and (unit is None or unit in _INTEGER_UNITS):
        return numbers.astype("Int64")
    return numbers.astype("float64")


def read_results(folder: str | Path) -> dict[str, pd.DataFrame]:
    """Every CSV of a result folder as a DataFrame with typed columns, keyed by file stem
    (`summary`, `daily`, ... for a run; `comparison`, `replications`, `ranking`; `stress`,
    `stress_summary`; `n1`, `n1_replications`; `runs`, `points` for a sweep)."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(
            "sim.read_results needs pandas: pip install 'oil-supply-sim[pandas]' "
            "(or pip install pandas)"
        ) from None
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    folder_kind(folder)
    tables = _tables()
    frames: dict[str, pd.DataFrame] = {}
    for path in sorted(folder.glob("*.csv")):
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        table = tables.get(path.stem)
        units = {c.name: c.unit for c in table.columns} if table else {}
        frames[path.stem] = pd.DataFrame(
            {name: _typed(raw[name], units.get(name), name) for name in raw.columns},
            index=raw.index,
        )
    return frames


def wide_points(points: pd.DataFrame, stats: tuple[str, ...] = registry.STATS) -> pd.DataFrame:
    """A sweep's points.csv (`read_results(folder)["points"]`, long: one row per lever point
    and KPI) as one row per lever point: `point`, the levers, `runs`, `ok`, `failed`, then a
    `<kpi>_<stat>` column per KPI (in file order) and statistic in `stats` (default all, in
    registry order) — the layout points.csv had before it was long."""
    import pandas as pd

    header = list(points.columns)
    if "kpi" not in header or "point" not in header:
        raise ValueError(
            "wide_points needs a sweep's points.csv in long form (columns `point` and `kpi`); "
            f"got columns {header[:8]}{' ...' if len(header) > 8 else ''}"
        )
    unknown = [s for s in stats if s not in header]
    if unknown:
        have = [s for s in registry.STATS if s in header]
        raise ValueError(f"wide_points: no statistic {unknown} in points (it has {have})")
    keys = header[: header.index("kpi")]  # point, the levers, runs, ok, failed
    kpis = list(dict.fromkeys(str(k) for k in points["kpi"]))
    first = points.drop_duplicates("point").set_index("point")[keys[1:]]
    named = points.assign(kpi=points["kpi"].astype(str))
    # One pivot per statistic: pivoting several at once would make every column `object`.
    tables = {stat: named.pivot(index="point", columns="kpi", values=stat) for stat in stats}
    columns = {f"{kpi}_{stat}": tables[stat][kpi] for kpi in kpis for stat in stats}
    return pd.concat([first, pd.DataFrame(columns, index=first.index)], axis=1).reset_index()
