"""The array path's contracts and transit quotas: make-up caps, missed tonnes and make-up
windows (`MakeUp`), routes cut to what each quota still allows this month and the step's
shipments counted against them (`Conditions`), for every replication of a chunk at once."""

from __future__ import annotations

import numpy as np

from sim.array_state import ChunkState
from sim.engine.conditions import QUOTA_EPS_T
from sim.kinds import EventKind
from sim.units import month_key

#: As sim.engine.makeup.
_MAKEUP_RELATIVE_TOLERANCE = 1e-9
_MAKEUP_ABSOLUTE_T = 1e-6


class ContractRules(ChunkState):
    """Contracts' make-up and transit quotas (mixed into `Chunk`)."""

    def _cut_to_caps(self, volumes: np.ndarray, planned: np.ndarray) -> None:
        """Make-up never ships more than is owed (`NetworkStep._cut_to_caps`)."""
        open_ = ~np.isnan(self.window_end_days)
        if not open_.any():
            return
        cap = np.where(open_, planned * 1.0 + self.owed_t, np.inf)
        for c in range(cap.shape[1]):
            idx = self.path.contract_routes[c]
            if not len(idx):
                continue
            want = volumes[:, idx].sum(axis=1)
            over = want > cap[:, c]
            if over.any():
                scale = np.maximum(0.0, cap[over, c]) / want[over]
                volumes[np.ix_(over, idx)] *= scale[:, None]

    def _quota_left_t(self) -> np.ndarray:
        """What each transit quota still allows this month, t (`Conditions.quota_left_t`)."""
        return self.path.quota_t_per_month - self.quota_used_t

    def _cut_to_quotas(self, volumes: np.ndarray) -> None:
        """Scale the routes counted against each quota to what it still allows, quota after
        quota (`NetworkStep._cut_to_quotas`)."""
        left = self._quota_left_t()
        for t in self.path.quota_order:
            counts = self.path.quota_counts[t]
            idx = np.nonzero(counts)[0]
            if not len(idx):
                continue
            want = (volumes[:, idx] * counts[idx]).sum(axis=1)
            over = want > left[:, t]
            if over.any():
                scale = np.maximum(0.0, left[over, t]) / want[over]
                volumes[np.ix_(over, idx)] *= scale[:, None]

    def _count_quotas(self, now: float, volumes: np.ndarray) -> None:
        """Count the step's shipments against the quotas; a quota used up is logged once a
        month (`Simulation._count_quotas`)."""
        path = self.path
        if not path.quota_order:
            return
        self.quota_used_t += volumes @ path.quota_counts.T
        spent = (self._quota_left_t() <= QUOTA_EPS_T) & ~self.quota_spent
        for t in path.quota_order:
            for r in np.nonzero(spent[:, t])[0]:
                self.quota_spent[r, t] = True
                name = path.topology.transit[t].name
                self.books[r].log(now + 1.0, name, EventKind.QUOTA_EXHAUSTED, month_key(self.month))

    def _count_contracts(self, now: float, nominal: np.ndarray, shipped: np.ndarray) -> None:
        """Missed tonnes and make-up windows (`MakeUp.record`)."""
        self.nominated_t += nominal * 1.0
        self.contract_shipped_t += shipped
        for c in self.path.makeup_contracts:
            due = nominal[c] * 1.0
            short = due - shipped[:, c]
            tolerance = _MAKEUP_RELATIVE_TOLERANCE * due + _MAKEUP_ABSOLUTE_T
            is_open = ~np.isnan(self.window_end_days[:, c])
            missed = short > tolerance
            self.owed_t[missed, c] += short[missed]
            made_rows = ~missed & (short < 0) & is_open
            made = np.minimum(-short, self.owed_t[:, c])
            self.makeup_t[made_rows, c] += made[made_rows]
            self.owed_t[made_rows, c] -= made[made_rows]
            self._windows(c, now, float(nominal[c]), short <= tolerance, is_open)

    def _windows(
        self, c: int, now: float, nominal: float, full: np.ndarray, is_open: np.ndarray
    ) -> None:
        """As `MakeUp._windows`, for every replication that owes tonnes or has a window open:
        the masks find the (rare) openings and closings, which are then booked one by one."""
        contract = self.path.topology.contracts[c]
        owed, end = self.owed_t[:, c], self.window_end_days[:, c]
        paid = owed <= _MAKEUP_ABSOLUTE_T
        opening = ~is_open & full & (nominal > 0) & ~paid
        done = is_open & paid
        lost = is_open & ~paid & (now + 1.0 >= end - 1e-9)
        for r in np.nonzero(opening)[0]:
            self.window_end_days[r, c] = now + 1.0 + contract.makeup_window_days
            detail = (
                f"{owed[r]:.0f} t missed; up to {contract.makeup_max_share * nominal:.0f} t/day "
                f"extra for {contract.makeup_window_days:g} days"
            )
            self.books[r].log(now + 1.0, contract.name, EventKind.MAKEUP_START, detail)
        for r in np.nonzero(done | lost)[0]:
            detail = (
                "all made up" if done[r] else f"window closed: {owed[r]:.0f} t not made up, lost"
            )
            self.books[r].log(now + 1.0, contract.name, EventKind.MAKEUP_END, detail)
        closing = done | lost
        self.owed_t[closing, c] = 0.0
        self.window_end_days[closing, c] = np.nan
