"""A refinery crude unit with its tank farm: how much it can take in, how much it plans to run,
and what it does with contaminated crude.

The rules, with equations, are in docs/architecture.md §Refineries. In short, per step of
`dt` days (rates t/day, stocks t):

- ceiling T = min(target, capacity × availability);
- spare = stock − unusable contaminated stock − min_operating_stock (≥ 0);
- planned rate P = a + (stock − unusable − planned floor) / lookahead_days, where `a` is the
  expected arrival rate and the planned floor is max(min_operating_stock, cover_target_days ×
  target); the run rate is R = min(T, max(P, m)) for the minimum technical rate m (with
  `lookahead_days = 0`: R = T, the rule without planning);
- run = min(R × dt, inflow + spare); an online unit whose run falls below m × dt stops;
- a stopped unit restarts after `restart_days` when run ≥ m × dt and P (without planning: run
  ÷ dt) ≥ min(m × (1 + restart_margin_share), T).
"""

from __future__ import annotations

import math

from sim.engine.crude import Parcel, Tank
from sim.kinds import EventKind
from sim.scenario.schema import RefineryNode

#: Tonnes below which a contaminated stock or a quarantine's room counts as none, t.
_EPS_T = 1e-6


class Refinery:
    """State of one refinery: its tanks, its crude unit, its quarantine."""

    __slots__ = (
        "name",
        "spec",
        "tank",
        "online",
        "restart_allowed",
        "capacity_factor",
        "quarantined_t",
        "quarantine_stock_t",
        "reverse_pumped_t",
        "contaminated_t",
        "offspec_run_t",
        "alert",
        "plans",
        "lookahead_days",
        "quarantine_limited",
        "limit_ppm",
        "_delay_days",
        "_dirty_since",
        "_expected_t_per_day",
        "_planned_t_per_day",
        "_target_t_per_day",
        "_capacity_t_per_day",
        "_min_stock_t",
        "_plan_floor_t",
        "_min_rate_t_per_day",
        "_restart_t_per_day",
        "_quarantine_capacity_t",
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
        #: Contaminated crude sent to quarantine so far (refused at the gate, or moved there
        #: from the tanks when found), t.
        self.quarantined_t = 0.0
        #: Crude in quarantine storage now, t.
        self.quarantine_stock_t = 0.0
        #: Quarantined crude pumped back out of the network so far, t.
        self.reverse_pumped_t = 0.0
        #: Contaminated crude in the tanks, t: not yet found (it is run with the rest), or found
        #: and waiting for quarantine room (unusable).
        self.contaminated_t = 0.0
        #: Contaminated crude run before it was found, t.
        self.offspec_run_t = 0.0
        #: True once contamination is found: crude above the limit is refused at the gate for as
        #: long as any line or tank that can bring crude here holds such crude (the network step
        #: ends the alert).
        self.alert = False
        #: When contaminated crude first entered the tanks unnoticed, days (None: none has).
        self._dirty_since: float | None = None
        self._expected_t_per_day = 0.0
        # Copied from the spec: read every step (the hot path).
        self._target_t_per_day = spec.target_run_t_per_day
        self._capacity_t_per_day = spec.capacity_t_per_day
        self._min_stock_t = spec.min_operating_stock_t
        self._plan_floor_t = max(
            spec.min_operating_stock_t, spec.cover_target_days * spec.target_run_t_per_day
        )
        self._min_rate_t_per_day = spec.min_technical_rate_t_per_day
        #: Look-ahead of the run planner, days; whether it plans (lookahead_days > 0).
        self.lookahead_days = spec.lookahead_days
        self.plans = spec.lookahead_days > 0
        self._restart_t_per_day = min(
            spec.min_technical_rate_t_per_day * (1.0 + spec.restart_margin_share),
            spec.target_run_t_per_day,
        )
        self._quarantine_capacity_t = (
            math.inf if spec.quarantine_capacity_t is None else spec.quarantine_capacity_t
        )
        #: Whether its quarantine storage has a capacity.
        self.quarantine_limited = spec.quarantine_capacity_t is not None
        #: Contaminant limit, ppm, and detection delay, days (from the spec).
        self.limit_ppm = spec.contaminant_limit_ppm
        self._delay_days = spec.detection_delay_days
        self._planned_t_per_day = self._ceiling_t_per_day()

    # -- the run plan ----------------------------------------------------------------------
    def _ceiling_t_per_day(self) -> float:
        ceiling = self._target_t_per_day
        if self.capacity_factor < 1.0:
            ceiling = min(ceiling, self._capacity_t_per_day * self.capacity_factor)
        return ceiling

    def planned_rate_t_per_day(self) -> float:
        """P: expected arrivals plus the stock above the planned floor spread over the
        look-ahead, t/day (the ceiling T without planning)."""
        if not self.plans:
            return self._ceiling_t_per_day()
        return self._expected_t_per_day + self._above_t(self._plan_floor_t) / self.lookahead_days

    def plan(self, expected_t_per_day: float) -> None:
        """Set this step's run rate from the arrivals expected over the look-ahead, t/day."""
        self._expected_t_per_day = expected_t_per_day
        ceiling = self._ceiling_t_per_day()
        if self.plans:
            planned = self.planned_rate_t_per_day()
            ceiling = min(ceiling, max(planned, self._min_rate_t_per_day))
        self._planned_t_per_day = ceiling

    def _above_t(self, floor_t: float) -> float:
        above = self.tank.stock_t - floor_t
        if self.alert:
            above -= self.contaminated_t
        return above if above > 0.0 else 0.0

    def feasible_run_t(self, inflow_t: float, dt_days: float) -> float:
        """Most the unit will run this step given `inflow_t` accepted, before stop rules, t."""
        if not self.plans:  # the ceiling may have changed since `plan` (disruptions)
            self._planned_t_per_day = self._ceiling_t_per_day()
        # `_above_t(min_stock)` inlined: called twice a step per refinery (the hot path).
        above = self.tank.stock_t - self._min_stock_t
        if self.alert:
            above -= self.contaminated_t
        feasible = inflow_t + (above if above > 0.0 else 0.0)
        planned = self._planned_t_per_day * dt_days
        return feasible if feasible < planned else planned  # min(planned, feasible)

    def _will_run(self, run_t: float, dt_days: float) -> bool:
        return run_t >= self._min_rate_t_per_day * dt_days and run_t > 0

    def _may_restart(self, run_t: float, dt_days: float) -> bool:
        """A stopped unit restarts when allowed and its planned rate clears the margin."""
        if not (self.restart_allowed and self._will_run(run_t, dt_days)):
            return False
        rate = self.planned_rate_t_per_day() if self.plans else run_t / dt_days
        return rate >= self._restart_t_per_day * (1.0 - 1e-12)

    def receipt_limit_t(self, planned_inflow_t: float, dt_days: float) -> float:
        """Most crude the tanks can accept this step if `planned_inflow_t` arrives, t."""
        run = self.feasible_run_t(planned_inflow_t, dt_days)
        if not self.online and not self._may_restart(run, dt_days):
            run = 0.0
        tank = self.tank
        room = tank.capacity_t - tank.stock_t
        return (room if room > 0.0 else 0.0) + run

    def take_in_and_run(
        self, accepted: list[Parcel], dt_days: float
    ) -> tuple[float, Parcel, EventKind | None]:
        """Receive accepted parcels and run; returns (received t, what was run, a stop or a
        restart of the crude unit, or None)."""
        # sum() of one parcel without the generator (0 + x: the same float).
        if len(accepted) == 1:
            inflow = 0.0 + accepted[0].tonnes_t
        else:
            inflow = sum(p.tonnes_t for p in accepted)
        run = self.feasible_run_t(inflow, dt_days)
        event: EventKind | None = None
        if self.online:
            would_overflow = self.tank.stock_t + inflow > self.tank.capacity_t
            if self._min_rate_t_per_day > 0 and not self._will_run(run, dt_days):
                if not would_overflow:  # a full tank keeps the unit running: nowhere to go
                    self.online, self.restart_allowed, run = False, False, 0.0
                    event = EventKind.UNIT_STOP
        elif self._may_restart(run, dt_days):
            self.online = True
            event = EventKind.UNIT_RESTART
        else:
            run = 0.0
        tank = self.tank
        for parcel in accepted:
            tank.receive(parcel)
        if self.contaminated_t > 0 and not self.alert and run > 0:
            # Unnoticed, the contaminated crude is run with the rest (the tanks are mixed).
            share = min(1.0, self.contaminated_t / tank.stock_t)
            self.offspec_run_t += run * share
            self.contaminated_t -= run * share
        return inflow, tank.draw(run), event

    # -- contamination ---------------------------------------------------------------------
    def refuses_contaminated(self, now_days: float) -> bool:
        """Whether crude above the limit is refused at the gate in the step starting now."""
        return self._delay_days <= 0 or self.alert or self._detection_due(now_days)

    def _detection_due(self, now_days: float) -> bool:
        since = self._dirty_since
        return since is not None and now_days >= since + self._delay_days - 1e-9

    def quarantine_room_t(self) -> float:
        """Room left in quarantine storage, t (inf: unlimited)."""
        return max(0.0, self._quarantine_capacity_t - self.quarantine_stock_t)

    def quarantine(self, tonnes_t: float) -> None:
        """Contaminated crude into quarantine storage (refused at the gate or from the tanks)."""
        self.quarantined_t += tonnes_t
        self.quarantine_stock_t += tonnes_t

    def take_in_contaminated(self, tonnes_t: float, now_days: float) -> None:
        """Contaminated crude accepted unnoticed (its tonnes are received with the rest)."""
        self.contaminated_t += tonnes_t
        if self._dirty_since is None:
            self._dirty_since = now_days

    @property
    def needs_start_step(self) -> bool:
        """Whether `start_step` has anything to do (the usual step: nothing contaminated)."""
        return self._dirty_since is not None or self.alert or self.quarantine_stock_t > 0

    def start_step(self, now_days: float, dt_days: float) -> list[tuple[EventKind, str]]:
        """Before the step's crude moves: reverse pumping, finding contamination, and moving
        contaminated stock to quarantine as room allows; returns what happened."""
        events: list[tuple[EventKind, str]] = []
        rate = self.spec.reverse_pumping_t_per_day
        if rate > 0 and self.quarantine_stock_t > 0:
            pumped = min(self.quarantine_stock_t, rate * dt_days)
            self.quarantine_stock_t -= pumped
            self.reverse_pumped_t += pumped
        found = not self.alert and self._detection_due(now_days)
        if found:
            self.alert = True
            self._dirty_since = None
        if self.alert and self.contaminated_t > _EPS_T:
            moved = self._move_contaminated_to_quarantine()
            if found:
                events.append(
                    (
                        EventKind.CONTAMINATION_DETECTED,
                        f"{moved:.0f} t moved to quarantine, {self.contaminated_t:.0f} t "
                        "left unusable in the tanks",
                    )
                )
        elif found:
            events.append((EventKind.CONTAMINATION_DETECTED, "0 t left in the tanks"))
        return events

    def _move_contaminated_to_quarantine(self) -> float:
        moved = min(self.contaminated_t, self.quarantine_room_t(), self.tank.stock_t)
        if moved <= 0:
            return 0.0
        self.tank.draw(moved)
        self.quarantine(moved)
        self.contaminated_t -= moved
        if self.contaminated_t < _EPS_T:
            self.contaminated_t = 0.0
        return moved

    def end_alert(self) -> None:
        """Nothing contaminated is left upstream or in the tanks: back to routine sampling, so
        new contamination again goes unnoticed for the detection delay."""
        if self.contaminated_t <= 0:
            self.alert = False
