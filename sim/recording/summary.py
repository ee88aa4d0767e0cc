"""The summary.csv KPIs of one replication, and its shares.csv rows."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sim.engine.records import RunEnd
from sim.indicators import (
    country_indicators_and_exposure,
    hhi,
    n_minus_1_contracted_pct,
    n_minus_1_pct,
    shannon,
)
from sim.indicators import shares as indicator_shares
from sim.registry import ROUTE_SEPARATOR

if TYPE_CHECKING:
    from sim.recording.recorder import Recorder


def _tonnes_by_origin(deliveries: list[dict[str, Any]]) -> dict[str, float]:
    by_origin: dict[str, float] = defaultdict(float)
    for r in deliveries:
        by_origin[r["origin"]] += r["tonnes_t"]
    return by_origin


def share_rows(rec: Recorder, costs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_origin = _tonnes_by_origin(costs)
    return [
        {"replication": rec.replication, "origin": o, "tonnes_t": by_origin[o], "share": share}
        for o, share in sorted(indicator_shares(by_origin).items())
    ]


def summary_row(
    rec: Recorder,
    end: RunEnd,
    refinery_rows: list[dict[str, Any]],
    costs: list[dict[str, Any]],
    valuation: list[dict[str, Any]],
    books: dict[str, float],
    events: int,
) -> dict[str, Any]:
    scenario = rec.scenario
    deliveries = costs  # costs.csv holds deliveries only
    supply_cost = sum(r["total_usd"] for r in deliveries)
    delivered_total = sum(r["tonnes_t"] for r in deliveries)
    by_origin = _tonnes_by_origin(deliveries)
    by_route: dict[str, float] = defaultdict(float)
    entry_points: set[str] = set()
    for r in deliveries:
        by_route[r["route"]] += r["tonnes_t"]
        if r["tonnes_t"] > 0:
            entry_points.add(r["route"].split(ROUTE_SEPARATOR)[0])
    trade = scenario.trade
    partner_usd = float("nan")
    balance = float("nan")
    if trade is not None:
        partner_usd = sum(
            r["crude_usd"] + r["premium_usd"]
            for r in deliveries
            if r["origin"] == trade.partner_origin
        )
        per_year = 365.0 / end.end_days
        balance = trade.exports_usd_per_year - (trade.imports_usd_per_year + partner_usd * per_year)
    target = sum(r.spec.target_run_t_per_day for r in rec.network.refineries.values())
    return {
        "replication": rec.replication,
        "seed": scenario.scenario.seed,
        "refinery_intake_t": sum(r["intake_t"] for r in refinery_rows),
        "runs_t": books["runs_t"],
        "unserved_t": sum(r["unserved_t"] for r in refinery_rows),
        "run_cut_days": sum(r["run_cut_days"] for r in refinery_rows),
        "supplied_t": books["supplied_t"],
        "quarantined_t": sum(r["quarantined_t"] for r in refinery_rows),
        "reverse_pumped_t": books["reverse_pumped_t"],
        "supply_cost_usd": supply_cost,
        "landed_cost_usd_per_t": supply_cost / delivered_total if delivered_total else float("nan"),
        "min_days_cover": min((r["min_days_cover"] for r in refinery_rows), default=float("nan")),
        "lost_margin_usd": sum(r["lost_margin_usd"] for r in refinery_rows),
        "mean_days_cover": sum(r["mean_stock_t"] for r in refinery_rows) / target,
        "low_stock_share": max((r["low_stock_share"] for r in refinery_rows), default=0.0),
        "stock_fell_below_threshold": int(any(r["low_stock_share"] > 0 for r in refinery_rows)),
        "recovery_days_max": rec.recovery_days_max(),
        "supplier_hhi": hhi(by_origin),
        "supplier_shannon": shannon(by_origin),
        "route_hhi": hhi(by_route),
        "entry_points": len(entry_points),
        **_country_kpis(rec, deliveries),
        "n_minus_1_pct": n_minus_1_pct(scenario),
        "n_minus_1_contracted_pct": n_minus_1_contracted_pct(scenario),
        "trade_partner_purchases_usd": partner_usd,
        "trade_balance_usd_per_year": balance,
        "cargoes_bought": end.cargoes_discharged + end.cargoes_open,
        "events": events,
        "mass_balance_error_t": books["imbalance_t"],
        **_value_kpis(valuation, sum(r["lost_margin_usd"] for r in refinery_rows)),
    }


def _country_kpis(rec: Recorder, deliveries: list[dict[str, Any]]) -> dict[str, float]:
    """Concentration by supplier country and by transit country (docs/indicators.md)."""
    rows = [(r["origin"], r["route"], r["tonnes_t"]) for r in deliveries if r["tonnes_t"] > 0]
    kpis, exposure = country_indicators_and_exposure(rec.scenario, rows)
    kpis["transit_exposure_max"] = max(exposure.values(), default=0.0) if rows else float("nan")
    return kpis


def _value_kpis(valuation: list[dict[str, Any]], lost_margin_usd: float) -> dict[str, float]:
    """Worth, margin and net value of the crude run (NaN when no refinery is valued)."""
    nan = float("nan")
    tonnes = sum(r["tonnes_t"] for r in valuation)
    if tonnes <= 0:
        keys = (
            "product_worth_usd", "product_worth_usd_per_t", "processing_cost_usd",
            "refining_margin_usd", "refining_margin_usd_per_t", "net_value_usd",
        )  # fmt: skip
        return dict.fromkeys(keys, nan)
    worth = sum(r["product_worth_usd_per_t"] * r["tonnes_t"] for r in valuation)
    processing = sum(r["processing_cost_usd_per_t"] * r["tonnes_t"] for r in valuation)
    margin = sum(r["margin_usd"] for r in valuation)
    return {
        "product_worth_usd": worth,
        "product_worth_usd_per_t": worth / tonnes,
        "processing_cost_usd": processing,
        "refining_margin_usd": margin,
        "refining_margin_usd_per_t": margin / tonnes,
        "net_value_usd": margin - lost_margin_usd,
    }
