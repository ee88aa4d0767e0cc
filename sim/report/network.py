"""The network drawn as a schematic map (`python -m sim describe FILE --plot`).

Crude flows left to right: each node sits in the column of its longest path to a refinery
(refineries in the last column, supply points further left the longer their way in), and within
a column nodes are ordered to keep links short (barycentre sweeps). Fields, markets, junctions,
ports and refineries have their own markers; pipelines, rail and sea voyages their own line
styles; links are labelled with their capacity (sea: voyage days and freight). The links on a
refinery's minimum cut (`sim.network.refinery_reach`: the bottlenecks of the most it can
receive per day) are drawn thick and red.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import networkx as nx
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

from sim.network import refinery_reach
from sim.report.canvas import DPI, figure, save
from sim.report.formatting import format_number
from sim.scenario.schema import Scenario

NODE_STYLE = {
    # kind: (marker, size, face colour, label)
    "field": ("^", 190, "#8c564b", "field"),
    "market": ("D", 150, "#9467bd", "market (cargoes bought)"),
    "junction": ("o", 80, "#7f7f7f", "junction"),
    "port": ("s", 170, "#1f77b4", "port with tanks"),
    "refinery": ("h", 420, "#2ca02c", "refinery"),
}
LINK_STYLE = {
    # kind: (line style, colour, label)
    "pipeline": ("-", "#4d4d4d", "pipeline"),
    "rail": ("--", "#9467bd", "rail"),
    "sea": (":", "#1f77b4", "sea voyage"),
}
BOTTLENECK = "#d62728"
MAX_PX = 3800


def _graph(scenario: Scenario) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    for name, node in scenario.nodes.items():
        graph.add_node(name, kind=node.kind)
    for name, link in scenario.links.items():
        graph.add_edge(link.from_node, link.to_node, key=name, kind=link.kind)
    return graph


def columns(scenario: Scenario) -> dict[str, int]:
    """Column of every node: refineries last, others by their longest path to a refinery."""
    graph = nx.DiGraph(_graph(scenario))
    refineries = [n for n, node in scenario.nodes.items() if node.kind == "refinery"]
    distance: dict[str, int] = {r: 0 for r in refineries}
    if nx.is_directed_acyclic_graph(graph):
        for node in reversed(list(nx.topological_sort(graph))):
            if node in distance:
                continue
            below = [distance[s] + 1 for s in graph.successors(node) if s in distance]
            if below:
                distance[node] = max(below)
    else:  # a cycle: shortest way to a refinery instead
        reverse = graph.reverse()
        lengths = nx.multi_source_dijkstra_path_length(reverse, refineries, weight=lambda *_: 1)
        distance.update({n: int(d) for n, d in lengths.items()})
    deepest = max(distance.values(), default=0)
    out = {}
    for name in scenario.nodes:
        # A node that reaches no refinery stands in the first column.
        out[name] = deepest - distance[name] if name in distance else 0
    return out


def layout(scenario: Scenario) -> dict[str, tuple[float, float]]:
    """Positions (column, row): columns as above, rows ordered by barycentre sweeps."""
    graph = nx.DiGraph(_graph(scenario)).to_undirected()
    column = columns(scenario)
    layers: dict[int, list[str]] = defaultdict(list)
    for name in scenario.nodes:  # scenario order breaks ties, so the drawing is reproducible
        layers[column[name]].append(name)
    rows = {name: float(i) for layer in layers.values() for i, name in enumerate(layer)}
    order = sorted(layers)
    for sweep in range(4):
        for c in order if sweep % 2 == 0 else reversed(order):
            layer = layers[c]

            def centre(name: str, c: int = c) -> float:
                near = [rows[m] for m in graph.neighbors(name) if column[m] != c]
                return sum(near) / len(near) if near else rows[name]

            keys = {name: (centre(name), i) for i, name in enumerate(layer)}
            layer[:] = sorted(layer, key=keys.__getitem__)
            for i, name in enumerate(layer):
                rows[name] = float(i)
    height = max((len(layer) for layer in layers.values()), default=1)
    positions = {}
    for c, layer in layers.items():
        offset = (height - len(layer)) / 2  # centre short columns
        for i, name in enumerate(layer):
            positions[name] = (float(c), -(offset + i))
    return positions


def _capacity_label(link) -> str:
    if link.kind == "sea":
        return f"{link.voyage_days:g} d, {link.freight_usd_per_t:.2f} USD/t"
    return f"{format_number(link.capacity_t_per_day, 't')}/d"


def _label_spot(
    placed: list[tuple[float, float]],
    start: tuple[float, float],
    end: tuple[float, float],
    rad: float,
) -> tuple[float, float]:
    """Where along the link its label goes: the middle, or the point nearest the middle that
    does not sit on a label already placed (failing that, the one farthest from them)."""
    (x0, y0), (x1, y1) = start, end
    bend = -rad * (x1 - x0) / 2, rad * (y1 - y0) / 2
    spots = []
    for t in (0.5, 0.36, 0.64, 0.26, 0.74, 0.18, 0.82):
        arc = 4 * t * (1 - t)  # the arc's offset from the chord, 1 at the middle
        spots.append((x0 + t * (x1 - x0) + arc * bend[1], y0 + t * (y1 - y0) + arc * bend[0]))

    def clearance(spot: tuple[float, float]) -> float:
        """How far the spot is from the nearest label, in label sizes (above 1: no overlap)."""
        x, y = spot
        return min((max(abs(x - px) / 0.36, abs(y - py) / 0.24) for px, py in placed), default=9.0)

    for spot in spots:
        if clearance(spot) > 1:
            return spot
    return max(spots, key=clearance)


def draw_network(scenario: Scenario, path: Path) -> None:
    positions = layout(scenario)
    reach = refinery_reach(scenario)
    bottlenecks: dict[str, list[str]] = defaultdict(list)
    for r in reach:
        for bottleneck in r.binding_links:
            bottlenecks[bottleneck].append(r.refinery)
    width_cols = max(x for x, _ in positions.values()) + 1
    height_rows = max(-y for _, y in positions.values()) + 1
    width = min(2.0 + 2.9 * width_cols, MAX_PX / DPI)
    height = min(2.6 + 1.25 * height_rows + 0.22 * len(reach), MAX_PX / DPI)
    fig = figure(height, width_in=max(width, 8.0))
    ax = fig.subplots()
    ax.set_axis_off()

    pairs: dict[frozenset, int] = defaultdict(int)
    # Node labels stand just above their nodes (refineries': to the right); link labels avoid them.
    placed = [
        (x, y + 0.2)
        for node, (x, y) in positions.items()
        if scenario.nodes[node].kind != "refinery"
    ]
    for name, link in scenario.links.items():
        (x0, y0), (x1, y1) = positions[link.from_node], positions[link.to_node]
        pair = frozenset((link.from_node, link.to_node))
        rad = 0.18 * pairs[pair] * (1 if pairs[pair] % 2 else -1)
        pairs[pair] += 1
        style, colour, _ = LINK_STYLE[link.kind]
        neck = name in bottlenecks
        arrow = FancyArrowPatch(
            (x0, y0),
            (x1, y1),
            arrowstyle="-|>",
            mutation_scale=14,
            connectionstyle=f"arc3,rad={rad}",
            linestyle=style,
            color=BOTTLENECK if neck else colour,
            lw=3.2 if neck else 1.6,
            shrinkA=13,
            shrinkB=16,
            zorder=2,
        )
        ax.add_patch(arrow)
        label = f"{name}\n{_capacity_label(link)}"
        mx, my = _label_spot(placed, (x0, y0), (x1, y1), rad)
        placed.append((mx, my))
        ax.text(
            mx,
            my,
            label,
            ha="center",
            va="center",
            fontsize=7.5,
            color=BOTTLENECK if neck else "#222222",
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85},
            zorder=3,
        )

    for name, node in scenario.nodes.items():
        marker, size, colour, _ = NODE_STYLE[node.kind]
        x, y = positions[name]
        ax.scatter([x], [y], s=size, marker=marker, c=colour, edgecolors="white", zorder=4)
        extra = ""
        if node.kind == "refinery":
            extra = f"\ntarget {format_number(node.target_run_t_per_day, 't')}/d"
        elif node.kind == "field" and node.production_t_per_day:
            extra = f"\nup to {format_number(node.production_t_per_day, 't')}/d"
        elif node.kind == "port":
            extra = f"\ntanks {format_number(node.tank_capacity_t, 't')}"
        last = node.kind == "refinery"  # refineries stand alone in the last column: label right
        ax.annotate(
            f"{name}{extra}",
            (x, y),
            xytext=(16, 0) if last else (0, 13),
            textcoords="offset points",
            ha="left" if last else "center",
            va="center" if last else "bottom",
            fontsize=8.5,
            fontweight="bold" if node.kind == "refinery" else "normal",
            zorder=5,
        )
    xs = [x for x, _ in positions.values()]
    ys = [y for _, y in positions.values()]
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.8)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.7)

    kinds = list(dict.fromkeys(n.kind for n in scenario.nodes.values()))
    link_kinds = list(dict.fromkeys(link.kind for link in scenario.links.values()))
    handles = [
        Line2D([], [], ls="", marker=NODE_STYLE[k][0], color=NODE_STYLE[k][2], ms=9,
               label=NODE_STYLE[k][3])
        for k in kinds
    ] + [
        Line2D([], [], ls=LINK_STYLE[k][0], color=LINK_STYLE[k][1], lw=1.6, label=LINK_STYLE[k][2])
        for k in link_kinds
    ]  # fmt: skip
    if bottlenecks:
        handles.append(
            Line2D([], [], color=BOTTLENECK, lw=3.2, label="bottleneck: on a refinery's min cut")
        )
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 5))
    lines = [
        f"{r.refinery}: at most {format_number(r.max_flow_t_per_day, 't')}/d from every supply "
        f"point against a target of {format_number(r.target_run_t_per_day, 't')}/d"
        f"{' (SHORT)' if r.max_flow_t_per_day < r.target_run_t_per_day else ''}; bottlenecks: "
        f"{', '.join(r.binding_links) or 'none'}"
        for r in reach
    ]
    ax.set_title("\n".join(lines), fontsize=8.5, fontweight="normal", loc="left", color="#333333")
    fig.suptitle(f"{scenario.scenario.name}: the network (schematic; crude flows left to right)")
    save(fig, path)
