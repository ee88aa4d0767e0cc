"""A stress test's report: per stress, which strategy loses least, each strategy's unserved
tonnes and what the stress added (stress_summary.csv, stress.csv, manifest.json)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.patches import Patch

from sim.report.canvas import Chart, colours, figure, pad_limits, save
from sim.report.files import ReportError, read_json, read_rows
from sim.report.formatting import format_interval, format_kpi, scale_for, signed
from sim.report.page import Headline, Page, Table

#: The stress row of a strategy's own run (sim.stress.UNSTRESSED; the report reads files only).
UNSTRESSED = "none"
TONNES = "unserved_t"


@dataclass
class StressData:
    folder: Path
    manifest: dict[str, Any]
    summary: list[dict[str, Any]]  # stress_summary.csv
    rows: list[dict[str, Any]]  # stress.csv

    @property
    def strategies(self) -> list[str]:
        return list(dict.fromkeys(str(r["strategy"]) for r in self.summary))

    @property
    def stresses(self) -> list[str]:
        """The stresses applied, in file order (without the unstressed runs)."""
        return [s for s in dict.fromkeys(str(r["stress"]) for r in self.summary) if s != UNSTRESSED]

    def of(self, stress: str) -> list[dict[str, Any]]:
        return [r for r in self.summary if r["stress"] == stress]

    def description(self, stress: str) -> str:
        for s in self.manifest.get("stresses", []):
            if s.get("stress") == stress:
                return str(s.get("description") or "")
        return ""


def load(folder: Path) -> StressData:
    folder = Path(folder)
    summary = read_rows(folder / "stress_summary.csv", ("stress", "strategy"))
    if not summary:
        raise ReportError(f"{folder / 'stress_summary.csv'} has no rows")
    path = folder / "stress.csv"
    rows = read_rows(path, ("stress", "strategy")) if path.is_file() else []
    return StressData(folder, read_json(folder / "manifest.json"), summary, rows)


def _interval(row: dict[str, Any], stat: str, sign: bool = False) -> str:
    text = format_interval(
        TONNES, row[f"{stat}_mean"], row[f"{stat}_ci95_low"], row[f"{stat}_ci95_high"]
    )
    return signed(text) if sign else text


def _key(value: float) -> float:
    return value if math.isfinite(value) else math.inf


def least_loss(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The strategy that loses least under a stress: fewest unserved tonnes under it (mean),
    then least added by the stress, then the earlier strategy."""
    order = {id(r): i for i, r in enumerate(rows)}
    return min(
        rows,
        key=lambda r: (
            _key(r["unserved_t_mean"]),
            _key(r["extra_unserved_t_mean"]),
            order[id(r)],
        ),
    )


# ------------------------------------------------------------------ chart


def extra_chart(data: StressData, path: Path) -> Chart | None:
    stresses = data.stresses
    if not stresses:
        return None
    strategies = data.strategies
    palette = colours(strategies)
    cells = {(str(r["stress"]), str(r["strategy"])): r for r in data.summary}
    values = [
        cells[s, g][f"extra_unserved_t_{c}"]
        for s in stresses
        for g in strategies
        if (s, g) in cells
        for c in ("mean", "ci95_low", "ci95_high")
    ]
    values = [v for v in values if math.isfinite(v)]
    scale = scale_for("t", max((abs(v) for v in values), default=0.0))
    d = scale.divisor
    k = len(strategies)
    height = 0.8 / k
    fig = figure(1.6 + len(stresses) * (0.35 + 0.32 * k), width_in=11)
    ax = fig.subplots()
    for i, stress in enumerate(stresses):
        for j, strategy in enumerate(strategies):
            row = cells.get((stress, strategy))
            if row is None:
                continue
            y = i - 0.4 + height * (j + 0.5)
            m = row["extra_unserved_t_mean"]
            low, high = row["extra_unserved_t_ci95_low"], row["extra_unserved_t_ci95_high"]
            if not math.isfinite(m):
                continue
            ax.barh(y, m / d, height=height * 0.9, color=palette[strategy])
            if math.isfinite(low) and math.isfinite(high) and high > low:
                ax.errorbar(
                    [m / d], [y], xerr=[[(m - low) / d], [(high - m) / d]], fmt="none",
                    ecolor="#222222", capsize=3, lw=1.1,
                )  # fmt: skip
            end = max(m, high) if math.isfinite(high) else m
            ax.annotate(
                _interval(row, "extra_unserved_t", sign=True), (end / d, y), xytext=(5, 0),
                textcoords="offset points", va="center", fontsize=8,
            )  # fmt: skip
    ax.axvline(0, color="#333333", lw=0.9)
    pad_limits(ax, [v / d for v in values] + [0.0], "x", margin=0.3)
    ax.set_yticks(range(len(stresses)), stresses)
    ax.set_ylim(len(stresses) - 0.5, -0.5)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(f"extra unserved crude the stress caused, {scale.unit}")
    n = data.manifest.get("replications", "?")
    fig.suptitle(
        f"Extra unserved tonnes by stress and strategy (mean and 95 % CI, {n} replications)"
    )
    fig.legend(
        handles=[Patch(color=palette[s], label=s) for s in strategies],
        loc="outside lower center",
        ncols=min(k, 4),
    )
    save(fig, path)
    return Chart(
        path.name,
        "Extra unserved tonnes by stress and strategy",
        "For each stress (one group) and strategy (one colour), the mean over replications of "
        "(unserved tonnes under the stress − the same strategy's unserved tonnes unstressed in "
        "the same replication), which shares its random draws (common random numbers), with "
        "the 95 % confidence interval of that mean as an error bar (Student t, n − 1 degrees "
        "of freedom; stress_summary.csv extra_unserved_t_mean, _ci95_low, _ci95_high; no bar "
        "when the replications agree or n = 1). A short bar: the strategy rides the stress out.",
    )


