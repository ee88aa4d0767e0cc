"""One replication: SimPy is the calendar for what is discrete; one process steps the network.

Discrete things (month turnover, contracts starting and ending, disruptions, unit restarts,
tanker lots landing) are SimPy processes that change the network's conditions and mark the plan
stale. The network clock steps crude every `step_days` *after* every other event of that instant
(its wake-up event has a lower priority than SimPy's timeouts), so a change at day d applies to
the step that starts at day d.

What happens is told to the attached observers as typed records (sim.engine.records); the
engine knows nothing of recording, KPIs or files.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
from collections.abc import Callable, Generator, Sequence

import numpy as np
import simpy
from simpy.events import Event

from sim.engine.allocator import Allocator, PlanRequest
from sim.engine.conditions import QUOTA_EPS_T, Conditions, PriceSetter
from sim.engine.crude import THIRD_PARTY_ORIGIN, Parcel, PipelineFIFO, RailQueue, Tank, mix_key
from sim.engine.disruptions import Disruptions
from sim.engine.makeup import MakeUp
from sim.engine.network_step import ExecutablePlan, NetworkStep, StepResult, executable
from sim.engine.records import (
    CargoRecord,
    CostRecord,
    DisruptionRecord,
    EventRecord,
    LotRecord,
    Observer,
    RunEnd,
    StepRecord,
)
from sim.engine.refinery import Refinery
from sim.engine.shipping import Shipping
from sim.engine.topology import Topology
from sim.kinds import EventKind
from sim.scenario.schema import Scenario
from sim.units import days_in_month, first_of_next_month, month_key

#: Priority of the network clock's wake-up: after SimPy's URGENT (0) and NORMAL (1) events.
_CLOCK_PRIORITY = 2

#: How the network clock steps: "segments" (the default) runs the days on which nothing
#: discrete can change through `NetworkStep.quiet_step`; "daily" runs every day through the
#: full `NetworkStep.step`, the reference path. Both give the same results to the last bit
#: (tests/test_stepping.py compares every CSV of every shipped scenario).
STEPPING_CHOICES = ("segments", "daily")

#: Environment variable choosing the stepping when the caller does not (a hidden knob, for
#: the byte-for-byte comparison and the benchmark: every command, and its worker processes,
#: reads it).
STEPPING_ENV = "SIM_STEPPING"


def stepping_from_env() -> str:
    """The stepping named by $SIM_STEPPING ("segments" when unset)."""
    value = os.environ.get(STEPPING_ENV, "segments").strip() or "segments"
    if value not in STEPPING_CHOICES:
        raise ValueError(
            f"environment variable {STEPPING_ENV}={value!r}: must be one of "
            f"{', '.join(STEPPING_CHOICES)}"
        )
    return value


#: Unpacked plans, by (the allocator's cached plan, contamination and fees in force); shared
#: between replications that share the allocator.
ExecutableCache = dict[tuple[int, tuple[float, ...], tuple[float, ...]], ExecutablePlan]


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it schedules (for the benchmark)."""

    def __init__(self) -> None:
        super().__init__()
        self.scheduled_events = 0

    def schedule(self, event: Event, priority: int = 1, delay: float = 0) -> None:
        self.scheduled_events += 1
        super().schedule(event, priority, delay)  # type: ignore[arg-type]


class _ClockTick(Event):
    """A timeout that fires after every other event scheduled for the same instant."""

    def __init__(self, env: simpy.Environment, delay: float):
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, _CLOCK_PRIORITY, delay)  # type: ignore[arg-type]


