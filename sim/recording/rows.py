"""The per-table rows of one replication, built from the recorder's totals at the end."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sim.engine.crude import split_mix_key
from sim.engine.records import RunEnd
from sim.kinds import EventKind
from sim.registry import COST_COMPONENTS, ROUTE_SEPARATOR
from sim.units import date_at

if TYPE_CHECKING:
    from sim.recording.recorder import Recorder


def refinery_rows(rec: Recorder, horizon: float) -> list[dict[str, Any]]:
    out = []
    stops: dict[str, int] = defaultdict(int)
    for e in rec.events:
        if e.kind is EventKind.UNIT_STOP:
            stops[e.asset] += 1
    for name, refinery in rec.network.refineries.items():
        tot = rec.refinery[name]
        spec = refinery.spec
        out.append(
            {
                "replication": rec.replication,
                "refinery": name,
                "intake_t": tot.intake_t,
                "runs_t": tot.runs_t,
                "target_runs_t": spec.target_run_t_per_day * horizon,
                "unserved_t": tot.unserved_t,
                "run_cut_days": tot.cut_days,
                "utilisation": tot.runs_t / (spec.capacity_t_per_day * horizon),
                "min_stock_t": tot.min_stock_t,
                "mean_stock_t": tot.stock_integral_t_days / horizon,
                "final_stock_t": refinery.tank.stock_t,
                "min_days_cover": tot.min_stock_t / spec.target_run_t_per_day,
                "mean_days_cover": tot.stock_integral_t_days / horizon / spec.target_run_t_per_day,
                "low_stock_share": tot.low_stock_days / horizon,
                "quarantined_t": refinery.quarantined_t,
                "lost_margin_usd": tot.unserved_t * spec.margin_usd_per_t,
                "unit_stops": stops[name],
                "offspec_run_t": refinery.offspec_run_t,
                "reverse_pumped_t": refinery.reverse_pumped_t,
                "final_quarantine_t": refinery.quarantine_stock_t,
            }
        )
    return out


#: `split_mix_key` remembered: the same few keys are split for every link of every replication.
_crude_of_key = functools.cache(split_mix_key)


def _link_flow_by_crude(rec: Recorder, link: int) -> dict[tuple[str, str], float]:
    """Tonnes that left a link by (origin, grade)."""
    out: dict[tuple[str, str], float] = defaultdict(float)
    for mix, tonnes in rec._link_mix_t[link].values():
        for key, share in mix.items():
            out[_crude_of_key(key)] += share * tonnes
    return out


def flow_rows(rec: Recorder) -> list[dict[str, Any]]:
    return [
        {
            "replication": rec.replication,
            "link": link.name,
            "origin": origin,
            "grade": grade,
            "tonnes_t": tonnes,
        }
        for link in rec.topology.links
        for (origin, grade), tonnes in sorted(_link_flow_by_crude(rec, link.index).items())
        if tonnes > 0
    ]


@functools.lru_cache(maxsize=4096)
def _date_text(start: dt.date, day: int) -> str:
    """ISO date of a whole day since `start` (events of every replication fall on the same
    few hundred days)."""
    return date_at(start, day).isoformat()


def event_rows(rec: Recorder) -> list[dict[str, Any]]:
    return [
        {
            "replication": rec.replication,
            "time_days": e.time_days,
            "date": _date_text(rec.start_date, int(e.time_days)),
            "asset": e.asset,
            "event": e.kind.value,
            "detail": e.detail,
        }
        for e in rec.events
    ]


def contract_rows(rec: Recorder, end: RunEnd) -> list[dict[str, Any]]:
    out = []
    for c in rec.topology.contracts:
        shipped = rec.shipped_t[c.index]
        cost = rec.purchase_usd[c.index] + rec.transport_usd[c.index]
        nominated = end.nominated_t[c.index]
        out.append(
            {
                "replication": rec.replication,
                "contract": c.name,
                "origin": c.origin,
                "destination": c.destination,
                "nominated_t": nominated,
                "shipped_t": shipped,
                "makeup_t": end.makeup_t[c.index],
                # Shipped beyond the nomination is make-up only, so this is what was missed and
                # not made up (the engine's own count of shipped tonnes, exact per step).
                "missed_t": nominated - end.contract_shipped_t[c.index],
                "purchase_usd": rec.purchase_usd[c.index],
                "transport_usd": rec.transport_usd[c.index],
                "landed_cost_usd_per_t": cost / shipped if shipped > 0 else float("nan"),
            }
        )
    return out


#: Each cost component and its per-tonne column (named once, not per row).
_PER_T = tuple((k, f"{k}_per_t") for k in COST_COMPONENTS)


def cost_rows(rec: Recorder) -> list[dict[str, Any]]:
    """costs.csv: one row per (refinery, origin, route) of crude delivered. (Margin lost to run
    cuts is a refinery's, in refineries.csv and summary.csv, not a delivery's.)"""
    rep = rec.replication
    out = []
    labelled = {
        (refinery, origin, ROUTE_SEPARATOR.join(route)): book
        for (refinery, origin, route), book in rec.costs.items()
    }
    for (refinery, origin, route), book in sorted(labelled.items()):
        tonnes = book["tonnes_t"]
        total = sum(book[k] for k in COST_COMPONENTS)
        row: dict[str, Any] = {
            "replication": rep,
            "refinery": refinery,
            "origin": origin,
            "route": route,
            "tonnes_t": tonnes,
        }
        for k, per_t in _PER_T:
            row[k] = book[k]
            row[per_t] = book[k] / tonnes if tonnes > 0 else float("nan")
        row["total_usd"] = total
        row["total_usd_per_t"] = total / tonnes if tonnes > 0 else float("nan")
        out.append(row)
    return out


def cargo_rows(rec: Recorder) -> list[dict[str, Any]]:
    out = []
    for c in rec.cargoes:
        total = sum(c.costs_usd.values())
        out.append(
            {
                "replication": rec.replication,
                "cargo": c.cargo,
                "number": c.number,
                "origin": c.origin,
                "sea_link": c.sea_link,
                "port": c.port,
                "destination": c.destination,
                "lot_t": c.lot_t,
                "bought_day": c.bought_day,
                "sailed_day": c.sailed_day,
                "arrived_day": c.arrived_day,
                "berthed_day": c.berthed_day,
                "discharged_day": c.discharged_day,
                "voyage_delay_days": c.voyage_delay_days,
                "berth_wait_days": c.berth_wait_days,
                "room_wait_days": c.room_wait_days,
                **c.costs_usd,
                "total_usd": total,
                "total_usd_per_t": total / c.lot_t,
            }
        )
    return out


def disruption_rows(rec: Recorder) -> list[dict[str, Any]]:
    return [
        {
            "replication": rec.replication,
            "disruption": spell.start.name,
            "target": spell.start.target,
            "target_kind": spell.start.target_kind.value,
            "effect": effect.value,
            "value": value,
            "start_day": spell.start.time_days,
            "end_day": float("nan") if spell.end_days is None else spell.end_days,
        }
        for spell in rec.disruption_spells
        for effect, value in spell.start.effects
    ]
