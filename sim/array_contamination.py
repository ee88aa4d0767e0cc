"""The array path's contaminated crude (issue 12, item 2): crude made dirty entering one line
(a disruption's `contaminant_ppm` on a link), followed through the lines as its own crude keys,
refused at a refinery's gate into quarantine, or taken in unnoticed during a detection delay
and run off-spec until found, then moved to quarantine; quarantine pumped back out; the
refineries' planner counting the crude it will refuse. Each method is the event path's rule
(sim.engine.network_step, sim.engine.refinery) for every replication of a chunk at once.

What it follows exactly is one level above every refinery's limit entering at one line whose
downstream lines are each fed by one line, with quarantine of unlimited capacity and no rail
(sim.array_refusals refuses the rest): then a batch is clean or dirty as a whole, what a step
puts into a line is at most two batches (clean and dirty, in the order their first parts came),
and no line is held back for quarantine room. A chunk of a scenario without contamination
never reaches this module (`ChunkState.contam` is None): its lines keep one key per crude and
one entry per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from sim.array_pipes import CRUMB_T, DirtyTrack, SharedPipe
from sim.array_refusals import contaminated_link
from sim.array_state import ChunkState
from sim.kinds import EventKind

if TYPE_CHECKING:
    from collections.abc import Callable

    from sim.array_layout import Layout
    from sim.engine.topology import Topology

#: As sim.engine.refinery: contaminated stock below this counts as none, t.
_EPS_T = 1e-6
#: Bisection steps of `NetworkStep._scale_to_room`.
_BISECTIONS = 40


@dataclass(frozen=True)
class ContaminationLayout:
    """What contamination needs of the scenario, built once (None when nothing is
    contaminated)."""

    #: The line whose entering crude disruptions contaminate.
    link: int
    #: Clean crude keys (the lines' keys are these, then the same keys contaminated).
    keys: int
    limit_ppm: np.ndarray
    delay_days: np.ndarray
    pump_t_per_day: np.ndarray
    #: Each refinery's carrying lines crude can reach it from (`NetworkStep._upstream`).
    upstream: list[list[int]]
    #: Each refinery's routes from sources without tanks, all by pipeline, without swaps.
    line_routes: list[list[int]]
    #: Whether each route runs through the contaminated line.
    crosses: np.ndarray


def contamination_layout(topology: Topology, lay: Layout) -> ContaminationLayout | None:
    found = contaminated_link(topology)
    if found is None:
        return None
    specs = [topology.refineries[n] for n in lay.refineries]
    carrying = set(lay.link_order)
    upstream = []
    for name in lay.refineries:
        links: set[int] = set()
        nodes, stack = {name}, [name]
        while stack:
            node = stack.pop()
            for i in topology.in_links[node]:
                links.add(i)
                frm = topology.links[i].from_node
                if frm not in nodes:
                    nodes.add(frm)
                    stack.append(frm)
        upstream.append(sorted(links & carrying))
    line_routes: list[list[int]] = [[] for _ in lay.refineries]
    for q, r in enumerate(lay.routes):
        by_line = all(topology.links[a].kind == "pipeline" for a in r.links)
        if r.source not in topology.ports and r.swap_split is None and by_line:
            line_routes[lay.refineries.index(r.destination)].append(q)
    return ContaminationLayout(
        link=found[0],
        keys=len(lay.keys),
        limit_ppm=np.array([s.contaminant_limit_ppm for s in specs], dtype=float),
        delay_days=np.array([s.detection_delay_days for s in specs], dtype=float),
        pump_t_per_day=np.array([s.reverse_pumping_t_per_day for s in specs], dtype=float),
        upstream=upstream,
        line_routes=line_routes,
        crosses=np.array([found[0] in r.links for r in lay.routes]),
    )


class ContaminationRules(ChunkState):
    """Contaminated crude in a chunk (mixed into `Chunk`; used only when `contam` is set)."""

    if TYPE_CHECKING:  # `Chunk`'s, which moves the lines

        def _shares(self, volumes: np.ndarray, rates: np.ndarray, planned: np.ndarray) -> dict: ...

        def _hand_on(
            self,
            a: int,
            t: np.ndarray,
            out_t: np.ndarray,
            out_c: np.ndarray,
            shares: dict,
            downstream: tuple[dict[int, np.ndarray], dict[int, np.ndarray]],
            received: tuple[np.ndarray, np.ndarray],
        ) -> list[int]: ...

        def _push_shared(
            self,
            a: int,
            t: np.ndarray,
            c: np.ndarray,
            shares: dict,
            push: Callable[[np.ndarray], np.ndarray] | None = None,
        ) -> tuple[np.ndarray, np.ndarray]: ...

    def _init_contamination(self, lay: ContaminationLayout) -> None:
        n, n_ref = self.n, len(lay.limit_ppm)
        #: Contamination entering the contaminated line now, by replication, ppm.
        self.link_ppm = np.zeros(n)
        self.tracks = {a: DirtyTrack(p, lay.keys) for a, p in self.pipes.items()}
        self.alert = np.zeros((n, n_ref), dtype=bool)
        self.dirty_since = np.full((n, n_ref), np.nan)
        self.contaminated_t = np.zeros((n, n_ref))
        self.quarantined_t = np.zeros((n, n_ref))
        self.quarantine_stock_t = np.zeros((n, n_ref))
        self.reverse_pumped_t = np.zeros((n, n_ref))
        self.offspec_run_t = np.zeros((n, n_ref))
        self.refusing = np.zeros((n, n_ref), dtype=bool)
        self.rejecting = np.zeros((n, n_ref), dtype=bool)
        #: Any contaminated crude in the lines or entering them (`NetworkStep._max_ppm` > 0).
        self.dirty_about = np.zeros(n, dtype=bool)
        self._holds: dict[int, np.ndarray] = {}
        self._shared_head: tuple[np.ndarray, ...] = ()

    # -- step 0: `NetworkStep._start_refineries` -------------------------------------------
    def _start_refineries(self, now: float) -> None:
        lay = self.contam
        assert lay is not None
        self._holds = holds = {a: t.holds() for a, t in self.tracks.items()}
        in_lines = np.zeros(self.n, dtype=bool)
        for h in holds.values():
            in_lines |= h
        self.dirty_about = (self.link_ppm > 0) | in_lines
        names = self.path.layout.refineries
        for n in range(len(names)):
            clean = np.ones(self.n, dtype=bool)
            for a in lay.upstream[n]:
                clean &= ~holds[a]
            # `end_alert`: nothing contaminated upstream or left in the tanks.
            self.alert[:, n] &= ~(clean & (self.contaminated_t[:, n] <= 0))
            self._start_step(n, now)
            since = self.dirty_since[:, n]
            due = ~np.isnan(since) & (now >= since + lay.delay_days[n] - 1e-9)
            self.refusing[:, n] = (lay.delay_days[n] <= 0) | self.alert[:, n] | due

    def _start_step(self, n: int, now: float) -> None:
        """`Refinery.start_step`: reverse pumping, contamination found, moved to quarantine."""
        lay = self.contam
        assert lay is not None
        rate = lay.pump_t_per_day[n]
        q_stock = self.quarantine_stock_t[:, n]
        if rate > 0 and (q_stock > 0).any():
            pumped = np.where(q_stock > 0, np.minimum(q_stock, rate * 1.0), 0.0)
            self.quarantine_stock_t[:, n] = q_stock - pumped
            self.reverse_pumped_t[:, n] += pumped
        since = self.dirty_since[:, n]
        found = ~self.alert[:, n] & ~np.isnan(since) & (now >= since + lay.delay_days[n] - 1e-9)
        if not found.any() and not self.alert[:, n].any():
            return
        self.alert[:, n] |= found
        self.dirty_since[found, n] = np.nan
        contaminated = self.contaminated_t[:, n]
        move = self.alert[:, n] & (contaminated > _EPS_T)
        stock = self.stock_t[:, n]
        # `_move_contaminated_to_quarantine` (the room is unlimited), then `Tank.draw`.
        moved = np.where(move, np.minimum(contaminated, stock), 0.0)
        drawing = moved > 0
        if drawing.any():
            safe = np.where(drawing, stock, 1.0)
            keep = np.where(drawing, 1.0 - moved / safe, 1.0)
            self.stock_by_key_t[:, n] *= keep[:, None]
            self.stock_t[:, n] = np.where(drawing, stock - moved, stock)
            self.quarantined_t[:, n] += moved
            self.quarantine_stock_t[:, n] += moved
            left = contaminated - moved
            self.contaminated_t[:, n] = np.where(
                drawing, np.where(left < _EPS_T, 0.0, left), contaminated
            )
        name = self.path.layout.refineries[n]
        for r in np.nonzero(found)[0].tolist():
            if move[r]:
                detail = (
                    f"{moved[r]:.0f} t moved to quarantine, {self.contaminated_t[r, n]:.0f} t "
                    "left unusable in the tanks"
                )
            else:
                detail = "0 t left in the tanks"
            self.books[r].log(now, name, EventKind.CONTAMINATION_DETECTED, detail)

    # -- the planner: `NetworkStep._expected_t_per_day` ------------------------------------
    def _refused_ahead(self, rates: np.ndarray) -> np.ndarray:
        """Each refinery's crude it will refuse over its look-ahead, t/day (replications ×
        refineries): subtracted from the arrivals it expects."""
        lay = self.contam
        assert lay is not None
        out = np.zeros((self.n, len(lay.limit_ppm)))
        for n, s in enumerate(self.path._specs):
            if s.lookahead_days <= 0:
                continue
            watch = self.refusing[:, n] & self.dirty_about
            if not watch.any():
                continue
            refused = np.zeros(self.n)
            for q in lay.line_routes[n]:
                refused += self._route_refused_ahead(q, rates, s.lookahead_days, watch)
            out[:, n] = refused / s.lookahead_days
        return out

    def _inflow_dirty(self, q: int) -> np.ndarray:
        """Whether route q's crude is contaminated as it enters (its route ppm > the limit)."""
        assert self.contam is not None
        if self.contam.crosses[q]:
            return self.link_ppm > 0
        return np.zeros(self.n, dtype=bool)

    def _route_refused_ahead(
        self, q: int, rates: np.ndarray, days: float, watch: np.ndarray
    ) -> np.ndarray:
        """`NetworkStep._refused_ahead_t` of route q, t."""
        lay = self.path.layout
        links = lay.routes[q].links
        rate = rates[:, q]
        inflow = self._inflow_dirty(q)
        on_route = inflow.copy()
        for a in links:
            on_route |= self._holds[a]
        active = watch & (rate > 0) & on_route
        if not active.any():
            return np.zeros(self.n)
        need, got = rate * days, np.zeros(self.n)
        done = ~active
        for a in reversed(links):
            live = ~done
            through = _added_columns(rates, lay.through[a])
            share = rate / np.where(live, through, 1.0)
            pipe = self.pipes[a]
            content = pipe.cum_t[(pipe.entries - 1) % pipe.slots] - pipe.head_t
            take = np.where(live, np.minimum(need / np.where(live, share, 1.0), content), 0.0)
            dirty = self.tracks[a].in_head(take, np.ones(self.n, dtype=bool))
            got = got + np.where(live, share * dirty, 0.0)
            need = np.where(live, need - share * take, need)
            done = done | (live & (need <= 0))
        return np.where(active, got + np.where(~done & inflow, need, 0.0), 0.0)

    # -- room: `NetworkStep._scale_to_room` ------------------------------------------------
    def _scale_refusing(
        self,
        n: int,
        idx: np.ndarray,
        volumes: np.ndarray,
        over: np.ndarray,
        want: np.ndarray,
        limit: np.ndarray,
        plain: np.ndarray,
    ) -> np.ndarray:
        """The share of refinery n's receipts to ship in the rows `over` its room: where its
        lines may bring crude it refuses, found by bisection on what it would accept (refused
        crude takes no room); else `plain` (room ÷ planned)."""
        lay = self.path.layout
        may = np.zeros(self.n, dtype=bool)
        for q in idx:
            may |= self._inflow_dirty(q) | self.tracks[lay.routes[q].links[-1]].holds()
        may &= self.refusing[:, n] & over
        if not may.any():
            return plain
        room = np.maximum(0.0, limit)
        accepted_all = self._accepted(idx, volumes, np.ones(self.n))
        low, high = np.zeros(self.n), np.ones(self.n)
        for _ in range(_BISECTIONS):
            mid = (low + high) / 2
            fits = self._accepted(idx, volumes, mid) <= room
            low, high = np.where(fits, mid, low), np.where(fits, high, mid)
        got, most = accepted_all[over], room[over]
        share = np.where(got >= want[over] - 1e-9, plain, np.where(got <= most, 1.0, low[over]))
        return np.where(may[over], share, plain)

    def _accepted(self, idx: np.ndarray, volumes: np.ndarray, share: np.ndarray) -> np.ndarray:
        """`NetworkStep._split_at_heads`: what routes `idx` deliver that is accepted when they
        ship `share` of their volumes (what leaves the head of each one's last line dirty is
        refused, shared between the routes through that line by volume)."""
        lay = self.path.layout
        scaled = set(idx.tolist())
        accepted = np.zeros(self.n)
        for q in idx:
            last = lay.routes[q].links[-1]
            through = np.zeros(self.n)
            for j in lay.through[last]:
                through = through + volumes[:, j] * (share if j in scaled else 1.0)
            v = volumes[:, q] * share
            flowing = through > 0
            dirty = self.tracks[last].in_head(
                np.where(flowing, through, 0.0), self._inflow_dirty(q)
            )
            safe = np.where(flowing, through, 1.0)
            accepted = accepted + np.where(flowing, v * (1.0 - dirty / safe), v)
        return accepted

    # -- the lines: `NetworkStep._move` with batches of two kinds ---------------------------
    def _move_dirty(
        self, k: int, volumes: np.ndarray, rates: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """`Chunk._move` with contaminated keys: (received t, by key replications ×
        refineries × keys, clean keys then contaminated)."""
        path, lay = self.path, self.path.layout
        contam = self.contam
        assert contam is not None
        n_ref, n_k = len(lay.refineries), contam.keys
        wide = 2 * n_k
        in_t: dict[int, np.ndarray] = {}
        in_c: dict[int, np.ndarray] = {}
        first: dict[int, np.ndarray] = {}
        received_t = np.zeros((self.n, n_ref))
        received_c = np.zeros((n_ref, wide, self.n))
        shares = self._shares(volumes, rates, path.through_array().take(self.plan_row, axis=0))
        for a, injected, _, _ in path.moves:
            t = in_t.get(a, 0.0) + np.zeros(self.n)
            c = in_c.get(a, 0.0) + np.zeros((wide, self.n))
            fresh = np.zeros(self.n)
            for q, mix in injected:
                v = volumes[:, q]
                t = t + v
                c[:n_k] = c[:n_k] + mix[:, None] * v
                fresh = fresh + v
            for q, p in path.port_moves.get(a, ()):
                v = volumes[:, q]
                t = t + v
                c[:n_k] = c[:n_k] + self.port_mix[:, p].T * v
                fresh = fresh + v
            # Fresh crude is first in the step's parts (`_inject` before `_move`).
            first_dirty = first.get(a, np.zeros(self.n, dtype=bool)) & ~(fresh > 0)
            dirty_in = np.zeros(self.n, dtype=bool)
            if a == contam.link:  # everything entering it takes the added level
                dirty_in = self.link_ppm > 0
                c[n_k:] = np.where(dirty_in, c[n_k:] + c[:n_k], c[n_k:])
                c[:n_k] = np.where(dirty_in, 0.0, c[:n_k])
            if a in self.rails:  # loaded now (clean: no train is downstream of the dirt)
                self.rails[a].load(k, t, c[:n_k].T)
                continue
            if a in lay.shared:
                push = partial(self._push_shared_dirty, a, t, c, dirty=dirty_in)
                out_t, out_c = self._push_shared(a, t, c, shares, push)
                out_first = self._out_order(self.tracks[a], out_c, self._shared_head)
            else:
                out_t = t
                out_c, out_first = self._push_ordered(a, t, c, first_dirty)
            self.link_out_by_key_t[a] += out_c[:n_k] + out_c[n_k:]
            downstream = (in_t, in_c)
            for nxt in self._hand_on(
                a, t, out_t, out_c, shares, downstream, (received_t, received_c)
            ):
                first[nxt] = out_first
        by_key = received_c.transpose(2, 0, 1)
        if self.rails:
            received_t += self.rail_in_t
            by_key = by_key.copy()
            by_key[..., :n_k] += self.rail_in_by_key_t
        return received_t, by_key

    def _push_ordered(
        self, a: int, t: np.ndarray, c: np.ndarray, first_dirty: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """`PipelineFIFO.push` of a step's crude of two kinds: two entries, the kind whose
        parts came first first; returns (what leaves by key, whether its first is dirty)."""
        pipe, track = self.pipes[a], self.tracks[a]
        n_k = track.k
        dirty_c = np.zeros_like(c)
        dirty_c[n_k:] = c[n_k:]
        dirty_t = dirty_c[n_k:].sum(axis=0)
        has_dirty = dirty_t > 0
        clean_c = c - dirty_c
        clean_t = np.where(has_dirty, t - dirty_t, t)
        dirty_t = np.where(has_dirty, dirty_t, 0.0)
        pipe._append(
            np.where(first_dirty, dirty_t, clean_t), np.where(first_dirty, dirty_c, clean_c)
        )
        track.mark(first_dirty & has_dirty)
        pipe._append(
            np.where(first_dirty, clean_t, dirty_t), np.where(first_dirty, clean_c, dirty_c)
        )
        track.mark(~first_dirty & has_dirty)
        head = (pipe.head, pipe.head_t, pipe.head_c)
        out_c = pipe._pop(t)
        return out_c, self._out_order(track, out_c, head)

    def _push_shared_dirty(
        self, a: int, t: np.ndarray, c: np.ndarray, background: np.ndarray, dirty: np.ndarray
    ) -> np.ndarray:
        """`SharedPipe.push_shared` with the entries' kinds tracked (the third parties' batch
        takes the line's added level too)."""
        pipe, track = self.pipes[a], self.tracks[a]
        assert isinstance(pipe, SharedPipe)
        if pipe.unsplit:
            pipe.lay_out(t, background)
        third = np.zeros((pipe.k, self.n))
        third[pipe.third] = background
        pipe._append(t, c)
        track.mark(c[track.k :].sum(axis=0) > 0)
        pipe._append(background, third)
        track.mark(dirty & (background > 0))
        #: The head before the pop (`_out_order` reads it).
        self._shared_head = (pipe.head, pipe.head_t, pipe.head_c)
        return pipe._pop(t + background)

    def _out_order(
        self, track: DirtyTrack, out_c: np.ndarray, head: tuple[np.ndarray, ...]
    ) -> np.ndarray:
        """Whether the first of the shippers' crude that left a line is dirty, where both
        kinds left (elsewhere the order changes nothing); `head` is the head before the pop
        (`out_c`: the shippers' crude by key, the third parties' key zeroed)."""
        pipe = track.pipe
        dirty = out_c[track.k :].sum(axis=0)
        own = out_c.sum(axis=0)
        both = np.nonzero((dirty > CRUMB_T) & (own - dirty > CRUMB_T))[0]
        out = np.zeros(self.n, dtype=bool)
        if not len(both):
            return out
        now = (pipe.head, pipe.head_t, pipe.head_c)
        pipe.head, pipe.head_t, pipe.head_c = head
        try:
            out[both] = track.first_dirty(both)
        finally:
            pipe.head, pipe.head_t, pipe.head_c = now
        return out

    # -- the gate: `NetworkStep._deliver` --------------------------------------------------
    def _refuse(
        self, now: float, received_t: np.ndarray, received_c: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Crude above the limit refused into quarantine, or taken in unnoticed; returns what
        is accepted (t, by clean key) and logs rejection spells (`Simulation._account`)."""
        assert self.contam is not None
        n_k = self.contam.keys
        dirty_c = received_c[..., n_k:]
        dirty_t = dirty_c.sum(axis=2)
        rejected = np.where(self.refusing, dirty_t, 0.0)
        taken_dirty = np.where(self.refusing, 0.0, dirty_t)
        accepted_t = np.where(rejected > 0, received_t - rejected, received_t)
        accepted_c = received_c[..., :n_k] + np.where(self.refusing[..., None], 0.0, dirty_c)
        self.quarantined_t += rejected
        self.quarantine_stock_t += rejected
        self.contaminated_t += taken_dirty
        first = (taken_dirty > 0) & np.isnan(self.dirty_since)
        self.dirty_since[first] = now
        rejecting = rejected > 0
        names = self.path.layout.refineries
        for r, n in zip(*np.nonzero(rejecting != self.rejecting), strict=True):
            kind = EventKind.REJECTION_START if rejecting[r, n] else EventKind.REJECTION_END
            self.books[int(r)].log(now, names[n], kind)
        self.rejecting = rejecting
        return accepted_t, accepted_c

    def _run_offspec(self, stock: np.ndarray, run: np.ndarray) -> None:
        """Unnoticed, contaminated crude is run with the rest (`take_in_and_run`): its share
        of the mixed tanks (`stock`, after receipts) of each run."""
        off = (self.contaminated_t > 0) & ~self.alert & (run > 0)
        if not off.any():
            return
        share = np.minimum(1.0, self.contaminated_t / np.where(off, stock, 1.0))
        ran = np.where(off, run * share, 0.0)
        self.offspec_run_t += ran
        self.contaminated_t = np.where(off, self.contaminated_t - ran, self.contaminated_t)


def _added_columns(values: np.ndarray, columns: list[int]) -> np.ndarray:
    """The sum of `values[:, j]` over `columns`, left to right (as the plan sums routes)."""
    out = values[:, columns[0]] + 0.0
    for j in columns[1:]:
        out = out + values[:, j]
    return out