def build_network(scenario: Scenario, topology: Topology, fifo_log: dict | None) -> NetworkStep:
    """The network's tanks and lines as they stand at day 0."""
    starts: dict[str, dict[str, float]] = {}

    def start_mix(origin: str, grade: str) -> dict[str, float]:
        """Mix of crude present at day 0 (`linefill`, `initial_stock`), one object per grade."""
        key = mix_key(origin, grade)
        return starts.setdefault(key, {key: 1.0})

    default = scenario.default_grade
    fifos: list[PipelineFIFO | RailQueue] = [
        RailQueue(link.name, link.transit_days)
        if link.kind == "rail"
        else PipelineFIFO(
            link.name,
            link.linefill_t,
            Parcel(link.linefill_t, 0.0, start_mix("linefill", link.initial_grade)),
            (fifo_log or {}).get(link.name),
            # A line shared with third parties holds their crude too: the whole line's linefill.
            start_mix(THIRD_PARTY_ORIGIN, link.initial_grade)
            if link.third_party_t_per_day > 0
            else None,
        )
        for link in topology.links
    ]
    refineries = {
        name: Refinery(name, spec, start_mix("initial_stock", spec.initial_grade or default))
        for name, spec in topology.refineries.items()
    }
    ports = {
        name: Tank(
            spec.tank_capacity_t,
            spec.initial_stock_t,
            start_mix("initial_stock", spec.initial_grade or default),
        )
        for name, spec in topology.ports.items()
    }
    return NetworkStep(topology, fifos, refineries, ports)


