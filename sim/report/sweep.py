"""A sweep's report: each KPI against each lever, a heat map over two levers, and a chart of
which inputs (levers and sampled uncertainties) drive the KPIs, ranked by partial rank
correlation with bootstrap intervals (sim.report.sensitivity).

Reads `runs.csv` (one row per run: run_key, point, replication, seed, status, error, the lever
values, the sampled uncertainty values, the summary.csv KPIs), `points.csv` (one row per lever
point and KPI: the lever values, `kpi` and its statistics; a folder written before points.csv
was long has one row per lever point with `<kpi>_mean` columns, read too) and `manifest.json`.
The statistics drawn are computed from the runs that succeeded (`status` = `ok`), so a chart of
one lever averages over the other levers and the uncertainties; points.csv gives the headline
numbers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.patches import Patch
from matplotlib.ticker import EngFormatter, MaxNLocator

from sim import registry
from sim.report import sensitivity
from sim.report.canvas import Chart, figure, pad_limits, save
from sim.report.files import ReportError, columns_of, finite, read_json, read_rows
from sim.report.formatting import (
    decimals_for,
    format_kpi,
    input_label,
    measure,
    scale_for,
)
from sim.report.page import Headline, Page, Table

#: runs.csv columns that are neither inputs nor KPIs.
RUN_COLUMNS = ("run_key", "point", "replication", "seed", "status", "error")
#: KPIs drawn against the levers and in the heat map and tornado, when present.
SWEEP_KPIS = registry.SWEEP_CHARTED
TORNADO_KPIS = registry.SWEEP_DRIVERS
#: A numeric input with more distinct values than this is grouped into BINS quantile bins.
MAX_LEVELS = 12
BINS = 8
STAT_SUFFIXES = ("mean", "sd", "ci95_low", "ci95_high", "p5", "p50", "p95", "n")


@dataclass
class SweepData:
    folder: Path
    manifest: dict[str, Any]
    runs: list[dict[str, Any]]  # every run, failed ones too
    points: list[dict[str, Any]]
    levers: list[str]
    uncertainties: list[str]
    kpis: list[str]

    @property
    def ok(self) -> list[dict[str, Any]]:
        return [r for r in self.runs if str(r.get("status", "ok")) == "ok"]

    @property
    def name(self) -> str:
        return str(self.manifest.get("name") or self.manifest.get("sweep_name") or self.folder.name)


def _keys(entry: Any) -> list[str]:
    """Input keys from a manifest entry: a list of keys, of {key: ...} dicts, or a mapping."""
    if isinstance(entry, dict):
        return [str(k) for k in entry]
    if isinstance(entry, list):
        out = []
        for item in entry:
            if isinstance(item, dict):
                out.append(str(item.get("key") or item.get("name")))
            else:
                out.append(str(item))
        return out
    return []


def _stat_columns(columns: Sequence[str], kpis: Sequence[str]) -> set[str]:
    """Columns of points.csv that hold a KPI's statistic (`<kpi>_mean`, `<kpi>.p95`, ...)."""
    out = set()
    for c in columns:
        for kpi in kpis:
            if c.startswith(kpi) and c[len(kpi) :].lstrip("_.:") in STAT_SUFFIXES:
                out.add(c)
    return out


def load(folder: Path) -> SweepData:
    folder = Path(folder)
    manifest = read_json(folder / "manifest.json")
    runs_path = folder / "runs.csv"
    if not runs_path.is_file():
        raise ReportError(f"{runs_path} is missing: the sweep report draws from the runs")
    run_columns = columns_of(runs_path)
    point_columns = columns_of(folder / "points.csv")
    known = set(registry.SUMMARY_KPIS)
    kpis = [c for c in run_columns if c in known]
    inputs = [c for c in run_columns if c not in RUN_COLUMNS and c not in kpis]
    levers = [k for k in _keys(manifest.get("levers")) if k in inputs]
    uncertainties = [k for k in _keys(manifest.get("uncertainties")) if k in inputs]
    if not levers and not uncertainties:  # no manifest lists: levers are what points.csv keys
        stats = _stat_columns(point_columns, kpis)
        levers = [c for c in inputs if c in point_columns and c not in stats]
        uncertainties = [c for c in inputs if c not in levers]
    text = (*RUN_COLUMNS[:1], "status", "error")
    # A sweep stopped part-way may end runs.csv with a truncated line: left out.
    runs = [r for r in read_rows(runs_path, text, partial_last_row=True) if r.get("status")]
    points = read_rows(folder / "points.csv", ("kpi",))
    return SweepData(folder, manifest, runs, points, levers, uncertainties, kpis)


