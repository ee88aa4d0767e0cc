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
from sim.engine.crude import Parcel, PipelineFIFO, RailQueue, Tank, mix_key
from sim.engine.network_step import ExecutablePlan, NetworkStep, executable
from sim.engine.port_book import PortBook
from sim.engine.refinery import Refinery
from sim.engine.topology import CargoSpec, Topology
from sim.errors import MassBalanceError
from sim.randomness import stream
from sim.recording import Recorder, ReplicationResult
from sim.scenario.checks import disruption_target_kinds
from sim.scenario.schema import Scenario
from sim.units import days_in_month, first_of_next_month, month_key


def _repair_days(rng: np.random.Generator, timing) -> float:
    """A repair time with mean `mttr_days` from the timing's distribution."""
    mean = timing.mttr_days
    if timing.repair_distribution == "fixed":
        return mean
    if timing.repair_distribution == "exponential":
        return float(rng.exponential(mean))
    sigma = timing.repair_sigma  # lognormal with this log-sd and the given mean
    return float(rng.lognormal(math.log(mean) - sigma**2 / 2, sigma))


#: Priority of the network clock's wake-up: after SimPy's URGENT (0) and NORMAL (1) events.
_CLOCK_PRIORITY = 2
#: A quota with less than this left is used up, t.
_QUOTA_EPS_T = 1e-6
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


def _start_mix(origin: str, grade: str, cache: dict[str, dict[str, float]]) -> dict[str, float]:
    """Mix of crude present at day 0 (`linefill`, `initial_stock`), one shared object per grade."""
    key = mix_key(origin, grade)
    return cache.setdefault(key, {key: 1.0})