class Simulation:
    """One replication: built before time zero (construct, connect), then run."""

    def __init__(
        self,
        scenario: Scenario,
        topology: Topology,
        replication: int,
        seed_sequence: np.random.SeedSequence,
        allocator: Allocator | None = None,
        fifo_log: dict[str, list] | None = None,
        executables: ExecutableCache | None = None,
        observers: Sequence[Observer] = (),
        stepping: str | None = None,
    ):
        """`stepping`: "segments" or "daily" (see `STEPPING_CHOICES`; None: $SIM_STEPPING)."""
        if stepping is None:
            stepping = stepping_from_env()
        elif stepping not in STEPPING_CHOICES:
            raise ValueError(f"stepping must be one of {STEPPING_CHOICES}, not {stepping!r}")
        self.stepping = stepping
        self.scenario = scenario
        self.topology = topology
        self.replication = replication
        self.seed_sequence = seed_sequence
        self.start_date = scenario.scenario.start_date
        self.horizon_days = float(scenario.scenario.horizon_days)
        self.dt = scenario.scenario.step_days
        self.env = CountingEnvironment()
        self.allocator = allocator or Allocator(topology)
        self.observers: list[Observer] = list(observers)
        self.network = build_network(scenario, topology, fifo_log)
        self.conditions = Conditions.at_start(topology, self.start_date)
        # The same list the disruptions change in place: shared lines read their derates.
        self.network.link_factor = self.conditions.link_factor
        self.prices = PriceSetter(scenario.prices, topology)
        self.prices.update(self.conditions)
        self.contract_index = {c.name: c.index for c in topology.contracts}
        self.transit_index = {t.name: t.index for t in topology.transit}
        #: Whether each transit quota's month is used up (its crude stops until the month turns).
        self.quota_spent = [False] * len(topology.transit)
        self.shipping = Shipping(self)
        self.disruptions = Disruptions(self)
        self.initial_inventory_t = self.inventory_t()
        #: Tonnes handed in under swaps (they left the simulated network), t.
        self.swapped_out_t = 0.0
        #: Third parties' crude into and out of the shared lines (not the simulated network's
        #: supply or deliveries, but in its lines), t.
        self.third_party_in_t = 0.0
        self.third_party_out_t = 0.0
        self._plan: ExecutablePlan | None = None
        self._plan_stale = True
        self._executables: ExecutableCache = executables if executables is not None else {}
        self._rejecting = dict.fromkeys(self.network.refineries, False)
        self._quarantine_full = dict.fromkeys(self.network.refineries, False)
        self._limited_quarantine = [
            name for name, r in self.network.refineries.items() if r.quarantine_room_t() < math.inf
        ]
        #: Shipped per contract in a step that ran its plan unscaled, by plan, t.
        self._contract_step_t: dict[int, list[float]] = {}
        #: Missed tonnes and make-up, by contract.
        self.makeup = MakeUp(topology)
        #: Each contract's nomination in force (volume ÷ days in the month while active, before
        #: volume factors), and with the volume factor applied, t/day.
        self._nominal_t_per_day = [0.0] * len(topology.contracts)
        self._planned_t_per_day = [0.0] * len(topology.contracts)
        self._has_quota = any(t.quota_t_per_month is not None for t in topology.transit)
        #: Start of the step the network clock is at, days (see `now`).
        self._clock_now = 0.0
        self.steps = 0
        #: Steps run as quiet days (`NetworkStep.quiet_step`), and runs of them (segments).
        self.quiet_steps = 0
        self.segments = 0
        self.plans_used = 0

    # -- telling the observers ------------------------------------------------------------
    def attach(self, observer: Observer) -> None:
        self.observers.append(observer)

    def log(self, asset: str, kind: EventKind, detail: str = "", at: float | None = None) -> None:
        record = EventRecord(self.now if at is None else at, asset, kind, detail)
        for o in self.observers:
            o.on_event(record)

    def notify_lot(self, record: LotRecord) -> None:
        for o in self.observers:
            o.on_lot(record)

    def notify_cost(self, record: CostRecord) -> None:
        for o in self.observers:
            o.on_cost(record)

    def notify_cargo(self, record: CargoRecord) -> None:
        for o in self.observers:
            o.on_cargo(record)

    def notify_disruption(self, record: DisruptionRecord) -> None:
        for o in self.observers:
            o.on_disruption(record)

    # -- conditions -----------------------------------------------------------------------
    @property
    def now(self) -> float:
        """Simulation time, days: the clock may be ahead of SimPy's between discrete events."""
        return max(self.env.now, self._clock_now)

    def now_date(self) -> dt.date:
        return self.start_date + dt.timedelta(days=math.floor(self.now + 1e-9))

    def mark_stale(self) -> None:
        self._plan_stale = True

    def update_prices(self) -> None:
        self.prices.update(self.conditions)

    def _plan_request(self) -> PlanRequest:
        cond = self.conditions
        month_days = days_in_month(cond.month_start)
        # A whole month ships exactly its volume, whatever its length (28 to 31 days).
        self._nominal_t_per_day = [
            c.volume_t_per_month / month_days if cond.contract_active[c.index] else 0.0
            for c in self.topology.contracts
        ]
        self._planned_t_per_day = [
            nominal * cond.volume_factor[i] for i, nominal in enumerate(self._nominal_t_per_day)
        ]
        makeup = self.makeup
        rates = tuple(
            planned + makeup.extra_t_per_day(i, self._nominal_t_per_day[i])
            for i, planned in enumerate(self._planned_t_per_day)
        )
        caps = tuple(
            link.available_t_per_day(cond.link_factor[link.index]) for link in self.topology.links
        )
        # A quota with tonnes left does not bound the plan: the step stops its crude exactly
        # when the month's tonnes are used up, and the plan is then made again without it.
        quotas = tuple(
            0.0 if cond.quota_left_t(t) <= QUOTA_EPS_T else math.inf for t in self.topology.transit
        )
        return PlanRequest(rates, caps, quotas)

    def _current_plan(self) -> ExecutablePlan:
        if self._plan_stale or self._plan is None:
            plan = self.allocator.plan(self._plan_request())
            cond = self.conditions
            key = (id(plan), tuple(cond.contract_added_ppm), tuple(cond.fee_add_usd_per_t))
            if key not in self._executables:
                self._executables[key] = executable(
                    plan, self.topology, cond.contract_added_ppm, cond.fee_add_usd_per_t
                )
            self._plan = self._executables[key]
            self._plan_stale = False
            self.plans_used += 1
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
            self.quota_spent = [False] * len(self.topology.transit)
            self.update_prices()
            self.mark_stale()
            self.log("network", EventKind.MONTH_START, month_key(nxt))

    def _contract_calendar(self, index: int) -> Generator[Event, None, None]:
        c = self.topology.contracts[index]
        if c.start_day > 0:
            yield self.env.timeout(c.start_day)
            self.conditions.contract_active[index] = True
            self.mark_stale()
            self.log(c.name, EventKind.CONTRACT_START)
        if c.end_day < self.horizon_days:
            yield self.env.timeout(c.end_day - self.env.now)
            self.conditions.contract_active[index] = False
            self.mark_stale()
            self.log(c.name, EventKind.CONTRACT_END)

    def _restart_after(self, refinery: Refinery, ready_days: float) -> Generator[Event, None, None]:
        yield self.env.timeout(ready_days - self.env.now)
        refinery.restart_allowed = True

    def land_lot(self, node: str, parcel: Parcel) -> float:
        """A discrete lot lands in a port's or refinery's tanks (see `Shipping.land_lot`)."""
        return self.shipping.land_lot(node, parcel)

    # -- the network clock --------------------------------------------------------------
    def _clock(self) -> Generator[Event, None, None]:
        env, dt, network = self.env, self.dt, self.network
        steps = round(self.horizon_days / dt)
        quiet, in_segment = self.stepping == "segments", False
        yield _ClockTick(env, 0.0)
        for k in range(steps):
            now = k * dt  # from the step count, so no rounding drift accumulates
            if now > env.now + 1e-9 and env.peek() <= now + 1e-9:
                # A discrete event is due at or before this step: let SimPy run it first.
                yield _ClockTick(env, now - env.now)
            self._clock_now = now
            plan = self._current_plan()
            quota_left = (
                [self.conditions.quota_left_t(t) for t in self.topology.transit]
                if self._has_quota
                else None
            )
            result = None
            # A quiet day: no make-up window caps a contract and no contaminated crude is
            # about; `quiet_step` still says None if a check fails.
            if quiet and not self.makeup.any_open and network.quiet(plan):
                result = network.quiet_step(plan, dt, now, quota_left)
            if result is None:
                caps = self.makeup.caps_t(self._planned_t_per_day, dt)
                result = network.step(plan, dt, now, quota_left, caps)
                in_segment = False
            else:
                self.quiet_steps += 1
                if not in_segment:
                    self.segments += 1
                    in_segment = True
            self.steps += 1
            self._account(plan, result)
            record = StepRecord(now, dt, plan, result, self.conditions.prices)
            for o in self.observers:
                o.on_step(record)
        # Otherwise the clock steps on without a round trip through SimPy's event queue:
        # nothing can happen between two steps unless SimPy has it scheduled.
        self._clock_now = self.horizon_days

    def _account(self, plan: ExecutablePlan, result: StepResult) -> None:
        if self._has_quota:
            self._count_quotas(plan, result)
        self._count_contracts(plan, result)
        self.swapped_out_t += result.swapped_out_t
        self.third_party_in_t += result.third_party_in_t
        self.third_party_out_t += result.third_party_out_t
        for port, tonnes in result.port_drawn_t.items():
            self.shipping.book_port_draw(plan, result, port, tonnes)
        for asset, event, detail in result.events:
            self.log(asset, event, detail)
            if event is EventKind.UNIT_STOP:
                refinery = self.network.refineries[asset]
                # Started from the clock, which may be ahead of SimPy's time: wait until
                # `restart_days` after the stop, not after SimPy's `now`.
                ready = self.now + refinery.spec.restart_days
                self.env.process(self._restart_after(refinery, ready))
        for name, rejected in result.quarantined.items():
            if (rejected > 0) is not self._rejecting[name]:
                self._rejecting[name] = rejected > 0
                self.log(
                    name, EventKind.REJECTION_START if rejected > 0 else EventKind.REJECTION_END
                )
        for name in self._limited_quarantine:
            full = self.network.refineries[name].quarantine_room_t() <= 1e-6
            if full is not self._quarantine_full[name]:
                self._quarantine_full[name] = full
                kind = EventKind.QUARANTINE_FULL if full else EventKind.QUARANTINE_ROOM
                self.log(name, kind, at=self.now + self.dt)

    def _count_contracts(self, plan: ExecutablePlan, result: StepResult) -> None:
        """Book the step's shipments against the nominations: missed tonnes and make-up."""
        steady = not result.scaled
        if result.scaled:
            shipped = [0.0] * len(self.topology.contracts)
            for route, v in zip(plan.routes, result.shipped_by_route, strict=True):
                shipped[route.contract] += v
        else:  # the plan ran as planned: the same tonnes as every unscaled step of it
            cached = self._contract_step_t.get(id(plan))
            if cached is None:
                cached = [0.0] * len(self.topology.contracts)
                for route, v in zip(plan.routes, result.shipped_by_route, strict=True):
                    cached[route.contract] += v
                self._contract_step_t[id(plan)] = cached
            shipped = cached
        changes = self.makeup.record(
            self._clock_now, self.dt, self._nominal_t_per_day, shipped, steady
        )
        for c, kind, detail in changes:
            self.mark_stale()
            self.log(self.topology.contracts[c].name, kind, detail, at=self.now + self.dt)

    def _count_quotas(self, plan: ExecutablePlan, result: StepResult) -> None:
        used = self.conditions.quota_used_t
        for route, v in zip(plan.routes, result.shipped_by_route, strict=True):
            for transit, n in route.quota_hits:
                used[transit] += n * v
        for t in self.topology.transit:
            left = self.conditions.quota_left_t(t)
            if left <= QUOTA_EPS_T and plan.plan.routes and not self.quota_spent[t.index]:
                self.quota_spent[t.index] = True
                self.mark_stale()
                # Used up by the end of this step.
                month = month_key(self.conditions.month_start)
                self.log(t.name, EventKind.QUOTA_EXHAUSTED, month, at=self.now + self.dt)

    # -- running --------------------------------------------------------------------------
    def start(self, extra: list[Callable[[Simulation], Generator]] | None = None) -> None:
        self.env.process(self._months())
        for c in self.topology.contracts:
            if c.start_day > 0 or c.end_day < self.horizon_days:
                self.env.process(self._contract_calendar(c.index))
        self.disruptions.start()
        self.shipping.start()
        for make in extra or []:
            self.env.process(make(self))
        self.env.process(self._clock())

    def run(self, extra: list[Callable[[Simulation], Generator]] | None = None) -> RunEnd:
        """Run to the horizon; tells the observers the end, and returns it."""
        started = time.perf_counter()
        self.start(extra)
        self.env.run(until=self.horizon_days + self.dt / 2)
        self.makeup.flush()
        end = RunEnd(
            end_days=self.horizon_days,
            initial_inventory_t=self.initial_inventory_t,
            final_inventory_t=self.inventory_t(),
            lots_landed_t=self.shipping.lots_landed_t,
            swapped_out_t=self.swapped_out_t,
            third_party_in_t=self.third_party_in_t,
            third_party_out_t=self.third_party_out_t,
            cargoes_discharged=self.shipping.discharged,
            nominated_t=tuple(self.makeup.nominated_t),
            contract_shipped_t=tuple(self.makeup.shipped_t),
            makeup_t=tuple(self.makeup.makeup_t),
            cargoes_open=sum(self.shipping.open_cargoes),
            steps=self.steps,
            quiet_steps=self.quiet_steps,
            plans_used=self.plans_used,
            simpy_events=self.env.scheduled_events,
            engine_seconds=time.perf_counter() - started,
        )
        for o in self.observers:
            o.on_end(end)
        return end

    def inventory_t(self) -> float:
        """Crude in the refineries' and ports' tanks and in the lines (and on rail), t."""
        net = self.network
        return (
            sum(r.tank.stock_t for r in net.refineries.values())
            + sum(t.stock_t for t in net.ports.values())
            + net.linefill_t()
        )