# ------------------------------------------------------------------ grouping


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, float) and math.isfinite(v) for v in values)


def _sort_key(value: Any) -> Any:
    if isinstance(value, float):
        return (0, value, "")
    text = str(value)
    if text.lower() in ("false", "true"):
        return (0, float(text.lower() == "true"), "")
    return (1, 0.0, text)


@dataclass(frozen=True)
class Level:
    """One group of runs along an input: its label, its x position, the positions of its runs
    in the list grouped, and their KPI values."""

    label: str
    x: float
    members: tuple[int, ...]
    values: dict[str, list[float]]


def levels(runs: Sequence[dict[str, Any]], key: str, kpis: Sequence[str]) -> list[Level]:
    """The runs grouped by the value of `key` (in order), or into BINS quantile bins when a
    numeric input has more than MAX_LEVELS distinct values (x = the bin's mean value)."""
    values = [r[key] for r in runs]
    distinct = sorted(set(values), key=_sort_key)
    groups: dict[int, list[int]] = defaultdict(list)
    labels: dict[int, str] = {}
    if _numeric(values) and len(distinct) > MAX_LEVELS:
        edges = np.quantile(np.array(values, dtype=float), np.linspace(0, 1, BINS + 1))
        index = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, BINS - 1)
        for position, i in enumerate(index):
            groups[int(i)].append(position)
        labels = {i: f"{_short(edges[i])}–{_short(edges[i + 1])}" for i in groups}
    else:
        rank = {value: i for i, value in enumerate(distinct)}
        for position, value in enumerate(values):
            groups[rank[value]].append(position)
        labels = {i: _short(value) for i, value in enumerate(distinct)}
    out = []
    for i in sorted(groups):
        members = groups[i]
        first = values[members[0]]
        numeric = isinstance(first, float)
        x = float(np.mean([values[m] for m in members])) if numeric else float(i)
        kpi_values = {k: finite(runs[m][k] for m in members) for k in kpis}
        out.append(Level(labels[i], x, tuple(members), kpi_values))
    return out


def _short(value: Any) -> str:
    """A lever or sampled value, short: 300,000; 62.1; 0.25; a name as it is."""
    if isinstance(value, float | np.floating):
        v = float(value)
        if abs(v) >= 1e4 or (v.is_integer() and abs(v) >= 1):
            return f"{v:,.0f}"
        return f"{v:,.4g}"
    return str(value)


def _mean_ci(values: Sequence[float]) -> tuple[float, float, float]:
    from sim.statistics import mean_ci

    _, m, _, low, high = mean_ci(values)
    return m, low, high


# ------------------------------------------------------------------ charts


def lever_chart(data: SweepData, path: Path) -> Chart | None:
    """Each KPI (columns) against each lever (rows): mean and 95 % band over the runs."""
    kpis = [k for k in SWEEP_KPIS if k in data.kpis]
    runs = data.ok
    if not data.levers or not kpis or not runs:
        return None
    fig = figure(0.9 + 2.5 * len(data.levers), width_in=12)
    axes = fig.subplots(len(data.levers), len(kpis), squeeze=False)
    for row, lever in enumerate(data.levers):
        groups = levels(runs, lever, kpis)
        numeric = _numeric([r[lever] for r in runs])
        for col, kpi in enumerate(kpis):
            ax = axes[row][col]
            stats = [_mean_ci(g.values[kpi]) for g in groups]
            unit = measure(kpi).unit
            scale = scale_for(unit, max((abs(v) for s in stats for v in s if v == v), default=0))
            xs = [g.x for g in groups]
            m = [s[0] / scale.divisor for s in stats]
            lo = [s[1] / scale.divisor for s in stats]
            hi = [s[2] / scale.divisor for s in stats]
            if numeric:
                ax.fill_between(xs, lo, hi, color="#1f77b4", alpha=0.25, lw=0)
                ax.plot(xs, m, "o-", color="#1f77b4", ms=4)
            else:
                err = [[a - b for a, b in zip(m, lo, strict=True)],
                       [b - a for a, b in zip(m, hi, strict=True)]]  # fmt: skip
                ax.errorbar(xs, m, yerr=err, fmt="o", color="#1f77b4", capsize=4)
                ax.set_xticks(xs, [g.label for g in groups])
            pad_limits(ax, [v for v in (*lo, *hi, *m) if v == v], "y")
            if numeric:
                ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
                if max(abs(x) for x in xs) >= 1e4:  # 150k, not 150000 (and not 250m for 0.25)
                    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
            if row == 0:
                ax.set_title(measure(kpi).label, fontsize=10)
            ax.set_ylabel(scale.unit)
            ax.set_xlabel(input_label(lever), fontsize=8)
    fig.suptitle("KPIs against each lever: mean and 95 % confidence band")
    save(fig, path)
    return Chart(
        path.name,
        "KPIs against each lever",
        "One row per lever, one column per KPI. For each value of the lever, the mean over every "
        "successful run with that value (runs.csv, status ok) — so averaged over the other "
        "levers and over the sampled uncertainties — and the 95 % confidence interval of that "
        f"mean (Student t), drawn as a band. A numeric lever with more than {MAX_LEVELS} "
        f"distinct values (a Latin-hypercube sample) is grouped into {BINS} bins of equal run "
        "counts, plotted at the bin's mean value.",
    )


