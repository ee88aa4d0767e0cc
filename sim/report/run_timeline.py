"""A run's charts over time: stock, runs against target, cargo timelines; disruptions shaded
and drawn as a timeline above the panels."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.report.canvas import (
    DPI,
    Chart,
    date_axis,
    day_to_date,
    day_to_num,
    figure,
    legend_below,
    save,
)
from sim.report.formatting import scale_for
from sim.report.run_data import Disruption, RunData, disruptions, series, unit_stops, used

STOCK_COLOUR = "#1f77b4"
RUN_COLOUR = "#1f77b4"
INTAKE_COLOUR = "#7f7f7f"
MIN_LEVEL_COLOUR = "#d62728"
CUT_COLOUR = "#d62728"
STOP_COLOUR = "#000000"
SHADE_COLOUR = "#fdd0a2"
FACTOR_COLOURMAP = matplotlib.colormaps["Oranges"]


def _union(periods: list[Disruption]) -> list[tuple[float, float]]:
    """The days covered by any disruption, as disjoint (start, end) intervals."""
    spans: list[tuple[float, float]] = []
    for start, end in sorted((d.start_day, d.end_day) for d in periods):
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def _shade(ax: Axes, data: RunData, periods: list[Disruption], handles: dict[str, Any]) -> None:
    """Shade the days on which any disruption was in force."""
    for start, end in _union(periods):
        ax.axvspan(
            day_to_num(data.start, start),
            day_to_num(data.start, end),
            color=SHADE_COLOUR,
            alpha=0.5,
            lw=0,
            zorder=0,
        )
    if periods:
        handles.setdefault(
            "a disruption in force (see the top panel)",
            Patch(color=SHADE_COLOUR, alpha=0.5),
        )


def _disruption_strip(ax: Axes, data: RunData, periods: list[Disruption]) -> None:
    """A timeline of the disruptions: one row per asset and disruption, coloured by how much
    was left (dark: nothing; mid-tone: no factor effect, e.g. contamination), each labelled
    beside its first bar."""
    rows = list(dict.fromkeys((d.asset, d.name) for d in periods))
    labelled: set[int] = set()
    for d in periods:
        y = rows.index((d.asset, d.name))
        left = 0.5 if math.isnan(d.factor) else min(max(d.factor, 0.0), 1.0)
        ax.barh(
            y,
            d.end_day - d.start_day,
            left=day_to_num(data.start, d.start_day),
            height=0.7,
            color=FACTOR_COLOURMAP(0.35 + 0.55 * (1 - left)),
        )
        if y in labelled:
            continue
        labelled.add(y)
        text = f"{d.asset}: {d.name}"
        if d.effects:
            text += f", {d.effects}"
        late = d.end_day > 0.6 * data.horizon
        ax.text(
            day_to_num(data.start, d.start_day if late else d.end_day),
            y,
            f"{text}  " if late else f"  {text}",
            va="center",
            ha="right" if late else "left",
            fontsize=8,
        )
    ax.set_yticks([])
    ax.set_ylim(len(rows) - 0.4, -0.6)
    ax.grid(axis="y", visible=False)
    ax.spines["left"].set_visible(False)
    ax.set_title("Disruptions (dark: no capacity left)")


def _panels(fig, data: RunData, periods: list[Disruption], n: int) -> tuple[Axes | None, list]:
    """`n` stacked panels sharing the date axis, under a disruption timeline if there are any."""
    if not periods:
        return None, list(fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0])
    strip_rows = len({(d.asset, d.name) for d in periods})
    ratio = min(0.15 + 0.12 * strip_rows, 1.0)
    axes = list(fig.subplots(n + 1, 1, sharex=True, height_ratios=[ratio] + [1.0] * n)[:])
    _disruption_strip(axes[0], data, periods)
    return axes[0], axes[1:]


def _strip_height(periods: list[Disruption]) -> float:
    rows = len({(d.asset, d.name) for d in periods})
    return 0.0 if not rows else 0.7 + 0.3 * rows


def _legend(fig, handles: dict[str, Any], ncols: int = 3) -> None:
    """One legend under the panels, in as many columns as fit the figure's width."""
    if not handles:
        return
    widest = max(len(label) for label in handles)
    fit = int(fig.get_figwidth() * DPI * 0.9 // (6.5 * widest + 45))
    fig.legend(
        list(handles.values()),
        list(handles),
        loc="outside lower center",
        ncols=max(1, min(ncols, fit, len(handles))),
    )


def stock_chart(data: RunData, path: Path) -> Chart | None:
    """Refinery (and port) stock over time, minimum operating level, disruptions shaded."""
    ports = [p for p in data.of_kind("port") if used(data, p)]
    assets = [a for a in data.of_kind("refinery") + ports if series(data, a, "stock_t")]
    if not assets:
        return None
    rep0 = data.first_replication
    periods = disruptions(data, rep0)
    fig = figure(2.3 * len(assets) + 1.4 + _strip_height(periods))
    _, axes = _panels(fig, data, periods, len(assets))
    handles: dict[str, Any] = {}
    others = False
    for ax, asset in zip(axes, assets, strict=True):
        node = data.nodes[asset]
        by_rep = series(data, asset, "stock_t")
        top = max(max(v) for _, v in by_rep.values())
        top = max(top, float(node.get("tank_capacity_t", 0)))
        scale = scale_for("t", top)
        for rep, (dates, values) in by_rep.items():
            if rep == rep0:
                continue
            others = True
            ax.plot(dates, [v / scale.divisor for v in values], color="#9e9e9e", lw=0.6, alpha=0.6)
        dates, values = by_rep[rep0]
        (line,) = ax.plot(dates, [v / scale.divisor for v in values], color=STOCK_COLOUR, lw=1.8)
        handles.setdefault(f"stock at the end of the day (replication {rep0})", line)
        if node.get("min_operating_stock_t"):
            level = float(node["min_operating_stock_t"])
            ax.axhline(level / scale.divisor, color=MIN_LEVEL_COLOUR, ls="--", lw=1.2)
            handles.setdefault(
                "minimum operating level",
                Line2D([], [], color=MIN_LEVEL_COLOUR, ls="--", lw=1.2),
            )
        if node.get("tank_capacity_t"):
            ax.axhline(float(node["tank_capacity_t"]) / scale.divisor, color="#555555", ls=":")
            handles.setdefault("tank capacity", Line2D([], [], color="#555555", ls=":"))
        _shade(ax, data, periods, handles)
        stops = unit_stops(data, rep0, asset)
        if stops:
            by_date = dict(zip(dates, values, strict=True))
            xs = [day_to_date(data.start, math.floor(t)) for t in stops]
            ys = [by_date.get(x, math.nan) / scale.divisor for x in xs]
            ax.plot(xs, ys, ls="", marker="v", ms=8, color=STOP_COLOUR, zorder=5)
            handles.setdefault(
                "crude unit stopped",
                Line2D([], [], ls="", marker="v", ms=8, color=STOP_COLOUR),
            )
        kind = node.get("kind", "")
        ax.set_title(f"{asset} ({kind})")
        ax.set_ylabel(f"stock, {scale.unit}")
        ax.set_ylim(0, top / scale.divisor * 1.08)
        date_axis(ax)
    if others:
        handles["other replications"] = Line2D([], [], color="#9e9e9e", lw=0.6)
    _legend(fig, handles, ncols=3)
    fig.suptitle("Crude stock over time")
    save(fig, path)
    return Chart(
        path.name,
        "Crude stock over time",
        f"Stock in each refinery's tanks{' and each port that received crude' if ports else ''} at "
        f"the end of every day (daily.csv, replication {rep0}"
        f"{'; other replications in grey' if others else ''}), against the minimum operating "
        "level the crude unit never draws below and the tank capacity (scenario.resolved.json). "
        "Shaded: disruption periods, from disruptions.csv. "
        "Triangles: days a crude unit stopped (unit_stop).",
    )


def runs_chart(data: RunData, path: Path) -> Chart | None:
    """Refinery runs against target per day; cuts filled; crude received for context."""
    refineries = [r for r in data.of_kind("refinery") if series(data, r, "outflow_t")]
    if not refineries:
        return None
    rep0 = data.first_replication
    periods = disruptions(data, rep0)
    fig = figure(2.3 * len(refineries) + 1.4 + _strip_height(periods))
    _, axes = _panels(fig, data, periods, len(refineries))
    handles: dict[str, Any] = {}
    for ax, refinery in zip(axes, refineries, strict=True):
        node = data.nodes[refinery]
        dates, runs = series(data, refinery, "outflow_t")[rep0]
        _, intake = series(data, refinery, "inflow_t")[rep0]
        target = float(node["target_run_t_per_day"])
        capacity = float(node.get("capacity_t_per_day") or target)
        top = max(max(runs), max(intake), capacity, target)
        scale = scale_for("t", top)

        def scaled(xs: list[float], s=scale) -> list[float]:
            return [x / s.divisor for x in xs]

        _shade(ax, data, periods, handles)
        (received,) = ax.plot(dates, scaled(intake), color=INTAKE_COLOUR, lw=0.9, alpha=0.8)
        handles.setdefault("crude received", received)
        (ran,) = ax.plot(dates, scaled(runs), color=RUN_COLOUR, lw=1.8)
        handles.setdefault(f"crude run (replication {rep0})", ran)
        ax.axhline(target / scale.divisor, color="#2ca02c", ls="--", lw=1.3)
        handles.setdefault("target run", Line2D([], [], color="#2ca02c", ls="--", lw=1.3))
        if capacity != target:
            ax.axhline(capacity / scale.divisor, color="#555555", ls=":")
            handles.setdefault("crude unit capacity", Line2D([], [], color="#555555", ls=":"))
        below = [r < target - 1e-6 for r in runs]
        if any(below):
            ax.fill_between(
                dates,
                scaled(runs),
                [target / scale.divisor] * len(runs),
                where=below,
                color=CUT_COLOUR,
                alpha=0.3,
                lw=0,
                step=None,
            )
            handles.setdefault("run cut below target", Patch(color=CUT_COLOUR, alpha=0.3))
        ax.set_title(refinery)
        ax.set_ylabel(f"{scale.unit} per day")
        ax.set_ylim(0, top / scale.divisor * 1.1)
        date_axis(ax)
    _legend(fig, handles, ncols=3)
    fig.suptitle("Refinery runs against target")
    save(fig, path)
    return Chart(
        path.name,
        "Refinery runs against target",
        f"Crude run each day (daily.csv outflow_t, replication {rep0}) against the target run "
        "(scenario.resolved.json); red: the runs cut below target, whose sum is unserved_t in "
        "refineries.csv. Grey: crude received into the tanks (inflow_t). Shaded: disruptions.",
    )


def _lanes(rows: list[dict[str, Any]], horizon: float) -> list[tuple[str, list[dict]]]:
    """Cargoes packed into lanes: per cargo option, each cargo in the first lane free on the
    day it was bought, so cargoes at sea at the same time sit on separate lanes."""
    lanes: list[tuple[str, list[dict]]] = []
    for option in dict.fromkeys(r["cargo"] for r in rows):
        mine = sorted((r for r in rows if r["cargo"] == option), key=lambda r: r["bought_day"])
        ends: list[float] = []
        first = len(lanes)
        for row in mine:
            done = (
                row["discharged_day"] if row["discharged_day"] == row["discharged_day"] else horizon
            )
            free = next((i for i, end in enumerate(ends) if end <= row["bought_day"]), None)
            if free is None:
                ends.append(done)
                lanes.append(("", []))
                free = len(ends) - 1
            ends[free] = done
            lanes[first + free][1].append(row)
        lanes[first] = (f"{option} ({len(mine)})", lanes[first][1])
    return lanes


def cargoes_chart(data: RunData, path: Path) -> Chart | None:
    """Each cargo's timeline: loading, voyage, waiting for a berth, discharging (cargoes.csv)."""
    rep0 = min((int(r["replication"]) for r in data.cargoes), default=None)
    if rep0 is None:
        return None
    rows = [r for r in data.cargoes if int(r["replication"]) == rep0]
    stages = (
        ("loading", "bought_day", "sailed_day", "#bdbdbd"),
        ("voyage", "sailed_day", "arrived_day", "#3182bd"),
        ("waiting for a berth", "arrived_day", "berthed_day", "#d62728"),
        ("at the berth, discharging", "berthed_day", "discharged_day", "#31a354"),
    )
    lanes = _lanes(rows, data.horizon)
    fig = figure(1.8 + 0.3 * len(lanes), width_in=11)
    ax = fig.subplots()
    for y, (_, cargoes) in enumerate(lanes):
        for row in cargoes:
            for _, start, end, colour in stages:
                a, b = row[start], row[end]
                if a != a or b != b:  # NaN: the stage did not happen within the horizon
                    continue
                ax.barh(
                    y,
                    max(b - a, 0.0),
                    left=day_to_num(data.start, a),
                    color=colour,
                    height=0.7,
                    edgecolor="white",
                    linewidth=0.3,
                )
    ax.set_yticks(range(len(lanes)), [label for label, _ in lanes])
    for y, (label, _) in enumerate(lanes):
        if label and y:
            ax.axhline(y - 0.5, color="#999999", lw=0.6)
    ax.tick_params(axis="y", labelsize=8, length=0)
    ax.set_ylim(len(lanes) - 0.5, -0.5)
    ax.set_xlim(day_to_num(data.start, 0), day_to_num(data.start, data.horizon))
    date_axis(ax)
    ax.grid(axis="y", visible=False)
    legend_below(ax, 4, [Patch(color=c, label=lab) for lab, _, _, c in stages], below_pt=22)
    ax.set_title(f"Cargoes bought on the global market (replication {rep0})")
    save(fig, path)
    return Chart(
        path.name,
        "Cargo timelines",
        f"Every cargo in cargoes.csv (replication {rep0}), grouped by cargo option (with its "
        "number of cargoes); cargoes of one option under way at the same time are on separate "
        "lanes. Each bar: loading from the day it was bought to sailing, the voyage (with its "
        "random delay), waiting for a berth (demurrage accrues), and the time at the berth "
        "discharging (including any wait for tank room).",
    )
