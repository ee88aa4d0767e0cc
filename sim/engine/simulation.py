"""One replication: SimPy is the calendar for what is discrete; one process steps the network.

Discrete things (month turnover, contracts starting and ending, disruptions, unit restarts,
tanker lots landing) are SimPy processes that change the network's conditions and mark the plan
stale. The network clock steps crude every `step_days` *after* every other event of that instant
(its wake-up event has a lower priority than SimPy's timeouts), so a change at day d applies to
the step that starts at day d.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import numpy as np
import simpy
from simpy.events import Event

from sim.engine.allocator import Allocator, PlanRequest
from sim.engine.crude import Parcel, PipelineFIFO, Tank
from sim.engine.network_step import ExecutablePlan, NetworkStep, executable
from sim.engine.refinery import Refinery
from sim.engine.topology import Topology
from sim.errors import MassBalanceError
from sim.recording import Recorder, ReplicationResult
from sim.scenario.schema import Scenario
from sim.units import days_in_month, first_of_next_month, month_key

#: Priority of the network clock's wake-up: after SimPy's URGENT (0) and NORMAL (1) events.
_CLOCK_PRIORITY = 2
#: Mass balance must close to this share of the tonnes handled (floating-point rounding).
MASS_BALANCE_RELATIVE_TOLERANCE = 1e-9


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it schedules (for the benchmark)."""

    def __init__(self) -> None:
        super().__init__()
        self.scheduled_events = 0

    def schedule(self, event: Event, priority: int = 1, delay: float = 0) -> None:
        self.scheduled_events += 1
        super().schedule(event, priority, delay)


class _ClockTick(Event):
    """A timeout that fires after every other event scheduled for the same instant."""

    def __init__(self, env: simpy.Environment, delay: float):
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, _CLOCK_PRIORITY, delay)


def _linefill_mix(grade: str) -> dict[str, float]:
    return {"linefill": 1.0}


@dataclass
class Conditions:
    """The discrete state of the network that plans depend on."""

    month_start: dt.date
    link_factor: list[float]
    contract_active: list[bool]
    quota_used_t: list[float]
    price_usd_per_t: list[float]


