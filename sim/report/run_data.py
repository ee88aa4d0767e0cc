"""A run folder's files, read once, and the events the charts mark (disruptions, unit stops).

Reads summary.csv, refineries.csv, daily.csv, events.csv, flows.csv, costs.csv, cargoes.csv,
manifest.json and scenario.resolved.json (docs/results.md). Files that an older version did
not write (costs, cargoes) read as no rows, and their charts are left out.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.report.files import ReportError, read_json, read_rows

#: Columns read as text, whatever they hold.
TEXT = ("asset", "asset_kind", "date", "event", "detail", "refinery", "origin", "route", "link")
TEXT += ("cargo", "sea_link", "port", "destination", "contract")


@dataclass(frozen=True)
class Disruption:
    """A capacity cut on one asset from `start_day` to `end_day` (days since the start)."""

    asset: str
    name: str
    factor: float  # capacity left (capacity_factor), NaN when the detail does not give it
    start_day: float
    end_day: float
    effects: str = ""  # what it did, as events.csv says it, e.g. `capacity_factor=0.5`


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
    )


def _effects(detail: str) -> tuple[str, float]:
    """The effects of a disruption_start detail (`name: capacity_factor=0.5, ...`; earlier
    versions wrote `name: capacity x0.5`) and the capacity factor among them (NaN if none)."""
    text = detail.partition(":")[2].strip()
    match = re.search(r"capacity(?:_factor)?\s*(?:=|x|×)\s*(-?[0-9.]+(?:e-?[0-9]+)?)", text)
    return text, float(match.group(1)) if match else math.nan


def disruptions(data: RunData, replication: int) -> list[Disruption]:
    """Disruption periods of one replication, paired start to end by asset and name.

    A disruption that has not ended by the end of the horizon runs to the horizon.
    """
    open_: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    periods: list[Disruption] = []
    for row in data.events:
        if int(row["replication"]) != replication:
            continue
        detail = str(row["detail"] or "")
        name = detail.partition(":")[0].strip() or row["asset"]
        if row["event"] == "disruption_start":
            open_[row["asset"], name].append((float(row["time_days"]), *_effects(detail)))
        elif row["event"] == "disruption_end" and open_[row["asset"], name]:
            start, effects, factor = open_[row["asset"], name].pop(0)
            end = float(row["time_days"])
            periods.append(Disruption(row["asset"], name, factor, start, end, effects))
    for (asset, name), starts in open_.items():
        for start, effects, factor in starts:
            periods.append(Disruption(asset, name, factor, start, data.horizon, effects))
    return sorted(periods, key=lambda d: (d.start_day, d.asset, d.name))


def unit_stops(data: RunData, replication: int, refinery: str) -> list[float]:
    return [
        float(r["time_days"])
        for r in data.events
        if int(r["replication"]) == replication
        and r["event"] == "unit_stop"
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