def draw(data: StressData) -> list[Chart]:
    chart = extra_chart(data, data.folder / "stress_extra.png")
    return [chart] if chart else []


# ------------------------------------------------------------------ page


def _table(data: StressData, stress: str) -> Table:
    first = data.strategies[0]
    stressed = stress != UNSTRESSED
    header = ["strategy", "unserved"]
    if stressed:
        header.append("of which the stress")
    header += [f"vs {first}", "run-cut days", "lowest days of cover"]
    body = []
    for r in data.of(stress):
        cells = [str(r["strategy"]), _interval(r, "unserved_t")]
        if stressed:
            cells.append(_interval(r, "extra_unserved_t", sign=True))
        cells += [
            "" if r["strategy"] == first else _interval(r, "unserved_diff_vs_first", sign=True),
            format_kpi("run_cut_days", r["run_cut_days_mean"]),
            format_kpi("min_days_cover", r["min_days_cover_mean"]),
        ]
        body.append(cells)
    description = data.description(stress)
    title = (
        f"Stress {stress}" + (f" ({description})" if description else "")
        if stressed
        else "Unstressed (each strategy under its own risks)"
    )
    return Table(
        f"{title}: unserved tonnes, mean ± 95 % CI half-width; of which the stress and vs "
        f"{first}: paired by replication (stress_summary.csv)",
        header,
        body,
    )


def page(data: StressData, charts: list[Chart]) -> Page:
    m = data.manifest
    strategies, stresses = data.strategies, data.stresses
    first = strategies[0]
    n = m.get("replications", "?")
    headline = []
    notes = []
    for stress in stresses:
        best = least_loss(data.of(stress))
        headline.append(
            Headline(
                f"Loses least under {stress}",
                str(best["strategy"]),
                f"unserved {_interval(best, 'unserved_t')}, of which the stress "
                f"{_interval(best, 'extra_unserved_t', sign=True)}",
            )
        )
        for r in data.of(stress):
            low, high = r["extra_unserved_t_ci95_low"], r["extra_unserved_t_ci95_high"]
            if math.isfinite(low) and low > 0:
                notes.append(
                    f"{stress} adds unserved crude to {r['strategy']} at the 95 % level: "
                    f"{_interval(r, 'extra_unserved_t', sign=True)}."
                )
            elif r["extra_unserved_t_mean"] == 0 and high == low:
                notes.append(f"{stress} adds no unserved crude to {r['strategy']}.")
    if isinstance(n, int) and n < 2:
        notes.insert(0, "One replication: no confidence interval can be computed.")
    tables = [_table(data, s) for s in stresses] + [_table(data, UNSTRESSED)]
    facts = (
        f"{len(strategies)} strategies × {len(stresses)} stresses, {n} replication(s) each, seed "
        f"{m.get('seed', '?')}, common random numbers"
        + (f"; overrides: {', '.join(m['overrides'])}" if m.get("overrides") else "")
    )
    files = [f"{s['strategy']}: {s.get('scenario_file')}" for s in m.get("strategies", [])]
    if files:
        facts += "; strategies: " + ", ".join(files)
    stress_files = [f"{s['stress']}: {s.get('file')}" for s in m.get("stresses", [])]
    if stress_files:
        facts += "; stresses: " + ", ".join(stress_files)
    return Page(
        title=f"Stress test: {', '.join(strategies)}",
        kind="stress",
        question=(
            f"Which supply strategy — {', '.join(strategies)} — loses least when "
            f"{', '.join(stresses) or 'nothing'} strikes: how much crude goes unserved, how much "
            f"of it the stress adds, and how each compares with {first} on the same random "
            f"events (common random numbers)?"
        ),
        facts=facts,
        headline=headline,
        tables=tables,
        notes=notes,
        notes_title="What the stresses did",
        charts=charts,
        sources=sorted(p.name for p in data.folder.glob("*.csv")),
    )