class Simulation:
    """Builds the components of one replication before time zero, then runs it."""

    def __init__(
        self,
        scenario: Scenario,
        topology: Topology,
        replication: int,
        seed_sequence: np.random.SeedSequence,
        record_daily: bool = False,
        allocator: Allocator | None = None,
        fifo_log: dict[str, list] | None = None,
        executables: dict[int, ExecutablePlan] | None = None,
    ):
        self.scenario = scenario
        self.topology = topology
        self.replication = replication
        self.seed_sequence = seed_sequence
        self.start_date = scenario.scenario.start_date
        self.horizon_days = float(scenario.scenario.horizon_days)
        self.dt = scenario.scenario.step_days
        self.env = CountingEnvironment()
        self.allocator = allocator or Allocator(topology)
        # Construct
        fifos = [
            PipelineFIFO(
                link.name,
                link.linefill_t,
                Parcel(link.linefill_t, 0.0, _linefill_mix(link.initial_grade)),
                (fifo_log or {}).get(link.name),
            )
            for link in topology.links
        ]
        initial_mix = {"initial_stock": 1.0}
        refineries = {
            name: Refinery(name, spec, initial_mix) for name, spec in topology.refineries.items()
        }
        ports = {
            name: Tank(spec.tank_capacity_t, spec.initial_stock_t, initial_mix)
            for name, spec in topology.ports.items()
        }
        self.network = NetworkStep(topology, fifos, refineries, ports)
        self.conditions = Conditions(
            month_start=self.start_date.replace(day=1),
            link_factor=[1.0] * len(topology.links),
            contract_active=[c.start_day <= 0 < c.end_day for c in topology.contracts],
            quota_used_t=[0.0] * len(topology.transit),
            price_usd_per_t=[0.0] * len(topology.contracts),
        )
        self._update_prices()
        self.recorder = Recorder(self, record_daily)
        self.initial_inventory_t = self._inventory_t()
        self.lots_landed_t = 0.0
        self._plan: ExecutablePlan | None = None
        self._plan_stale = True
        # Unpacked plans, by the id of the allocator's (cached, so long-lived) plan; shared
        # between replications that share the allocator.
        self._executables = executables if executables is not None else {}
        self._rejecting = dict.fromkeys(refineries, False)
        self._has_quota = any(t.quota_t_per_month is not None for t in topology.transit)
        #: Start of the step the network clock is at, days (see `now`).
        self._clock_now = 0.0
        #: Capacity factor of each active disruption, by target and disruption name.
        self._active_factors: dict[str, dict[str, float]] = {}

    # -- conditions ---------------------------------------------------------------------
    @property
    def now(self) -> float:
        """Simulation time, days: the clock may be ahead of SimPy's between discrete events."""
        return max(self.env.now, self._clock_now)

    def now_date(self) -> dt.date:
        return self.start_date + dt.timedelta(days=math.floor(self.now + 1e-9))

    def log(self, asset: str, event: str, detail: str = "") -> None:
        self.recorder.event(self.now, asset, event, detail)

    def mark_stale(self) -> None:
        self._plan_stale = True

    def _update_prices(self) -> None:
        month = month_key(self.conditions.month_start)
        for c in self.topology.contracts:
            series = self.scenario.prices[c.price_benchmark]
            bench = series.monthly_usd_per_bbl.get(month, series.usd_per_bbl)
            self.conditions.price_usd_per_t[c.index] = c.price_usd_per_t(bench)

    def _plan_request(self) -> PlanRequest:
        cond = self.conditions
        month_days = days_in_month(cond.month_start)
        rates = tuple(
            c.volume_t_per_month / month_days if cond.contract_active[c.index] else 0.0
            for c in self.topology.contracts
        )
        caps = tuple(
            link.capacity_t_per_day * cond.link_factor[link.index] for link in self.topology.links
        )
        month_end_days = (first_of_next_month(cond.month_start) - self.start_date).days
        days_left = max(self.dt, min(month_end_days, self.horizon_days) - self.now)
        quotas = tuple(
            math.inf
            if t.quota_t_per_month is None
            else max(0.0, t.quota_t_per_month - cond.quota_used_t[t.index]) / days_left
            for t in self.topology.transit
        )
        return PlanRequest(rates, caps, quotas)

    def _current_plan(self) -> ExecutablePlan:
        if self._plan_stale or self._plan is None:
            plan = self.allocator.plan(self._plan_request())
            key = id(plan)
            if key not in self._executables:
                self._executables[key] = executable(plan, self.topology)
            self._plan = self._executables[key]
            self._plan_stale = False
            self.recorder.plans_used += 1
        return self._plan

    # -- discrete processes -------------------------------------------------------------
    def _months(self) -> Generator[Event, None, None]:
        while True:
            nxt = first_of_next_month(self.conditions.month_start)
            wait = (nxt - self.start_date).days - self.env.now
            if self.env.now + wait >= self.horizon_days:
                return
            yield self.env.timeout(wait)
            self.conditions.month_start = nxt
            self.conditions.quota_used_t = [0.0] * len(self.topology.transit)
            self._update_prices()
            self.mark_stale()
            self.log("network", "month_start", month_key(nxt))

    def _contract_calendar(self, index: int) -> Generator[Event, None, None]:
        c = self.topology.contracts[index]
        if c.start_day > 0:
            yield self.env.timeout(c.start_day)
            self.conditions.contract_active[index] = True
            self.mark_stale()
            self.log(c.name, "contract_start")
        if c.end_day < self.horizon_days:
            yield self.env.timeout(c.end_day - self.env.now)
            self.conditions.contract_active[index] = False
            self.mark_stale()
            self.log(c.name, "contract_end")

    def _disruption(self, name: str) -> Generator[Event, None, None]:
        d = self.scenario.disruptions[name]
        start = float((d.start_date - self.start_date).days)
        yield self.env.timeout(start)
        active = self._active_factors.setdefault(d.target, {})
        active[name] = d.capacity_factor
        self._apply_factor(d.target)
        self.log(d.target, "disruption_start", f"{name}: capacity x{d.capacity_factor:g}")
        yield self.env.timeout(d.duration_days)
        del active[name]
        self._apply_factor(d.target)
        self.log(d.target, "disruption_end", name)

    def _apply_factor(self, target: str) -> None:
        """While disruptions overlap on one asset, the lowest capacity factor applies."""
        factor = min(self._active_factors[target].values(), default=1.0)
        if target in self.topology.link_index:
            self.conditions.link_factor[self.topology.link_index[target]] = factor
            self.mark_stale()
        else:
            self.network.refineries[target].capacity_factor = factor

    def _restart_after(self, refinery: Refinery, ready_days: float) -> Generator[Event, None, None]:
        yield self.env.timeout(ready_days - self.env.now)
        refinery.restart_allowed = True

    def land_lot(self, node: str, parcel: Parcel) -> float:
        """A discrete lot (a tanker's discharge) lands in a port's or refinery's tanks.

        Returns the tonnes that did not fit (the carrier keeps them and must wait). A refinery
        refuses a lot above its contaminant limit: it goes to quarantine whole.
        """
        refinery = self.network.refineries.get(node)
        if refinery is not None and parcel.ppm > refinery.spec.contaminant_limit_ppm:
            refinery.quarantined_t += parcel.tonnes_t
            self.lots_landed_t += parcel.tonnes_t
            self.log(node, "lot_rejected", f"{parcel.tonnes_t:.0f} t at {parcel.ppm:g} ppm")
            return 0.0
        tank = refinery.tank if refinery is not None else self.network.ports[node]
        fits = min(parcel.tonnes_t, tank.room_t())
        tank.receive(Parcel(fits, parcel.ppm, parcel.mix))
        self.lots_landed_t += fits
        self.recorder.lot_received(node, fits, is_refinery=refinery is not None)
        self.log(node, "lot_landed", f"{fits:.0f} t")
        return parcel.tonnes_t - fits

    # -- the network clock --------------------------------------------------------------
    def _clock(self) -> Generator[Event, None, None]:
        env, dt = self.env, self.dt
        steps = round(self.horizon_days / dt)
        yield _ClockTick(env, 0.0)
        for k in range(steps):
            now = k * dt  # from the step count, so no rounding drift accumulates
            if now > env.now + 1e-9 and env.peek() <= now + 1e-9:
                # A discrete event is due at or before this step: let SimPy run it first.
                yield _ClockTick(env, now - env.now)
            self._clock_now = now
            plan = self._current_plan()
            result = self.network.step(plan, dt, now)
            self._account(plan, result)
            self.recorder.step(now, dt, plan, result)
        # Otherwise the clock steps on without a round trip through SimPy's event queue:
        # nothing can happen between two steps unless SimPy has it scheduled.
        self._clock_now = self.horizon_days

    def _account(self, plan: ExecutablePlan, result) -> None:
        if self._has_quota:
            used = self.conditions.quota_used_t
            for hits, v in zip(plan.route_quota_hits, result.shipped_by_route, strict=True):
                for transit, n in hits:
                    used[transit] += n * v
        for asset, event, detail in result.events:
            self.log(asset, event, detail)
            if event == "unit_stop":
                refinery = self.network.refineries[asset]
                # Started from the clock, which may be ahead of SimPy's time: wait until
                # `restart_days` after the stop, not after SimPy's `now`.
                ready = self.now + refinery.spec.restart_days
                self.env.process(self._restart_after(refinery, ready))
        for name, rejected in result.quarantined.items():
            if (rejected > 0) is not self._rejecting[name]:
                self._rejecting[name] = rejected > 0
                self.log(name, "rejection_start" if rejected > 0 else "rejection_end")

    # -- running --------------------------------------------------------------------------
    def start(self, extra: list[Callable[[Simulation], Generator]] | None = None) -> None:
        self.env.process(self._months())
        for c in self.topology.contracts:
            if c.start_day > 0 or c.end_day < self.horizon_days:
                self.env.process(self._contract_calendar(c.index))
        for name in self.scenario.disruptions:
            self.env.process(self._disruption(name))
        for make in extra or []:
            self.env.process(make(self))
        self.env.process(self._clock())

    def run(
        self, extra: list[Callable[[Simulation], Generator]] | None = None
    ) -> ReplicationResult:
        started = time.perf_counter()
        self.start(extra)
        self.env.run(until=self.horizon_days + self.dt / 2)
        engine_seconds = time.perf_counter() - started
        result = self.recorder.finish(engine_seconds)
        self.check_mass_balance(result)
        return result

    def _inventory_t(self) -> float:
        net = self.network
        return (
            sum(r.tank.stock_t for r in net.refineries.values())
            + sum(t.stock_t for t in net.ports.values())
            + net.linefill_t()
        )

    def check_mass_balance(self, result: ReplicationResult) -> None:
        """initial stock + supplied = runs + final stock + linefill change + quarantined."""
        mb = result.mass_balance
        handled = max(1.0, mb["initial_inventory_t"] + mb["supplied_t"])
        if abs(mb["imbalance_t"]) > MASS_BALANCE_RELATIVE_TOLERANCE * handled:
            raise MassBalanceError(
                f"replication {self.replication}: mass balance does not close by "
                f"{mb['imbalance_t']:.6g} t ({mb})"
            )