def heatmap_chart(data: SweepData, path: Path) -> Chart | None:
    """Mean KPI over the grid of the first two levers."""
    kpis = [k for k in TORNADO_KPIS if k in data.kpis]
    runs = data.ok
    if len(data.levers) < 2 or not kpis or not runs:
        return None
    a, b = data.levers[:2]
    la, lb = levels(runs, a, ()), levels(runs, b, ())
    row_of = {m: i for i, level in enumerate(la) for m in level.members}
    column_of = {m: j for j, level in enumerate(lb) for m in level.members}
    cells: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for position, run in enumerate(runs):
        cells[row_of[position], column_of[position]].append(run)
    fig = figure(1.5 + 0.45 * len(la) + 0.6, width_in=12)
    axes = fig.subplots(1, len(kpis), squeeze=False)[0]
    for ax, kpi in zip(axes, kpis, strict=True):
        grid = np.full((len(la), len(lb)), np.nan)
        for (i, j), members in cells.items():
            values = finite(m[kpi] for m in members)
            if values:
                grid[i, j] = float(np.mean(values))
        scale = scale_for(
            measure(kpi).unit, float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 0.0
        )
        shown = grid / scale.divisor
        finite_cells = shown[np.isfinite(shown)]
        largest = float(np.max(np.abs(finite_cells))) if finite_cells.size else 0.0
        digits = decimals_for(scale.unit, largest)  # one precision for every cell
        cmap = "viridis_r" if measure(kpi).better != "higher" else "viridis"
        image = ax.imshow(shown, aspect="auto", cmap=cmap, origin="lower")
        fig.colorbar(image, ax=ax, label=scale.unit, shrink=0.9)
        low, high = np.nanmin(shown), np.nanmax(shown)
        for i in range(len(la)):
            for j in range(len(lb)):
                if np.isfinite(shown[i, j]):
                    light = high > low and (shown[i, j] - low) / (high - low) > 0.5
                    if cmap == "viridis_r":
                        light = not light
                    ax.text(
                        j, i, f"{shown[i, j]:,.{digits}f}", ha="center", va="center", fontsize=8,
                        color="white" if not light else "black",
                    )  # fmt: skip
        ax.set_xticks(range(len(lb)), [lv.label for lv in lb], rotation=30, ha="right")
        ax.set_yticks(range(len(la)), [lv.label for lv in la])
        ax.set_xlabel(input_label(b), fontsize=8)
        ax.set_ylabel(input_label(a), fontsize=8)
        ax.grid(False)
        ax.set_title(f"{measure(kpi).label}, {scale.unit}")
    fig.suptitle("Mean over runs by the first two levers")
    save(fig, path)
    return Chart(
        path.name,
        "Heat map over two levers",
        f"The mean of the KPI over every successful run in each cell of {input_label(a)} × "
        f"{input_label(b)} (runs.csv; "
        "averaged over any other levers and the sampled uncertainties). Empty cell: no successful "
        "run. Yellow is the better end of each scale (low cost, low unserved tonnes). Every "
        "number in one panel is written with the same number of decimals.",
    )


#: Bar colours of the drivers chart: an input that raises the KPI, one that lowers it, and one
#: whose interval includes zero.
RAISES, LOWERS, UNCLEAR = "#dd8452", "#4c72b0", "#b0b0b0"
UNCLEAR_TEXT = "not distinguishable from zero"


