"""The array path's books: what each replication keeps in Python (events, disruption spells),
the valuation parts, and the array forms of the recorder's helpers its rows are built with
(time below a stock level, run-cut spells, the final network the rows read)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.engine.crude import Tank
from sim.engine.records import EventRecord
from sim.kinds import Effect, EventKind
from sim.recording.recorder import DisruptionSpell

if TYPE_CHECKING:
    from sim.array_path import ArrayPath


#: The parts of a valuation total (as sim.recording.valuation).
VALUED = ("tonnes_t", "worth_usd", "sulphur_usd", "processing_usd")


class Books:
    """One replication's discrete state and records kept in Python (they change rarely)."""

    __slots__ = (
        "_counter",
        "events",
        "spells",
        "open_spells",
        "active",
        "shock",
        "price_key_dirty",
    )

    def __init__(self, counter: Iterator[int]) -> None:
        #: (time, order logged in the chunk, record); `counter` is shared by the chunk's books,
        #: so events of one instant keep the order they happened in.
        self._counter = counter
        self.events: list[tuple[float, int, EventRecord]] = []
        self.spells: list[DisruptionSpell] = []
        self.open_spells: dict[str, DisruptionSpell] = {}
        self.active: dict[tuple[str, Effect], dict[str, float]] = {}
        #: Price shocks in force: (series or contract, USD/bbl), sorted.
        self.shock: tuple[tuple[str, str, float], ...] = ()
        self.price_key_dirty = False

    def log(self, time_days: float, asset: str, kind: EventKind, detail: str = "") -> None:
        self.events.append(
            (time_days, next(self._counter), EventRecord(time_days, asset, kind, detail))
        )


class _FinalRefinery:
    """What the recorder's rows read of a refinery at the end of a replication."""

    def __init__(self, spec: Any, stock_t: float, by_mix_t: dict[str, float]):
        self.spec = spec
        self.tank = Tank(spec.tank_capacity_t, 0.0, {})
        self.tank.stock_t = stock_t
        self.tank.by_mix_t = by_mix_t
        self.quarantined_t = 0.0
        self.offspec_run_t = 0.0
        self.reverse_pumped_t = 0.0
        self.quarantine_stock_t = 0.0


class FinalNetwork:
    def __init__(self, path: ArrayPath, stock: np.ndarray, stock_c: np.ndarray):
        keys = path.layout.keys
        self.refineries = {
            name: _FinalRefinery(
                path._specs[n],
                float(stock[n]),
                {keys[i]: t for i, t in enumerate(stock_c[n].tolist()) if t != 0},
            )
            for n, name in enumerate(path.layout.refineries)
        }


def time_below(start: np.ndarray, end: np.ndarray, level: np.ndarray) -> np.ndarray:
    """`recorder._time_below` for arrays, over a step of one day."""
    both = (start < level) & (end < level)
    low, high = np.minimum(start, end), np.maximum(start, end)
    crossing = (np.minimum(start, end) < level) & ~both
    span = np.where(high > low, high - low, 1.0)
    return np.where(both, 1.0, np.where(crossing, (level - low) / span, 0.0))


def cut_spells(cut: np.ndarray) -> tuple[list[tuple[float, float]], float | None]:
    """The recorder's run-cut spells from a replication's per-step cut flags."""
    spells: list[tuple[float, float]] = []
    if not cut.any():
        return spells, None
    edges = np.diff(np.concatenate([[0], cut.astype(int), [0]]))
    starts, stops = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    since = None
    for a, b in zip(starts, stops, strict=True):
        if b >= len(cut):
            since = float(a)
        else:
            spells.append((float(a), float(b)))
    return spells, since
