"""The array path's chunk state: every total, stock, line, port, rail corridor, book and
disruption switch of `len(replications)` replications of one scenario, as arrays with the
replications on the first axis, set up once per chunk; sim.array_chunk steps it."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.array_books import VALUED, Books
from sim.array_cargo import PortArrays, PortBooks, cargo_timelines
from sim.array_layout import switch_times
from sim.array_pipes import Pipes, SharedPipe
from sim.array_rail import RailArrays
from sim.randomness import replication_seed_sequence
from sim.units import first_of_next_month

if TYPE_CHECKING:
    from sim.array_path import ArrayPath


class ChunkState:
    """The state of `len(replications)` replications stepped together."""

    #: Crude on rail per replication, t: set by each step (`Chunk._step`), read by the rows.
    rail_content_t: np.ndarray
    #: Contaminated crude's totals by replication and refinery, t (sim.array_contamination,
    #: set only when `contam` is): refused or moved into quarantine, run unnoticed, pumped
    #: back out of quarantine, in quarantine now.
    quarantined_t: np.ndarray
    offspec_run_t: np.ndarray
    reverse_pumped_t: np.ndarray
    quarantine_stock_t: np.ndarray

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
        #: What each link leaves the contracts at these factors, t/day (kept with them).
        self.link_caps_t = path.link_caps(self.link_factor)
        #: The third parties' flow on each shared line at these factors, t/day (kept with them).
        self.background_t = {
            a: path.background_t_per_day(a, self.link_factor[:, a]) for a in lay.shared
        }
        self.volume_factor = np.ones((n, n_c))
        self.capacity_factor = np.ones((n, n_ref))
        self.active = np.array([c.start_day <= 0 < c.end_day for c in topo.contracts])
        self.month = path.scenario.scenario.start_date.replace(day=1)
        self.purchase_usd_per_t = np.zeros((n, n_c))
        self.crude_usd_per_t = np.zeros((n, n_c))
        self._set_prices(range(n))
        #: Contamination (sim.array_contamination), None when the scenario has none: then
        #: the lines' keys are doubled (clean, then the same contaminated).
        self.contam = path.contamination
        mix = lay.linefill_mix
        if self.contam is not None:
            mix = np.concatenate([mix, np.zeros_like(mix)], axis=1)
        self.pipes = {
            a: SharedPipe(n, topo.links[a].linefill_t, mix[a], lay.third_key)
            if a in lay.shared
            else Pipes(n, topo.links[a].linefill_t, mix[a])
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
        self.cargo = (
            cargo_timelines(
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
            else None
        )
        self.cargo_runs = self.cargo.runs if self.cargo else []
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
        #: What left each link by crude key, keys × replications (key-major, as the lines), t.
        self.link_out_by_key_t = {a: np.zeros((n_k, n)) for a in lay.link_order}
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

    def _set_prices(self, rows: Any) -> None:
        groups: dict[tuple, list[int]] = defaultdict(list)
        for r in rows:
            groups[self.books[r].shock].append(r)
        for shock, members in groups.items():
            prices = self.path.prices_for(self.month, shock)
            self.purchase_usd_per_t[members] = prices.purchase_usd_per_t
            self.crude_usd_per_t[members] = prices.crude_usd_per_t

    def _close_days(self) -> float:
        """When the valued month closes (`RunValuation.step`), days."""
        start = self.path.scenario.scenario.start_date
        return float((first_of_next_month(self.valued_month) - start).days) - 1e-9