def sensitivity_inputs(data: SweepData) -> list[tuple[str, str]]:
    """(key, kind) of every lever and uncertainty."""
    return [(k, "lever") for k in data.levers] + [(k, "uncertainty") for k in data.uncertainties]


def sample_warning(data: SweepData) -> str | None:
    """The warning for a sweep with too few successful runs to rank its inputs, or None."""
    runs = data.ok
    inputs = sensitivity.ranked_inputs(runs, sensitivity_inputs(data))
    if not inputs:
        return None
    return sensitivity.too_few_runs(len(runs), inputs)


def _driver_label(d: sensitivity.Driver) -> str:
    head = input_label(d.key) + (" (uncertainty)" if d.kind == "uncertainty" else "")
    if not math.isfinite(d.low):
        return f"{head}\nPRCC {d.prcc:+.2f}, no interval\n{UNCLEAR_TEXT}"
    interval = f"PRCC {d.prcc:+.2f} [{d.low:+.2f}, {d.high:+.2f}]"
    return f"{head}\n{interval}" + ("" if d.distinguishable else f"\n{UNCLEAR_TEXT}")


def tornado_chart(data: SweepData, path: Path) -> Chart | None:
    """The inputs ranked by partial rank correlation with each KPI (sim.report.sensitivity)."""
    kpis = [k for k in TORNADO_KPIS if k in data.kpis]
    runs = data.ok
    inputs = sensitivity_inputs(data)
    if not kpis or not runs or not inputs:
        return None
    ranked = {kpi: sensitivity.drivers(runs, inputs, kpi) for kpi in kpis}
    if not any(ranked.values()):
        return None
    rows = max(len(r) for r in ranked.values())
    fig = figure(1.8 + 0.75 * rows, width_in=13)
    axes = fig.subplots(1, len(kpis), squeeze=False)[0]
    for ax, kpi in zip(axes, kpis, strict=True):
        found = ranked[kpi]
        for y, d in enumerate(found):
            colour = (RAISES if d.prcc > 0 else LOWERS) if d.distinguishable else UNCLEAR
            value = d.prcc if math.isfinite(d.prcc) else 0.0
            ax.barh(y, value, color=colour, height=0.6)
            if math.isfinite(d.low):
                err = [[max(value - d.low, 0.0)], [max(d.high - value, 0.0)]]
                ax.errorbar(value, y, xerr=err, fmt="none", ecolor="#333333", capsize=3, lw=1)
        ax.set_yticks(range(len(found)), [_driver_label(d) for d in found], fontsize=8)
        ax.set_ylim(max(len(found), 1) - 0.5, -0.5)
        ax.set_xlim(-1.05, 1.05)
        ax.axvline(0, color="#333333", lw=0.9)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("PRCC with the KPI, 95 % interval")
        ax.set_title(measure(kpi).label)
    fig.legend(
        handles=[
            Patch(color=RAISES, label="raises the KPI"),
            Patch(color=LOWERS, label="lowers the KPI"),
            Patch(color=UNCLEAR, label=UNCLEAR_TEXT),
        ],
        loc="outside lower center",
        ncols=3,
    )
    warning = sample_warning(data)
    title = "What drives the KPIs: partial rank correlation over all runs"
    fig.suptitle(title + (f"\nWarning: {warning}" if warning else ""))
    save(fig, path)
    caption = (
        f"Method: the {sensitivity.METHOD}. PRCC measures how consistently the KPI rises (+) or "
        "falls (−) with the input once every other lever and uncertainty is accounted for "
        "(all values replaced by their ranks, the others regressed out); −1 to +1, 0 is no "
        "monotone effect. Inputs are sorted by |PRCC|; each label gives the PRCC and its 95 % "
        f"interval. Grey: the interval includes zero, so the input is {UNCLEAR_TEXT} with these "
        f"runs. The ranking needs at least {sensitivity.MIN_RUNS_PER_INPUT} successful runs per "
        f"input and {sensitivity.MIN_RUNS} in all. Inputs whose values are names (no order) and "
        "inputs that never vary are left out."
    )
    if warning:
        caption = f"Warning: {warning}. " + caption
    return Chart(path.name, "Drivers: which levers and uncertainties move the KPIs", caption)


def draw(data: SweepData) -> list[Chart]:
    charts = []
    for file, chart in (
        ("levers.png", lever_chart),
        ("heatmap.png", heatmap_chart),
        ("tornado.png", tornado_chart),
    ):
        made = chart(data, data.folder / file)
        if made is not None:
            charts.append(made)
    return charts


