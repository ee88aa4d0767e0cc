"""A run's charts of tonnes and money: deliveries by origin and route, flows through each link
by physical origin, landed cost per tonne by origin and route in its components."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.patches import Patch

from sim.report.canvas import Chart, colours, figure, legend_below, save
from sim.report.formatting import format_number, scale_for
from sim.report.run_data import RunData

COMPONENT_COLOURS = {
    "crude": "#8c6d31",
    "premium": "#bd9e39",
    "freight": "#3182bd",
    "port": "#6baed6",
    "demurrage": "#d62728",
    "pipeline": "#31a354",
    "rail": "#756bb1",
    "transit_fee": "#e6550d",
}
#: Components that are the price of the crude itself; the others are getting it there.
PRICE_COMPONENTS = ("crude", "premium")


def _delivered(data: RunData) -> list[dict[str, Any]]:
    """costs.csv rows of crude delivered (folders written before costs.csv held deliveries
    only also have `run_cuts` rows: left out)."""
    return [r for r in data.costs if r["route"] != "run_cuts" and r["tonnes_t"] > 0]


def _route_label(route: str) -> str:
    return route.replace(" > ", " → ")


def _stacked_bars(
    ax: Axes,
    rows: list[str],
    stacks: list[str],
    values: dict[tuple[str, str], float],
    palette: dict[str, str],
    unit: str,
) -> None:
    """Horizontal bars, one per row, stacked by `stacks`, total written at the end."""
    totals = [sum(values.get((r, s), 0.0) for s in stacks) for r in rows]
    scale = scale_for(unit, max(totals, default=0.0))
    left = [0.0] * len(rows)
    ys = list(range(len(rows)))
    for stack in stacks:
        widths = [values.get((r, stack), 0.0) / scale.divisor for r in rows]
        if not any(widths):
            continue
        ax.barh(ys, widths, left=left, color=palette[stack], label=stack, height=0.6)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    for y, total in zip(ys, totals, strict=True):
        ax.text(
            total / scale.divisor,
            y,
            "  " + format_number(total, unit, scale),
            va="center",
            fontsize=9,
        )
    ax.set_yticks(ys, rows)
    if not ax.yaxis_inverted():  # first row on top (once: panels may share the y axis)
        ax.invert_yaxis()
    ax.set_xlim(0, max(totals, default=1.0) / scale.divisor * 1.3 or 1.0)
    ax.set_xlabel(scale.unit)
    ax.grid(axis="y", visible=False)


def deliveries_chart(data: RunData, path: Path) -> Chart | None:
    """Tonnes delivered to each refinery, stacked by origin and by route (costs.csv)."""
    rows = _delivered(data)
    if not rows:
        return None
    n = max(data.replications, 1)
    refineries = list(dict.fromkeys(r["refinery"] for r in rows))
    by_origin: dict[tuple[str, str], float] = defaultdict(float)
    by_route: dict[tuple[str, str], float] = defaultdict(float)
    for r in rows:
        by_origin[r["refinery"], r["origin"]] += r["tonnes_t"] / n
        by_route[r["refinery"], _route_label(r["route"])] += r["tonnes_t"] / n
    origins = sorted(
        {o for _, o in by_origin}, key=lambda o: -sum(by_origin[x, o] for x in refineries)
    )
    routes = list(dict.fromkeys(_route_label(r["route"]) for r in rows))
    fig = figure(1.0 + 0.6 * len(refineries) + 0.25 * len(routes), width_in=12)
    ax_origin, ax_route = fig.subplots(1, 2, sharey=True)
    _stacked_bars(ax_origin, refineries, origins, by_origin, colours(origins), "t")
    ax_origin.set_title("By origin")
    legend_below(ax_origin, ncols=2)
    _stacked_bars(ax_route, refineries, routes, by_route, colours(routes), "t")
    ax_route.set_title("By route")
    legend_below(ax_route, ncols=1)
    fig.suptitle("Crude delivered to each refinery")
    save(fig, path)
    mean_note = "mean per replication over " if n > 1 else ""
    return Chart(
        path.name,
        "Crude delivered by origin and route",
        f"Tonnes delivered toward each refinery over the horizon ({mean_note}costs.csv "
        f"tonnes_t, {n} replication{'s' if n > 1 else ''}), stacked by origin country "
        "(commercial: swapped crude counts as its buyer's origin) and by route (links joined by "
        "→; cargo crude: sea link → port → onward links).",
    )


def flows_chart(data: RunData, path: Path) -> Chart | None:
    """Tonnes that left each pipeline or rail link, stacked by physical origin (flows.csv)."""
    rows = [r for r in data.flows if r["tonnes_t"] > 0]
    if not rows:
        return None
    n = max(data.replications, 1)
    links = list(dict.fromkeys(r["link"] for r in rows))
    seen = list(dict.fromkeys(r["origin"] for r in rows))
    origins = sorted(seen, key=lambda o: (o in ("linefill", "initial_stock"), seen.index(o)))
    values: dict[tuple[str, str], float] = defaultdict(float)
    for r in rows:
        values[r["link"], r["origin"]] += r["tonnes_t"] / n
    fig = figure(1.6 + 0.45 * len(links), width_in=11)
    ax = fig.subplots()
    _stacked_bars(ax, links, origins, values, colours(origins), "t")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("Crude that left each link, by physical origin")
    save(fig, path)
    return Chart(
        path.name,
        "Flows through each link by physical origin",
        "Tonnes that left each pipeline or rail link over the horizon (flows.csv, mean per "
        "replication), by the physical origin of the molecules following the batch FIFO: "
        "`linefill` is crude that was in the lines at day 0, `initial_stock` crude in tanks.",
    )


def _cost_components(data: RunData) -> list[str]:
    """Component names whose `<name>_usd` and `<name>_usd_per_t` columns costs.csv has."""
    if not data.costs:
        return []
    columns = data.costs[0].keys()
    return [
        c[: -len("_usd_per_t")]
        for c in columns
        if c.endswith("_usd_per_t")
        and c != "total_usd_per_t"
        and c.replace("_per_t", "") in columns
    ]


def landed_cost_chart(data: RunData, path: Path) -> Chart | None:
    """Landed cost per tonne by origin and route, broken into its components (costs.csv)."""
    rows = _delivered(data)
    components = _cost_components(data)
    if not rows or not components:
        return None
    groups: dict[tuple[str, str], dict[str, float]] = {}

    def add(key: tuple[str, str], row: dict[str, Any]) -> None:
        acc = groups.setdefault(key, defaultdict(float))
        acc["tonnes_t"] += row["tonnes_t"]
        for c in components:
            acc[c] += row[f"{c}_usd"]

    origin_tonnes: dict[str, float] = defaultdict(float)
    for r in rows:
        origin_tonnes[r["origin"]] += r["tonnes_t"]
    order: list[tuple[str, str]] = []
    for origin in sorted(origin_tonnes, key=lambda o: -origin_tonnes[o]):
        mine = [r for r in rows if r["origin"] == origin]
        keys = list(dict.fromkeys(f"{r['refinery']}: {_route_label(r['route'])}" for r in mine))
        if len(keys) > 1:
            order.append((origin, "all routes"))
            for r in mine:
                add((origin, "all routes"), r)
        for r in mine:
            add((origin, f"{r['refinery']}: {_route_label(r['route'])}"), r)
        order += [(origin, k) for k in keys]
    per_t = {
        key: {c: groups[key][c] / groups[key]["tonnes_t"] for c in components} for key in order
    }
    used = [c for c in components if any(abs(per_t[k][c]) > 1e-9 for k in order)]
    transport = [c for c in used if c not in PRICE_COMPONENTS]
    labels = [
        f"{origin} — all routes" if where == "all routes" else f"{origin} · {where}"
        for origin, where in order
    ]
    palette = {c: COMPONENT_COLOURS.get(c, "#7f7f7f") for c in used}
    fig = figure(1.8 + 0.42 * len(order), width_in=13)
    panels = fig.subplots(1, 2 if transport else 1, sharey=True, squeeze=False)[0]
    for ax, shown, title in zip(
        panels,
        (used, transport),
        ("Landed cost, all components", "Of which transport, port and fees"),
        strict=False,
    ):
        values = {
            (lab, c): per_t[key][c] for lab, key in zip(labels, order, strict=True) for c in shown
        }
        _stacked_bars(ax, labels, shown, values, palette, "USD/t")
        ax.set_title(title)
    for tick, (_, where) in zip(panels[0].get_yticklabels(), order, strict=True):
        if where == "all routes":
            tick.set_fontweight("bold")
    handles = [Patch(color=palette[c], label=c.replace("_", " ")) for c in used]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 8))
    fig.suptitle("Landed cost per tonne by origin and route")
    save(fig, path)
    return Chart(
        path.name,
        "Landed cost per tonne by origin and route",
        "What a delivered tonne cost, by origin and by refinery and route, split into its "
        "components: each component's USD summed over replications (costs.csv `*_usd`) ÷ the "
        "tonnes on that route (tonne-weighted, so it equals `*_usd_per_t` for one replication). "
        "Bold rows: the origin over all its routes. Right: the same bars without the crude "
        "price and premium, so transport, port, demurrage and fees can be told apart.",
    )


def margin_chart(data: RunData, path: Path) -> Chart | None:
    """What a tonne run was worth and earned, by refinery, origin and grade (valuation.csv)."""
    if not data.valuation:
        return None
    groups: dict[str, dict[str, float]] = {}
    for r in data.valuation:
        key = f"{r['refinery']} · {r['origin']} · {r['grade']}"
        acc = groups.setdefault(key, defaultdict(float))
        t = r["tonnes_t"]
        acc["tonnes_t"] += t
        for part in ("product_worth", "landed_cost", "processing_cost", "margin"):
            acc[part] += r[f"{part}_usd_per_t"] * t
    labels = sorted(groups, key=lambda k: -groups[k]["tonnes_t"])
    per_t = {k: {p: v / groups[k]["tonnes_t"] for p, v in groups[k].items()} for k in labels}
    fig = figure(1.8 + 0.42 * len(labels), width_in=13)
    left, right = fig.subplots(1, 2, sharey=True)
    y = list(range(len(labels)))
    worth = [per_t[k]["product_worth"] for k in labels]
    cost = [per_t[k]["landed_cost"] + per_t[k]["processing_cost"] for k in labels]
    left.barh([v - 0.2 for v in y], worth, height=0.38, color="#4c72b0", label="product worth")
    left.barh([v + 0.2 for v in y], cost, height=0.38, color="#c44e52", label="landed + processing")
    left.set_yticks(y, labels)
    left.invert_yaxis()
    left.set_xlabel("USD/t run")
    left.set_title("Worth and cost of a tonne run")
    legend_below(left, 2)
    margins = [per_t[k]["margin"] for k in labels]
    right.barh(y, margins, color=["#55a868" if m >= 0 else "#c44e52" for m in margins])
    for v, m in zip(y, margins, strict=True):
        right.text(m, v, f" {m:,.1f}", va="center", ha="left" if m >= 0 else "right", fontsize=8)
    right.axvline(0, color="#333333", lw=0.8)
    right.set_xlabel("USD/t run")
    right.set_title("Refining margin")
    fig.suptitle("What a tonne run was worth, by refinery, origin and grade")
    save(fig, path)
    return Chart(
        path.name,
        "Worth and margin of a tonne run, by refinery, origin and grade",
        "Left: gross product worth of a tonne run (the refinery's configuration's yields at "
        "the month's product prices, valuation.csv `product_worth_usd_per_t`) against what it "
        "cost (landed cost, the refinery's average delivered cost, plus processing and sulphur "
        "cost). Right: the refining margin, worth − processing − landed cost, USD/t "
        "(tonne-weighted over replications). Origins are physical, as in flows.csv; the "
        "equations are in docs/valuation.md. Run a scenario with the refineries' `*_after` "
        "configurations to see the same bars after modernisation.",
    )
