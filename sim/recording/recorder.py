"""The recorder: an engine observer that keeps running totals each step (the hot path).

Stocks move linearly within a step (constant rates), so the minimum over a step is the smaller
of its two ends and the time-weighted mean uses the trapezoid: both exact, not samples.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sim.engine.crude import Tank
from sim.engine.network_step import ExecutablePlan, NetworkStep, StepResult
from sim.engine.records import (
    CargoRecord,
    CostRecord,
    DisruptionRecord,
    EventRecord,
    LotRecord,
    Prices,
    RunEnd,
    StepRecord,
)
from sim.engine.topology import Topology
from sim.kinds import EventKind
from sim.recording import rows, summary
from sim.recording.mass_balance import mass_balance
from sim.recording.result import ReplicationResult
from sim.recording.valuation import RunValuation
from sim.registry import COST_COMPONENTS
from sim.scenario.schema import Scenario
from sim.units import date_at

_CUT_TOLERANCE_T = 1e-6
#: One row of the cost book: (refinery, origin, route).
CostKey = tuple[str, str, tuple[str, ...]]


class RefineryTotals:
    """Running totals of one refinery over the replication."""

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


@dataclass
class DisruptionSpell:
    """A disruption from the record that started it to its end (None: still on at the end)."""

    start: DisruptionRecord
    end_days: float | None = None


def _time_below(start_t: float, end_t: float, level_t: float, dt: float) -> float:
    """Time within a step that a stock moving linearly from start to end spends below a level."""
    if start_t < level_t and end_t < level_t:
        return dt
    if start_t >= level_t and end_t >= level_t:
        return 0.0
    low, high = (start_t, end_t) if start_t < end_t else (end_t, start_t)
    return dt * (level_t - low) / (high - low)


class Recorder:
    """Subscribes to one replication's records; `result()` gives its rows and KPIs."""

    def __init__(
        self,
        scenario: Scenario,
        topology: Topology,
        network: NetworkStep,
        replication: int,
        record_daily: bool,
    ):
        self.scenario = scenario
        self.topology = topology
        self.network = network
        self.replication = replication
        self.record_daily = record_daily
        settings = scenario.scenario
        self.start_date = settings.start_date
        self.refinery = {n: RefineryTotals(r.tank.stock_t) for n, r in network.refineries.items()}
        n_contracts = len(topology.contracts)
        self.shipped_t = [0.0] * n_contracts
        self.purchase_usd = [0.0] * n_contracts
        self.transport_usd = [0.0] * n_contracts
        self.supplied_t = 0.0
        self.events: list[EventRecord] = []
        self.daily: list[dict[str, Any]] = []
        self.cargoes: list[CargoRecord] = []
        self.disruption_spells: list[DisruptionSpell] = []
        self._open_spells: dict[str, DisruptionSpell] = {}
        self._day_in: dict[str, float] = defaultdict(float)
        self._day_out: dict[str, float] = defaultdict(float)
        self.steps = 0
        self._low_stock_t = {
            n: settings.low_stock_days * r.spec.target_run_t_per_day
            for n, r in network.refineries.items()
        }
        #: Spells of time in which some refinery ran below target: (start, end) days.
        self.cut_spells: list[tuple[float, float]] = []
        self._cut_since: float | None = None
        self._cut_now = False
        self._link_mix_t: list[dict[int, list]] = [{} for _ in topology.links]
        self._open_plan: ExecutablePlan | None = None
        self._open_prices: Prices | None = None
        self._open_route_t: list[float] = []
        self._open_unscaled_days = 0.0
        #: Cost book: (refinery, origin, route) → tonnes and USD by component.
        self.costs: dict[CostKey, dict[str, float]] = {}
        self.steps_per_day = round(1.0 / settings.step_days)
        self.valuation = RunValuation(scenario)
        #: Per refinery, for steps of `_targets_dt` days: (name, tank, totals, target run,
        #: the run below which it counts as cut, low-stock level).
        self._targets_dt = math.nan
        self._targets: list[tuple[str, Tank, RefineryTotals, float, float, float]] = []
        self.end: RunEnd | None = None

    # -- records --------------------------------------------------------------------------
    def on_event(self, record: EventRecord) -> None:
        self.events.append(record)

    def on_cargo(self, record: CargoRecord) -> None:
        self.cargoes.append(record)

    def on_disruption(self, record: DisruptionRecord) -> None:
        if record.on:
            spell = DisruptionSpell(record)
            self.disruption_spells.append(spell)
            self._open_spells[record.name] = spell
        else:
            self._open_spells.pop(record.name).end_days = record.time_days

    def on_cost(self, record: CostRecord) -> None:
        """Add tonnes and their cost components (USD) to a (refinery, origin, route) row."""
        key = (record.refinery, record.origin, record.route)
        row = self.costs.get(key)
        if row is None:
            row = self.costs[key] = dict.fromkeys(("tonnes_t", *COST_COMPONENTS), 0.0)
        row["tonnes_t"] += record.tonnes_t
        for k, v in record.usd.items():
            row[k] += v
        for k, per_t in record.transport_usd_per_t.items():
            row[k] += per_t * record.tonnes_t

    def on_lot(self, record: LotRecord) -> None:
        """A discrete lot landed between steps: intake of the day it landed.

        (The stock before it landed was the previous step's end, already in the minimum.)
        """
        if self.record_daily:
            self._day_in[record.node] += record.tonnes_t
        if record.is_refinery:
            self.refinery[record.node].intake_t += record.tonnes_t

    def on_end(self, record: RunEnd) -> None:
        self.end = record

    def _settle(self) -> None:
        """Book the tonnes shipped under the open plan at the open month's prices."""
        plan, prices = self._open_plan, self._open_prices
        if plan is None or prices is None:
            return
        days = self._open_unscaled_days
        for i, route_t in enumerate(self._open_route_t):
            route = plan.routes[i]
            v = route_t + plan.rates_t_per_day[i] * days
            if v <= 0:
                continue
            c = route.contract
            self.shipped_t[c] += v
            self.purchase_usd[c] += v * prices.purchase_usd_per_t[c]
            self.transport_usd[c] += v * route.cost_usd_per_t
            if route.supply_entries:
                self.supplied_t += v * route.supply_entries
                # Crude bought at its source: its whole cost is known here. (Crude drawn from
                # a port's tanks is booked when drawn, with its cargoes' costs.)
                contract = self.topology.contracts[c]
                self.on_cost(
                    CostRecord(
                        refinery=route.destination,
                        origin=contract.origin,
                        route=route.link_names,
                        tonnes_t=v,
                        usd={
                            "crude_usd": v * prices.crude_usd_per_t[c],
                            "premium_usd": v * contract.premium_usd_per_t,
                        },
                        transport_usd_per_t=route.cost_components_usd_per_t,
                    )
                )
        self._open_unscaled_days = 0.0

    def on_step(self, record: StepRecord) -> None:
        now, dt, plan, result = record.now_days, record.dt_days, record.plan, record.result
        self.steps += 1
        # Prices change at month turns and shocks: a new object each time.
        if plan is not self._open_plan or record.prices is not self._open_prices:
            self._settle()
            self._open_plan, self._open_prices = plan, record.prices
            self._open_route_t = [0.0] * len(plan.routes)
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
                mix = parcel.mix
                entry = acc_by_mix.get(id(mix))
                if entry is None:
                    acc_by_mix[id(mix)] = [mix, parcel.tonnes_t]
                else:
                    entry[1] += parcel.tonnes_t
        end_of_day = self.steps % self.steps_per_day == 0
        self._refinery_step(result, dt, end_of_day)
        self.valuation.step(now, dt, result)
        if self._cut_now:
            if self._cut_since is None:
                self._cut_since = now
        elif self._cut_since is not None:
            self.cut_spells.append((self._cut_since, now))
            self._cut_since = None
        self._cut_now = False
        if self.record_daily:
            self._record_day(now, result, end_of_day)

    def _refinery_step(self, result: StepResult, dt: float, end_of_day: bool) -> None:
        if dt != self._targets_dt:  # each refinery's target over a step, for this step length
            self._targets_dt = dt
            self._targets = [
                (name, refinery.tank, self.refinery[name], target, target - _CUT_TOLERANCE_T, low)
                for name, refinery in self.network.refineries.items()
                for target, low in [
                    (refinery.spec.target_run_t_per_day * dt, self._low_stock_t[name])
                ]
            ]
        received_by, runs_by = result.received, result.runs
        for name, tank, tot, target, cut_below, low_level in self._targets:
            received = received_by[name]
            ran_t = runs_by[name].tonnes_t
            stock_end = tank.stock_t
            stock_start = stock_end - received + ran_t
            tot.intake_t += received
            tot.runs_t += ran_t
            if ran_t < target:
                tot.unserved_t += target - ran_t
            low = stock_end if stock_end < stock_start else stock_start
            if low < tot.min_stock_t:
                tot.min_stock_t = low
            tot.stock_integral_t_days += 0.5 * (stock_start + stock_end) * dt
            if low < low_level:  # otherwise no time below it (`_time_below` gives 0.0)
                tot.low_stock_days += _time_below(stock_start, stock_end, low_level, dt)
            if ran_t < cut_below:
                self._cut_now = True
            tot.day_runs_t += ran_t
            tot.day_target_t += target
            if end_of_day:
                if tot.day_runs_t < tot.day_target_t - _CUT_TOLERANCE_T:
                    tot.cut_days += 1
                tot.day_runs_t = tot.day_target_t = 0.0

    def _record_day(self, now: float, result: StepResult, end_of_day: bool) -> None:
        net = self.network
        for name in net.refineries:
            self._day_in[name] += result.received[name]
            self._day_out[name] += result.runs[name].tonnes_t
        links = self.topology.links
        for link, parcels in result.link_flow.items():
            tonnes = sum(p.tonnes_t for p in parcels)
            self._day_out[links[link].name] += tonnes
            if links[link].kind == "pipeline":  # a full line: in equals out, unless shared
                self._day_in[links[link].name] += result.shared_in_t.get(link, tonnes)
        for link, tonnes in result.rail_loaded.items():
            self._day_in[links[link].name] += tonnes
        if not end_of_day:
            return
        day = date_at(self.start_date, now).isoformat()
        out = self.daily
        for name, refinery in net.refineries.items():
            out.append(self._day_row(day, name, "refinery", refinery.tank.stock_t))
        for name, tank in net.ports.items():
            out.append(self._day_row(day, name, "port", tank.stock_t))
        for spec in links:
            out.append(self._day_row(day, spec.name, spec.kind, net.fifos[spec.index].content_t()))
        self._day_in.clear()
        self._day_out.clear()

    def _day_row(self, day: str, asset: str, kind: str, stock_t: float) -> dict[str, Any]:
        return {
            "replication": self.replication,
            "date": day,
            "asset": asset,
            "asset_kind": kind,
            "inflow_t": self._day_in.get(asset, 0.0),
            "outflow_t": self._day_out.get(asset, 0.0),
            "stock_t": stock_t,
        }

    # -- end of run -----------------------------------------------------------------------
    def result(self) -> ReplicationResult:
        """Every table's rows and the KPIs of the replication (after `on_end`)."""
        end = self.end
        if end is None:
            raise RuntimeError("the replication has not ended: no RunEnd record received")
        self._settle()
        rep = self.replication
        refinery_rows = rows.refinery_rows(self, end.end_days)
        runs = sum(r["runs_t"] for r in refinery_rows)
        books = mass_balance(
            end.initial_inventory_t,
            self.supplied_t + end.lots_landed_t,
            runs,
            end.final_inventory_t,
            sum(r["final_quarantine_t"] for r in refinery_rows),
            sum(r["reverse_pumped_t"] for r in refinery_rows),
            end.swapped_out_t,
            end.third_party_in_t,
            end.third_party_out_t,
        )
        costs = rows.cost_rows(self)
        events = rows.event_rows(self)
        valuation = self.valuation.rows(rep, costs)
        contracts = rows.contract_rows(self, end)
        return ReplicationResult(
            rep,
            summary.summary_row(self, end, refinery_rows, costs, valuation, books, len(events)),
            refinery_rows,
            rows.flow_rows(self),
            events,
            contracts,
            self.daily,
            books,
            {
                "engine_seconds": end.engine_seconds,
                "steps": self.steps,
                "quiet_steps": end.quiet_steps,
                "plans_used": end.plans_used,
                "simpy_events": end.simpy_events,
            },
            costs=costs,
            shares=summary.share_rows(self, costs),
            cargoes=rows.cargo_rows(self),
            disruptions=rows.disruption_rows(self),
            valuation=valuation,
        )

    def recovery_days_max(self) -> float:
        """Longest time, after a disruption ended, until no refinery ran below target.

        For each disruption that ended, the run-cut spells that began before its end and
        lasted past it give its recovery time (0 if none did).
        """
        spells = list(self.cut_spells)
        if self._cut_since is not None:
            spells.append((self._cut_since, float(self.scenario.scenario.horizon_days)))
        ends = [e.time_days for e in self.events if e.kind is EventKind.DISRUPTION_END]
        worst = 0.0
        for end in ends:
            for start, stop in spells:
                if start <= end < stop:
                    worst = max(worst, stop - end)
        return worst
