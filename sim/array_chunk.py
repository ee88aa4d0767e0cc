"""The array path's chunk: the state of many replications of one scenario stepped together,
day by day: disruptions switched, plans, refineries and their run planner, contracts with
nominations, make-up and quotas, ports and rail, lines moved, and each replication's result
built with the recorder's own code."""

from __future__ import annotations

import copy
import itertools
import math
from collections import defaultdict
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from sim.array_books import VALUED, Books, FinalNetwork, cut_spells, time_below
from sim.array_cargo import PortArrays, PortBooks, cargo_runs, merge_costs
from sim.array_layout import HAND_IN, switch_times
from sim.array_pipes import Pipes, SharedPipe
from sim.array_rail import RailArrays
from sim.engine.conditions import QUOTA_EPS_T
from sim.engine.network_step import NetworkStep
from sim.engine.records import DisruptionRecord, RunEnd
from sim.engine.topology import DisruptionSpec
from sim.kinds import Effect, EventKind, TargetKind
from sim.randomness import replication_seed_sequence
from sim.recording.recorder import DisruptionSpell, RefineryTotals
from sim.recording.result import ReplicationResult
from sim.registry import COST_COMPONENTS
from sim.units import days_in_month, first_of_next_month, month_key

if TYPE_CHECKING:
    from sim.array_path import ArrayPath


_CUT_TOLERANCE_T = 1e-6
#: As sim.engine.makeup.
_MAKEUP_RELATIVE_TOLERANCE = 1e-9
_MAKEUP_ABSOLUTE_T = 1e-6


#: Each effect's combining rule and neutral value (properties: looked up once, not per switch).
_COMBINE = {e: (e.combine, e.neutral) for e in Effect}


