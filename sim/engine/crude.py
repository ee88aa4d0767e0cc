"""Crude as it moves: parcels with an origin mix and a contaminant level, pipelines as batch
FIFOs, and well-mixed tanks.

A parcel's `mix` maps "origin|grade" → share of its tonnes (shares sum to 1): what the
molecules are, followed through the batch FIFOs. Mix dicts are never mutated once made, so
parcels split by sharing the same dict: in a steady state no new dicts are created, which keeps
the daily step cheap.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from sim.units import TONNES_TOLERANCE_T

#: Tonnage below which a parcel's remainder is rounding, not crude, t.
_CRUMB_T = TONNES_TOLERANCE_T * 1e-3

Mix = dict[str, float]

#: Origin of third parties' crude in a line shared with them (it never leaves to a refinery).
THIRD_PARTY_ORIGIN = "third_party"

#: Between origin and grade in a mix key.
MIX_SEPARATOR = "|"


def mix_key(origin: str, grade: str) -> str:
    return f"{origin}{MIX_SEPARATOR}{grade}"


def split_mix_key(key: str) -> tuple[str, str]:
    """(origin, grade) of a mix key."""
    origin, _, grade = key.partition(MIX_SEPARATOR)
    return origin, grade


@dataclass(slots=True)
class Parcel:
    """Tonnes of crude of one mix and contaminant level; `entered_days` is when it went in
    (minus infinity for the crude filling a line at day 0)."""

    tonnes_t: float
    ppm: float
    mix: Mix
    entered_days: float = 0.0
    #: True once its first tonnes have left the line.
    leaving: bool = False


class PipelineFIFO:
    """A full line: tonnes pushed in at the tail push the same tonnes out at the head.

    Consecutive parcels of the same mix and ppm are merged, so the queue holds one entry per
    change of crude, not one per day. The first parcel of a new crude keeps its entry time, so
    its transit time (linefill ÷ rate, to within one step) can be observed: with a log, every
    new parcel is recorded as `(time, "enter", entered, tonnes)` and, in the step its first
    tonnes come out, `(time, "leave", entered, tonnes)`.
    """

    __slots__ = ("name", "linefill_t", "queue", "log", "background_mix", "unsplit")

    def __init__(
        self,
        name: str,
        linefill_t: float,
        initial: Parcel,
        log: list | None = None,
        background_mix: Mix | None = None,
    ):
        self.name = name
        self.linefill_t = linefill_t
        self.queue: deque[Parcel] = deque(
            [Parcel(linefill_t, initial.ppm, initial.mix, -float("inf"))]
        )
        self.log = log
        #: A line shared with third parties: the mix object of their crude (their parcels are
        #: told apart by identity), None otherwise.
        self.background_mix = background_mix
        #: The day-0 linefill of a shared line is still one parcel, to be laid out as the
        #: first step's streams would have left it.
        self.unsplit = background_mix is not None

    def content_t(self) -> float:
        return sum(p.tonnes_t for p in self.queue)

    def dirty_in_head(self, tonnes_t: float, limit_ppm: float, inflow_ppm: float) -> float:
        """Of the next `tonnes_t` to leave, how many are above `limit_ppm` (a look, no change).

        Tonnes beyond the line's content are this step's own inflow, at `inflow_ppm`. On a
        shared line `tonnes_t` counts only the simulated shippers' crude: third-party parcels
        are passed over.
        """
        dirty, left = 0.0, tonnes_t
        background = self.background_mix
        for parcel in self.queue:
            if left <= 0:
                break
            if background is not None and parcel.mix is background:
                continue
            take = min(left, parcel.tonnes_t)
            if parcel.ppm > limit_ppm:
                dirty += take
            left -= take
        if left > 0 and inflow_ppm > limit_ppm:
            dirty += left
        return dirty

    def repeat_tonnes(self, parts: list[Parcel], out: list[Parcel]) -> float | None:
        """After `push(parts)` returned `out`: the tonnes T such that pushing the same crude
        again would only add T to the tail batch and take T from the head batch, leaving a
        parcel equal to `out[0]`; None when it would do anything else (a new batch, a batch
        leaving whole, a log line). `repeat` then does that push without the parcels."""
        if len(out) != 1:
            return None
        if len(parts) == 1:
            tonnes = 0.0 + parts[0].tonnes_t  # as `_push` sums it
        else:
            ppm = parts[0].ppm
            if any(p.ppm != ppm for p in parts):
                return None  # batches of different levels, kept apart
            # `_commingle` sums the parts of one level, `_push` adds that to 0.0.
            tonnes = 0.0 + sum(p.tonnes_t for p in parts if p.tonnes_t > 0)
        left, head = out[0], self.queue[0]
        same_head = (
            left.tonnes_t == tonnes
            and left is not head
            and left.ppm == head.ppm
            and left.mix is head.mix
            and left.entered_days == head.entered_days
        )
        # The crude just pushed is the tail batch now (merged into it, or a batch of its own):
        # the same crude again merges into it.
        quiet_log = self.log is None or head.leaving
        return tonnes if tonnes > _CRUMB_T and same_head and quiet_log else None

    def repeat(self, tonnes_t: float, head: Parcel, tail: Parcel) -> bool:
        """The push found by `repeat_tonnes`, if it is still what `push` would do (the same
        head and tail batches, and the head batch more than covers the outflow): the same
        operations on the same batches as `push` (the tail first), so the tonnes are the same
        to the bit; False, changing nothing, if not."""
        queue = self.queue
        if queue[0] is not head or queue[-1] is not tail:
            return False
        # `_push` adds to the tail before it looks at the head: the same parcel when one batch.
        left = tail.tonnes_t + tonnes_t if head is tail else head.tonnes_t
        if left <= tonnes_t + _CRUMB_T:
            return False
        tail.tonnes_t += tonnes_t
        head.tonnes_t -= tonnes_t
        return True

    def push(self, parts: list[Parcel], now_days: float) -> list[Parcel]:
        """Put `parts` in at the tail; return the same tonnes leaving at the head, in order.

        Parts of one step with the same contaminant level are commingled into one parcel (as
        streams meeting at a junction are); parts of different levels stay separate batches,
        so a contaminated batch is never diluted and a refinery can refuse exactly it. What
        leaves in one step may therefore be several parcels.
        """
        queue = self.queue
        head = queue[0]
        if len(parts) == 1:
            parcel = parts[0]
            tonnes = parcel.tonnes_t
            tail = queue[-1]
            # Fast path: the same crude as the tail, and the head batch covers the outflow.
            if (
                tail.ppm == parcel.ppm
                and (tail.mix is parcel.mix or tail.mix == parcel.mix)
                and head is not tail
                and head.tonnes_t > tonnes + _CRUMB_T
                and (head.leaving or self.log is None)
                and tonnes > 0
            ):
                tail.tonnes_t += tonnes
                head.tonnes_t -= tonnes
                return [Parcel(tonnes, head.ppm, head.mix, head.entered_days)]
        else:
            parts = _commingle(parts)
        return self._push(parts, now_days)

    def push_shared(
        self, parts: list[Parcel], background: Parcel, now_days: float
    ) -> tuple[list[Parcel], float]:
        """A shared line: `parts` (the simulated shippers') and `background` (the third
        parties' crude of the step, whose mix must be `background_mix`) go in at the tail;
        returns (the simulated shippers' parcels leaving at the head, third-party tonnes
        leaving at the head). Third-party crude is never commingled with the rest: it is its
        own batch each step, merged with the one before it when nothing came in between."""
        if self.unsplit:
            self._lay_out(sum(p.tonnes_t for p in parts), background.tonnes_t)
        parts = _commingle(parts) if len(parts) > 1 else list(parts)
        parts.append(background)
        out = self._push(parts, now_days)
        mix = self.background_mix
        own: list[Parcel] = []
        third = 0.0
        for p in out:
            if p.mix is mix:
                third += p.tonnes_t
            elif own and own[-1].mix is p.mix and own[-1].ppm == p.ppm:
                # The same crude on either side of a third-party batch goes on as one parcel
                # (so the next line takes it as one, on its fast path).
                last = own[-1]
                own[-1] = Parcel(last.tonnes_t + p.tonnes_t, p.ppm, p.mix, last.entered_days)
            else:
                own.append(p)
        return own, third

    def own_in_head(self, tonnes_t: float) -> float:
        """Of the next `tonnes_t` to leave a shared line, the simulated shippers' tonnes (a
        look, no change); tonnes beyond the line's content are this step's own inflow."""
        own, left, mix = 0.0, tonnes_t, self.background_mix
        for parcel in self.queue:
            if left <= 0:
                return own
            take = min(left, parcel.tonnes_t)
            if parcel.mix is not mix:
                own += take
            left -= take
        return own

    def own_max_ppm_in_head(self, tonnes_t: float, inflow_ppm: float) -> float:
        """Of the next `tonnes_t` to leave a shared line, the highest level of the simulated
        shippers' crude (a look, no change); tonnes beyond the line's content are this step's
        own inflow, at `inflow_ppm`."""
        most, left, mix = 0.0, tonnes_t, self.background_mix
        for parcel in self.queue:
            if left <= 0:
                return most
            if parcel.mix is not mix and parcel.ppm > most:
                most = parcel.ppm
            left -= parcel.tonnes_t
        return max(most, inflow_ppm) if left > 0 else most

    def push_until_own(self, own_t: float) -> float:
        """Tonnes that can leave the head of a shared line before more than `own_t` of the
        simulated shippers' crude has left (a look, no change), t."""
        passed, mix = 0.0, self.background_mix
        for parcel in self.queue:
            if parcel.mix is mix:
                passed += parcel.tonnes_t
                continue
            if parcel.tonnes_t >= own_t:
                return passed + own_t
            own_t -= parcel.tonnes_t
            passed += parcel.tonnes_t
        return passed + own_t

    def _lay_out(self, own_t: float, background_t: float) -> None:
        """Lay the day-0 linefill out as alternating batches of the simulated shippers' crude
        (the line's initial mix) and third-party crude in the first step's proportions, as a
        steady flow would have left it; nothing to do until something flows."""
        step_t = own_t + background_t
        if step_t <= 0:
            return
        self.unsplit = False
        initial = self.queue.popleft()
        total = initial.tonnes_t
        # One pair of batches per step of flow, at most 10,000 pairs.
        pairs = min(10_000, math.ceil(total / step_t))
        chunk = total / pairs
        own = chunk * own_t / step_t
        for _ in range(pairs):
            if own > 0:
                self.queue.append(Parcel(own, initial.ppm, initial.mix, initial.entered_days))
            if chunk - own > 0:
                assert self.background_mix is not None
                self.queue.append(
                    Parcel(chunk - own, initial.ppm, self.background_mix, initial.entered_days)
                )

    def _push(self, parts: list[Parcel], now_days: float) -> list[Parcel]:
        queue = self.queue
        log = self.log
        tonnes = 0.0
        for parcel in parts:
            if parcel.tonnes_t <= 0:
                continue
            tonnes += parcel.tonnes_t
            tail = queue[-1]
            if tail.ppm == parcel.ppm and (tail.mix is parcel.mix or tail.mix == parcel.mix):
                tail.tonnes_t += parcel.tonnes_t
            else:
                queue.append(Parcel(parcel.tonnes_t, parcel.ppm, parcel.mix, now_days))
                if log is not None:
                    log.append((now_days, "enter", now_days, parcel.tonnes_t))
        out: list[Parcel] = []
        need = tonnes
        while need > _CRUMB_T and queue:
            head = queue[0]
            if log is not None and not head.leaving:
                head.leaving = True
                log.append((now_days, "leave", head.entered_days, head.tonnes_t))
            if head.tonnes_t <= need + _CRUMB_T:
                out.append(queue.popleft())
                need -= head.tonnes_t
            else:
                head.tonnes_t -= need
                out.append(Parcel(need, head.ppm, head.mix, head.entered_days))
                need = 0.0
        return out


