"""The array path: many replications of one scenario stepped at once, replications as a numpy
array axis (issue 12, item 2).

It runs the same daily rules as the event path (sim.engine) for what the shipped status quo
and its risk regime use: pipelines (full lines, batches followed by origin and grade; lines
shared with third parties, whose background flow pushes the shippers' crude on), refineries
with their run planner and unit stops, contracts with monthly nominations and make-up of
missed tonnes, swaps (the crude handed in leaves, the swap's origin is handed out), transit
quotas (cut to what the month still allows, counted, a used-up quota planned around until the
month turns), cargoes and the port tanks they land in (each replication's cargo timeline runs
the event path's own `Shipping` processes in plain Python, see sim.array_cargo; contracts drawing
from a port's tanks are cut to its stock and drawn with its mix here, their cargo costs booked
per draw), rail corridors (each corridor's trains a ring of load-step slots, see sim.array_rail:
due `transit_days` after loading, unloaded first in the step up to the refinery's room, in load
order, the rest waiting; routes loading rail count against the refinery's room as the event
path counts them; crude on rail is in the refinery's plan and in the final inventory), the
allocator's plans (one call per distinct request, cached), and
scheduled or random disruptions of links, refineries, ports, contracts, countries and prices
drawn from the engine's own `disruption:<name>` streams, so replication r here is replication r
there, and contaminated crude entering a line (sim.array_contamination: dirty crude keys in the
lines, refusal into quarantine, detection delay and off-spec runs, reverse pumping, the planner
counting what it will refuse). Recording keeps the recorder's totals as arrays and builds each
replication's rows with the recorder's own code (sim.recording), so the tables are the same
tables.

What it cannot do (rail corridors loaded by several routes or not running from a source to a
refinery, disruptions of transit conditions (quota factors, fee changes) or of cargo options
(directly or through their country), contaminated cargoes and contracts, contamination at
several levels or lines, with quarantine of limited capacity, onto rail or into lines fed by
several lines, contracts free to route, steps other than one day, the per-day series)
is found up front by `unsupported` (sim.array_refusals); the runner then says so once and uses
the event path.

This module is what is built once per scenario (`ArrayPath`: plans, prices, valuation, caps) and
the chunking; the rest is split by concept: sim.array_layout (the scenario as array indices,
disruption switch times), sim.array_state and sim.array_chunk (a chunk's arrays and its daily
step), sim.array_pipes (lines), sim.array_refineries (the run planner), sim.array_contracts
(make-up, quotas), sim.array_contamination (contaminated crude), sim.array_books and
sim.array_rows (books, a replication's rows).

The event path stays the reference: tests/test_array_path.py checks every shipped scenario this
path accepts against it, table by table, to `ARRAY_RELATIVE_TOLERANCE`.

Why numpy and not numba (issue 12 asks): the step is a few hundred array operations a day
over (replications × crude keys); at 2,048 replications that is ≈ 0.30 ms CPU per
replication-year stepping on base, ≈ 12× the plain numpy step of bench/bench_array.py, which
moves tonnes only (no batches by crude key, no make-up, no plans, no books). A numba kernel of
a line's pop (the head walk and the interpolation, one loop over the replications) was
measured: bit-identical to the numpy code, 170 → 108 µs a push at 2,048 replications (1.6×);
the lines are about a third of the step, so ≈ 10-15 % of a run, for an LLVM toolchain as a
dependency and a compile at first call. Not taken; the end-to-end target (10,000 base
replication-years in < 10 s on 2 cores) is met without it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import math
import time
from collections import defaultdict
from collections.abc import Iterator

import numpy as np

from sim.array_books import VALUED
from sim.array_chunk import Chunk
from sim.array_contamination import contamination_layout
from sim.array_layout import build_layout
from sim.economics.valuation import PRICED_PRODUCTS, products_t
from sim.engine.allocator import Allocator, PlanRequest
from sim.engine.conditions import Conditions, PriceSetter
from sim.engine.crude import split_mix_key
from sim.engine.records import Prices
from sim.engine.simulation import build_network
from sim.engine.topology import Topology
from sim.recording.mass_balance import check_mass_balance
from sim.recording.recorder import Recorder
from sim.recording.result import ReplicationResult
from sim.recording.valuation import RunValuation
from sim.scenario.schema import Scenario
from sim.units import first_of_next_month

#: The array path's rows equal the event path's to this relative difference (tested).
ARRAY_RELATIVE_TOLERANCE = 1e-9
#: Replications stepped together: memory grows with this, not with the replications run.
CHUNK_REPLICATIONS = 2048


# ---------------------------------------------------------------------------- the runner
class ArrayPath:
    """Runs replications of one scenario on the array path (see the module's text)."""

    def __init__(self, scenario: Scenario, topology: Topology, allocator: Allocator):
        self.scenario = scenario
        self.topology = topology
        self.allocator = allocator
        self.layout = build_layout(scenario, topology)
        #: What contamination needs (sim.array_contamination), None: nothing is contaminated.
        self.contamination = contamination_layout(topology, self.layout)
        self.horizon = float(scenario.scenario.horizon_days)
        self.steps = round(self.horizon / scenario.scenario.step_days)
        self.prices = PriceSetter(scenario.prices, topology)
        self._price_cache: dict[tuple, Prices] = {}
        #: Plans as rate vectors by route, by request bytes.
        self._plan_rows: dict[bytes, int] = {}
        self._plan_table: list[np.ndarray] = []
        self._plan_array: np.ndarray | None = None
        self._plan_present: list[np.ndarray] = []
        self._present_array = np.zeros((0, 0), dtype=bool)
        self._background_cache: dict[tuple[int, float], float] = {}
        self._caps_cache: dict[tuple[int, float], float] = {}
        network = build_network(scenario, topology, None)
        self._template = Recorder(scenario, topology, network, 0, False)
        self._valuation = RunValuation(scenario)
        self._specs = [topology.refineries[n] for n in self.layout.refineries]
        specs = self._specs
        #: The refineries' constants as arrays (by refinery), built once, not every step.
        self.target_t = np.array([s.target_run_t_per_day for s in specs], dtype=float)
        self.capacity_t = np.array([s.capacity_t_per_day for s in specs], dtype=float)
        self.floor_t = np.array(
            [
                max(s.min_operating_stock_t, s.cover_target_days * s.target_run_t_per_day)
                for s in specs
            ],
            dtype=float,
        )
        self.lookahead_days = np.array(
            [s.lookahead_days if s.lookahead_days > 0 else 1.0 for s in specs], dtype=float
        )
        self.plans_ahead = np.array([s.lookahead_days > 0 for s in specs])
        self.minimum_t = np.array([s.min_technical_rate_t_per_day for s in specs], dtype=float)
        self.low_level_t = scenario.scenario.low_stock_days * self.target_t
        self.route_cost_usd_per_t = np.array([r.cost_usd_per_t for r in self.layout.routes])
        #: Each contract's routes (indices, in route order), and the contracts with make-up.
        self.contract_routes = [
            np.nonzero(self.layout.route_contract == c)[0] for c in range(len(topology.contracts))
        ]
        self.makeup_contracts = [c.index for c in topology.contracts if c.makeup_max_share > 0]
        self._port_stock_t = sum(t.stock_t for t in network.ports.values())
        #: Line fill of the lines the contracts' crude passes (full lines: the same at the end).
        self._through_linefill_t = sum(topology.links[a].linefill_t for a in self.layout.link_order)
        self._idle_linefill_t = sum(
            network.fifos[i].content_t()
            for i in range(len(topology.links))
            if i not in self.layout.through
        )
        self._months = self._month_starts()
        #: Times each route's tonnes enter the network (2 for a swap).
        self.supply_entries = np.array([r.supply_entries for r in self.layout.routes], dtype=float)
        transit = topology.transit
        #: Entries each route counts against each transit quota (rows: transit conditions).
        self.quota_counts = np.zeros((len(transit), len(self.layout.routes)))
        for q, route in enumerate(self.layout.routes):
            for t, entries in route.quota_hits:
                self.quota_counts[t, q] = entries
        #: Each condition's monthly quota, t (inf: none; no disruption changes it on this path).
        self.quota_t_per_month = np.array(
            [math.inf if t.quota_t_per_month is None else t.quota_t_per_month for t in transit]
        )
        #: The conditions with a quota, in the order the event path cuts to them.
        self.quota_order = [t.index for t in transit if t.quota_t_per_month is not None]
        #: What a disruption's start says in events.csv (as `Disruptions.switch` writes it).
        self.start_detail = {
            d.name: f"{d.name}: " + ", ".join(f"{e.value}={v:g}" for e, v in d.effects)
            for d in topology.disruptions
        }
        lay = self.layout
        #: The port each route draws from (routes from sources without tanks are absent).
        self.port_of_route = {q: p for p, qs in lay.port_routes.items() for q in qs}
        #: Per carrying link: the routes injected there from a port's tanks, and the port.
        self.port_moves = {
            a: [
                (q, p)
                for q in lay.injected.get(a, ())
                if (p := self.port_of_route.get(q)) is not None
            ]
            for a in lay.link_order
        }
        #: Rail corridors carrying crude (their trains in `Chunk.rails`), and those
        #: unloading into each refinery (by index), in the event path's order.
        self.rail_links = [a for a in lay.link_order if topology.links[a].kind == "rail"]
        self.rail_into: dict[int, list[int]] = defaultdict(list)
        for a in self.rail_links:
            self.rail_into[lay.refineries.index(topology.links[a].to_node)].append(a)
        #: Each port's tank capacity, t.
        self.port_capacity_t = np.array([x.tank_capacity_t for x in topology.ports.values()])
        #: Each carrying link's hops: [(next link or -1 - refinery, routes making that hop)].
        self.hop_list = {
            a: [(nxt, np.array(qs)) for (frm, nxt), qs in lay.hops.items() if frm == a]
            for a in lay.link_order
        }
        #: Per carrying link, upstream first: (link, [(route injected here, its crude by
        #: key)], routes through it, [(next link or -1 - refinery, routes making that hop)]).
        self.moves = [
            (
                a,
                [
                    *(
                        (q, lay.contract_mix[lay.routes[q].contract])
                        for q in lay.injected.get(a, ())
                        if q not in self.port_of_route
                    ),
                    *((q, lay.swap_mix[lay.routes[q].contract]) for q in lay.handed_out.get(a, ())),
                ],
                np.array(lay.through[a]),
                [(nxt, np.array(qs)) for (frm, nxt), qs in lay.hops.items() if frm == a],
            )
            for a in lay.link_order
        ]
        #: Routes × carrying links (in `moves` order): 1 where the route runs through the link.
        self._through = np.zeros((len(lay.routes), len(self.moves)))
        for j, (_, _, through, _) in enumerate(self.moves):
            self._through[through, j] = 1.0
        self._through_array = np.zeros((0, len(self.moves)), dtype=bool)

    def run(self, replications: list[int]) -> Iterator[ReplicationResult]:
        """Each replication's result, in order, its books checked (MassBalanceError). A chunk
        is stepped whole; its results are then built one at a time as the caller takes them,
        so beside the chunk's arrays only the replication being taken has rows in memory."""
        for start in range(0, len(replications), CHUNK_REPLICATIONS):
            yield from self._run_chunk(replications[start : start + CHUNK_REPLICATIONS])

    def _month_starts(self) -> list[tuple[int, dt.date]]:
        """(step, first day) of each month turn within the horizon (as the months process)."""
        start = self.scenario.scenario.start_date
        month = start.replace(day=1)
        out: list[tuple[int, dt.date]] = []
        while True:
            month = first_of_next_month(month)
            day = (month - start).days
            if day >= self.horizon:
                return out
            out.append((day, month))

    # -- prices and plans --------------------------------------------------------------
    def prices_for(self, month: dt.date, shock: tuple[tuple[str, str, float], ...]) -> Prices:
        key = (month, shock)
        prices = self._price_cache.get(key)
        if prices is None:
            cond = Conditions.at_start(self.topology, self.scenario.scenario.start_date)
            cond.month_start = month
            for kind, target, value in shock:
                book = (
                    cond.price_add_usd_per_bbl
                    if kind == "series"
                    else cond.differential_add_usd_per_bbl
                )
                book[target] = value
            self.prices.update(cond)
            prices = self._price_cache[key] = cond.prices
        return prices

    def background_t_per_day(self, link: int, factors: np.ndarray) -> np.ndarray:
        """The third parties' flow on a shared line at these capacity factors, t/day."""
        out = np.empty_like(factors)
        for value in np.unique(factors):
            out[factors == value] = self.background_one_t_per_day(link, float(value))
        return out

    def background_one_t_per_day(self, link: int, factor: float) -> float:
        """The third parties' flow on shared line `link` at capacity factor `factor`, t/day."""
        key = (link, factor)
        rate = self._background_cache.get(key)
        if rate is None:
            spec = self.topology.links[link]
            rate = self._background_cache[key] = spec.third_party_flow_t_per_day(factor)
        return rate

    def link_caps(self, factors: np.ndarray) -> np.ndarray:
        """Capacity each link leaves the simulated contracts at these factors, t/day."""
        out = np.empty_like(factors)
        for i in range(len(self.topology.links)):
            column = factors[:, i]
            for value in np.unique(column):
                out[column == value, i] = self.link_cap_t_per_day(i, float(value))
        return out

    def link_cap_t_per_day(self, link: int, factor: float) -> float:
        """Capacity link `link` leaves the simulated contracts at capacity factor `factor`."""
        key = (link, float(factor))
        cap = self._caps_cache.get(key)
        if cap is None:
            spec = self.topology.links[link]
            cap = self._caps_cache[key] = spec.available_t_per_day(float(factor))
        return cap

    def plan_rows(self, rates: np.ndarray, caps: np.ndarray, quotas: np.ndarray) -> np.ndarray:
        """Index into the plan table of each replication's request (the allocator solves each
        distinct request once, as it does for the event path); `quotas` is the rate each
        transit quota allows (0 used up, inf otherwise, as `Simulation._plan_request`)."""
        request = np.ascontiguousarray(np.concatenate([rates, caps, quotas], axis=1))
        # Many replications ask alike: look up each distinct request once, not row by row.
        distinct, first, back = np.unique(request, axis=0, return_index=True, return_inverse=True)
        out = np.empty(len(distinct), dtype=int)
        for u, row in enumerate(distinct):
            key = row.tobytes()
            index = self._plan_rows.get(key)
            if index is None:
                r = first[u]
                plan = self.allocator.plan(
                    PlanRequest(
                        tuple(float(x) for x in rates[r]),
                        tuple(float(x) for x in caps[r]),
                        tuple(float(x) for x in quotas[r]),
                    )
                )
                vector = np.zeros(len(self.layout.routes))
                present = np.zeros(len(self.layout.routes), dtype=bool)
                for c, pairs in enumerate(plan.routes):
                    for links, rate in pairs:
                        vector[self.layout.route_index[(c, links)]] = rate
                        present[self.layout.route_index[(c, links)]] = True
                index = self._plan_rows[key] = len(self._plan_table)
                self._plan_table.append(vector)
                self._plan_present.append(present)
            out[u] = index
        return out[back.reshape(-1)]

    def plan_array(self) -> np.ndarray:
        """The plan table as one array (rows: plans, columns: routes), t/day."""
        if self._plan_array is None or len(self._plan_array) != len(self._plan_table):
            self._plan_array = np.array(self._plan_table)
            self._present_array = np.array(self._plan_present)
            self._through_array = (self._present_array @ self._through) > 0
        return self._plan_array

    def through_array(self) -> np.ndarray:
        """Whether each plan routes anything through each carrying link (rows: plans,
        columns: links in `moves` order)."""
        self.plan_array()
        return self._through_array

    def value_rows(self, refinery: str, runs_t: np.ndarray, month: str, days: float) -> np.ndarray:
        """`sim.economics.valuation.value_runs` for many runs at once: `runs_t` by replication
        and crude key; returns (tonnes, gross worth, sulphur cost, processing cost) by
        replication and key, the same sums as its `by_crude`."""
        scenario, keys = self.scenario, self.layout.keys
        config = scenario.refinery_configs[scenario.refineries()[refinery].configuration or ""]
        grades = [scenario.grades[split_mix_key(k)[1]] for k in keys]
        assays = [g.assay for g in grades]
        used = np.asarray((runs_t > 0).any(axis=0)).tolist()
        if any(a is None for a, u in zip(assays, used, strict=True) if u):
            raise ValueError(f"a crude run at {refinery} has no assay: it cannot be valued")

        def fraction(name: str) -> np.ndarray:
            return np.array([getattr(a, name) if a is not None else 0.0 for a in assays])

        t = np.where(runs_t > 0, runs_t, 0.0)
        total = t.sum(axis=1)
        vgo, residue = (
            t * fraction("vacuum_gas_oil_mass_frac"),
            t * fraction("vacuum_residue_mass_frac"),
        )
        capacity_t = config.conversion_capacity_t_per_day * days
        vgo_t, residue_t = vgo.sum(axis=1), residue.sum(axis=1)
        vgo_conv = np.minimum(capacity_t, vgo_t)
        residue_conv = np.minimum(capacity_t - vgo_conv, residue_t)
        vgo_share = np.where(vgo_t > 0, vgo_conv / np.where(vgo_t > 0, vgo_t, 1.0), 0.0)
        residue_share = np.where(
            residue_t > 0, residue_conv / np.where(residue_t > 0, residue_t, 1.0), 0.0
        )
        sulphur = np.array([g.sulphur_pct or 0.0 for g in grades])
        blend = (t * sulphur).sum(axis=1) / np.where(total > 0, total, 1.0)
        over = blend > config.sulphur_limit_pct
        naphtha = t * fraction("naphtha_mass_frac")
        vc, rc = vgo * vgo_share[:, None], residue * residue_share[:, None]
        products = products_t(
            config,
            naphtha,
            t * fraction("middle_distillates_mass_frac"),
            t * fraction("light_ends_mass_frac"),
            vgo,
            residue,
            vc,
            rc,
        )
        prices = self._valuation.valuer.prices_usd_per_t(month)
        worth = sum(products[p] * prices[p] for p in PRICED_PRODUCTS)
        excess = config.sulphur_cost_usd_per_t_per_pct * t * (sulphur - config.sulphur_limit_pct)
        out = np.zeros((*t.shape, len(VALUED)))
        out[..., 0] = t
        out[..., 1] = worth
        out[..., 2] = np.where(over[:, None], excess, 0.0)
        out[..., 3] = t * config.processing_cost_usd_per_t
        return out

    def _run_chunk(self, replications: list[int]) -> Iterator[ReplicationResult]:
        with _young_collections_only():
            started = time.process_time()
            chunk = Chunk(self, replications)
            chunk.run()
            # The engine seconds are the step's alone, shared evenly (building rows is not
            # timed).
            seconds = (time.process_time() - started) / max(1, len(replications))
            for i in range(len(replications)):
                result = chunk.result(i, seconds)
                # The same books as the event path's `run_replication` checks (house rule).
                check_mass_balance(result)
                yield result


@contextlib.contextmanager
def _young_collections_only() -> Iterator[None]:
    """A chunk keeps what it builds (events logged, cargo records, SimPy timelines) until its
    last result is taken, millions of objects for a cargo scenario; Python's full collections
    rescan every one of them each time the survivors grow by a quarter, a fifth of the CPU time
    (global_market_odesa, 512 replications). While a chunk steps and its results are built and
    taken (the caller's work between two results included), the collector only sweeps the
    young generations (cycles among new objects are still freed); the old generation waits
    for the first full collection after the chunk's last result."""
    young, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, _NO_FULL_COLLECTIONS)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, old)


#: A full collection every this many middle-generation ones: never, within one chunk.
_NO_FULL_COLLECTIONS = 1 << 30
