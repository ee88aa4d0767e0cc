"""A run's report: its charts (run_timeline, run_tonnes) and its page, which opens with the
question the run answered and the headline numbers of summary.csv."""

from __future__ import annotations

import math
from typing import Any

from sim.report.canvas import Chart, day_to_date
from sim.report.files import mean
from sim.report.formatting import RUN_HEADLINE, format_interval, format_number, measure
from sim.report.page import Headline, Page, Table
from sim.report.run_data import RunData, describe_disruption, disruptions, load, unit_stops
from sim.report.run_timeline import cargoes_chart, runs_chart, stock_chart
from sim.report.run_tonnes import deliveries_chart, flows_chart, landed_cost_chart, margin_chart

__all__ = ["draw", "load", "page"]


CHARTS = (
    ("stock.png", stock_chart),
    ("runs.png", runs_chart),
    ("deliveries.png", deliveries_chart),
    ("landed_cost.png", landed_cost_chart),
    ("margin.png", margin_chart),
    ("link_flows.png", flows_chart),
    ("cargoes.png", cargoes_chart),
)


def draw(data: RunData) -> list[Chart]:
    charts = []
    for file, chart in CHARTS:
        made = chart(data, data.folder / file)
        if made is not None:
            charts.append(made)
    return charts


# ------------------------------------------------------------------ page


def headline_values(summary: list[dict[str, Any]]) -> dict[str, tuple[float, float, float]]:
    """Per headline KPI with a value: (mean, 95 % low, 95 % high) over the replications."""
    from sim.statistics import mean_ci

    out = {}
    for kpi in RUN_HEADLINE:
        if not summary or kpi not in summary[0]:
            continue
        values = [r[kpi] for r in summary if isinstance(r[kpi], float)]
        n, m, _, low, high = mean_ci(values)
        if n == 0:
            continue
        if kpi == "cargoes_bought" and m == 0:
            continue
        out[kpi] = (m, low, high)
    return out


def page(data: RunData, charts: list[Chart]) -> Page:
    s = data.scenario["scenario"]
    refineries = data.of_kind("refinery")
    n = data.replications
    names = (
        " and ".join(r.capitalize() for r in refineries)
        if len(refineries) < 4
        else (f"{len(refineries)} refineries")
    )
    description = s.get("description") or data.name
    question = (
        f"Under “{description}” ({data.name}), how much crude do {names} receive and run over "
        f"{int(data.horizon)} days from {s['start_date']}, how much of their planned runs is "
        f"lost, how low do their stocks fall, and what does a delivered tonne cost?"
    )
    values = headline_values(data.summary)
    headline = [
        Headline(
            measure(kpi).label,
            format_interval(kpi, m, low, high),
            "mean ± 95 % CI half-width" if high > low else "",
        )
        for kpi, (m, low, high) in values.items()
    ]
    tables = [_refinery_table(data)] if data.refineries else []
    notes = _notes(data)
    facts = (
        f"{n} replication{'s' if n != 1 else ''}, seed {s.get('seed')}; "
        f"step {s.get('step_days', 1):g} day; program {data.manifest.get('program_version', '?')}"
    )
    return Page(
        title=f"Run report: {data.name}",
        kind="run",
        question=question,
        facts=facts,
        headline=headline,
        tables=tables,
        notes=notes,
        charts=charts,
        sources=sorted(p.name for p in data.folder.glob("*.csv")),
    )


def _refinery_table(data: RunData) -> Table:
    columns = (
        ("intake_t", "received"),
        ("runs_t", "run"),
        ("target_runs_t", "target runs"),
        ("unserved_t", "unserved"),
        ("run_cut_days", "run-cut days"),
        ("min_stock_t", "lowest stock"),
        ("min_days_cover", "lowest cover"),
        ("utilisation", "utilisation"),
    )
    refineries = list(dict.fromkeys(r["refinery"] for r in data.refineries))
    body = []
    for refinery in refineries:
        mine = [r for r in data.refineries if r["refinery"] == refinery]
        cells = [refinery]
        for column, _ in columns:
            value = mean(r.get(column, math.nan) for r in mine)
            if column == "utilisation":
                cells.append(f"{value:.1%}" if math.isfinite(value) else "n/a")
            elif column.endswith("_days") or column == "min_days_cover":
                cells.append(format_number(value, "days"))
            else:
                cells.append(format_number(value, "t"))
        body.append(cells)
    mean_note = " (mean over replications)" if data.replications > 1 else ""
    return Table(
        f"Each refinery over the horizon{mean_note}, from refineries.csv",
        ["refinery", *(label for _, label in columns)],
        body,
    )


def _notes(data: RunData) -> list[str]:
    rep0 = data.first_replication
    notes = []
    for d in disruptions(data, rep0):
        start = day_to_date(data.start, d.start_day).date()
        end = day_to_date(data.start, d.end_day).date()
        notes.append(
            f"Disruption {describe_disruption(d)}, {start} to {end} "
            f"({d.end_day - d.start_day:g} days)."
        )
    for refinery in data.of_kind("refinery"):
        stops = unit_stops(data, rep0, refinery)
        if stops:
            first = day_to_date(data.start, stops[0]).date()
            notes.append(
                f"{refinery}: crude unit stopped {len(stops)} time{'s' if len(stops) > 1 else ''}"
                f" (first on {first})."
            )
    if notes and data.replications > 1:
        notes.insert(0, f"Events of replication {rep0}:")
    return notes
