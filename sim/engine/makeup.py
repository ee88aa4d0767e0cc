"""Contracts' missed tonnes and their make-up (docs/architecture.md, Contracts).

Each step a contract's nomination is its monthly volume ÷ the days in the month × the step;
what it ships less than that is *missed* (an outage, a volume cut, a quota, full tanks). A
contract with make-up terms (`makeup_max_share` > 0) owes its missed tonnes: at the first step
in which it ships its whole nomination again (supply has resumed) a window of
`makeup_window_days` opens, and until the tonnes are made up or the window closes the contract
is nominated `makeup_max_share` × its daily nomination on top. The extra goes through the
allocator like any nomination (capacity, sharing, quotas), and the step never ships more of it
than is owed. What is still owed when the window closes is lost.

The make-up rate changes only when a window opens or closes and at month turns (with the
nomination), so plans, cached by request, stay few.
"""

from __future__ import annotations

from sim.engine.topology import Topology
from sim.kinds import EventKind

#: Shortfalls smaller than this share of the step's nomination are rounding, not missed crude.
_RELATIVE_TOLERANCE = 1e-9
_ABSOLUTE_TOLERANCE_T = 1e-6


class MakeUp:
    """The missed-tonnes ledger of every contract, and the make-up windows."""

    def __init__(self, topology: Topology):
        contracts = topology.contracts
        n = len(contracts)
        self.share = [c.makeup_max_share for c in contracts]
        self.window_days = [c.makeup_window_days for c in contracts]
        #: Nominated over the run so far (volume ÷ days in month, while active), t.
        self.nominated_t = [0.0] * n
        #: Shipped over the run so far, t.
        self.shipped_t = [0.0] * n
        #: Extra shipped to make up missed tonnes, t.
        self.makeup_t = [0.0] * n
        #: Missed tonnes that may still be made up, t (contracts with make-up terms only).
        self.owed_t = [0.0] * n
        #: End of each contract's open make-up window, days (None: no window open).
        self.window_end: list[float | None] = [None] * n
        self._with_terms = [c.index for c in contracts if c.makeup_max_share > 0]
        #: Make-up windows open now.
        self._open = 0
        # Quiet steps (nothing owed, nothing missed, the same nominations and shipments) are
        # only counted, and booked at once when something changes (`flush`).
        self._quiet: tuple[list[float], list[float], float] | None = None
        self._quiet_steps = 0

    @property
    def any_open(self) -> bool:
        return self._open > 0

    def extra_t_per_day(self, contract: int, nominal_t_per_day: float) -> float:
        """The make-up rate nominated on top of the contract's nomination, t/day."""
        if self.window_end[contract] is None:
            return 0.0
        return self.share[contract] * nominal_t_per_day

    def caps_t(self, planned_t_per_day: list[float], dt: float) -> list[float] | None:
        """Most each contract may ship this step: its nomination in force (volume factor
        applied) plus what it still owes while its window is open; None when no window is."""
        if not self.any_open:
            return None
        caps = [float("inf")] * len(planned_t_per_day)
        for c, end in enumerate(self.window_end):
            if end is not None:
                caps[c] = planned_t_per_day[c] * dt + self.owed_t[c]
        return caps

    def record(
        self,
        now: float,
        dt: float,
        nominal_t_per_day: list[float],
        shipped_t: list[float],
        steady: bool = False,
    ) -> list[tuple[int, EventKind, str]]:
        """Book one step's shipments against the nominations; returns make-up windows that
        opened or closed (contract, event, detail): each changes the plan.

        `steady`: the same list objects will come again for as long as the plan runs
        unscaled; while nothing is owed or open, such steps are only counted.
        """
        quiet = self._quiet
        if quiet is not None and quiet[0] is nominal_t_per_day and quiet[1] is shipped_t:
            self._quiet_steps += 1
            return []
        self.flush()
        nominated, total = self.nominated_t, self.shipped_t
        for c, nominal in enumerate(nominal_t_per_day):
            nominated[c] += nominal * dt
            total[c] += shipped_t[c]
        changes: list[tuple[int, EventKind, str]] = []
        calm = steady
        for c in self._with_terms:
            nominal = nominal_t_per_day[c]
            due = nominal * dt
            short = due - shipped_t[c]
            tolerance = _RELATIVE_TOLERANCE * due + _ABSOLUTE_TOLERANCE_T
            if short > tolerance:
                self.owed_t[c] += short
            elif short < 0 and self.window_end[c] is not None:
                made = min(-short, self.owed_t[c])
                self.makeup_t[c] += made
                self.owed_t[c] -= made
            if self.owed_t[c] > 0 or self.window_end[c] is not None:
                changes.extend(self._windows(c, now, dt, nominal, short <= tolerance))
                calm = False
        if calm and not changes:
            # Holding the two lists keeps them alive, so their identity stays theirs.
            self._quiet = (nominal_t_per_day, shipped_t, dt)
        return changes

    def flush(self) -> None:
        """Book the quiet steps counted since the last change."""
        if self._quiet is not None and self._quiet_steps:
            nominal, shipped, dt = self._quiet
            for c, rate in enumerate(nominal):
                self.nominated_t[c] += rate * dt * self._quiet_steps
                self.shipped_t[c] += shipped[c] * self._quiet_steps
        self._quiet, self._quiet_steps = None, 0

    def _windows(
        self, c: int, now: float, dt: float, nominal: float, full: bool
    ) -> list[tuple[int, EventKind, str]]:
        end = self.window_end[c]
        owed = self.owed_t[c]
        if end is None:
            if full and nominal > 0 and owed > _ABSOLUTE_TOLERANCE_T:
                self.window_end[c] = now + dt + self.window_days[c]
                self._open += 1
                detail = (
                    f"{owed:.0f} t missed; up to {self.share[c] * nominal:.0f} t/day extra for "
                    f"{self.window_days[c]:g} days"
                )
                return [(c, EventKind.MAKEUP_START, detail)]
            return []
        if owed <= _ABSOLUTE_TOLERANCE_T:
            self.owed_t[c] = 0.0
            self.window_end[c] = None
            self._open -= 1
            return [(c, EventKind.MAKEUP_END, "all made up")]
        if now + dt >= end - 1e-9:
            self.owed_t[c] = 0.0
            self.window_end[c] = None
            self._open -= 1
            return [(c, EventKind.MAKEUP_END, f"window closed: {owed:.0f} t not made up, lost")]
        return []
