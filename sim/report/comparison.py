"""A comparison's report: each KPI per strategy with its 95 % interval, and the paired
differences from the first strategy (comparison.csv, replications.csv, manifest.json)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from sim import registry
from sim.report.canvas import Chart, colours, figure, pad_limits, save
from sim.report.files import ReportError, read_json, read_rows
from sim.report.formatting import (
    format_interval,
    format_number,
    in_sentence,
    measure,
    scale_for,
    signed,
)
from sim.report.page import Headline, Page, Table

BETTER, WORSE, UNCLEAR = "#2ca02c", "#d62728", "#7f7f7f"
#: The KPIs whose differences open the page (when compared).
HEADLINE_KPIS = registry.COMPARISON_HEADLINE


@dataclass
class ComparisonData:
    folder: Path
    manifest: dict[str, Any]
    rows: list[dict[str, Any]]
    replications: list[dict[str, Any]]
    ranking: list[dict[str, Any]]

    @property
    def strategies(self) -> list[str]:
        return list(dict.fromkeys(r["strategy"] for r in self.rows))

    @property
    def kpis(self) -> list[str]:
        return list(dict.fromkeys(r["kpi"] for r in self.rows))

    def threshold(self, kpi: str) -> float:
        """The smallest difference that matters for the KPI, as the comparison recorded it
        (its manifest), else the registry's default; 0 when none is known."""
        recorded = self.manifest.get("practical_difference") or {}
        return float(recorded.get(kpi, registry.PRACTICAL_DIFFERENCE.get(kpi, 0.0)))

    def row(self, kpi: str, strategy: str) -> dict[str, Any]:
        return next(r for r in self.rows if r["kpi"] == kpi and r["strategy"] == strategy)

    def values(self, kpi: str, strategy: str) -> list[float]:
        return [
            r[kpi]
            for r in self.replications
            if r["strategy"] == strategy and isinstance(r.get(kpi), float) and r[kpi] == r[kpi]
        ]


def load(folder: Path) -> ComparisonData:
    folder = Path(folder)
    rows = read_rows(folder / "comparison.csv", ("kpi", "strategy"))
    if not rows:
        raise ReportError(f"{folder / 'comparison.csv'} has no rows")
    path = folder / "replications.csv"
    replications = read_rows(path, ("strategy",)) if path.is_file() else []
    path = folder / "ranking.csv"
    ranking = read_rows(path, ("kpi", "strategy", "verdict")) if path.is_file() else []
    return ComparisonData(folder, read_json(folder / "manifest.json"), rows, replications, ranking)


def verdict(kpi: str, low: float, high: float, mean: float = 0.0, threshold: float = 0.0) -> str:
    """`better`, `worse` or `unclear`: does the 95 % interval of a difference exclude 0, is its
    sign good for this KPI, and is its mean at least the smallest difference that matters
    (`threshold`, in the KPI's unit; smaller clear differences are `unclear` too)?"""
    better = measure(kpi).better
    if not (math.isfinite(low) and math.isfinite(high)) or low <= 0 <= high or not better:
        return "unclear"
    if abs(mean) < threshold:
        return "unclear"
    up = low > 0
    return "better" if (up and better == "higher") or (not up and better == "lower") else "worse"


def _grid(n: int) -> tuple[int, int]:
    cols = 2 if n > 1 else 1
    return math.ceil(n / cols), cols


