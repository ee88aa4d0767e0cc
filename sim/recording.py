"""Recording a replication: running totals each step, rows at the end; KPIs from the totals.

Stocks move linearly within a step (constant rates), so the minimum over a step is the smaller
of its two ends and the time-weighted mean uses the trapezoid: both exact, not samples.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sim import registry
from sim.engine.crude import split_mix_key
from sim.indicators import hhi, n_minus_1_pct, shannon
from sim.indicators import shares as indicator_shares
from sim.registry import RUN_CUTS
from sim.units import date_at

if TYPE_CHECKING:
    from sim.engine.network_step import ExecutablePlan, StepResult
    from sim.engine.simulation import Simulation

_CUT_TOLERANCE_T = 1e-6
#: Cost components of a delivered tonne, in costs.csv order.
COST_COMPONENTS = tuple(registry.COST_COMPONENTS)


@dataclass
class ReplicationResult:
    """Rows of every result table for one replication, plus counters for benchmarks."""

    replication: int
    summary: dict[str, Any]
    refineries: list[dict[str, Any]]
    flows: list[dict[str, Any]]
    events: list[dict[str, Any]]
    contracts: list[dict[str, Any]]
    daily: list[dict[str, Any]]
    mass_balance: dict[str, float]
    counters: dict[str, float] = field(default_factory=dict)
    costs: list[dict[str, Any]] = field(default_factory=list)
    shares: list[dict[str, Any]] = field(default_factory=list)
    cargoes: list[dict[str, Any]] = field(default_factory=list)


class _RefineryTotals:
    __slots__ = (
        "intake_t",
        "runs_t",
        "unserved_t",
        "cut_days",
        "min_stock_t",
        "stock_integral_t_days",
        "day_runs_t",
        "day_target_t",
        "low_stock_days",
    )

    def __init__(self, stock_t: float):
        self.intake_t = 0.0
        self.runs_t = 0.0
        self.unserved_t = 0.0
        self.cut_days = 0
        self.min_stock_t = stock_t
        self.stock_integral_t_days = 0.0
        self.day_runs_t = 0.0
        self.day_target_t = 0.0
        self.low_stock_days = 0.0


def _time_below(start_t: float, end_t: float, level_t: float, dt: float) -> float:
    """Time within a step that a stock moving linearly from start to end spends below a level."""
    if start_t < level_t and end_t < level_t:
        return dt
    if start_t >= level_t and end_t >= level_t:
        return 0.0
    low, high = (start_t, end_t) if start_t < end_t else (end_t, start_t)
    return dt * (level_t - low) / (high - low)


class Recorder:
    def __init__(self, sim: Simulation, record_daily: bool):
        self.sim = sim
        self.record_daily = record_daily
        net = sim.network
        self.refinery = {n: _RefineryTotals(r.tank.stock_t) for n, r in net.refineries.items()}
        n_contracts = len(sim.topology.contracts)
        self.shipped_t = [0.0] * n_contracts
        self.purchase_usd = [0.0] * n_contracts
        self.transport_usd = [0.0] * n_contracts
        self.supplied_t = 0.0
        self.events: list[tuple[float, str, str, str]] = []
        self.daily: list[dict[str, Any]] = []
        self._day_in: dict[str, float] = defaultdict(float)
        self._day_out: dict[str, float] = defaultdict(float)
        self.plans_used = 0
        self.steps = 0
        low_days = sim.scenario.scenario.low_stock_days
        self._low_stock_t = {
            n: low_days * r.spec.target_run_t_per_day for n, r in net.refineries.items()
        }
        #: Spells of time in which some refinery ran below target: (start, end) days.
        self.cut_spells: list[tuple[float, float]] = []
        self._cut_since: float | None = None
        self._cut_now = False
        self._link_mix_t: list[dict[int, list]] = [{} for _ in sim.topology.links]
        self._open_plan: ExecutablePlan | None = None
        self._open_month = None
        self._open_route_t: list[float] = []
        self._open_unscaled_days = 0.0
        self._open_prices: list[float] = []
        self._open_crude: list[float] = []
        #: Cost book: (refinery, origin, route) → tonnes and USD by component.
        self.costs: dict[tuple[str, str, str], dict[str, float]] = {}
        self.steps_per_day = round(1.0 / sim.dt)

    def event(self, time_days: float, asset: str, event: str, detail: str) -> None:
        self.events.append((time_days, asset, event, detail))

    def _settle(self) -> None:
        """Book the tonnes shipped under the open plan at the open month's prices."""
        plan = self._open_plan
        if plan is None:
            return
        prices = self._open_prices
        days = self._open_unscaled_days
        for i, route_t in enumerate(self._open_route_t):
            v = route_t + plan.rates_t_per_day[i] * days
            if v <= 0:
                continue
            c = plan.route_contract[i]
            self.shipped_t[c] += v
            self.purchase_usd[c] += v * prices[c]
            self.transport_usd[c] += v * plan.route_cost_usd_per_t[i]
            if plan.route_is_supply[i]:
                self.supplied_t += v * plan.route_is_supply[i]
                # Crude bought at its source: its whole cost is known here. (Crude drawn from
                # a port's tanks is booked when drawn, with its cargoes' costs.)
                contract = self.sim.topology.contracts[c]
                self.book_cost(
                    plan.routes[i].destination,
                    contract.origin,
                    plan.route_links_label[i],
                    v,
                    {
                        "crude_usd": v * self._open_crude[c],
                        "premium_usd": v * contract.premium_usd_per_t,
                    },
                    plan.route_components[i],
                )
        self._open_unscaled_days = 0.0

    def book_cost(
        self,
        refinery: str,
        origin: str,
        route: str,
        tonnes_t: float,
        usd: dict[str, float],
        transport_usd_per_t: dict[str, float],
    ) -> None:
        """Add tonnes and their cost components (USD) to a (refinery, origin, route) row."""
        row = self.costs.get((refinery, origin, route))
        if row is None:
            row = self.costs[(refinery, origin, route)] = dict.fromkeys(
                ("tonnes_t", *COST_COMPONENTS), 0.0
            )
        row["tonnes_t"] += tonnes_t
        for k, v in usd.items():
            row[k] += v
        for k, per_t in transport_usd_per_t.items():
            row[k] += per_t * tonnes_t

    def lot_received(self, node: str, tonnes_t: float, is_refinery: bool) -> None:
        """A discrete lot landed between steps: intake of the day it landed.

        (The stock before it landed was the previous step's end, already in the minimum.)
        """
        if self.record_daily:
            self._day_in[node] += tonnes_t
        if is_refinery:
            self.refinery[node].intake_t += tonnes_t

    def step(self, now: float, dt: float, plan: ExecutablePlan, result: StepResult) -> None:
        self.steps += 1
        month = self.sim.conditions.price_version  # prices change at month turns and shocks
        if plan is not self._open_plan or month != self._open_month:
            self._settle()
            self._open_plan, self._open_month = plan, month
            self._open_route_t = [0.0] * len(plan.routes)
            self._open_prices = list(self.sim.conditions.price_usd_per_t)
            self._open_crude = list(self.sim.conditions.crude_usd_per_t)
        # Tonnes per route accumulate while plan and prices stay; costs are settled on change.
        if result.scaled:
            acc = self._open_route_t
            for i, v in enumerate(result.shipped_by_route):
                acc[i] += v
        else:
            self._open_unscaled_days += dt
        # Link flows by mix object (shared, so usually one entry); split by origin at the end.
        flows = self._link_mix_t
        for link, parcels in result.link_flow.items():
            acc_by_mix = flows[link]
            for parcel in parcels:
                entry = acc_by_mix.get(id(parcel.mix))
                if entry is None:
                    acc_by_mix[id(parcel.mix)] = [parcel.mix, parcel.tonnes_t]
                else:
                    entry[1] += parcel.tonnes_t
        end_of_day = self.steps % self.steps_per_day == 0
        for name, refinery in self.sim.network.refineries.items():
            tot = self.refinery[name]
            received = result.received[name]
            ran = result.runs[name]
            ran_t = ran.tonnes_t
            stock_end = refinery.tank.stock_t
            stock_start = stock_end - received + ran_t
            tot.intake_t += received
            tot.runs_t += ran_t
            target = refinery.spec.target_run_t_per_day * dt
            if ran_t < target:
                tot.unserved_t += target - ran_t
            low = stock_end if stock_end < stock_start else stock_start
            if low < tot.min_stock_t:
                tot.min_stock_t = low
            tot.stock_integral_t_days += 0.5 * (stock_start + stock_end) * dt
            tot.low_stock_days += _time_below(stock_start, stock_end, self._low_stock_t[name], dt)
            if ran_t < target - _CUT_TOLERANCE_T:
                self._cut_now = True
            tot.day_runs_t += ran_t
            tot.day_target_t += target
            if end_of_day:
                if tot.day_runs_t < tot.day_target_t - _CUT_TOLERANCE_T:
                    tot.cut_days += 1
                tot.day_runs_t = tot.day_target_t = 0.0
        if self._cut_now:
            if self._cut_since is None:
                self._cut_since = now
        elif self._cut_since is not None:
            self.cut_spells.append((self._cut_since, now))
            self._cut_since = None
        self._cut_now = False
        if self.record_daily:
            self._record_day(now, result, end_of_day)

    def _record_day(self, now: float, result: StepResult, end_of_day: bool) -> None:
        sim = self.sim
        for name in sim.network.refineries:
            self._day_in[name] += result.received[name]
            self._day_out[name] += result.runs[name].tonnes_t
        links = sim.topology.links
        for link, parcels in result.link_flow.items():
            tonnes = sum(p.tonnes_t for p in parcels)
            self._day_out[links[link].name] += tonnes
            if links[link].kind == "pipeline":  # a full line: in equals out
                self._day_in[links[link].name] += tonnes
        for link, tonnes in result.rail_loaded.items():
            self._day_in[links[link].name] += tonnes
        if not end_of_day:
            return
        day = date_at(sim.start_date, now).isoformat()
        rows = self.daily
        for name, refinery in sim.network.refineries.items():
            rows.append(self._row(day, name, "refinery", refinery.tank.stock_t))
        for name, tank in sim.network.ports.items():
            rows.append(self._row(day, name, "port", tank.stock_t))
        for link in sim.topology.links:
            rows.append(
                self._row(day, link.name, link.kind, sim.network.fifos[link.index].content_t())
            )
        self._day_in.clear()
        self._day_out.clear()

    def _row(self, day: str, asset: str, kind: str, stock_t: float) -> dict[str, Any]:
        return {
            "replication": self.sim.replication,
            "date": day,
            "asset": asset,
            "asset_kind": kind,
            "inflow_t": self._day_in.get(asset, 0.0),
            "outflow_t": self._day_out.get(asset, 0.0),
            "stock_t": stock_t,
        }

    # -- end of run -----------------------------------------------------------------------
    def _link_flow_by_crude(self, link: int) -> dict[tuple[str, str], float]:
        """Tonnes that left a link by (origin, grade)."""
        out: dict[tuple[str, str], float] = defaultdict(float)
        for mix, tonnes in self._link_mix_t[link].values():
            for key, share in mix.items():
                out[split_mix_key(key)] += share * tonnes
        return out

    def finish(self, engine_seconds: float) -> ReplicationResult:
        self._settle()
        sim = self.sim
        rep = sim.replication
        horizon = sim.horizon_days
        refinery_rows = []
        for name, refinery in sim.network.refineries.items():
            tot = self.refinery[name]
            spec = refinery.spec
            refinery_rows.append(
                {
                    "replication": rep,
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
                    "mean_days_cover": tot.stock_integral_t_days
                    / horizon
                    / spec.target_run_t_per_day,
                    "low_stock_share": tot.low_stock_days / horizon,
                    "quarantined_t": refinery.quarantined_t,
                    "lost_margin_usd": tot.unserved_t * spec.margin_usd_per_t,
                }
            )
        flows = [
            {
                "replication": rep,
                "link": link.name,
                "origin": origin,
                "grade": grade,
                "tonnes_t": tonnes,
            }
            for link in sim.topology.links
            for (origin, grade), tonnes in sorted(self._link_flow_by_crude(link.index).items())
            if tonnes > 0
        ]
        events = [
            {
                "replication": rep,
                "time_days": t,
                "date": date_at(sim.start_date, t).isoformat(),
                "asset": asset,
                "event": event,
                "detail": detail,
            }
            for t, asset, event, detail in self.events
        ]
        contracts = []
        for c in sim.topology.contracts:
            shipped = self.shipped_t[c.index]
            cost = self.purchase_usd[c.index] + self.transport_usd[c.index]
            contracts.append(
                {
                    "replication": rep,
                    "contract": c.name,
                    "origin": c.origin,
                    "destination": c.destination,
                    "shipped_t": shipped,
                    "purchase_usd": self.purchase_usd[c.index],
                    "transport_usd": self.transport_usd[c.index],
                    "landed_cost_usd_per_t": cost / shipped if shipped > 0 else float("nan"),
                }
            )
        runs = sum(r["runs_t"] for r in refinery_rows)
        quarantined = sum(r["quarantined_t"] for r in refinery_rows)
        final_inventory = sim._inventory_t()
        initial = sim.initial_inventory_t
        supplied = self.supplied_t + sim.lots_landed_t
        swapped = sim.swapped_out_t
        imbalance = initial + supplied - (runs + final_inventory + quarantined + swapped)
        mass_balance = {
            "initial_inventory_t": initial,
            "supplied_t": supplied,
            "runs_t": runs,
            "final_inventory_t": final_inventory,
            "quarantined_t": quarantined,
            "swapped_out_t": swapped,
            "imbalance_t": imbalance,
        }
        costs = self._cost_rows(refinery_rows)
        supply_rows = [r for r in costs if r["route"] != RUN_CUTS]
        supply_cost = sum(r["total_usd"] for r in supply_rows)
        delivered_total = sum(r["tonnes_t"] for r in supply_rows)
        by_origin: dict[str, float] = defaultdict(float)
        by_route: dict[str, float] = defaultdict(float)
        entry_points: set[str] = set()
        for r in supply_rows:
            by_origin[r["origin"]] += r["tonnes_t"]
            by_route[r["route"]] += r["tonnes_t"]
            if r["tonnes_t"] > 0:
                entry_points.add(r["route"].split(" > ")[0])
        shares = [
            {"replication": rep, "origin": origin, "tonnes_t": by_origin[origin], "share": share}
            for origin, share in sorted(indicator_shares(by_origin).items())
        ]
        trade = sim.scenario.trade
        partner_usd = float("nan")
        balance = float("nan")
        if trade is not None:
            partner_usd = sum(
                r["crude_usd"] + r["premium_usd"]
                for r in supply_rows
                if r["origin"] == trade.partner_origin
            )
            per_year = 365.0 / sim.horizon_days
            balance = trade.exports_usd_per_year - (
                trade.imports_usd_per_year + partner_usd * per_year
            )
        summary = {
            "replication": rep,
            "seed": sim.scenario.scenario.seed,
            "refinery_intake_t": sum(r["intake_t"] for r in refinery_rows),
            "runs_t": runs,
            "unserved_t": sum(r["unserved_t"] for r in refinery_rows),
            "run_cut_days": sum(r["run_cut_days"] for r in refinery_rows),
            "supplied_t": supplied,
            "quarantined_t": quarantined,
            "supply_cost_usd": supply_cost,
            "landed_cost_usd_per_t": (
                supply_cost / delivered_total if delivered_total else float("nan")
            ),
            "min_days_cover": min(
                (r["min_days_cover"] for r in refinery_rows), default=float("nan")
            ),
            "lost_margin_usd": sum(r["lost_margin_usd"] for r in refinery_rows),
            "mean_days_cover": (
                sum(r["mean_stock_t"] for r in refinery_rows)
                / sum(r.spec.target_run_t_per_day for r in sim.network.refineries.values())
            ),
            "low_stock_share": max((r["low_stock_share"] for r in refinery_rows), default=0.0),
            "stock_fell_below_threshold": int(any(r["low_stock_share"] > 0 for r in refinery_rows)),
            "recovery_days_max": self._recovery_days_max(),
            "supplier_hhi": hhi(by_origin),
            "supplier_shannon": shannon(by_origin),
            "route_hhi": hhi(by_route),
            "entry_points": len(entry_points),
            "n_minus_1_pct": n_minus_1_pct(sim.scenario),
            "trade_partner_purchases_usd": partner_usd,
            "trade_balance_usd_per_year": balance,
            "cargoes_bought": len(sim.cargo_rows) + sum(sim._open_cargoes),
            "events": len(events),
            "mass_balance_error_t": imbalance,
        }
        counters = {
            "engine_seconds": engine_seconds,
            "steps": self.steps,
            "plans_used": self.plans_used,
            "simpy_events": sim.env.scheduled_events,
        }
        return ReplicationResult(
            rep,
            summary,
            refinery_rows,
            flows,
            events,
            contracts,
            self.daily,
            mass_balance,
            counters,
            costs=costs,
            shares=shares,
            cargoes=[{"replication": rep, **row} for row in sim.cargo_rows],
        )

    def _recovery_days_max(self) -> float:
        """Longest time, after a disruption ended, until no refinery ran below target.

        For each disruption that ended, the run-cut spells that began before its end and
        lasted past it give its recovery time (0 if none did).
        """
        spells = list(self.cut_spells)
        if self._cut_since is not None:
            spells.append((self._cut_since, self.sim.horizon_days))
        ends = [t for t, _, event, _ in self.events if event == "disruption_end"]
        worst = 0.0
        for end in ends:
            for start, stop in spells:
                if start <= end < stop:
                    worst = max(worst, stop - end)
        return worst

    def _cost_rows(self, refinery_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """costs.csv: one row per (refinery, origin, route), then one per refinery's run cuts."""
        rep = self.sim.replication
        rows = []
        for (refinery, origin, route), book in sorted(self.costs.items()):
            tonnes = book["tonnes_t"]
            total = sum(book[k] for k in COST_COMPONENTS)
            row: dict[str, Any] = {
                "replication": rep,
                "refinery": refinery,
                "origin": origin,
                "route": route,
                "tonnes_t": tonnes,
            }
            for k in COST_COMPONENTS:
                row[k] = book[k]
                row[f"{k}_per_t"] = book[k] / tonnes if tonnes > 0 else float("nan")
            row["total_usd"] = total
            row["total_usd_per_t"] = total / tonnes if tonnes > 0 else float("nan")
            row["lost_margin_usd"] = 0.0
            rows.append(row)
        for r in refinery_rows:
            row = {
                "replication": rep,
                "refinery": r["refinery"],
                "origin": "",
                "route": RUN_CUTS,
                "tonnes_t": r["unserved_t"],
            }
            for k in COST_COMPONENTS:
                row[k] = 0.0
                row[f"{k}_per_t"] = 0.0
            row["total_usd"] = 0.0
            row["total_usd_per_t"] = 0.0
            row["lost_margin_usd"] = r["lost_margin_usd"]
            rows.append(row)
        return rows
