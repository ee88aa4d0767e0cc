"""The array path's pipelines: each carrying line's batches followed by crude key as rings of
cumulative tonnes per replication; lines shared with third parties, whose background flow
pushes the shippers' crude on."""

from __future__ import annotations

import numpy as np

#: Rows a line's ring of entries starts with (it doubles when its crude takes longer).
PIPE_SLOTS = 64


class Pipes:
    """Every carrying line's batches as cumulative tonnes (and tonnes by crude key) at the
    end of each entry, one entry per step: what leaves at the head over a step is the
    difference of the cumulative curve at the head's two positions (a full line).

    Tonnes by key are kept key-major (entries × keys × replications, and keys ×
    replications in and out): a few keys by thousands of replications, so that what is
    broadcast over the replications runs along the long axis (2-4× cheaper than along the
    keys).

    Entries live in a ring of `slots` rows (entry e in row e mod slots; `slots` a power of
    two, so e mod slots is e & (slots - 1), cheaper on arrays), grown when the
    entries between the furthest-behind head and the tail no longer fit: memory follows the
    transit time of the line, not the horizon.
    """

    def __init__(self, n: int, linefill_t: float, mix: np.ndarray):
        slots = PIPE_SLOTS
        self.n, self.k, self.slots = n, len(mix), slots
        self.cum_t = np.zeros((slots, n))
        self.cum_c = np.zeros((slots, self.k, n))
        self.cum_t[1] = linefill_t
        self.cum_c[1] = linefill_t * mix[:, None]
        self.entries = 2
        self.rows = np.arange(n)
        #: Offset of (key, replication) within one entry's row of `cum_c`.
        self.cells = np.arange(self.k)[:, None] * n + self.rows[None, :]
        #: Entry each replication's head is in (the first ending at or past the head).
        self.head = np.ones(n, dtype=int)
        self.head_t = np.zeros(n)
        self.head_c = np.zeros((self.k, n))

    def _grow(self) -> None:
        first, last = int(self.head.min()) - 1, self.entries - 1
        slots = 2 * self.slots
        cum_t, cum_c = np.zeros((slots, self.n)), np.zeros((slots, self.k, self.n))
        for e in range(first, last + 1):
            cum_t[e % slots] = self.cum_t[e % self.slots]
            cum_c[e % slots] = self.cum_c[e % self.slots]
        self.cum_t, self.cum_c, self.slots = cum_t, cum_c, slots

    def push(self, in_t: np.ndarray, in_c: np.ndarray) -> np.ndarray:
        """Tonnes by key (keys × replications) leaving the head when `in_t` (by key `in_c`,
        keys × replications) enter at the tail."""
        self._append(in_t, in_c)
        return self._pop(in_t)

    def _append(self, in_t: np.ndarray, in_c: np.ndarray) -> None:
        """A new entry at the tail."""
        e = self.entries
        if e - int(self.head.min()) + 2 > self.slots:
            self._grow()
        slots = self.slots
        np.add(self.cum_t[(e - 1) % slots], in_t, out=self.cum_t[e % slots])
        np.add(self.cum_c[(e - 1) % slots], in_c, out=self.cum_c[e % slots])
        self.entries = e + 1

    def _locate(self, new: np.ndarray, head: np.ndarray) -> np.ndarray:
        """The entry each position `new` is in, walking on from `head` (no change)."""
        mask, n, e, rows = self.slots - 1, self.n, self.entries, self.rows
        flat_t = self.cum_t.reshape(-1)
        behind = (flat_t.take((head & mask) * n + rows) < new) & (head < e - 1)
        if not behind.any():
            return head
        # Most heads move an entry or two; a line back from an outage walks over many empty
        # entries in a few replications: walk on only those still behind.
        head = head.copy()
        walking = np.nonzero(behind)[0]
        at, goal = head[walking] + 1, new[walking]
        while True:
            behind = (flat_t.take((at & mask) * n + walking) < goal) & (at < e - 1)
            if not behind.all():
                head[walking] = at
                walking, at, goal = walking[behind], at[behind], goal[behind]
                if not len(walking):
                    return head
            at = at + 1

    def _cum_at(self, new: np.ndarray, head: np.ndarray) -> np.ndarray:
        """Cumulative tonnes by key (keys × replications) at positions `new`, in entries
        `head`."""
        mask, n, rows = self.slots - 1, self.n, self.rows
        flat_t = self.cum_t.reshape(-1)
        flat_c = self.cum_c.reshape(-1)
        at_row, before_row = head & mask, (head - 1) & mask
        low_t, high_t = flat_t.take(before_row * n + rows), flat_t.take(at_row * n + rows)
        length = high_t - low_t
        frac = np.where(length > 0, (new - low_t) / np.where(length > 0, length, 1.0), 1.0)
        frac = np.clip(frac, 0.0, 1.0)
        size = self.k * n
        low_c = flat_c.take(before_row * size + self.cells)
        high_c = flat_c.take(at_row * size + self.cells)
        return low_c + frac * (high_c - low_c)

    def _pop(self, out_t: np.ndarray) -> np.ndarray:
        """Tonnes by key leaving the head when `out_t` leave."""
        new = self.head_t + out_t
        head = self._locate(new, self.head)
        at_head = self._cum_at(new, head)
        out = at_head - self.head_c
        self.head, self.head_t, self.head_c = head, new, at_head
        return out


