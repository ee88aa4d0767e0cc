"""Rail corridors on the array path: every replication's loaded trains of one corridor.

The event path's `RailQueue` (sim.engine.crude) keeps a corridor's trains as parcels in load
order: crude loaded on day k is due `transit_days` later (at the first step starting then or
after), trains due unload first in the step, and `NetworkStep._unload_what_fits` unloads them in
order up to the refinery's room, the rest (part of a train too) waiting at the head of the queue.

Here a corridor is a ring of slots, one per load step, each holding the tonnes still on the
train loaded that step and its crude's shares by key, for every replication. A slot is due when
its load step plus the transit time is reached; a train that waited has an earlier load step
than any train behind it, so it is due at every later step, as the event path's held trains
(re-queued at the head with the time they waited) are. Unloading in order is a walk over the due
slots taking what fits, so a slot partly unloaded keeps its remainder and its shares, as the held
parcel does. A corridor loaded from several routes in one step would hold several parcels of
different crude in one slot, in an order this cannot keep: `sim.array_refusals.unsupported` refuses
that (the shipped corridors carry one route each).
"""

from __future__ import annotations

import numpy as np

#: Slots a corridor's ring starts with (it doubles when trains wait longer than it holds).
RAIL_SLOTS = 16
#: As `RailQueue.due`: a train due within this of the step's start unloads in that step, days.
_DUE_EPS_DAYS = 1e-9


class RailArrays:
    """The loaded trains of one rail corridor, every replication's (see the module's text)."""

    def __init__(self, n: int, n_keys: int, transit_days: float):
        self.transit_days = transit_days
        #: Tonnes still on the train loaded at step k, in slot k % len, by replication.
        self.tonnes_t = np.zeros((n, RAIL_SLOTS))
        #: That train's crude, shares by key.
        self.mix = np.zeros((n, RAIL_SLOTS, n_keys))
        #: Load steps [first, loaded) may still hold crude in some replication.
        self.first = 0
        self.loaded = 0
        #: Load steps [first, due_end) are due at the step last asked about.
        self._due_end = 0

    def content_t(self) -> np.ndarray:
        """Crude on the corridor, t (`RailQueue.content_t`: in load order)."""
        out = np.zeros(len(self.tonnes_t))
        slots = self.tonnes_t.shape[1]
        for k in range(self.first, self.loaded):
            out += self.tonnes_t[:, k % slots]
        return out

    def load(self, step: int, tonnes_t: np.ndarray, by_key_t: np.ndarray) -> None:
        """Crude loaded at `step` (`RailQueue.push`), t and t by key."""
        if self.loaded - self.first >= self.tonnes_t.shape[1]:
            self._grow()
        slot = step % self.tonnes_t.shape[1]
        self.tonnes_t[:, slot] = tonnes_t
        safe = np.where(tonnes_t > 0, tonnes_t, 1.0)
        self.mix[:, slot] = np.where(tonnes_t[:, None] > 0, by_key_t / safe[:, None], 0.0)
        self.loaded = step + 1

    def due_t(self, step: int) -> np.ndarray:
        """Tonnes due at `step`: trains loaded `transit_days` before it or earlier, and trains
        that waited (`RailQueue.due`)."""
        end = self._due_end
        while end < self.loaded and float(end) + self.transit_days <= float(step) + _DUE_EPS_DAYS:
            end += 1
        self._due_end = end
        out = np.zeros(len(self.tonnes_t))
        slots = self.tonnes_t.shape[1]
        for k in range(self.first, end):
            out += self.tonnes_t[:, k % slots]
        return out

    def unload(self, room_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unload the trains due (at the step `due_t` was last asked about) in order, no more
        than `room_t` (inf: all of them); the rest wait (`NetworkStep._unload_what_fits`).
        Returns the tonnes unloaded and their crude by key, t."""
        n, slots, n_keys = self.mix.shape
        out_t = np.zeros(n)
        out_by_key_t = np.zeros((n, n_keys))
        room = room_t.copy()
        for k in range(self.first, self._due_end):
            slot = k % slots
            on = self.tonnes_t[:, slot]
            take = np.minimum(on, room)
            out_t += take
            out_by_key_t += take[:, None] * self.mix[:, slot]
            room -= take
            self.tonnes_t[:, slot] = on - take
        # Slots every replication has emptied are done with.
        while self.first < self._due_end and not self.tonnes_t[:, self.first % slots].any():
            self.first += 1
        return out_t, out_by_key_t

    def _grow(self) -> None:
        old = self.tonnes_t.shape[1]
        n, _, n_keys = self.mix.shape
        tonnes, mix = np.zeros((n, 2 * old)), np.zeros((n, 2 * old, n_keys))
        for k in range(self.first, self.loaded):
            tonnes[:, k % (2 * old)] = self.tonnes_t[:, k % old]
            mix[:, k % (2 * old)] = self.mix[:, k % old]
        self.tonnes_t, self.mix = tonnes, mix