@dataclass
class Conditions:
    """The discrete state of the network that plans depend on."""

    month_start: dt.date
    link_factor: list[float]
    contract_active: list[bool]
    quota_used_t: list[float]
    #: Purchase price (crude + premium) and crude price alone of each contract this month, USD/t.
    price_usd_per_t: list[float]
    crude_usd_per_t: list[float]
    #: Disruption effects now in force (1.0 / 0.0 when none).
    volume_factor: list[float]
    contract_added_ppm: list[float]
    quota_factor: list[float]
    fee_add: list[float]
    price_add: dict[str, float]
    #: Shocks to contracts' and cargo options' differentials, by id, USD/bbl.
    differential_add: dict[str, float]
    #: Bumped whenever prices change, so costs are booked at the right prices.
    price_version: int = 0


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
        starts: dict[str, dict[str, float]] = {}
        default = scenario.default_grade
        fifos: list[PipelineFIFO | RailQueue] = [
            RailQueue(link.name, link.transit_days)
            if link.kind == "rail"
            else PipelineFIFO(
                link.name,
                link.linefill_t,
                Parcel(link.linefill_t, 0.0, _start_mix("linefill", link.initial_grade, starts)),
                (fifo_log or {}).get(link.name),
            )
            for link in topology.links
        ]
        refineries = {
            name: Refinery(
                name, spec, _start_mix("initial_stock", spec.initial_grade or default, starts)
            )
            for name, spec in topology.refineries.items()
        }
        ports = {
            name: Tank(
                spec.tank_capacity_t,
                spec.initial_stock_t,
                _start_mix("initial_stock", spec.initial_grade or default, starts),
            )
            for name, spec in topology.ports.items()
        }
        self.network = NetworkStep(topology, fifos, refineries, ports)
        self.conditions = Conditions(
            month_start=self.start_date.replace(day=1),
            link_factor=[1.0] * len(topology.links),
            contract_active=[c.start_day <= 0 < c.end_day for c in topology.contracts],
            quota_used_t=[0.0] * len(topology.transit),
            price_usd_per_t=[0.0] * len(topology.contracts),
            crude_usd_per_t=[0.0] * len(topology.contracts),
            volume_factor=[1.0] * len(topology.contracts),
            contract_added_ppm=[0.0] * len(topology.contracts),
            quota_factor=[1.0] * len(topology.transit),
            fee_add=[0.0] * len(topology.transit),
            price_add={},
            differential_add={},
        )
        self._target_kind = {
            name: disruption_target_kinds(scenario, d.target)[0]
            for name, d in scenario.disruptions.items()
        }
        self._active: dict[tuple[str, str, str], dict[str, float]] = {}
        self._contract_index = {c.name: c.index for c in topology.contracts}
        self._transit_index = {t.name: t.index for t in topology.transit}
        self.port_factor = dict.fromkeys(topology.ports, 1.0)
        # Global-market cargoes: berths queue at each port; costs follow crude through ports.
        self.berths = {
            name: simpy.Resource(self.env, capacity=spec.berths)
            for name, spec in topology.ports.items()
        }
        self.port_books = {name: PortBook() for name in topology.ports}
        self.open_cargo_t = dict.fromkeys(topology.refineries, 0.0)
        self._open_cargoes = [0] * len(topology.cargoes)
        self._bought = [0] * len(topology.cargoes)
        self.cargo_rows: list[dict] = []
        self._update_prices()
        self.recorder = Recorder(self, record_daily)
        self.initial_inventory_t = self._inventory_t()
        self.lots_landed_t = 0.0
        #: Tonnes handed in under swaps (they left the simulated network), t.
        self.swapped_out_t = 0.0
        self._plan: ExecutablePlan | None = None
        self._plan_stale = True
        # Unpacked plans, by the id of the allocator's (cached, so long-lived) plan; shared
        # between replications that share the allocator.
        self._executables = executables if executables is not None else {}
        self._rejecting = dict.fromkeys(refineries, False)
        self._rngs: dict[str, np.random.Generator] = {}
        self._has_quota = any(t.quota_t_per_month is not None for t in topology.transit)
        self._quota_spent = [False] * len(topology.transit)
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

    def log(self, asset: str, event: str, detail: str = "", at: float | None = None) -> None:
        self.recorder.event(self.now if at is None else at, asset, event, detail)

    def mark_stale(self) -> None:
        self._plan_stale = True

    def benchmark_usd_per_bbl(self, benchmark: str, month: str) -> float:
        """A price series' value for a month, with any price shock in force, USD/bbl."""
        series = self.scenario.prices[benchmark]
        shock = self.conditions.price_add.get(benchmark, 0.0)
        return series.monthly_usd_per_bbl.get(month, series.usd_per_bbl) + shock

    def _update_prices(self) -> None:
        month = month_key(self.conditions.month_start)
        for c in self.topology.contracts:
            bench = 0.0
            if c.price_benchmark is not None:
                bench = self.benchmark_usd_per_bbl(c.price_benchmark, month)
                bench += self.conditions.differential_add.get(c.name, 0.0)
            self.conditions.price_usd_per_t[c.index] = c.price_usd_per_t(bench, month)
            self.conditions.crude_usd_per_t[c.index] = c.crude_usd_per_t(bench, month)
        self.conditions.price_version += 1

    def _plan_request(self) -> PlanRequest:
        cond = self.conditions
        month_days = days_in_month(cond.month_start)
        rates = tuple(
            c.volume_t_per_month / month_days * cond.volume_factor[c.index]
            if cond.contract_active[c.index]
            else 0.0
            for c in self.topology.contracts
        )
        caps = tuple(
            link.capacity_t_per_day * cond.link_factor[link.index] for link in self.topology.links
        )
        # A quota with tonnes left does not bound the plan: the step stops its crude exactly
        # when the month's tonnes are used up, and the plan is then made again without it.
        quotas = tuple(
            0.0 if self._quota_left_t(t) <= _QUOTA_EPS_T else math.inf
            for t in self.topology.transit
        )
        return PlanRequest(rates, caps, quotas)

    def _quota_left_t(self, t) -> float:
        if t.quota_t_per_month is None:
            return math.inf
        quota = t.quota_t_per_month * self.conditions.quota_factor[t.index]
        return quota - self.conditions.quota_used_t[t.index]

    def _current_plan(self) -> ExecutablePlan:
        if self._plan_stale or self._plan is None:
            plan = self.allocator.plan(self._plan_request())
            cond = self.conditions
            key = (id(plan), tuple(cond.contract_added_ppm), tuple(cond.fee_add))
            if key not in self._executables:
                self._executables[key] = executable(
                    plan, self.topology, cond.contract_added_ppm, cond.fee_add
                )
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
            self._quota_spent = [False] * len(self.topology.transit)
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
        """A scheduled disruption: on at its start date, off after its duration."""
        d = self.scenario.disruptions[name]
        assert d.start_date is not None and d.duration_days is not None
        yield self.env.timeout(float((d.start_date - self.start_date).days))
        self._switch(name, on=True)
        yield self.env.timeout(d.duration_days)
        self._switch(name, on=False)

    def _random_disruption(self, name: str) -> Generator[Event, None, None]:
        """A random disruption: exponential up-times (mean MTBF), random repair times (MTTR).

        Its draws come from the replication's `disruption:<name>` stream, so two strategies
        that declare the same disruption see the same failures (common random numbers).
        """
        timing = self.scenario.disruptions[name].random
        assert timing is not None
        rng = stream(self.seed_sequence, f"disruption:{name}")
        while True:
            yield self.env.timeout(float(rng.exponential(timing.mtbf_days)))
            if self.env.now >= self.horizon_days:
                return
            self._switch(name, on=True)
            yield self.env.timeout(_repair_days(rng, timing))
            self._switch(name, on=False)

    def _switch(self, name: str, on: bool) -> None:
        d = self.scenario.disruptions[name]
        kind = self._target_kind[name]
        effects = d.effects() or {"capacity_factor": 0.0}
        for effect, value in effects.items():
            active = self._active.setdefault((kind, d.target, effect), {})
            if on:
                active[name] = value
            else:
                active.pop(name, None)
            self._apply(kind, d.target, effect, active)
        if on:
            detail = ", ".join(f"{k}={v:g}" for k, v in effects.items())
            self.log(d.target, "disruption_start", f"{name}: {detail}")
        else:
            self.log(d.target, "disruption_end", name)

    def _apply(self, kind: str, target: str, effect: str, active: dict[str, float]) -> None:
        """Set the effect of the disruptions active on one asset: while several overlap, the
        lowest factor, the highest contamination and the sum of additions apply."""
        if effect.endswith("_factor"):
            value = min(active.values(), default=1.0)
        elif effect == "contaminant_ppm":
            value = max(active.values(), default=0.0)
        else:
            value = sum(active.values())
        cond = self.conditions
        if kind == "link":
            index = self.topology.link_index[target]
            if effect == "capacity_factor":
                cond.link_factor[index] = value
            else:
                self.network.link_added_ppm[index] = value
        elif kind == "refinery":  # the step reads it; plans do not depend on it
            self.network.refineries[target].capacity_factor = value
            return
        elif kind == "port":  # tankers read it
            self.port_factor[target] = value
            return
        elif kind == "contract":
            index = self._contract_index[target]
            if effect == "volume_factor":
                cond.volume_factor[index] = value
            elif effect == "price_add_usd_per_bbl":
                cond.differential_add[target] = value
                self._update_prices()
            else:
                cond.contract_added_ppm[index] = value
        elif kind == "cargo":  # read when a cargo is bought
            cond.differential_add[target] = value
            return
        elif kind == "transit":
            index = self._transit_index[target]
            if effect == "quota_factor":
                cond.quota_factor[index] = value
                self._quota_spent[index] = self._quota_left_t(self.topology.transit[index]) <= 0
            else:
                cond.fee_add[index] = value
        else:  # a price series
            cond.price_add[target] = value
            self._update_prices()
        self.mark_stale()

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

    # -- global-market cargoes ------------------------------------------------------------
    def _cargo_schedule(self, cargo: CargoSpec) -> Generator[Event, None, None]:
        for day in cargo.schedule_days or ():
            yield self.env.timeout(day - self.env.now)
            self.env.process(self._voyage(cargo))

    def _cargo_reorder(self, cargo: CargoSpec) -> Generator[Event, None, None]:
        """Review the inventory position every `review_days`; buy below the threshold."""
        target = self.topology.refineries[cargo.destination].target_run_t_per_day
        if cargo.start_day > 0:
            yield self.env.timeout(cargo.start_day)
        while self.env.now < min(cargo.end_day, self.horizon_days):
            refinery = self.network.refineries[cargo.destination]
            position = (
                refinery.tank.stock_t
                + self.network.ports[cargo.port].stock_t
                + self.open_cargo_t[cargo.destination]
            )
            below = position / target < (cargo.days_of_cover_below or 0.0)
            if below and self._open_cargoes[cargo.index] < cargo.max_open_cargoes:
                self.env.process(self._voyage(cargo))
            yield self.env.timeout(cargo.review_days)

    def _voyage(self, cargo: CargoSpec) -> Generator[Event, None, None]:
        """One cargo: bought, loaded, sailed, berthed (queueing), discharged into port tanks."""
        env, port = self.env, self.topology.ports[cargo.port]
        self._bought[cargo.index] += 1
        number = self._bought[cargo.index]
        self._open_cargoes[cargo.index] += 1
        self.open_cargo_t[cargo.destination] += cargo.lot_t
        label = f"{cargo.name}#{number}"
        bought = env.now
        month = month_key(self.now_date())
        bench = self.benchmark_usd_per_bbl(cargo.price_benchmark, month)
        crude = cargo.crude_usd_per_t(bench + self.conditions.differential_add.get(cargo.name, 0.0))
        self.log(cargo.name, "cargo_bought", f"{label}: {cargo.lot_t:.0f} t")
        yield env.timeout(cargo.loading_days)
        sailed = env.now
        delay = 0.0
        if cargo.delay_days_mean > 0:
            delay = float(self._voyage_rng(cargo.sea_link).exponential(cargo.delay_days_mean))
        yield env.timeout(cargo.voyage_days + delay)
        arrived = env.now
        self.log(cargo.port, "tanker_arrived", label)
        with self.berths[cargo.port].request() as berth:
            yield berth
            while self.port_factor[cargo.port] <= 0:  # closed (weather): wait, on demurrage
                yield env.timeout(min(1.0, self.dt))
            berthed = env.now
            self.log(cargo.port, "tanker_berthed", f"{label} after {berthed - arrived:g} days")
            rate = port.discharge_t_per_day * self.port_factor[cargo.port]
            yield env.timeout(cargo.lot_t / rate)
            unit = {
                "crude_usd": crude,
                "premium_usd": cargo.premium_usd_per_t,
                "freight_usd": cargo.freight_usd_per_t,
                "port_usd": port.port_fee_usd_per_t,
            }
            remaining, room_wait = cargo.lot_t, 0.0
            while True:
                parcel = Parcel(
                    remaining, cargo.contaminant_ppm, self.topology.cargo_mix[cargo.index]
                )
                left = self.land_lot(cargo.port, parcel)
                self.port_books[cargo.port].add(
                    cargo.origin, cargo.sea_link, remaining - left, unit
                )
                remaining = left
                if remaining <= 1e-9:
                    break
                yield env.timeout(1.0)  # no room in the tanks: wait on board, on demurrage
                room_wait += 1.0
            discharged = env.now
        wait = berthed - arrived + room_wait
        demurrage = wait * port.demurrage_usd_per_day
        self.port_books[cargo.port].add_cost(
            cargo.origin, cargo.sea_link, "demurrage_usd", demurrage
        )
        self._open_cargoes[cargo.index] -= 1
        self.open_cargo_t[cargo.destination] -= cargo.lot_t
        self.log(cargo.port, "tanker_discharged", label)
        lot = cargo.lot_t
        costs = {k: v * lot for k, v in unit.items()}
        costs["demurrage_usd"] = demurrage
        total = sum(costs.values())
        self.cargo_rows.append(
            {
                "cargo": cargo.name,
                "number": number,
                "origin": cargo.origin,
                "sea_link": cargo.sea_link,
                "port": cargo.port,
                "destination": cargo.destination,
                "lot_t": lot,
                "bought_day": bought,
                "sailed_day": sailed,
                "arrived_day": arrived,
                "berthed_day": berthed,
                "discharged_day": discharged,
                "voyage_delay_days": delay,
                "berth_wait_days": berthed - arrived,
                "room_wait_days": room_wait,
                **costs,
                "total_usd": total,
                "total_usd_per_t": total / lot,
            }
        )

    def _voyage_rng(self, sea_link: str) -> np.random.Generator:
        rng = self._rngs.get(sea_link)
        if rng is None:
            rng = self._rngs[sea_link] = stream(self.seed_sequence, f"voyage:{sea_link}")
        return rng

    def _book_port_draw(self, plan: ExecutablePlan, result, port: str, tonnes: float) -> None:
        """Crude drawn from a port's tanks carries its cargoes' costs to the routes it took."""
        entries = self.port_books[port].draw(tonnes, self.network.ports[port].stock_t + tonnes)
        routes = plan.routes_by_port_dict.get(port, ())
        total = sum(result.shipped_by_route[i] for i in routes)
        if total <= 0:
            return
        for i in routes:
            share = result.shipped_by_route[i] / total
            if share <= 0:
                continue
            onward = plan.route_links_label[i]
            for (origin, sea_link), drawn_t, usd in entries:
                self.recorder.book_cost(
                    plan.routes[i].destination,
                    origin,
                    f"{sea_link} > {port} > {onward}" if sea_link else f"{port} > {onward}",
                    drawn_t * share,
                    {k: v * share for k, v in usd.items()},
                    plan.route_components[i],
                )

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
            quota_left = (
                [self._quota_left_t(t) for t in self.topology.transit] if self._has_quota else None
            )
            result = self.network.step(plan, dt, now, quota_left)
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
            for t in self.topology.transit:
                left = self._quota_left_t(t)
                if left <= _QUOTA_EPS_T and plan.plan.routes and not self._quota_spent[t.index]:
                    self._quota_spent[t.index] = True
                    self.mark_stale()
                    # Used up by the end of this step.
                    month = month_key(self.conditions.month_start)
                    self.log(t.name, "quota_exhausted", month, at=self.now + self.dt)
        self.swapped_out_t += result.swapped_out_t
        for port, tonnes in result.port_drawn_t.items():
            self._book_port_draw(plan, result, port, tonnes)
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
        for name, d in self.scenario.disruptions.items():
            if d.random is None:
                self.env.process(self._disruption(name))
            else:
                self.env.process(self._random_disruption(name))
        for cargo in self.topology.cargoes:
            if cargo.schedule_days is not None:
                self.env.process(self._cargo_schedule(cargo))
            else:
                self.env.process(self._cargo_reorder(cargo))
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
        """initial stock + supplied = runs + final stock + linefill change + quarantined
        (+ crude handed in under swaps, which leaves the simulated network)."""
        mb = result.mass_balance
        handled = max(1.0, mb["initial_inventory_t"] + mb["supplied_t"])
        if abs(mb["imbalance_t"]) > MASS_BALANCE_RELATIVE_TOLERANCE * handled:
            raise MassBalanceError(
                f"replication {self.replication}: mass balance does not close by "
                f"{mb['imbalance_t']:.6g} t ({mb})"
            )