class Unfollowable(Exception):
    """A chunk met something the array path does not replay exactly; its replications run
    on the event path instead."""


class SharedPipe(Pipes):
    """A line shared with third parties (sim.engine.crude `PipelineFIFO.push_shared`): each
    step the simulated shippers' crude and then the third parties' batch enter as two
    entries; the third parties' crude leaving at the head leaves the network there."""

    def __init__(self, n: int, linefill_t: float, mix: np.ndarray, third: int):
        super().__init__(n, linefill_t, mix)
        self.linefill_t, self.mix, self.third = linefill_t, mix, third
        #: The day-0 linefill is one entry until the first step lays it out.
        self.unsplit = True

    def lay_out(self, own_t: np.ndarray, background_t: np.ndarray) -> None:
        """`PipelineFIFO._lay_out`: alternating batches in the first step's proportions."""
        step_t = own_t + background_t
        if not (step_t > 0).all():
            raise Unfollowable("a shared line starts without flow")
        self.unsplit = False
        total = self.linefill_t
        pairs = np.minimum(10_000, np.ceil(total / step_t)).astype(int)
        chunk = total / pairs
        own = chunk * own_t / step_t
        most = int(pairs.max())
        self.slots = max(PIPE_SLOTS, 1 << (2 * most + 64).bit_length())
        self.cum_t = np.zeros((self.slots, self.n))
        self.cum_c = np.zeros((self.slots, self.k, self.n))
        self.entries = 1
        third = np.zeros(self.k)
        third[self.third] = 1.0
        for i in range(most):
            here = i < pairs
            a = np.where(here, own, 0.0)
            b = np.where(here, chunk - own, 0.0)
            self._append(a, self.mix[:, None] * a)
            self._append(b, third[:, None] * b)
        self.head = np.ones(self.n, dtype=int)

    def own_ahead(self, tonnes_t: np.ndarray) -> np.ndarray:
        """`PipelineFIFO.own_in_head`: of the next `tonnes_t` leaving (within the content),
        the simulated shippers' tonnes."""
        tail_t = self.cum_t[(self.entries - 1) % self.slots]
        end = np.minimum(self.head_t + tonnes_t, tail_t)
        third_at = self._third_at(end, self._locate(end, self.head))
        head_own = self.head_t - self.head_c[self.third]
        return (end - third_at) - head_own

    def _third_at(self, new: np.ndarray, head: np.ndarray) -> np.ndarray:
        """`_cum_at` of the third parties' key alone (one column, not every key)."""
        mask, n, rows = self.slots - 1, self.n, self.rows
        flat_t = self.cum_t.reshape(-1)
        flat_c, k, third = self.cum_c.reshape(-1), self.k, self.third  # a view, not a copy
        at_row, before_row = head & mask, (head - 1) & mask
        low_t, high_t = flat_t.take(before_row * n + rows), flat_t.take(at_row * n + rows)
        length = high_t - low_t
        frac = np.where(length > 0, (new - low_t) / np.where(length > 0, length, 1.0), 1.0)
        frac = np.clip(frac, 0.0, 1.0)
        low_c = flat_c.take((before_row * k + third) * n + rows)
        high_c = flat_c.take((at_row * k + third) * n + rows)
        return low_c + frac * (high_c - low_c)

    def until_own(self, own_t: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """`PipelineFIFO.push_until_own` in replications `rows` (indices; `own_t` is theirs):
        tonnes that can leave before more than `own_t` of the simulated shippers' crude has
        (third-party batches pass whole): the first entry from the head holding shippers'
        crude whose end reaches the goal. The shippers' cumulative tonnes never fall along
        the line, so that entry is found by bisection, row by row at once; a goal past all
        their crude is reached nowhere (the whole content leaves, and the rest); the rows
        whose found entry holds none of their crude (a goal at the head) are looked for over
        every live entry (`_until_own_all`), as are none in the shipped runs."""
        head, head_t = self.head[rows], self.head_t[rows]
        head_own = head_t - self.head_c[self.third, rows]
        goal = head_own + own_t
        mask, last, n, k, third = self.slots - 1, self.entries - 1, self.n, self.k, self.third
        flat_t, flat_c = self.cum_t.reshape(-1), self.cum_c.reshape(-1)

        def own_at(entries: np.ndarray, at_rows: np.ndarray) -> np.ndarray:
            """The shippers' cumulative tonnes at the end of `entries` (one per row)."""
            ring = entries & mask
            return flat_t.take(ring * n + at_rows) - flat_c.take((ring * k + third) * n + at_rows)

        own_tail = own_at(np.full(len(rows), last), rows)
        tail_t = self.cum_t[last & mask, rows]
        out = (tail_t - head_t) + (goal - own_tail)  # past all their crude
        within = np.nonzero(goal <= own_tail)[0]
        if not len(within):
            return out
        w_rows, w_goal = rows[within], goal[within]
        lo, hi = head[within], np.full(len(within), last)
        while True:
            open_ = lo < hi
            if not open_.any():
                break
            mid = (lo + hi) // 2
            reached = own_at(mid, w_rows) >= w_goal
            hi = np.where(open_ & reached, mid, hi)
            lo = np.where(open_ & ~reached, mid + 1, lo)
        at_head = lo == head[within]
        before = (lo - 1) & mask
        own_start = np.where(at_head, head_own[within], own_at(lo - 1, w_rows))
        start_t = np.where(at_head, head_t[within], flat_t.take(before * n + w_rows))
        own_end = own_at(lo, w_rows)
        out[within] = start_t + (w_goal - own_start) - head_t[within]
        empty = own_end - own_start <= 0
        if empty.any():
            again = within[empty]
            out[again] = self._until_own_all(own_t[again], rows[again])
        return out

    def _until_own_all(self, own_t: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """`until_own` over every live entry at once (the rows whose goal is further)."""
        head, head_t = self.head[rows], self.head_t[rows]
        head_own = head_t - self.head_c[self.third, rows]
        goal = head_own + own_t
        first, last = int(head.min()), self.entries - 1
        entries = np.arange(first, last + 1)
        ends = (entries % self.slots)[:, None]
        starts = ((entries - 1) % self.slots)[:, None]
        own_end = self.cum_t[ends, rows] - self.cum_c[ends, self.third, rows]
        at_head = entries[:, None] == head[None, :]
        start_cum_t = self.cum_t[starts, rows]
        own_start = np.where(
            at_head, head_own[None, :], start_cum_t - self.cum_c[starts, self.third, rows]
        )
        start_t = np.where(at_head, head_t[None, :], start_cum_t)
        reach = (entries[:, None] >= head[None, :]) & (own_end >= goal) & (own_end - own_start > 0)
        found = reach.any(axis=0)
        j = reach.argmax(axis=0)
        live = np.arange(len(rows))
        inside = start_t[j, live] + (goal - own_start[j, live]) - head_t
        beyond = (self.cum_t[last % self.slots, rows] - head_t) + (goal - own_end[-1])
        return np.where(found, inside, beyond)

    def push_shared(
        self, own_t: np.ndarray, own_c: np.ndarray, background_t: np.ndarray
    ) -> np.ndarray:
        """The shippers' crude, then the third parties' batch, in at the tail; returns what
        leaves at the head by key (third parties' key included)."""
        if self.unsplit:
            self.lay_out(own_t, background_t)
        third = np.zeros((self.k, self.n))
        third[self.third] = background_t
        self._append(own_t, own_c)
        self._append(background_t, third)
        return self._pop(own_t + background_t)


# ---------------------------------------------------------------------------- contamination
#: As sim.engine.crude: below this a head batch's remainder is rounding, not crude, t.
CRUMB_T = 1e-9


class DirtyTrack:
    """Contaminated crude in a line (sim.array_contamination): the line's keys are doubled,
    the clean keys then the same keys above the contaminant limit, and every entry is of one
    kind (`PipelineFIFO.push` keeps batches of different levels apart, in the order their
    first parts came). Third parties' contaminated crude keeps the third parties' key (it
    never reaches a refinery); where the last contaminated entry ends says whether the line
    still holds any (`_upstream_clean`, `_may_refuse`)."""

    def __init__(self, pipe: Pipes, clean_keys: int):
        self.pipe, self.k = pipe, clean_keys
        #: Where the last entry holding contaminated crude ends (cumulative tonnes), t.
        self.until_t = np.full(pipe.n, -np.inf)

    def mark(self, dirty: np.ndarray) -> None:
        """The entry just appended holds contaminated crude in rows `dirty`."""
        pipe = self.pipe
        end = pipe.cum_t[(pipe.entries - 1) % pipe.slots]
        self.until_t = np.where(dirty, end, self.until_t)

    def holds(self) -> np.ndarray:
        """Whether any contaminated crude is left in the line, by replication."""
        return self.until_t - self.pipe.head_t > CRUMB_T

    def dirty_at(self, new: np.ndarray) -> np.ndarray:
        """Cumulative contaminated tonnes of the simulated shippers at positions `new`."""
        pipe = self.pipe
        return pipe._cum_at(new, pipe._locate(new, pipe.head))[self.k :].sum(axis=0)

    def in_head(self, tonnes_t: np.ndarray, inflow_dirty: np.ndarray) -> np.ndarray:
        """`PipelineFIFO.dirty_in_head`: of the next `tonnes_t` of the shippers' crude to
        leave, those above the limit; tonnes beyond their content count when `inflow_dirty`."""
        pipe = self.pipe
        k = self.k
        head_dirty = pipe.head_c[k:].sum(axis=0)
        tail_t = pipe.cum_t[(pipe.entries - 1) % pipe.slots]
        if isinstance(pipe, SharedPipe):
            third = pipe.third
            own_head = pipe.head_t - pipe.head_c[third]
            own_tail = tail_t - pipe.cum_c[(pipe.entries - 1) % pipe.slots, third]
            content = own_tail - own_head
            within = tonnes_t <= content
            offset = np.zeros(pipe.n)
            rows = np.nonzero(within)[0]
            if len(rows):
                offset[rows] = pipe.until_own(tonnes_t[rows], rows)
            end = np.where(within, pipe.head_t + offset, tail_t)
        else:
            content = tail_t - pipe.head_t
            within = tonnes_t <= content
            end = np.where(within, pipe.head_t + tonnes_t, tail_t)
        dirty = self.dirty_at(end) - head_dirty
        beyond = np.where(within | ~inflow_dirty, 0.0, tonnes_t - content)
        return np.maximum(dirty, 0.0) + beyond

    def first_dirty(self, rows: np.ndarray) -> np.ndarray:
        """Whether the first of the shippers' crude leaving the head in `rows` is
        contaminated: the kind of the first entry past the head holding any of it (a few
        rows, a step or two a run: where a dirty batch's front or end leaves)."""
        pipe = self.pipe
        k, mask = self.k, pipe.slots - 1
        # The third parties' key of a shared line (its batches hold none of the shippers').
        third = pipe.third if isinstance(pipe, SharedPipe) else -1
        out = np.zeros(len(rows), dtype=bool)
        for j, r in enumerate(rows.tolist()):
            e, last = int(pipe.head[r]), pipe.entries - 1
            before_t, before_c = pipe.head_t[r], pipe.head_c[:, r]
            while e <= last:
                end_t, end_c = pipe.cum_t[e & mask, r], pipe.cum_c[e & mask, :, r]
                own = end_t - before_t
                if third >= 0:
                    own -= end_c[third] - before_c[third]
                if own > CRUMB_T:
                    out[j] = end_c[k:].sum() - before_c[k:].sum() > 0
                    break
                before_t, before_c = end_t, end_c
                e += 1
        return out