# ------------------------------------------------------------------ page


def point_means(data: SweepData, kpi: str) -> list[tuple[str, dict[str, Any], float]]:
    """(point, lever values, mean) of every lever point for the KPI, read from points.csv
    (long form `kpi`, `mean`, as sim.sweep writes it; or the wide form `<kpi>_mean` of older
    folders)."""
    out: list[tuple[str, dict[str, Any], float]] = []
    for row in data.points:
        if "kpi" in row and "mean" in row:
            if row["kpi"] != kpi:
                continue
            value = row["mean"]
        else:
            column = next(
                (f"{kpi}{sep}mean" for sep in ("_", ".", ":") if f"{kpi}{sep}mean" in row), None
            )
            if column is None:
                return []
            value = row[column]
        if isinstance(value, float) and math.isfinite(value):
            point = row.get("point", len(out))
            point = str(int(point)) if isinstance(point, float) else str(point)
            out.append((point, {k: row.get(k) for k in data.levers}, value))
    return out


def lever_point(values: dict[str, Any]) -> str:
    """A lever point named by its lever values: `kazakh volume (t/month) 100,000; quota route
    north`."""
    return "; ".join(f"{input_label(k)} {_short(v)}" for k, v in values.items()) or "no levers"


def page(data: SweepData, charts: list[Chart]) -> Page:
    total, ok = len(data.runs), len(data.ok)
    failed = total - ok
    description = data.manifest.get("description") or ""
    levers = ", ".join(input_label(k) for k in data.levers) or "no levers"
    question = (
        (f"{description.rstrip('.')}. " if description else "")
        + f"How do landed cost and unserved tonnes respond to {levers}"
        + (
            f", with {', '.join(input_label(k) for k in data.uncertainties)} sampled afresh in "
            "every run"
            if data.uncertainties
            else ""
        )
        + ", and which of these inputs matters most?"
    )
    headline = [Headline("Runs", f"{total:,}", f"{ok:,} succeeded, {failed:,} failed")]
    tables = []
    extremes: list[tuple[str, str, dict[str, Any], str]] = []  # heading, point, levers, mean
    for kpi in TORNADO_KPIS:
        means = point_means(data, kpi)
        if not means:
            continue
        ranked = sorted(means, key=lambda p: p[2], reverse=measure(kpi).better == "higher")
        for which, (point, lever_values, value) in (("best", ranked[0]), ("worst", ranked[-1])):
            label = f"{measure(kpi).label}, {which} lever point"
            headline.append(Headline(label, format_kpi(kpi, value), lever_point(lever_values)))
            extremes.append(
                (f"{measure(kpi).label}: {which}", point, lever_values, format_kpi(kpi, value))
            )
    if extremes:
        body = [["mean over its runs", *(e[3] for e in extremes)]]
        body += [[input_label(key), *(_short(e[2][key]) for e in extremes)] for key in data.levers]
        tables.append(
            Table(
                "Best and worst lever points (points.csv)",
                ["", *(e[0] for e in extremes)],
                body,
            )
        )
    rows = []
    for key, kind in [(k, "lever") for k in data.levers] + [
        (k, "uncertainty") for k in data.uncertainties
    ]:
        values = [r[key] for r in data.runs]
        distinct = sorted(set(values), key=_sort_key)
        span = f"{_short(distinct[0])} to {_short(distinct[-1])}" if distinct else ""
        rows.append([input_label(key), key, kind, f"{len(distinct):,}", span])
    tables.append(
        Table("Inputs (runs.csv)", ["input", "key", "kind", "distinct values", "range"], rows)
    )
    notes = []
    if failed:
        errors = sorted({str(r.get("error") or "") for r in data.runs if r not in data.ok})
        notes.append(
            f"{failed} run(s) failed and are left out of the charts: " + "; ".join(errors[:5])
        )
    m = data.manifest
    facts = f"sweep {data.name}; seed {m.get('seed', '?')}; program {m.get('program_version', '?')}"
    warning = sample_warning(data)
    return Page(
        title=f"Sweep report: {data.name}",
        warnings=[warning] if warning else [],
        kind="sweep",
        question=question,
        facts=facts,
        headline=headline,
        tables=tables,
        notes=notes,
        charts=charts,
        sources=sorted(p.name for p in data.folder.glob("*.csv")),
    )