def _error_panel(
    ax: Axes,
    labels: list[str],
    means: list[float],
    lows: list[float],
    highs: list[float],
    unit: str,
    colour_of: list[str],
    texts: list[str],
    dots: list[list[float]] | None = None,
    zero_line: bool = False,
) -> None:
    """Points with asymmetric error bars, one row per label (first on top), values written."""
    finite = [v for v in (*means, *lows, *highs) if math.isfinite(v)]
    for ds in dots or []:
        finite += ds
    scale = scale_for(unit, max((abs(v) for v in finite), default=0.0))
    d = scale.divisor
    ys = list(range(len(labels)))
    for y, ds in zip(ys, dots or [[] for _ in labels], strict=True):
        if ds:
            jitter = [((i % 7) - 3) * 0.04 for i in range(len(ds))]
            ax.plot([v / d for v in ds], [y + 0.3 + j for j in jitter], ".", ms=4, color="#8a8a8a")
    for y, m, low, high, colour in zip(ys, means, lows, highs, colour_of, strict=True):
        if not math.isfinite(m):
            ax.text(0.5, y, "n/a", transform=ax.get_yaxis_transform(), ha="center", va="center")
            continue
        err = [
            [(m - low) / d if math.isfinite(low) else 0.0],
            [(high - m) / d if math.isfinite(high) else 0.0],
        ]
        ax.errorbar([m / d], [y], xerr=err, fmt="o", ms=7, color=colour, capsize=5, lw=2)
        ax.annotate(
            texts[y],
            (m / d, y),
            xytext=(0, 7),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    if zero_line:
        ax.axvline(0, color="#333333", lw=0.9)
    values = [v / d for v in finite] + ([0.0] if zero_line else [])
    pad_limits(ax, values, "x", margin=0.25)  # room for the values written over the points
    ax.set_yticks(ys, labels)
    ax.set_ylim(len(labels) - 0.5, -0.6)
    ax.grid(axis="y", visible=False)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
    ax.set_xlabel(scale.unit if scale.unit not in ("index", "count") else "")


def kpi_chart(data: ComparisonData, path: Path) -> Chart:
    strategies = data.strategies
    kpis = data.kpis
    rows, cols = _grid(len(kpis))
    fig = figure(0.6 + rows * (0.9 + 0.5 * len(strategies)), width_in=12)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    palette = colours(strategies)
    for ax, kpi in zip(axes, kpis, strict=False):
        stats = [data.row(kpi, s) for s in strategies]
        _error_panel(
            ax,
            strategies,
            [r["mean"] for r in stats],
            [r["ci95_low"] for r in stats],
            [r["ci95_high"] for r in stats],
            measure(kpi).unit,
            [palette[s] for s in strategies],
            [format_interval(kpi, r["mean"], r["ci95_low"], r["ci95_high"]) for r in stats],
            dots=[data.values(kpi, s) for s in strategies],
        )
        ax.set_title(measure(kpi).label)
    for ax in axes[len(kpis) :]:
        ax.set_visible(False)
    n = data.manifest.get("replications", "?")
    fig.suptitle(f"Each KPI per strategy: mean and 95 % confidence interval ({n} replications)")
    fig.legend(
        handles=[
            Line2D([], [], marker="o", color="#333333", label="mean, bar: 95 % CI of the mean"),
            Line2D([], [], marker=".", ls="", color="#9e9e9e", label="one replication"),
        ],
        loc="outside lower center",
        ncols=2,
    )
    save(fig, path)
    return Chart(
        path.name,
        "KPIs per strategy",
        "For each KPI (comparison.csv), each strategy's mean over its replications with the 95 % "
        "confidence interval of the mean as an error bar (Student t, n − 1 degrees of freedom; "
        "no bar when the replications agree or n = 1); grey dots: the individual replications "
        "(replications.csv). Units as in docs/results.md, scaled (kt, Mt, m USD, bn USD).",
    )


def difference_chart(data: ComparisonData, path: Path) -> Chart | None:
    strategies = data.strategies
    others = strategies[1:]
    if not others:
        return None
    first = strategies[0]
    kpis = data.kpis
    rows, cols = _grid(len(kpis))
    fig = figure(0.6 + rows * (1.0 + 0.5 * len(others)), width_in=12)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, kpi in zip(axes, kpis, strict=False):
        stats = [data.row(kpi, s) for s in others]
        lows = [r["diff_vs_first_ci95_low"] for r in stats]
        highs = [r["diff_vs_first_ci95_high"] for r in stats]
        means = [r["diff_vs_first_mean"] for r in stats]
        limit = data.threshold(kpi)
        tones = [
            verdict(kpi, lo, hi, m, limit) for lo, hi, m in zip(lows, highs, means, strict=True)
        ]
        _error_panel(
            ax,
            [f"{s} − {first}" for s in others],
            [r["diff_vs_first_mean"] for r in stats],
            lows,
            highs,
            measure(kpi).unit,
            [{"better": BETTER, "worse": WORSE}.get(t, UNCLEAR) for t in tones],
            [_diff_text(kpi, r) for r in stats],
            zero_line=True,
        )
        better = measure(kpi).better
        ax.set_title(measure(kpi).label)
        if better:
            ax.set_xlabel(f"{ax.get_xlabel()}  ({better} is better)".strip())
    for ax in axes[len(kpis) :]:
        ax.set_visible(False)
    fig.suptitle(f"Paired differences from {first}: mean and 95 % confidence interval")
    fig.legend(
        handles=[
            Line2D([], [], marker="o", color=BETTER, label="better than the first (CI excludes 0)"),
            Line2D([], [], marker="o", color=WORSE, label="worse than the first (CI excludes 0)"),
            Line2D(
                [], [], marker="o", color=UNCLEAR, label="no clear difference, or no better way"
            ),
        ],
        loc="outside lower center",
        ncols=3,
    )
    save(fig, path)
    return Chart(
        path.name,
        f"Differences from {first}",
        f"For each KPI, the mean over replications of (strategy − {first}) in the same "
        "replication, which shares its random streams (common random numbers), with the 95 % "
        "confidence interval of that mean (comparison.csv diff_vs_first_*). Green or red: the "
        "interval excludes 0 and the strategy is better or worse than the first on that KPI; "
        "grey: it includes 0 (or the KPI has no better direction).",
    )


def draw(data: ComparisonData) -> list[Chart]:
    charts = [kpi_chart(data, data.folder / "kpis.png")]
    diff = difference_chart(data, data.folder / "differences.png")
    return charts + ([diff] if diff else [])


# ------------------------------------------------------------------ page


def _diff_text(kpi: str, row: dict[str, Any]) -> str:
    return signed(
        format_interval(
            kpi,
            row["diff_vs_first_mean"],
            row["diff_vs_first_ci95_low"],
            row["diff_vs_first_ci95_high"],
        )
    )


def _words(kpi: str, row: dict[str, Any], threshold: float, n: Any) -> str:
    """The plain-words verdict of one strategy against the reference on one KPI."""
    low, high, mean = (
        row["diff_vs_first_ci95_low"],
        row["diff_vs_first_ci95_high"],
        row["diff_vs_first_mean"],
    )
    tone = verdict(kpi, low, high, mean, threshold)
    if tone != "unclear":
        return tone
    if not measure(kpi).better:
        return "difference"
    if math.isfinite(low) and math.isfinite(high) and not low <= 0 <= high:
        return "no practical difference"
    if low == high == mean == 0:
        return "no difference"
    return f"no difference detected at {n} replications"


def _best(data: ComparisonData, kpi: str) -> list[str]:
    """The strategies best first on a KPI (by mean, in its better direction)."""
    higher = measure(kpi).better != "lower"
    means = {s: data.row(kpi, s)["mean"] for s in data.strategies}
    return sorted(
        (s for s in means if math.isfinite(means[s])),
        key=lambda s: -means[s] if higher else means[s],
    )


def _best_card(data: ComparisonData, kpi: str, n: Any) -> Headline | None:
    """Which strategy is best on a KPI, and whether it is clearly ahead of the runner-up."""
    order = _best(data, kpi)
    if len(order) < 2 or not measure(kpi).better:
        return None
    best, runner_up = order[0], order[1]
    mean = format_number(data.row(kpi, best)["mean"], measure(kpi).unit)
    ahead = next((r for r in data.ranking if r["kpi"] == kpi and r["strategy"] == runner_up), None)
    if ahead is None:
        note = f"mean {mean}; runner-up {runner_up}"
    elif str(ahead["verdict"]) == "worse":
        # The gap as a positive amount: runner-up − best where lower is better, else best − it.
        sign = 1.0 if measure(kpi).better == "lower" else -1.0
        ends = sorted(sign * ahead[k] for k in ("diff_vs_best_ci95_low", "diff_vs_best_ci95_high"))
        gap = format_interval(kpi, sign * ahead["diff_vs_best_mean"], *ends)
        note = f"mean {mean}; clearly ahead of {runner_up} by {gap}"
    else:
        note = f"mean {mean}; not clearly ahead of {runner_up} ({ahead['verdict']})"
    return Headline(f"Best on {in_sentence(measure(kpi).label)}", best, note)


def page(data: ComparisonData, charts: list[Chart]) -> Page:
    strategies = data.strategies
    first, others = strategies[0], strategies[1:]
    m = data.manifest
    n = m.get("replications", "?")
    question = (
        f"Which supply strategy serves the refineries better — {', '.join(strategies)} — and by "
        f"how much does each differ from {first}, when every strategy meets the same random "
        f"events (common random numbers)?"
    )
    # KPIs that are zero for every strategy say nothing: folded away, and named in a note.
    zero = [
        kpi
        for kpi in data.kpis
        if all(data.row(kpi, s)["mean"] == 0 and data.row(kpi, s)["sd"] == 0 for s in strategies)
    ]
    shown = [k for k in data.kpis if k not in zero]
    cards = (_best_card(data, kpi, n) for kpi in (registry.RANKING_KPI, *HEADLINE_KPIS))
    headline = [c for c in cards if c is not None and c.label]
    verdicts = []
    for kpi in shown:
        order = _best(data, kpi)
        cells = [measure(kpi).label, order[0] if order and measure(kpi).better else "–"]
        for s in others:
            row = data.row(kpi, s)
            cells.append(f"{_words(kpi, row, data.threshold(kpi), n)}: {_diff_text(kpi, row)}")
        verdicts.append(cells)
    header = ["KPI", *strategies, *(f"Δ {s} − {first}" for s in others)]
    body = []
    for kpi in shown:
        cells = [measure(kpi).label]
        for s in strategies:
            r = data.row(kpi, s)
            cells.append(format_interval(kpi, r["mean"], r["ci95_low"], r["ci95_high"]))
        cells += [_diff_text(kpi, data.row(kpi, s)) for s in others]
        body.append(cells)
    notes = [
        f"Verdicts: 'better' or 'worse' when the paired 95 % confidence interval of the "
        f"difference from {first} excludes zero and the difference is at least the smallest "
        f"that matters (manifest.json `practical_difference`; compare --threshold); 'no "
        f"practical difference' when it excludes zero but is smaller; 'no difference detected "
        f"at {n} replications' when it includes zero (more replications may find one)."
    ]
    if isinstance(n, int) and n < 2:
        notes.insert(0, "One replication: no confidence interval can be computed.")
    if zero:
        notes.append(
            "Zero for every strategy in every replication, so not in the tables: "
            + ", ".join(in_sentence(measure(k).label) for k in zero)
            + "."
        )
    facts = (
        f"{len(strategies)} strategies, {n} replication(s) each, seed {m.get('seed', '?')}, "
        f"common random numbers; reference: {first}"
        + (f"; overrides: {', '.join(m['overrides'])}" if m.get("overrides") else "")
    )
    files = [
        f"{s['strategy']}: {s.get('scenario_file') or s.get('scenario_name')}"
        for s in m.get("strategies", [])
    ]
    if files:
        facts += "; scenarios: " + ", ".join(files)
    return Page(
        title=f"Comparison: {' vs '.join(strategies)}",
        kind="comparison",
        question=question,
        facts=facts,
        headline=headline,
        tables=[
            *_ranking_table(data),
            Table(
                f"Verdict per KPI: the best strategy, and each strategy against {first} "
                "(paired difference ± 95 % CI half-width; ranking.csv ranks every KPI)",
                ["KPI", "best", *(f"{s} vs {first}" for s in others)],
                verdicts,
            ),
            Table(
                "Mean ± 95 % CI half-width per strategy, and paired differences (comparison.csv)",
                header,
                body,
            ),
        ],
        notes=notes,
        notes_title="How to read the verdicts",
        charts=charts,
        sources=sorted(p.name for p in data.folder.glob("*.csv")),
    )


def _ranking_table(data: ComparisonData) -> list[Table]:
    """The verdict: strategies best first on the net value to Belarus (ranking.csv)."""
    if not data.ranking:
        return []
    kpi = str(data.ranking[0]["kpi"])
    rows = []
    for r in (r for r in data.ranking if r["kpi"] == kpi):
        diff = (
            ""
            if r["verdict"] == "best"
            else format_interval(
                kpi, r["diff_vs_best_mean"], r["diff_vs_best_ci95_low"], r["diff_vs_best_ci95_high"]
            )
        )
        rows.append(
            [
                str(int(r["rank"])),
                str(r["strategy"]),
                format_number(r["mean"], measure(kpi).unit),
                diff,
                str(r["verdict"]),
            ]
        )
    return [
        Table(
            f"Verdict: strategies ranked on {in_sentence(measure(kpi).label)}, best first, each "
            "against the best (paired 95 % CI; ranking.csv)",
            ["rank", "strategy", measure(kpi).label, "vs best", "verdict"],
            rows,
        )
    ]