def _commingle(parts: list[Parcel]) -> list[Parcel]:
    """Parts of equal ppm merged into one parcel each (tonne-weighted mix), in first order."""
    groups: dict[float, list[Parcel]] = {}
    for p in parts:
        if p.tonnes_t > 0:
            groups.setdefault(p.ppm, []).append(p)
    out = []
    for ppm, group in groups.items():
        first = group[0].mix
        if len(group) == 1:
            out.append(group[0])
            continue
        total = sum(p.tonnes_t for p in group)
        if all(p.mix is first or p.mix == first for p in group):
            out.append(Parcel(total, ppm, first, group[0].entered_days))
            continue
        acc: dict[str, float] = {}
        for p in group:
            for origin, share in p.mix.items():
                acc[origin] = acc.get(origin, 0.0) + share * p.tonnes_t
        mix = {origin: tonnes / total for origin, tonnes in sorted(acc.items())}
        out.append(Parcel(total, ppm, mix, group[0].entered_days))
    return out


class Tank:
    """A well-mixed tank farm: stock, tonnes by origin and grade, and contaminant level."""

    __slots__ = ("capacity_t", "stock_t", "by_mix_t", "ppm")

    def __init__(self, capacity_t: float, stock_t: float, mix: Mix, ppm: float = 0.0):
        self.capacity_t = capacity_t
        self.stock_t = stock_t
        #: Tonnes by mix key ("origin|grade").
        self.by_mix_t: dict[str, float] = {k: share * stock_t for k, share in mix.items()}
        self.ppm = ppm

    def tonnes_by_origin(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for key, tonnes in self.by_mix_t.items():
            origin = split_mix_key(key)[0]
            out[origin] = out.get(origin, 0.0) + tonnes
        return out

    def tonnes_by_grade(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for key, tonnes in self.by_mix_t.items():
            grade = split_mix_key(key)[1]
            out[grade] = out.get(grade, 0.0) + tonnes
        return out

    def room_t(self) -> float:
        return max(0.0, self.capacity_t - self.stock_t)

    def receive(self, parcel: Parcel) -> None:
        tonnes = parcel.tonnes_t
        if tonnes <= 0:
            return
        total = self.stock_t + tonnes
        if parcel.ppm != self.ppm:
            self.ppm = (self.ppm * self.stock_t + parcel.ppm * tonnes) / total
        acc = self.by_mix_t
        for origin, share in parcel.mix.items():
            acc[origin] = acc.get(origin, 0.0) + share * tonnes
        self.stock_t = total

    def draw(self, tonnes_t: float) -> Parcel:
        """Take `tonnes_t` (at most the stock) out; the parcel has the tank's mix."""
        stock = self.stock_t
        tonnes_t = min(tonnes_t, stock)
        if tonnes_t <= 0 or stock <= 0:
            return Parcel(0.0, self.ppm, {})
        share_taken = tonnes_t / stock
        keep = 1.0 - share_taken
        acc = self.by_mix_t
        mix = {}
        for origin, tonnes in acc.items():
            mix[origin] = tonnes / stock
            acc[origin] = tonnes * keep
        self.stock_t = stock - tonnes_t
        return Parcel(tonnes_t, self.ppm, mix)


class RailQueue:
    """Loaded trains of a rail corridor: crude loaded at time t is unloaded `transit_days` later
    (at the first step starting then or after). Trains that cannot unload wait in order."""

    __slots__ = ("name", "transit_days", "queue")

    def __init__(self, name: str, transit_days: float):
        self.name = name
        self.transit_days = transit_days
        self.queue: deque[tuple[float, Parcel]] = deque()

    def content_t(self) -> float:
        return sum(p.tonnes_t for _, p in self.queue)

    def push(self, parts: list[Parcel], now_days: float) -> list[Parcel]:
        """Load `parts`; nothing leaves a rail corridor the moment crude is loaded."""
        due = now_days + self.transit_days
        for p in parts:
            if p.tonnes_t > 0:
                self.queue.append((due, Parcel(p.tonnes_t, p.ppm, p.mix, now_days)))
        return []

    def due(self, now_days: float) -> list[Parcel]:
        """Unload every train due by `now_days`."""
        out = []
        queue = self.queue
        while queue and queue[0][0] <= now_days + 1e-9:
            out.append(queue.popleft()[1])
        return out

    def hold(self, parcels: list[Parcel], now_days: float) -> None:
        """Trains that could not unload wait at the head of the queue, in order."""
        for p in reversed(parcels):
            self.queue.appendleft((now_days, p))
