"""A run folder's files, read once, and the events the charts mark (disruptions, unit stops).

Reads summary.csv, refineries.csv, daily.csv, events.csv, flows.csv, costs.csv, cargoes.csv,
disruptions.csv, manifest.json and scenario.resolved.json (docs/results.md). Files that an
older version did not write (costs, cargoes, disruptions) read as no rows, and their charts
or marks are left out.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.kinds import Combine, Effect, EventKind
from sim.report.files import ReportError, read_json, read_rows

#: Columns read as text, whatever they hold.
TEXT: tuple[str, ...] = (
    "asset", "asset_kind", "date", "event", "detail", "refinery", "origin", "route", "link",
    "cargo", "sea_link", "port", "destination", "contract",
    "disruption", "target", "target_kind", "effect", "grade",
)  # fmt: skip


@dataclass(frozen=True)
class Disruption:
    """A capacity cut on one asset from `start_day` to `end_day` (days since the start)."""

    asset: str
    name: str
    factor: float  # share left (lowest factor effect), NaN when it has no factor effect
    start_day: float
    end_day: float
    effects: str = ""  # what it did, e.g. `capacity_factor=0.5`


@dataclass
class RunData:
    """A run folder's files, read once."""

    folder: Path
    scenario: dict[str, Any]
    manifest: dict[str, Any]
    summary: list[dict[str, Any]]
    refineries: list[dict[str, Any]]
    daily: list[dict[str, Any]]
    events: list[dict[str, Any]]
    flows: list[dict[str, Any]] = field(default_factory=list)
    costs: list[dict[str, Any]] = field(default_factory=list)
    cargoes: list[dict[str, Any]] = field(default_factory=list)
    disruptions: list[dict[str, Any]] = field(default_factory=list)
    valuation: list[dict[str, Any]] = field(default_factory=list)

    @property
    def start(self) -> dt.date:
        return dt.date.fromisoformat(self.scenario["scenario"]["start_date"])

    @property
    def horizon(self) -> float:
        return float(self.scenario["scenario"]["horizon_days"])

    @property
    def name(self) -> str:
        return self.scenario["scenario"].get("name") or self.manifest.get("scenario_name", "run")

    @property
    def nodes(self) -> dict[str, dict[str, Any]]:
        return self.scenario.get("nodes", {})

    def of_kind(self, kind: str) -> list[str]:
        return [name for name, node in self.nodes.items() if node.get("kind") == kind]

    @property
    def replications(self) -> int:
        return len(self.summary)

    @property
    def first_replication(self) -> int:
        reps = sorted({int(r["replication"]) for r in self.daily})
        return reps[0] if reps else 0


def load(folder: Path) -> RunData:
    folder = Path(folder)
    scenario = read_json(folder / "scenario.resolved.json")
    if not scenario:
        raise ReportError(f"{folder / 'scenario.resolved.json'} is missing")

    def optional(name: str) -> list[dict[str, Any]]:
        path = folder / name
        return read_rows(path, TEXT) if path.is_file() else []

    return RunData(
        folder=folder,
        scenario=scenario,
        manifest=read_json(folder / "manifest.json"),
        summary=read_rows(folder / "summary.csv", TEXT),
        refineries=optional("refineries.csv"),
        daily=read_rows(folder / "daily.csv", TEXT),
        events=optional("events.csv"),
        flows=optional("flows.csv"),
        costs=optional("costs.csv"),
        cargoes=optional("cargoes.csv"),
        disruptions=optional("disruptions.csv"),
        valuation=optional("valuation.csv"),
    )


def disruptions(data: RunData, replication: int) -> list[Disruption]:
    """Disruption periods of one replication, from disruptions.csv (one row per effect).

    A disruption that has not ended by the end of the horizon runs to the horizon. `factor` is
    the lowest share left among its factor effects (capacity, volume, quota): a volume cut of
    half a contract is 0.5, not an outage; NaN when it has none (contamination, a price shock).
    """
    spells: dict[tuple[str, str, float], list[dict[str, Any]]] = defaultdict(list)
    for row in data.disruptions:
        if int(row["replication"]) == replication:
            spells[row["target"], row["disruption"], float(row["start_day"])].append(row)
    periods = []
    for (asset, name, start), rows in spells.items():
        end = rows[0]["end_day"]
        end = data.horizon if end is None or math.isnan(end) else float(end)
        factors = [float(r["value"]) for r in rows if Effect(r["effect"]).combine is Combine.LOWEST]
        effects = ", ".join(f"{r['effect']}={float(r['value']):g}" for r in rows)
        factor = min(factors) if factors else math.nan
        periods.append(Disruption(asset, name, factor, start, end, effects))
    return sorted(periods, key=lambda d: (d.start_day, d.asset, d.name))


def unit_stops(data: RunData, replication: int, refinery: str) -> list[float]:
    return [
        float(r["time_days"])
        for r in data.events
        if int(r["replication"]) == replication
        and r["event"] == EventKind.UNIT_STOP
        and r["asset"] == refinery
    ]


def describe_disruption(d: Disruption) -> str:
    return f"{d.name}: {d.asset}" + (f" ({d.effects})" if d.effects else "")


def series(data: RunData, asset: str, column: str) -> dict[int, tuple[list, list[float]]]:
    """Per replication: dates and values of one daily.csv column for one asset."""
    out: dict[int, tuple[list, list[float]]] = {}
    for row in data.daily:
        if row["asset"] != asset:
            continue
        dates, values = out.setdefault(int(row["replication"]), ([], []))
        dates.append(dt.datetime.fromisoformat(row["date"]))
        values.append(float(row[column]))
    return out


def used(data: RunData, asset: str) -> bool:
    """Whether the asset ever held or received crude (a port no cargo came to is left out)."""
    return any(
        row["asset"] == asset and (row["stock_t"] > 0 or row["inflow_t"] > 0) for row in data.daily
    )
