"""A refinery crude unit with its tank farm: how much it can take in and how much it runs."""

from __future__ import annotations

from sim.engine.crude import Parcel, Tank
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
    )

    def __init__(self, name: str, spec: RefineryNode, initial_mix: dict[str, float]):
        self.name = name
        self.spec = spec
        self.tank = Tank(spec.tank_capacity_t, spec.initial_stock_t, initial_mix)
        self.online = True
        #: Set by the restart event once a stopped unit has been down for restart_days.
        self.restart_allowed = False
        #: Share of nameplate capacity available (disruptions), 0..1.
        self.capacity_factor = 1.0
        self.quarantined_t = 0.0

    def target_t(self, dt_days: float) -> float:
        """Planned run this step, t."""
        return self.spec.target_run_t_per_day * dt_days

    def _ceiling_t(self, dt_days: float) -> float:
        cap = self.spec.capacity_t_per_day * self.capacity_factor
        return min(self.spec.target_run_t_per_day, cap) * dt_days

    def feasible_run_t(self, inflow_t: float, dt_days: float) -> float:
        """Most the unit can run this step given `inflow_t` accepted, before stop rules, t."""
        above_minimum = max(0.0, self.tank.stock_t - self.spec.min_operating_stock_t)
        return min(self._ceiling_t(dt_days), inflow_t + above_minimum)

    def _will_run(self, run_t: float, dt_days: float) -> bool:
        return run_t >= self.spec.min_technical_rate_t_per_day * dt_days and run_t > 0

    def receipt_limit_t(self, planned_inflow_t: float, dt_days: float) -> float:
        """Most crude the tanks can accept this step if `planned_inflow_t` arrives, t."""
        run = self.feasible_run_t(planned_inflow_t, dt_days)
        if not self.online and not (self.restart_allowed and self._will_run(run, dt_days)):
            run = 0.0
        return self.tank.room_t() + run

    def take_in_and_run(self, accepted: list[Parcel], dt_days: float) -> tuple[float, Parcel, str]:
        """Receive accepted parcels and run; returns (received t, what was run, event or "")."""
        inflow = sum(p.tonnes_t for p in accepted)
        run = self.feasible_run_t(inflow, dt_days)
        event = ""
        if self.online:
            would_overflow = self.tank.stock_t + inflow > self.tank.capacity_t
            if not self._will_run(run, dt_days) and self.spec.min_technical_rate_t_per_day > 0:
                if not would_overflow:  # a full tank keeps the unit running: nowhere to go
                    self.online, self.restart_allowed, run = False, False, 0.0
                    event = "unit_stop"
        elif self.restart_allowed and self._will_run(run, dt_days):
            self.online = True
            event = "unit_restart"
        else:
            run = 0.0
        for parcel in accepted:
            self.tank.receive(parcel)
        ran = self.tank.draw(run)
        return inflow, ran, event