class Chunk:
    """The state of `len(replications)` replications stepped together."""

    def __init__(self, path: ArrayPath, replications: list[int]):
        self.path = path
        lay = path.layout
        topo = path.topology
        self.replications = replications
        n, steps = len(replications), path.steps
        self.n = n
        n_ref, n_c, n_k = len(lay.refineries), len(topo.contracts), len(lay.keys)
        specs = path._specs
        counter = itertools.count()
        self.books = [Books(counter) for _ in replications]
        #: Events of every replication alike (month turns, contract dates), kept once.
        self.common = Books(counter)
        seed = path.scenario.scenario.seed
        end = path.horizon + path.scenario.scenario.step_days / 2
        self.switches: dict[int, list[tuple[int, float, int, bool]]] = defaultdict(list)
        sequences = [replication_seed_sequence(seed, rep) for rep in replications]
        for r, sequence in enumerate(sequences):
            for t, d, on in switch_times(topo, sequence, end, path.horizon):
                self.switches[math.ceil(t)].append((r, t, d, on))
        self.link_factor = np.ones((n, len(topo.links)))
        self.volume_factor = np.ones((n, n_c))
        self.capacity_factor = np.ones((n, n_ref))
        self.active = np.array([c.start_day <= 0 < c.end_day for c in topo.contracts])
        self.month = path.scenario.scenario.start_date.replace(day=1)
        self.purchase_usd_per_t = np.zeros((n, n_c))
        self.crude_usd_per_t = np.zeros((n, n_c))
        self._set_prices(range(n))
        self.pipes = {
            a: SharedPipe(n, topo.links[a].linefill_t, lay.linefill_mix[a], lay.third_key)
            if a in lay.shared
            else Pipes(n, topo.links[a].linefill_t, lay.linefill_mix[a])
            for a in lay.link_order
        }
        #: Where each link's outflow went last, by share of each of its hops, and whether it
        #: has gone anywhere yet (a shared line pushes its shippers' crude on after they stop).
        self.last_shares = {a: np.zeros((n, len(path.hop_list[a]))) for a in lay.link_order}
        self.last_valid = {a: np.zeros(n, dtype=bool) for a in lay.link_order}
        #: Each rail corridor's loaded trains, and what they unloaded this step into each
        #: refinery (t, t by key).
        self.rails = {a: RailArrays(n, n_k, topo.links[a].transit_days) for a in path.rail_links}
        self.rail_in_t = np.zeros((n, n_ref))
        self.rail_in_by_key_t = np.zeros((n, n_ref, n_k))
        #: Receipts each refinery can still take this step (shared lines' extra crude), t.
        self.room_left_t = np.zeros((n, n_ref))
        self.third_party_in_t = np.zeros(n)
        self.third_party_out_t = np.zeros(n)
        #: Crude handed in under swaps (it leaves the simulated network), t.
        self.swapped_out_t = np.zeros(n)
        # Refineries.
        self.stock_t = np.array([[s.initial_stock_t for s in specs]] * n, dtype=float)
        self.stock_by_key_t = np.array(
            [[s.initial_stock_t * lay.stock_mix[i] for i, s in enumerate(specs)]] * n
        ).reshape(n, n_ref, n_k)
        self.online = np.ones((n, n_ref), dtype=bool)
        # Ports' tanks, and each replication's cargo timeline (sim.array_cargo).
        self.ports = PortArrays(
            n,
            np.array([x.initial_stock_t for x in topo.ports.values()], dtype=float),
            lay.port_stock_by_key_t,
            path.port_capacity_t,
        )
        #: The crude drawn from each port's tanks this step, by key (shares of 1).
        self.port_mix = np.zeros((n, len(topo.ports), n_k))
        #: Each port's cost books, every replication's (sim.array_cargo).
        self.port_books = {
            name: PortBooks(n, name, topo, [lay.routes[q] for q in lay.port_routes[p]])
            for p, name in enumerate(topo.ports)
        }
        self.cargo_runs = (
            cargo_runs(
                topo,
                path.scenario.scenario.start_date,
                path.horizon,
                path.prices,
                sequences,
                lay.refineries,
                lambda: self.stock_t,
                self.ports,
                lay.keys,
                [b.log for b in self.books],
                self.port_books,
            )
            if topo.cargoes
            else []
        )
        self.restart_allowed = np.zeros((n, n_ref), dtype=bool)
        self.restart_ready_days = np.full((n, n_ref), math.inf)
        self.initial_inventory_t = (
            self.stock_t.sum(axis=1)[0]
            + path._port_stock_t
            + sum(topo.links[a].linefill_t for a in lay.link_order)
            + path._idle_linefill_t
        )
        # Make-up.
        self.owed_t = np.zeros((n, n_c))
        self.window_end_days = np.full((n, n_c), np.nan)
        self.nominated_t = np.zeros((n, n_c))
        self.contract_shipped_t = np.zeros((n, n_c))
        self.makeup_t = np.zeros((n, n_c))
        # Recording.
        self.intake_t = np.zeros((n, n_ref))
        self.runs_t = np.zeros((n, n_ref))
        self.unserved_t = np.zeros((n, n_ref))
        self.cut_days = np.zeros((n, n_ref), dtype=int)
        self.min_stock_t = self.stock_t.copy()
        self.stock_integral_t_days = np.zeros((n, n_ref))
        self.low_stock_days = np.zeros((n, n_ref))
        self.cut = np.zeros((n, steps), dtype=bool)
        self.route_t = np.zeros((n, len(lay.routes)))
        self.route_crude_usd = np.zeros((n, len(lay.routes)))
        self.purchase_usd = np.zeros((n, n_c))
        self.transport_usd = np.zeros((n, n_c))
        self.link_out_by_key_t = {a: np.zeros((n, n_k)) for a in lay.link_order}
        self.month_runs_by_key_t = np.zeros((n, n_ref, n_k))
        self.month_days = 0.0
        self.valued_month = path.scenario.scenario.start_date.replace(day=1)
        self.month_close_days = self._close_days()
        #: Valuation totals (`RunValuation.totals`) by replication, refinery, crude key and
        #: part, and whether each (refinery, key) has a row.
        self.valued_parts = np.zeros((n, n_ref, n_k, len(VALUED)))
        self.valued_booked = np.zeros((n, n_ref, n_k), dtype=bool)
        self.plan_row = np.full(n, -1)
        self.plans_used = np.zeros(n, dtype=int)
        # Transit quotas (`Conditions.quota_used_t`, `Simulation.quota_spent`).
        self.quota_used_t = np.zeros((n, len(topo.transit)))
        self.quota_spent = np.zeros((n, len(topo.transit)), dtype=bool)
        self._request: np.ndarray | None = None

    # -- discrete changes ------------------------------------------------------------
    def _set_prices(self, rows: Any) -> None:
        groups: dict[tuple, list[int]] = defaultdict(list)
        for r in rows:
            groups[self.books[r].shock].append(r)
        for shock, members in groups.items():
            prices = self.path.prices_for(self.month, shock)
            self.purchase_usd_per_t[members] = prices.purchase_usd_per_t
            self.crude_usd_per_t[members] = prices.crude_usd_per_t

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
        for run in self.cargo_runs:  # tankers: every event due by day k, then the step
            run.advance(float(k))
            run.clock_now = float(k)

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
                combined = combine.apply(active.values(), neutral)
                self._apply(r, kind, target, effect, combined)
                if self.cargo_runs and kind in (TargetKind.PORT, TargetKind.PRICE):
                    at = t if happened is None else happened
                    self.cargo_runs[r].change_at(at, kind.value, target, combined)
        record = DisruptionRecord(t, d.name, d.target, d.target_kind, d.effects, on)
        if on:
            spell = DisruptionSpell(record)
            book.spells.append(spell)
            book.open_spells[d.name] = spell
            book.log(t, d.target, EventKind.DISRUPTION_START, self.path.start_detail[d.name])
        else:
            book.open_spells.pop(d.name).end_days = t
            book.log(t, d.target, EventKind.DISRUPTION_END, d.name)

    def _apply(self, r: int, kind: TargetKind, target: str, effect: Effect, value: float) -> None:
        topo, book = self.path.topology, self.books[r]
        if kind is TargetKind.LINK:
            self.link_factor[r, topo.link_index[target]] = value
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
        for run in self.cargo_runs:
            run.clock_now = self.path.horizon
            run.advance(self.path.horizon + 0.5, inclusive=False)
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
        request = np.concatenate(
            [planned + extra, path.link_caps(self.link_factor), quotas], axis=1
        )
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
        rates = path.plan_array()[self.plan_row]
        return rates, nominal, planned

    def _step(self, k: int, now: float) -> None:
        lay = self.path.layout
        if now >= self.month_close_days:
            self._close_month()
        rates, nominal, planned = self._plan()
        planned_run = self._plan_runs(rates)
        volumes = rates * 1.0
        self._cut_to_caps(volumes, planned)
        self._cut_to_quotas(volumes)
        self._cut_to_port_stocks(volumes)
        self._cut_to_room(k, volumes, planned_run)
        drawn_t = self._draw_ports(volumes)
        received_t, received_c = self._move(k, volumes, rates)
        run_t = self._deliver(now, received_t, received_c, planned_run)
        self._record(k, now, volumes, received_t, run_t)
        shipped = np.zeros((self.n, len(self.path.topology.contracts)))
        np.add.at(shipped.T, lay.route_contract, volumes.T)
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

    def _ceiling(self) -> np.ndarray:
        target = np.array([s.target_run_t_per_day for s in self.path._specs])
        capacity = np.array([s.capacity_t_per_day for s in self.path._specs])
        derated = np.minimum(target, capacity * self.capacity_factor)
        return np.where(self.capacity_factor < 1.0, derated, target)

    def _planned_rate(self, expected: np.ndarray) -> np.ndarray:
        """P of each refinery (sim.engine.refinery), t/day."""
        specs = self.path._specs
        floor = np.array(
            [
                max(s.min_operating_stock_t, s.cover_target_days * s.target_run_t_per_day)
                for s in specs
            ]
        )
        lookahead = np.array([s.lookahead_days if s.lookahead_days > 0 else 1.0 for s in specs])
        above = np.maximum(self.stock_t - floor, 0.0)
        return expected + above / lookahead

    def _plan_runs(self, rates: np.ndarray) -> np.ndarray:
        """Each refinery's planned run rate for the step, t/day (`Refinery.plan`)."""
        lay, specs = self.path.layout, self.path._specs
        expected = np.zeros((self.n, len(specs)))
        for q in range(len(lay.routes)):
            expected[:, lay.route_refinery[q]] += self._expected_route(q, rates)
        for n, links in self.path.rail_into.items():
            if specs[n].lookahead_days > 0:  # and crude already on rail to it
                for a in links:
                    expected[:, n] += self.rails[a].content_t() / specs[n].lookahead_days
        self.expected = expected
        ceiling = self._ceiling()
        plans = np.array([s.lookahead_days > 0 for s in specs])
        minimum = np.array([s.min_technical_rate_t_per_day for s in specs])
        planned = np.minimum(ceiling, np.maximum(self._planned_rate(expected), minimum))
        return np.where(plans, planned, ceiling)

    def _expected_route(self, q: int, rates: np.ndarray) -> np.ndarray:
        """What route q brings over the look-ahead, t/day: from a port, no more than the port's
        stock (shared by planned rate) allows (`NetworkStep._expected_t_per_day`)."""
        p = self.path.port_of_route.get(q)
        if p is None:
            return rates[:, q]
        lay = self.path.layout
        spec = self.path._specs[lay.route_refinery[q]]
        drawn = rates[:, lay.port_routes[p]].sum(axis=1)
        safe = np.where(drawn > 0, drawn, 1.0)
        stock = np.where(drawn > 0, self.ports.stock_t[:, p] * rates[:, q] / safe, 0.0)
        lookahead = spec.lookahead_days if spec.lookahead_days > 0 else 1.0
        return np.minimum(rates[:, q], stock / lookahead)

    def _cut_to_caps(self, volumes: np.ndarray, planned: np.ndarray) -> None:
        """Make-up never ships more than is owed (`NetworkStep._cut_to_caps`)."""
        open_ = ~np.isnan(self.window_end_days)
        if not open_.any():
            return
        cap = np.where(open_, planned * 1.0 + self.owed_t, np.inf)
        for c in range(cap.shape[1]):
            idx = np.nonzero(self.path.layout.route_contract == c)[0]
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

    def _feasible(self, n: int, inflow: np.ndarray, planned_run: np.ndarray) -> np.ndarray:
        """`Refinery.feasible_run_t` of refinery n, t."""
        above = np.maximum(self.stock_t[:, n] - self.path._specs[n].min_operating_stock_t, 0.0)
        return np.minimum(inflow + above, planned_run[:, n] * 1.0)

    def _may_restart(self, n: int, run: np.ndarray) -> np.ndarray:
        """`Refinery._may_restart` of refinery n."""
        s = self.path._specs[n]
        will = (run >= s.min_technical_rate_t_per_day * 1.0) & (run > 0)
        rate = self._planned_rate(self.expected)[:, n] if s.lookahead_days > 0 else run / 1.0
        margin = min(
            s.min_technical_rate_t_per_day * (1.0 + s.restart_margin_share),
            s.target_run_t_per_day,
        )
        return self.restart_allowed[:, n] & will & (rate >= margin * (1.0 - 1e-12))

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
            self.link_out_by_key_t[a] += out_by_key_t
        self.rail_in_t[:, n] = got_t
        self.rail_in_by_key_t[:, n] = got_by_key_t
        return got_t

    def _shares(
        self, volumes: np.ndarray, rates: np.ndarray, present: np.ndarray
    ) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per link: (share of its outflow to each hop, whether it has hops, whether the plan
        routes anything through it): by this step's volumes, else the plan's rates, else where
        it went last (`NetworkStep._hops`)."""
        out: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for a, _, through, _ in self.path.moves:
            hops = self.path.hop_list[a]
            total_v = volumes[:, through].sum(axis=1)
            total_r = rates[:, through].sum(axis=1)
            shares = self.last_shares[a].copy()
            by_r = (total_v <= 0) & (total_r > 0)
            by_v = total_v > 0
            for i, (_, qs) in enumerate(hops):
                if by_r.any():
                    shares[by_r, i] = rates[np.ix_(by_r, qs)].sum(axis=1) / total_r[by_r]
                if by_v.any():
                    shares[by_v, i] = volumes[np.ix_(by_v, qs)].sum(axis=1) / total_v[by_v]
            valid = by_v | by_r | self.last_valid[a]
            out[a] = (shares, np.asarray(valid), np.asarray(present[:, through].any(axis=1)))
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
        self, a: int, t: np.ndarray, c: np.ndarray, shares: dict
    ) -> tuple[np.ndarray, np.ndarray]:
        """`NetworkStep._push_shared`: (the shippers' tonnes leaving, by key)."""
        pipe = self.pipes[a]
        assert isinstance(pipe, SharedPipe)
        _, valid, _ = shares[a]
        background = self.path.background_t_per_day(a, self.link_factor[:, a]) * 1.0
        if not pipe.unsplit:
            limited = pipe.own_ahead(t + background) > t + 1e-9
            if limited.any():
                room = np.where(valid, self._room_through(a, shares), 0.0)
                most = pipe.until_own(t + room)
                cut = np.maximum(0.0, np.minimum(background, most - t))
                background = np.where(limited, cut, background)
        out_c = pipe.push_shared(t, c, background)
        third = out_c[:, pipe.third].copy()
        out_c[:, pipe.third] = 0.0
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
        (t, by key), the trains unloaded this step included."""
        path, lay = self.path, self.path.layout
        n_ref, n_k = len(lay.refineries), len(lay.keys)
        in_t: dict[int, np.ndarray] = {}
        in_c: dict[int, np.ndarray] = {}
        received_t = np.zeros((self.n, n_ref))
        received_c = np.zeros((self.n, n_ref, n_k))
        shares = self._shares(volumes, rates, path.present_array()[self.plan_row])
        for a, injected, _, _ in path.moves:
            t = in_t.get(a, 0.0) + np.zeros(self.n)
            c = in_c.get(a, 0.0) + np.zeros((self.n, n_k))
            for q, mix in injected:
                v = volumes[:, q]
                t = t + v
                c = c + v[:, None] * mix
            for q, p in path.port_moves.get(a, ()):
                v = volumes[:, q]
                t = t + v
                c = c + v[:, None] * self.port_mix[:, p]
            if a in self.rails:  # loaded now, unloaded `transit_days` later
                self.rails[a].load(k, t, c)
                continue
            if a in lay.shared:
                out_t, out_c = self._push_shared(a, t, c, shares)
            else:
                out_t, out_c = t, self.pipes[a].push(t, c)
            self.link_out_by_key_t[a] += out_c
            share_a, valid, planned = shares[a]
            moved = planned & ((t > 0) | (a in lay.shared)) & valid
            self.last_shares[a][moved] = share_a[moved]
            self.last_valid[a] |= moved
            for i, (nxt, _) in enumerate(path.hop_list[a]):
                share = np.where(valid, share_a[:, i], 0.0)
                if nxt >= 0:
                    in_t[nxt] = in_t.get(nxt, 0.0) + share * out_t
                    in_c[nxt] = in_c.get(nxt, 0.0) + share[:, None] * out_c
                elif nxt == HAND_IN:
                    self.swapped_out_t += share * out_t
                else:
                    received_t[:, -1 - nxt] += share * out_t
                    received_c[:, -1 - nxt] += share[:, None] * out_c
        if self.rails:
            received_t += self.rail_in_t
            received_c += self.rail_in_by_key_t
        return received_t, received_c

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
        specs = path._specs
        target = np.array([s.target_run_t_per_day for s in specs]) * 1.0
        low_level = np.array(
            [path.scenario.scenario.low_stock_days * s.target_run_t_per_day for s in specs]
        )
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
        self.route_crude_usd += volumes * self.crude_usd_per_t[:, lay.route_contract]
        costs = np.array([r.cost_usd_per_t for r in lay.routes])
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

    def _close_days(self) -> float:
        """When the valued month closes (`RunValuation.step`), days."""
        start = self.path.scenario.scenario.start_date
        return float((first_of_next_month(self.valued_month) - start).days) - 1e-9

    def _count_contracts(self, now: float, nominal: np.ndarray, shipped: np.ndarray) -> None:
        """Missed tonnes and make-up windows (`MakeUp.record`)."""
        topo = self.path.topology
        self.nominated_t += nominal * 1.0
        self.contract_shipped_t += shipped
        for c in [c.index for c in topo.contracts if c.makeup_max_share > 0]:
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

    # -- results ---------------------------------------------------------------------
    def result(self, r: int, seconds: float) -> ReplicationResult:
        """Replication r's rows, made by the recorder's own code from these totals."""
        path, lay, topo = self.path, self.path.layout, self.path.topology
        rec = copy.copy(path._template)
        rec.replication = self.replications[r]
        rec.network = cast(NetworkStep, FinalNetwork(path, self.stock_t[r], self.stock_by_key_t[r]))
        rec.refinery = {}
        for n, name in enumerate(lay.refineries):
            tot = RefineryTotals(0.0)
            tot.intake_t = float(self.intake_t[r, n])
            tot.runs_t = float(self.runs_t[r, n])
            tot.unserved_t = float(self.unserved_t[r, n])
            tot.cut_days = int(self.cut_days[r, n])
            tot.min_stock_t = float(self.min_stock_t[r, n])
            tot.stock_integral_t_days = float(self.stock_integral_t_days[r, n])
            tot.low_stock_days = float(self.low_stock_days[r, n])
            rec.refinery[name] = tot
        rec.shipped_t = [0.0] * len(topo.contracts)
        for q in range(len(lay.routes)):
            rec.shipped_t[lay.route_contract[q]] += float(self.route_t[r, q])
        rec.purchase_usd = [float(x) for x in self.purchase_usd[r]]
        rec.transport_usd = [float(x) for x in self.transport_usd[r]]
        # A swap's tonnes enter twice: at its source, and handed out (`RoutePlan.supply_entries`).
        rec.supplied_t = float((self.route_t[r] * path.supply_entries).sum())
        rec.costs = self._cost_book(r)
        shipping = self.cargo_runs[r].shipping if self.cargo_runs else None
        if self.cargo_runs:
            for books in self.port_books.values():
                merge_costs(rec.costs, books.costs(r))
        book = self.books[r]
        rec.events = [e for _, _, e in sorted([*book.events, *self.common.events])]
        rec.disruption_spells = book.spells
        rec._open_spells = {}
        rec.daily = []
        rec.cargoes = self.cargo_runs[r].cargoes if self.cargo_runs else []
        rec.cut_spells, rec._cut_since = cut_spells(self.cut[r])
        rec._link_mix_t = [{} for _ in topo.links]
        for a, out in self.link_out_by_key_t.items():
            rec._link_mix_t[a] = {i: [{lay.keys[i]: 1.0}, float(t)] for i, t in enumerate(out[r])}
        rec.steps = path.steps
        rec._open_plan = None
        valuation = copy.copy(path._valuation)
        valuation._runs = {n: defaultdict(float) for n in valuation.refineries}
        valuation._run_accs = list(valuation._runs.items())
        valuation.totals = {
            (name, lay.keys[i]): dict(
                zip(VALUED, map(float, self.valued_parts[r, n, i]), strict=True)
            )
            for n, name in enumerate(lay.refineries)
            for i in np.nonzero(self.valued_booked[r, n])[0]
        }
        rec.valuation = valuation
        rec.end = RunEnd(
            end_days=path.horizon,
            initial_inventory_t=float(self.initial_inventory_t),
            final_inventory_t=float(
                self.stock_t[r].sum()
                + self.ports.stock_t[r].sum()
                + sum(topo.links[a].linefill_t for a in lay.link_order)
                + path._idle_linefill_t
                + float(self.rail_content_t[r])
            ),
            lots_landed_t=shipping.lots_landed_t if shipping else 0.0,
            swapped_out_t=float(self.swapped_out_t[r]),
            third_party_in_t=float(self.third_party_in_t[r]),
            third_party_out_t=float(self.third_party_out_t[r]),
            cargoes_discharged=shipping.discharged if shipping else 0,
            nominated_t=tuple(float(x) for x in self.nominated_t[r]),
            contract_shipped_t=tuple(float(x) for x in self.contract_shipped_t[r]),
            makeup_t=tuple(float(x) for x in self.makeup_t[r]),
            cargoes_open=sum(shipping.open_cargoes) if shipping else 0,
            steps=path.steps,
            plans_used=int(self.plans_used[r]),
            simpy_events=0,
            engine_seconds=seconds,
        )
        return rec.result()

    def _cost_book(self, r: int) -> dict[tuple[str, str, tuple[str, ...]], dict[str, float]]:
        lay, topo = self.path.layout, self.path.topology
        book: dict[tuple[str, str, tuple[str, ...]], dict[str, float]] = {}
        for q, route in enumerate(lay.routes):
            tonnes = float(self.route_t[r, q])
            # Crude drawn from a port's tanks is booked when drawn, with its cargoes' costs.
            if tonnes <= 0 or not route.supply_entries:
                continue
            c = topo.contracts[route.contract]
            key = (route.destination, c.origin, route.link_names)
            row = book.setdefault(key, dict.fromkeys(("tonnes_t", *COST_COMPONENTS), 0.0))
            row["tonnes_t"] += tonnes
            row["crude_usd"] += float(self.route_crude_usd[r, q])
            row["premium_usd"] += tonnes * c.premium_usd_per_t
            for k, per_t in route.cost_components_usd_per_t.items():
                row[k] += per_t * tonnes
        return book
