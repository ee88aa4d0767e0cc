"""The array path's chunk: many replications of one scenario stepped together, day by day:
month turns and disruptions switched, the allocator's plans, port draws, rail unloads, lines
moved and refineries run. Its state is set up by sim.array_state; the refineries' planner
(sim.array_refineries), contracts' make-up and transit quotas (sim.array_contracts) and each
replication's rows (sim.array_rows) are mixed in, each a concept of its own."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim.array_books import time_below
from sim.array_contracts import ContractRules
from sim.array_layout import HAND_IN
from sim.array_pipes import SharedPipe
from sim.array_refineries import RefineryPlanner
from sim.array_rows import RowBuilder
from sim.engine.conditions import QUOTA_EPS_T
from sim.engine.records import DisruptionRecord
from sim.engine.topology import DisruptionSpec
from sim.kinds import Effect, EventKind, TargetKind
from sim.recording.recorder import DisruptionSpell
from sim.units import days_in_month, first_of_next_month, month_key

if TYPE_CHECKING:
    from sim.array_path import ArrayPath

#: As the recorder: a run below target by less than this is not a cut, t.
_CUT_TOLERANCE_T = 1e-6
#: Each effect's combining rule (`Combine.reduce`, what `Combine.apply` uses) and neutral
#: value, looked up once, not per switch.
_COMBINE = {e: (e.combine.reduce, e.neutral) for e in Effect}


def _added(columns: list[np.ndarray], indices: np.ndarray) -> np.ndarray:
    """The sum of `columns[i]` over `indices`, left to right (as numpy sums a few)."""
    out = columns[indices[0]]
    for i in indices[1:]:
        out = out + columns[i]
    return out


class Chunk(RefineryPlanner, ContractRules, RowBuilder):
    """`len(replications)` replications of one scenario stepped together, day by day."""

    def __init__(self, path: ArrayPath, replications: list[int]):
        super().__init__(path, replications)
        if self.contam is not None:
            self._init_contamination(self.contam)

    # -- discrete changes ------------------------------------------------------------

    def _before_step(self, k: int) -> None:
        """What SimPy runs at or before day k: month turns, contract dates, disruptions,
        restarts allowed."""
        self._calendar(k)
        dirty = []
        for r, t, d, on in self.switches.get(k, ()):
            self._switch(r, t, self.path.topology.disruptions[d], on)
            dirty.append(r)
        repriced = [r for r in set(dirty) if self.books[r].price_key_dirty]
        if repriced:
            self._set_prices(repriced)
            for r in repriced:
                self.books[r].price_key_dirty = False
        ready = self.restart_ready_days <= k
        if ready.any():
            self.restart_allowed |= ready
            self.restart_ready_days[ready] = math.inf
        if self.cargo:  # tankers: every event due by day k, then the step
            self.cargo.advance(float(k))
            self.cargo.set_clock(float(k))

    def _calendar(self, k: int) -> None:
        """Month turns and contract dates due by day k (the same in every replication)."""
        path = self.path
        for day, month in path._months:
            if day == k:
                self.month = month
                # A new month's quotas: nothing used, nothing spent.
                self.quota_used_t[:] = 0.0
                self.quota_spent[:] = False
                self.common.log(float(day), "network", EventKind.MONTH_START, month_key(month))
                self._set_prices(range(self.n))
        for c in path.topology.contracts:
            if c.start_day > 0 and math.ceil(c.start_day) == k:
                self.active[c.index] = True
                self.common.log(float(c.start_day), c.name, EventKind.CONTRACT_START)
            if c.end_day < path.horizon and math.ceil(c.end_day) == k:
                self.active[c.index] = False
                self.common.log(float(c.end_day), c.name, EventKind.CONTRACT_END)

    def _switch(
        self, r: int, t: float, d: DisruptionSpec, on: bool, happened: float | None = None
    ) -> None:
        """As `Disruptions.switch`, for replication r; logged at t, in force for tankers from
        `happened` (default t: they differ after the horizon, where the clock is ahead)."""
        book = self.books[r]
        for target, kind, effects in d.parts:
            for effect, value in effects:
                active = book.active.setdefault((target, effect), {})
                if on:
                    active[d.name] = value
                else:
                    active.pop(d.name, None)
                combine, neutral = _COMBINE[effect]
                combined = combine(active.values()) if active else neutral
                self._apply(r, kind, target, effect, combined)
                if self.cargo and kind in (TargetKind.PORT, TargetKind.PRICE):
                    at = t if happened is None else happened
                    self.cargo.change_at(r, at, kind.value, target, combined)
        if on:
            spell = DisruptionSpell(
                DisruptionRecord(t, d.name, d.target, d.target_kind, d.effects, on)
            )
            book.spells.append(spell)
            book.open_spells[d.name] = spell
            book.log(t, d.target, EventKind.DISRUPTION_START, self.path.start_detail[d.name])
        else:
            book.open_spells.pop(d.name).end_days = t
            book.log(t, d.target, EventKind.DISRUPTION_END, d.name)

    def _apply(self, r: int, kind: TargetKind, target: str, effect: Effect, value: float) -> None:
        topo, book = self.path.topology, self.books[r]
        if effect is Effect.CONTAMINANT_PPM:  # on the contaminated line (sim.array_refusals)
            self.link_ppm[r] = value
        elif kind is TargetKind.LINK:
            a = topo.link_index[target]
            self.link_factor[r, a] = value
            self.link_caps_t[r, a] = self.path.link_cap_t_per_day(a, value)
            if a in self.background_t:
                self.background_t[a][r] = self.path.background_one_t_per_day(a, float(value))
        elif kind is TargetKind.REFINERY:
            self.capacity_factor[r, self.path.layout.refineries.index(target)] = value
        elif kind is TargetKind.CONTRACT and effect is Effect.VOLUME_FACTOR:
            index = next(c.index for c in topo.contracts if c.name == target)
            self.volume_factor[r, index] = value
        elif effect is Effect.PRICE_ADD_USD_PER_BBL:
            series = "series" if kind is TargetKind.PRICE else "contract"
            shock = {(s, x): v for s, x, v in book.shock}
            shock[(series, target)] = value
            book.shock = tuple(sorted((s, x, v) for (s, x), v in shock.items() if v != 0.0))
            book.price_key_dirty = True
        # A port's factor is read by tankers only (`_switch` tells their timelines).

    # -- the step --------------------------------------------------------------------
    def run(self) -> None:
        for k in range(self.path.steps):
            self._before_step(k)
            self._step(k, float(k))
        # Switches after the last step (SimPy runs to half a step past the horizon).
        for k in sorted(x for x in self.switches if x >= self.path.steps):
            for r, t, d, on in self.switches[k]:
                # The clock has reached the horizon: the event path's `now` is at least that.
                at = max(t, self.path.horizon)
                self._switch(r, at, self.path.topology.disruptions[d], on, happened=t)
        # Tankers until SimPy stops, half a step past the horizon (the clock is at its end).
        if self.cargo:
            self.cargo.set_clock(self.path.horizon)
            self.cargo.advance(self.path.horizon + 0.5, inclusive=False)
        self._close_month()
        #: Crude left on rail at the end (in the final inventory), t.
        self.rail_content_t = sum((x.content_t() for x in self.rails.values()), np.zeros(self.n))

    def _plan(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(route rates, nominations, nominations with volume factors) for this step."""
        path, topo = self.path, self.path.topology
        month_days = days_in_month(self.month)
        nominal = np.array(
            [
                c.volume_t_per_month / month_days if self.active[c.index] else 0.0
                for c in topo.contracts
            ]
        )
        planned = nominal * self.volume_factor
        share = np.array([c.makeup_max_share for c in topo.contracts])
        extra = np.where(np.isnan(self.window_end_days), 0.0, share * nominal)
        # A quota with tonnes left does not bound the plan (the step stops its crude exactly);
        # one used up is a rate of 0 (`Simulation._plan_request`).
        quotas = np.where(self._quota_left_t() <= QUOTA_EPS_T, 0.0, math.inf)
        request = np.concatenate([planned + extra, self.link_caps_t, quotas], axis=1)
        if self._request is None:
            changed = np.ones(self.n, dtype=bool)
        else:
            changed = (request != self._request).any(axis=1)
        if changed.any():
            rows = np.nonzero(changed)[0]
            n_c, n_l = len(topo.contracts), len(topo.links)
            new = path.plan_rows(
                request[rows, :n_c],
                request[rows, n_c : n_c + n_l],
                request[rows, n_c + n_l :],
            )
            moved = new != self.plan_row[rows]
            self.plans_used[rows[moved]] += 1
            self.plan_row[rows] = new
            self._request = request
        rates = path.plan_array().take(self.plan_row, axis=0)
        return rates, nominal, planned

    def _step(self, k: int, now: float) -> None:
        if now >= self.month_close_days:
            self._close_month()
        rates, nominal, planned = self._plan()
        dirty = self.contam is not None
        if dirty:
            self._start_refineries(now)
        planned_run = self._plan_runs(rates)
        volumes = rates * 1.0
        self._cut_to_caps(volumes, planned)
        self._cut_to_quotas(volumes)
        self._cut_to_port_stocks(volumes)
        self._cut_to_room(k, volumes, planned_run)
        drawn_t = self._draw_ports(volumes)
        if dirty:
            received_t, received_c = self._move_dirty(k, volumes, rates)
            received_t, received_c = self._refuse(now, received_t, received_c)
        else:
            received_t, received_c = self._move(k, volumes, rates)
        run_t = self._deliver(now, received_t, received_c, planned_run)
        self._record(k, now, volumes, received_t, run_t)
        # Each contract's routes added in route order (as np.add.at added them), column-wise.
        shipped = np.zeros((self.n, len(self.path.topology.contracts)))
        for c, idx in enumerate(self.path.contract_routes):
            for q in idx:
                shipped[:, c] += volumes[:, q]
        self._count_contracts(now, nominal, shipped)
        self._count_quotas(now, volumes)
        if self.cargo_runs:
            self._book_port_draws(drawn_t, volumes)

    def _cut_to_port_stocks(self, volumes: np.ndarray) -> None:
        """Sources with tanks (ports) cannot send more than they hold."""
        for p, idx in self.path.layout.port_routes.items():
            if not idx:
                continue
            stock = self.ports.stock_t[:, p]
            want = volumes[:, idx].sum(axis=1)
            over = want > stock
            if over.any():
                volumes[np.ix_(over, idx)] *= (stock[over] / want[over])[:, None]

    def _draw_ports(self, volumes: np.ndarray) -> np.ndarray:
        """`Tank.draw` of every port for its routes' tonnes: the crude leaves with the tanks'
        mix. Returns the tonnes drawn (replications × ports)."""
        ports = self.ports
        drawn_t = np.zeros_like(ports.stock_t)
        for p, idx in self.path.layout.port_routes.items():
            if not idx:
                continue
            stock = ports.stock_t[:, p]
            take = np.minimum(volumes[:, idx].sum(axis=1), stock)
            drawing = (take > 0) & (stock > 0)
            safe = np.where(drawing, stock, 1.0)
            self.port_mix[:, p] = np.where(
                drawing[:, None], ports.by_key_t[:, p] / safe[:, None], 0.0
            )
            keep = np.where(drawing, 1.0 - take / safe, 1.0)
            ports.by_key_t[:, p] *= keep[:, None]
            ports.stock_t[:, p] = np.where(drawing, stock - take, stock)
            drawn_t[:, p] = np.where(drawing, take, 0.0)
        return drawn_t

    def _book_port_draws(self, drawn_t: np.ndarray, volumes: np.ndarray) -> None:
        """The drawn crude's cargo costs, to the routes it took (`Shipping.book_port_draw`)."""
        for p, (idx, books) in enumerate(
            zip(self.path.layout.port_routes.values(), self.port_books.values(), strict=True)
        ):
            if idx:
                books.draw(drawn_t[:, p], self.ports.stock_t[:, p], volumes[:, idx])

    def _cut_to_room(self, k: int, volumes: np.ndarray, planned_run: np.ndarray) -> None:
        """Trains due unload first; refineries take no more than their tanks have room for
        (`receipt_limit_t`), so trains that do not fit wait and pipeline receipts are cut
        (`NetworkStep._cut_to_refinery_room`). Routes loading rail count as receipts there."""
        lay = self.path.layout
        for n, s in enumerate(self.path._specs):
            idx = np.nonzero(lay.route_refinery == n)[0]
            want = np.zeros(self.n)
            for q in idx:
                want = want + volumes[:, q]
            trains = self.path.rail_into.get(n, ())
            rail_t = np.zeros(self.n)
            for a in trains:
                rail_t = rail_t + self.rails[a].due_t(k)
            run = self._feasible(n, want + rail_t, planned_run)
            stopped = ~self.online[:, n] & ~self._may_restart(n, run)
            run = np.where(stopped, 0.0, run)
            limit = np.maximum(s.tank_capacity_t - self.stock_t[:, n], 0.0) + run
            if trains:
                limit = limit - self._unload(n, trains, rail_t, limit)
            over = want > limit
            if over.any():
                scale = np.maximum(0.0, limit[over]) / want[over]
                if self.contam is not None:
                    scale = self._scale_refusing(n, idx, volumes, over, want, limit, scale)
                volumes[np.ix_(over, idx)] *= np.where(scale < 1.0, scale, 1.0)[:, None]
            got = np.zeros(self.n)
            for q in idx:
                got = got + volumes[:, q]
            self.room_left_t[:, n] = np.maximum(0.0, limit - got)

    def _unload(
        self, n: int, trains: list[int] | tuple[()], due_t: np.ndarray, limit: np.ndarray
    ) -> np.ndarray:
        """Unload the trains due into refinery n, in order and no more than `limit` where all
        of them do not fit (`NetworkStep._unload_what_fits`); returns the tonnes unloaded."""
        room = np.where(due_t > limit, np.maximum(0.0, limit), np.inf)
        got_t = np.zeros(self.n)
        got_by_key_t = np.zeros((self.n, len(self.path.layout.keys)))
        for a in trains:
            out_t, out_by_key_t = self.rails[a].unload(room)
            room = room - out_t
            got_t = got_t + out_t
            got_by_key_t += out_by_key_t
            # A corridor's flow is what it unloaded (`NetworkStep._move_and_deliver`).
            self.link_out_by_key_t[a] += out_by_key_t.T
        self.rail_in_t[:, n] = got_t
        self.rail_in_by_key_t[:, n] = got_by_key_t
        return got_t

    def _shares(
        self, volumes: np.ndarray, rates: np.ndarray, planned: np.ndarray
    ) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per link: (share of its outflow to each hop, whether it has hops, whether the plan
        routes anything through it): by this step's volumes, else the plan's rates, else where
        it went last (`NetworkStep._hops`). `planned`: replications × links in `moves` order.
        Column by column: a where over (replications × hops) with a broadcast mask costs ten
        times one over a column."""
        out: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        vol = [volumes[:, q] for q in range(volumes.shape[1])]
        rat = [rates[:, q] for q in range(rates.shape[1])]
        for j, (a, _, through, hops) in enumerate(self.path.moves):
            total_v, total_r = _added(vol, through), _added(rat, through)
            by_v = total_v > 0
            by_r = ~by_v & (total_r > 0)
            safe_v, safe_r = np.where(by_v, total_v, 1.0), np.where(by_r, total_r, 1.0)
            last = self.last_shares[a]
            shares = np.empty_like(last)
            for i, (_, qs) in enumerate(hops):
                shares[:, i] = np.where(
                    by_v,
                    _added(vol, qs) / safe_v,
                    np.where(by_r, _added(rat, qs) / safe_r, last[:, i]),
                )
            valid = by_v | by_r | self.last_valid[a]
            out[a] = (shares, valid, planned[:, j])
        return out

    def _room_through(self, a: int, shares: dict) -> np.ndarray:
        """`NetworkStep._room_through`: most tonnes that can go on from link `a` this step."""
        share_a, _, _ = shares[a]
        most = np.full(self.n, np.inf)
        for i, (nxt, _) in enumerate(self.path.hop_list[a]):
            if nxt == HAND_IN or nxt in self.rails:
                continue  # a swap's hand-in and rail loads take what comes (`_room_through`)
            share = share_a[:, i]
            positive = share > 0
            if nxt < 0:
                room = self.room_left_t[:, -1 - nxt]
            else:
                room = np.where(shares[nxt][1], self._room_through(nxt, shares), 0.0)
            value = room / np.where(positive, share, 1.0)
            most = np.where(positive, np.minimum(most, value), most)
        return most

    def _use_room(self, tonnes: np.ndarray, a: int, shares: dict) -> None:
        """`NetworkStep._use_room`: `tonnes` going on from link `a` take refineries' room."""
        share_a, _, _ = shares[a]
        for i, (nxt, _) in enumerate(self.path.hop_list[a]):
            if nxt == HAND_IN or nxt in self.rails:
                continue
            part = tonnes * share_a[:, i]
            if nxt < 0:
                self.room_left_t[:, -1 - nxt] = np.maximum(
                    0.0, self.room_left_t[:, -1 - nxt] - part
                )
            else:
                self._use_room(np.where(shares[nxt][1], part, 0.0), nxt, shares)

    def _push_shared(
        self,
        a: int,
        t: np.ndarray,
        c: np.ndarray,
        shares: dict,
        push: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """`NetworkStep._push_shared`: (the shippers' tonnes leaving, by key); `push` moves
        the line given the third parties' tonnes (default `SharedPipe.push_shared`)."""
        pipe = self.pipes[a]
        assert isinstance(pipe, SharedPipe)
        _, valid, _ = shares[a]
        background = self.background_t[a]
        if not pipe.unsplit:
            limited = pipe.own_ahead(t + background) > t + 1e-9
            if limited.any():
                # Only where the shippers' crude would be pushed out beyond what they send.
                rows = np.nonzero(limited)[0]
                room = np.where(valid, self._room_through(a, shares), 0.0)
                most = pipe.until_own((t + room)[rows], rows)
                cut = np.maximum(0.0, np.minimum(background[rows], most - t[rows]))
                background = background.copy()
                background[rows] = cut
        out_c = pipe.push_shared(t, c, background) if push is None else push(background)
        third = out_c[pipe.third].copy()
        out_c[pipe.third] = 0.0
        self.third_party_in_t += background
        self.third_party_out_t += third
        out_t = (t + background) - third
        extra = out_t - t
        going = (extra > 1e-9) & valid
        if going.any():
            self._use_room(np.where(going, extra, 0.0), a, shares)
        return out_t, out_c

    def _move(
        self, k: int, volumes: np.ndarray, rates: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Crude through the lines, upstream first, and onto rail; what each refinery receives
        (t, by key), the trains unloaded this step included. Tonnes by key move key-major
        (keys × replications, as sim.array_pipes keeps them); what the refineries receive by
        key is handed on as replications × refineries × keys."""
        path, lay = self.path, self.path.layout
        n_ref, n_k = len(lay.refineries), len(lay.keys)
        in_t: dict[int, np.ndarray] = {}
        in_c: dict[int, np.ndarray] = {}
        received_t = np.zeros((self.n, n_ref))
        received_c = np.zeros((n_ref, n_k, self.n))
        shares = self._shares(volumes, rates, path.through_array().take(self.plan_row, axis=0))
        for a, injected, _, _ in path.moves:
            t = in_t.get(a, 0.0) + np.zeros(self.n)
            c = in_c.get(a, 0.0) + np.zeros((n_k, self.n))
            for q, mix in injected:
                v = volumes[:, q]
                t = t + v
                c = c + mix[:, None] * v
            for q, p in path.port_moves.get(a, ()):
                v = volumes[:, q]
                t = t + v
                c = c + self.port_mix[:, p].T * v
            if a in self.rails:  # loaded now, unloaded `transit_days` later
                self.rails[a].load(k, t, c.T)
                continue
            if a in lay.shared:
                out_t, out_c = self._push_shared(a, t, c, shares)
            else:
                out_t, out_c = t, self.pipes[a].push(t, c)
            self.link_out_by_key_t[a] += out_c
            self._hand_on(a, t, out_t, out_c, shares, (in_t, in_c), (received_t, received_c))
        by_key = received_c.transpose(2, 0, 1)
        if self.rails:
            received_t += self.rail_in_t
            by_key = by_key + self.rail_in_by_key_t
        return received_t, by_key

    def _hand_on(
        self,
        a: int,
        t: np.ndarray,
        out_t: np.ndarray,
        out_c: np.ndarray,
        shares: dict,
        downstream: tuple[dict[int, np.ndarray], dict[int, np.ndarray]],
        received: tuple[np.ndarray, np.ndarray],
    ) -> list[int]:
        """What left link `a` (`t` entered it) goes on by its hops' shares: into the links
        after it (`downstream`: tonnes and by key, added to), handed in under a swap, or
        into the refineries (`received`); the shares it moved by are kept for the steps
        after. Returns the links it fed."""
        lay = self.path.layout
        share_a, valid, planned = shares[a]
        moved = planned & ((t > 0) | (a in lay.shared)) & valid
        np.copyto(self.last_shares[a], share_a, where=moved[:, None])
        self.last_valid[a] |= moved
        in_t, in_c = downstream
        received_t, received_c = received
        fed = []
        for i, (nxt, _) in enumerate(self.path.hop_list[a]):
            share = np.where(valid, share_a[:, i], 0.0)
            if nxt >= 0:
                in_t[nxt] = in_t.get(nxt, 0.0) + share * out_t
                in_c[nxt] = in_c.get(nxt, 0.0) + share * out_c
                fed.append(nxt)
            elif nxt == HAND_IN:
                self.swapped_out_t += share * out_t
            else:
                received_t[:, -1 - nxt] += share * out_t
                received_c[-1 - nxt] += share * out_c
        return fed

    def _deliver(
        self, now: float, received_t: np.ndarray, received_c: np.ndarray, planned_run: np.ndarray
    ) -> np.ndarray:
        """`Refinery.take_in_and_run` for every refinery; returns the runs, t."""
        names = self.path.layout.refineries
        run = np.zeros_like(received_t)
        for n, s in enumerate(self.path._specs):
            ran = self._feasible(n, received_t[:, n], planned_run)
            will = (ran >= s.min_technical_rate_t_per_day * 1.0) & (ran > 0)
            overflow = self.stock_t[:, n] + received_t[:, n] > s.tank_capacity_t
            online = self.online[:, n]
            stop = online & (s.min_technical_rate_t_per_day > 0) & ~will & ~overflow
            restart = ~online & self._may_restart(n, ran)
            run[:, n] = np.where(stop | (~online & ~restart), 0.0, ran)
            for r in np.nonzero(stop)[0]:
                self.books[r].log(now, names[n], EventKind.UNIT_STOP)
                self.restart_ready_days[r, n] = now + s.restart_days
            for r in np.nonzero(restart)[0]:
                self.books[r].log(now, names[n], EventKind.UNIT_RESTART)
            self.restart_allowed[stop, n] = False
            self.online[:, n] = (online & ~stop) | restart
        # The tanks: receive, then draw the run with the tanks' mix (`Tank.draw`).
        self.stock_by_key_t += received_c
        stock = self.stock_t + received_t
        if self.contam is not None:
            self._run_offspec(stock, run)
        run = np.minimum(run, stock)
        drawing = (run > 0) & (stock > 0)
        run = np.where(drawing, run, 0.0)
        safe = np.where(drawing, stock, 1.0)
        mix = np.where(drawing[..., None], self.stock_by_key_t / safe[..., None], 0.0)
        keep = np.where(drawing, 1.0 - run / safe, 1.0)
        self.stock_by_key_t = self.stock_by_key_t * keep[..., None]
        self.stock_t = np.where(drawing, stock - run, stock)
        self.month_runs_by_key_t += mix * run[..., None]
        return run

    def _record(
        self, k: int, now: float, volumes: np.ndarray, received: np.ndarray, run: np.ndarray
    ) -> None:
        """The recorder's running totals (`Recorder.on_step`)."""
        path, lay = self.path, self.path.layout
        self.month_days += 1.0
        target, low_level = path.target_t, path.low_level_t
        end = self.stock_t
        start = end - received + run
        self.intake_t += received
        self.runs_t += run
        self.unserved_t += np.where(run < target, target - run, 0.0)
        low = np.where(end < start, end, start)
        self.min_stock_t = np.minimum(self.min_stock_t, low)
        self.stock_integral_t_days += 0.5 * (start + end) * 1.0
        self.low_stock_days += time_below(start, end, low_level)
        self.cut[:, k] = (run < target - _CUT_TOLERANCE_T).any(axis=1)
        self.cut_days += run < target - _CUT_TOLERANCE_T
        self.route_t += volumes
        self.route_crude_usd += volumes * self.crude_usd_per_t.take(lay.route_contract, axis=1)
        costs = path.route_cost_usd_per_t
        for q in range(len(lay.routes)):
            c = lay.route_contract[q]
            self.purchase_usd[:, c] += volumes[:, q] * self.purchase_usd_per_t[:, c]
            self.transport_usd[:, c] += volumes[:, q] * costs[q]

    def _close_month(self) -> None:
        """Value each replication's runs of the month (`RunValuation.close_month`), every
        replication at once (`value_rows`)."""
        path = self.path
        month = month_key(self.valued_month)
        for n, name in enumerate(path.layout.refineries):
            if name not in path._valuation.refineries:
                continue
            runs = self.month_runs_by_key_t[:, n]
            parts = path.value_rows(name, runs, month, self.month_days)
            self.valued_parts[:, n] += parts
            self.valued_booked[:, n] |= runs > 0
        self.month_runs_by_key_t[:] = 0.0
        self.month_days = 0.0
        self.valued_month = first_of_next_month(self.valued_month)
        self.month_close_days = self._close_days()
