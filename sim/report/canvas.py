"""Figures drawn off screen (matplotlib's Agg canvas, no pyplot, no display) and saved as PNG.

No global matplotlib state is touched: every figure is a `Figure` with its own Agg canvas, and
the look is applied with `rc_context` around the drawing (see `style`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import matplotlib
import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import offset_copy

from sim.folders import write_file

#: Pixels per inch of every PNG; a figure 11 in wide is 1100 px.
DPI = 100
WIDTH_IN = 11.0

STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "figure.titlesize": 13,
    "figure.titleweight": "bold",
    # Names come from scenario files: a `$` in one is a dollar sign, never mathtext (which
    # would typeset it, or fail on it).
    "text.parse_math": False,
}

#: Qualitative colours (matplotlib's tab10 then tab20's light shades), assigned in a stable order.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
    "#c49c94", "#f7b6d2", "#9edae5", "#dbdb8d", "#c7c7c7",
)  # fmt: skip
#: Origins that are not a country: crude already in the system at day 0.
NEUTRAL = {"linefill": "#b0b0b0", "initial_stock": "#d9d9d9"}


@dataclass(frozen=True)
class Chart:
    """A PNG written beside the CSVs: its file name, title and a caption saying what it shows."""

    file: str
    title: str
    caption: str


@contextlib.contextmanager
def style() -> Iterator[None]:
    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]  # stubs list literal keys
        yield


def figure(height_in: float, width_in: float = WIDTH_IN) -> Figure:
    """A figure on its own Agg canvas, laid out by matplotlib's constrained layout."""
    fig = Figure(figsize=(width_in, max(height_in, 4.0)), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: Path) -> None:
    """Write the figure as PNG; no software tag, so the same data give the same bytes. The
    file is replaced whole (a symbolic link at `path` is replaced, never written through)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    write_file(path.parent, path.name, buffer.getvalue())


def colours(names: Iterable[str]) -> dict[str, str]:
    """A colour per name, in the order given (neutral greys for linefill and initial stock)."""
    out: dict[str, str] = {}
    k = 0
    for name in names:
        if name in out:
            continue
        if name in NEUTRAL:
            out[name] = NEUTRAL[name]
            continue
        out[name] = PALETTE[k % len(PALETTE)]
        k += 1
    return out


def date_axis(ax: Axes) -> None:
    """Dates on the x axis, labelled concisely (months, with the year where it changes)."""
    locator = mdates.AutoDateLocator(minticks=4, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def day_to_date(start: dt.date, days: float) -> dt.datetime:
    """Simulation time (days since the start date) as a datetime."""
    return dt.datetime.combine(start, dt.time()) + dt.timedelta(days=float(days))


def day_to_num(start: dt.date, days: float) -> float:
    """Simulation time as matplotlib's date number (days), for bars and spans on a date axis."""
    return float(mdates.date2num(day_to_date(start, days)))


def pad_limits(
    ax: Axes, values: Sequence[float], axis: str = "x", zero: bool = False, margin: float = 0.08
) -> None:
    """Axis limits around the values with a margin, also when they are all equal (no warning)."""
    xs = [v for v in values if v == v]
    if zero:
        xs.append(0.0)
    if not xs:
        xs = [0.0, 1.0]
    low, high = min(xs), max(xs)
    span = high - low
    pad = span * margin if span > 0 else max(abs(high) * 0.05, 1.0)
    setter = ax.set_xlim if axis == "x" else ax.set_ylim
    setter(low - pad, high + pad)


def legend_below(ax: Axes, ncols: int, handles: list | None = None, below_pt: float = 30) -> None:
    """A legend under the axes' x labels, a fixed distance below whatever the axes' height."""
    fig = cast(Figure, ax.figure)  # a top-level figure: the report draws no subfigures
    anchor = offset_copy(ax.transAxes, fig=fig, y=-below_pt, units="points")
    ax.legend(
        handles=handles or ax.get_legend_handles_labels()[0],
        loc="upper left",
        bbox_to_anchor=(0, 0),
        bbox_transform=anchor,
        ncols=ncols,
    )
