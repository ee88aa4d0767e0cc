"""A refinery crude unit with its tank farm: how much it can take in and how much it runs."""

from __future__ import annotations

from sim.engine.crude import Parcel, Tank
from sim.kinds import EventKind
from sim.scenario.schema import RefineryNode


class Refinery:
    """State of one refinery. Runs follow the rule in docs/architecture.md §Refineries:

    run = min(target, inflow + stock above the minimum operating level), per step; if that is
    below the minimum technical rate the unit stops and stays down at least `restart_days`.
    """

    __slots__ = (
        "name",
        "spec",
        "tank",
        "online",
        "restart_allowed",
        "capacity_factor",
        "quarantined_t",
        "_target_t_per_day",
        "_capacity_t_per_day",
        "_min_stock_t",
        "_min_rate_t_per_day",
    )

    def __init__(self, name: str, spec: RefineryNode, initial_mix: dict[str, float]):
        """`initial_mix`: what the day-0 stock is (\"origin|grade\" shares)."""
        self.name = name
        self.spec = spec
        self.tank = Tank(spec.tank_capacity_t, spec.initial_stock_t, initial_mix)
        self.online = True
        #: Set by the restart event once a stopped unit has been down for restart_days.
        self.restart_allowed = False
        #: Share of nameplate capacity available (disruptions), 0..1.
        self.capacity_factor = 1.0
        self.quarantined_t = 0.0
        # Copied from the spec: read every step (the hot path).
        self._target_t_per_day = spec.target_run_t_per_day
        self._capacity_t_per_day = spec.capacity_t_per_day
        self._min_stock_t = spec.min_operating_stock_t
        self._min_rate_t_per_day = spec.min_technical_rate_t_per_day

    def target_t(self, dt_days: float) -> float:
        """Planned run this step, t."""
        return self._target_t_per_day * dt_days

    def feasible_run_t(self, inflow_t: float, dt_days: float) -> float:
        """Most the unit can run this step given `inflow_t` accepted, before stop rules, t."""
        ceiling = self._target_t_per_day
        if self.capacity_factor < 1.0:
            ceiling = min(ceiling, self._capacity_t_per_day * self.capacity_factor)
        above_minimum = self.tank.stock_t - self._min_stock_t
        if above_minimum < 0.0:
            above_minimum = 0.0
        return min(ceiling * dt_days, inflow_t + above_minimum)

    def _will_run(self, run_t: float, dt_days: float) -> bool:
        return run_t >= self._min_rate_t_per_day * dt_days and run_t > 0

    def receipt_limit_t(self, planned_inflow_t: float, dt_days: float) -> float:
        """Most crude the tanks can accept this step if `planned_inflow_t` arrives, t."""
        run = self.feasible_run_t(planned_inflow_t, dt_days)
        if not self.online and not (self.restart_allowed and self._will_run(run, dt_days)):
            run = 0.0
        return self.tank.room_t() + run

    def take_in_and_run(
        self, accepted: list[Parcel], dt_days: float
    ) -> tuple[float, Parcel, EventKind | None]:
        """Receive accepted parcels and run; returns (received t, what was run, a stop or a
        restart of the crude unit, or None)."""
        inflow = sum(p.tonnes_t for p in accepted)
        run = self.feasible_run_t(inflow, dt_days)
        event: EventKind | None = None
        if self.online:
            would_overflow = self.tank.stock_t + inflow > self.tank.capacity_t
            if self._min_rate_t_per_day > 0 and not self._will_run(run, dt_days):
                if not would_overflow:  # a full tank keeps the unit running: nowhere to go
                    self.online, self.restart_allowed, run = False, False, 0.0
                    event = EventKind.UNIT_STOP
        elif self.restart_allowed and self._will_run(run, dt_days):
            self.online = True
            event = EventKind.UNIT_RESTART
        else:
            run = 0.0
        tank = self.tank
        for parcel in accepted:
            tank.receive(parcel)
        return inflow, tank.draw(run), event
