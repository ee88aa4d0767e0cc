"""Cargoes on the array path: each replication's cargo timeline run in plain Python.

Cargo events are discrete and rare (a few dozen a year), so each replication keeps a small
SimPy environment of its own that runs the event path's own cargo processes
(`sim.engine.shipping.Shipping`: schedules, voyages with delays from the same
`voyage:<sea link>` streams, berths, discharge, port books) against views of the array
state: a lot lands in that replication's row of the port tanks. The array path advances every
replication's timeline to day k before it steps day k, as SimPy runs every event due by then
before the network clock's step; only timelines with an event due are touched. Only the daily
draw from the port tanks is an array operation.

Reorder rules review at the same instants in every replication, so `CargoTimelines` reviews
each once for all replications (`reorder_fires` on arrays), at the place in every timeline's
event order where the rule's own timeout would be. That place is SimPy's: events run by
(time, priority, event id), so each timeline takes the event id the rule's timeout would have
taken when the previous review ran, and runs the events keyed before it first. This reads
SimPy's environment internals (`_queue`, `_eid`, `_now`; simpy 4.1); the equality tests
(tests/test_array_path.py, one of them with every cargo event on the reviews' instants) fail
if they change.

What the disruptions change that tankers read (a port's capacity factor, a price series'
shock) is scheduled into the timeline at the instant it happens, so a tanker berthing after a
closure started waits, as on the event path. (Such a change and a tanker's event of the very
same instant may run in another order than SimPy's; with random times that has probability
zero.)
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable
from operator import itemgetter
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import simpy
from simpy.events import NORMAL, URGENT

from sim.engine.conditions import Conditions, PriceSetter
from sim.engine.crude import Parcel
from sim.engine.port_book import COMPONENTS, PortBook
from sim.engine.records import CargoRecord, LotRecord
from sim.engine.shipping import Shipping, reorder_fires, reviewing
from sim.engine.topology import CargoSpec, Topology
from sim.kinds import EventKind
from sim.registry import COST_COMPONENTS

if TYPE_CHECKING:
    from sim.engine.network_step import RoutePlan
    from sim.engine.simulation import Simulation

CostBook = dict[tuple[str, str, tuple[str, ...]], dict[str, float]]


class PortArrays:
    """Every replication's port tanks: stock (replications × ports) and tonnes by crude key."""

    def __init__(self, n: int, stock_t: np.ndarray, by_key_t: np.ndarray, capacity_t: np.ndarray):
        self.stock_t = np.repeat(stock_t[None, :], n, axis=0)
        self.by_key_t = np.repeat(by_key_t[None, :, :], n, axis=0)
        self.capacity_t = capacity_t


class _TankView:
    """One replication's row of a port's tanks, as `sim.engine.crude.Tank` (what tankers use)."""

    def __init__(self, ports: PortArrays, r: int, p: int, keys: list[str]):
        self._ports, self._r, self._p, self._keys = ports, r, p, keys

    @property
    def stock_t(self) -> float:
        return float(self._ports.stock_t[self._r, self._p])

    def room_t(self) -> float:
        return max(0.0, float(self._ports.capacity_t[self._p]) - self.stock_t)

    def receive(self, parcel: Parcel) -> None:
        """`Tank.receive` (contaminated cargoes are refused by `unsupported`)."""
        tonnes = parcel.tonnes_t
        if tonnes <= 0:
            return
        row = self._ports.by_key_t[self._r, self._p]
        for key, share in parcel.mix.items():
            row[self._keys.index(key)] += share * tonnes
        self._ports.stock_t[self._r, self._p] = self.stock_t + tonnes


class _RefineryView:
    """What a reorder rule reads of a refinery: its tanks' stock in one replication."""

    def __init__(self, stock_t: Callable[[], np.ndarray], r: int, n: int):
        self._stock_t, self._r, self._n = stock_t, r, n

    @property
    def tank(self) -> _RefineryView:
        return self

    @property
    def stock_t(self) -> float:
        return float(self._stock_t()[self._r, self._n])


class _NetworkView:
    def __init__(self, refineries: dict[str, _RefineryView], ports: dict[str, _TankView]):
        self.refineries = refineries
        self.ports = ports


class _Clock:
    """The network clock every replication's timeline shares (`Simulation._clock_now`), and
    the latest reorder review, which every timeline has reached."""

    now_days = 0.0
    review_days = 0.0


class CargoRun:
    """One replication's cargoes: stands in for `Simulation` to the event path's `Shipping`.

    Its reorder rules are not processes here: `CargoTimelines` reviews them for every
    replication at once, at the place in this environment's event order where the rule's own
    timeout would be (`review_marks`)."""

    def __init__(
        self,
        topology: Topology,
        start_date: dt.date,
        horizon_days: float,
        prices: PriceSetter,
        seed_sequence: np.random.SeedSequence,
        network: _NetworkView,
        log: Callable[[float, str, EventKind, str], None],
        port_books: dict[str, PortBook],
        clock: _Clock,
    ):
        self.topology = topology
        self.start_date = start_date
        self.horizon_days = horizon_days
        self.dt = 1.0
        self.prices = prices
        self.seed_sequence = seed_sequence
        self.network = network
        self._log = log
        self._clock = clock
        self.env = simpy.Environment()
        self.conditions = Conditions.at_start(topology, start_date)
        self.cargoes: list[CargoRecord] = []
        self.shipping = Shipping(cast("Simulation", self))
        # The ports' books are the chunk's arrays (`PortBooks`): drawn from for every
        # replication at once.
        self.shipping.port_books = port_books
        #: By reorder cargo: the event id its rule's next wake-up takes in this environment
        #: (first the id its process's start would take), which orders it among the events of
        #: the same instant as SimPy would.
        self.review_marks: dict[int, int] = {}
        self.shipping.start(reorder=self._mark_review)

    def _mark_review(self, cargo: CargoSpec) -> None:
        self.review_marks[cargo.index] = next(self.env._eid)

    # -- what `Shipping` reads of `Simulation` -----------------------------------------
    @property
    def now(self) -> float:
        now, clock = self.env._now, self._clock.now_days
        return now if now > clock else clock

    def now_date(self) -> dt.date:
        return self.start_date + dt.timedelta(days=math.floor(self.now + 1e-9))

    def log(self, asset: str, kind: EventKind, detail: str = "", at: float | None = None) -> None:
        self._log(self.now if at is None else at, asset, kind, detail)

    def notify_lot(self, record: LotRecord) -> None:
        """Lots land in port tanks only here: the recorder books those in the daily series,
        which the array path does not write."""

    def notify_cargo(self, record: CargoRecord) -> None:
        self.cargoes.append(record)

    # -- driven by `CargoTimelines` --------------------------------------------------------
    def change_at(self, t: float, kind: str, target: str, value: float) -> float:
        """A disruption's effect that tankers read, in force from time t (`Disruptions._apply`).
        Returns the time of this timeline's next event."""

        def apply(_: Any) -> None:
            if kind == "port":
                self.shipping.port_factor[target] = value
            else:
                self.conditions.price_add_usd_per_bbl[target] = value

        env = self.env
        # SimPy's clock is at the latest review if no event of this timeline came after it.
        env._now = max(env._now, self._clock.review_days)
        event = env.timeout(max(0.0, t - env.now))
        event.callbacks.append(apply)
        return float(self.env._queue[0][0])

    def run_to(self, limit_days: float, inclusive: bool) -> float:
        """Run every event due by `limit_days` (if not `inclusive`, before it); returns the
        time of the next event (inf: none)."""
        env, queue = self.env, self.env._queue
        while queue:
            nxt = queue[0][0]
            if nxt > limit_days or (nxt == limit_days and not inclusive):
                return float(nxt)
            env.step()
        return math.inf

    def run_before(self, key: tuple[float, int, int]) -> float:
        """Run every event SimPy would process before the one keyed (time, priority, event
        id); returns the time of the next event."""
        env, queue = self.env, self.env._queue
        while queue and queue[0][:3] < key:
            env.step()
        return float(queue[0][0]) if queue else math.inf


class _Review:
    """A reorder rule's next wake-up, at the same instant in every replication (its review
    times do not depend on the state): first its process's start, then each review."""

    def __init__(self, cargo: CargoSpec, order: int, marks: list[int]):
        self.cargo = cargo
        self.at_days = 0.0
        self.priority = URGENT  # a process's start
        self.started = False
        #: Rules waking at the same instant wake in the order their wake-ups were scheduled:
        #: the same in every replication, so one counter orders them.
        self.order = order
        self.marks = marks

    def key(self) -> tuple[float, int, int]:
        return (self.at_days, self.priority, self.order)


class CargoTimelines:
    """Every replication's cargo timeline, advanced together.

    A reorder rule reviews daily in every replication; run as a SimPy process each review
    would be a step of every replication's environment. Instead each review happens once for
    all replications: every timeline first runs the events SimPy would run before the rule's
    wake-up (those earlier, and those of the same instant scheduled before it, by event id),
    then `reorder_fires` reads every replication's position at once, and only the
    replications whose rule fires start a voyage process. Between reviews only the timelines
    with an event due are touched (`next_days`)."""

    def __init__(
        self,
        runs: list[CargoRun],
        clock: _Clock,
        topology: Topology,
        horizon_days: float,
        refineries: list[str],
        stock_t: Callable[[], np.ndarray],
        ports: PortArrays,
    ):
        self.runs = runs
        self._clock = clock
        self._horizon_days = horizon_days
        self._refineries = refineries
        self._stock_t = stock_t
        self._ports = ports
        self._port_index = list(topology.ports)
        self._target = {n: s.target_run_t_per_day for n, s in topology.refineries.items()}
        self._order = itertools.count()
        self.reviews = [
            _Review(c, next(self._order), [run.review_marks[c.index] for run in runs])
            for c in topology.cargoes
            if c.schedule_days is None
        ]
        # What each review reads or takes of every timeline (the same objects all along).
        self._open_t = [run.shipping.open_cargo_t for run in runs]
        self._open_n = [run.shipping.open_cargoes for run in runs]
        self._eids = [run.env._eid for run in runs]
        #: Each timeline's next event, days (inf: none).
        self.next_days = np.array([run.run_to(-math.inf, False) for run in runs])

    def change_at(self, r: int, t: float, kind: str, target: str, value: float) -> None:
        self.next_days[r] = self.runs[r].change_at(t, kind, target, value)

    def advance(self, until_days: float, inclusive: bool = True) -> None:
        """Run every event due by `until_days`, within 1e-9 days as the network clock lets
        SimPy run them first (`Simulation._clock`); if not `inclusive`, those before it, as
        SimPy's `run(until=...)` at the end."""
        limit = until_days + 1e-9 if inclusive else until_days
        while self.reviews:
            review = min(self.reviews, key=_Review.key)
            t = review.at_days
            if t > limit or (t == limit and not inclusive):
                break
            self._review(review)
        due = np.nonzero(self.next_days <= limit if inclusive else self.next_days < limit)[0]
        runs = self.runs
        self.next_days[due] = [runs[r].run_to(limit, inclusive) for r in due.tolist()]

    def set_clock(self, now_days: float) -> None:
        self._clock.now_days = now_days

    def _review(self, review: _Review) -> None:
        """`Shipping._reorder`'s wake-up at `review.at_days`, in every replication."""
        t, cargo, runs = review.at_days, review.cargo, self.runs
        due = np.nonzero(self.next_days <= t)[0]
        marks, priority = review.marks, review.priority
        self.next_days[due] = [runs[r].run_before((t, priority, marks[r])) for r in due.tolist()]
        first = not review.started
        review.started = True
        if first and cargo.start_day > 0:
            at = t + cargo.start_day  # `yield env.timeout(cargo.start_day)`
        elif not reviewing(cargo, t, self._horizon_days):
            self.reviews.remove(review)  # the rule's loop ends: it schedules nothing more
            return
        else:
            self._clock.review_days = t
            dest, n = cargo.destination, len(runs)
            fires = reorder_fires(
                cargo,
                self._target[dest],
                self._stock_t()[:, self._refineries.index(dest)],
                self._ports.stock_t[:, self._port_index.index(cargo.port)],
                np.fromiter(map(itemgetter(dest), self._open_t), float, n),
                np.fromiter(map(itemgetter(cargo.index), self._open_n), int, n),
            )
            buying = np.nonzero(fires)[0]
            for r in buying.tolist():
                env = runs[r].env
                env._now = t  # SimPy's clock at the rule's wake-up, when the voyage starts
                env.process(runs[r].shipping._voyage(cargo))
            self.next_days[buying] = t  # the voyage's start
            at = t + cargo.review_days  # `yield env.timeout(cargo.review_days)`
        review.at_days, review.priority = at, NORMAL
        review.order = next(self._order)
        review.marks = list(map(next, self._eids))


class PortBooks:
    """Every replication's cost books of one port's tanks as arrays (`PortBook`, pro rata by
    (origin, sea link)), and the costs of the crude drawn from them so far, by route."""

    def __init__(self, n: int, port: str, topology: Topology, routes: list[RoutePlan]):
        self.port = port
        self.keys = sorted({(c.origin, c.sea_link) for c in topology.cargoes if c.port == port})
        self._index = {k: e for e, k in enumerate(self.keys)}
        self.routes = routes
        n_e, n_q, n_x = len(self.keys), len(routes), len(COMPONENTS)
        self.tonnes_t = np.zeros((n, n_e))
        self.usd = np.zeros((n, n_e, n_x))
        #: Drawn so far by (replication, route, entry): tonnes, USD by component, and whether
        #: any draw of that entry went that way (the cost row exists).
        self.drawn_t = np.zeros((n, n_q, n_e))
        self.drawn_usd = np.zeros((n, n_q, n_e, n_x))
        self.booked = np.zeros((n, n_q, n_e), dtype=bool)

    def view(self, r: int) -> PortBook:
        return cast(PortBook, _BookView(self, r))

    def draw(self, drawn_t: np.ndarray, stock_after_t: np.ndarray, volumes: np.ndarray) -> None:
        """`PortBook.draw` of every replication, the taken costs to the routes by their share
        of the step's tonnes (`Shipping.book_port_draw`); `volumes`: replications × routes."""
        stock_before = stock_after_t + drawn_t
        drawing = (drawn_t > 0) & (stock_before > 0)
        if not drawing.any():
            return
        safe = np.where(drawing, stock_before, 1.0)
        share = np.where(drawing, np.minimum(1.0, drawn_t / safe), 0.0)
        taken_t = self.tonnes_t * share[:, None]
        taken_usd = self.usd * share[:, None, None]
        self.usd -= taken_usd
        self.tonnes_t -= taken_t
        total = volumes.sum(axis=1)
        route_share = np.where(
            (total > 0)[:, None] & drawing[:, None],
            volumes / np.where(total > 0, total, 1.0)[:, None],
            0.0,
        )
        took = taken_t > 0
        for q in range(len(self.routes)):
            goes = (route_share[:, q] > 0)[:, None] & took
            w = np.where(goes, route_share[:, q][:, None], 0.0)
            self.drawn_t[:, q] += taken_t * w
            self.drawn_usd[:, q] += taken_usd * w[..., None]
            self.booked[:, q] |= goes

    def costs(self, r: int) -> CostBook:
        """Replication r's cost rows of crude drawn from this port (`Recorder.on_cost`)."""
        out: CostBook = {}
        for q, route in enumerate(self.routes):
            for e, (origin, sea_link) in enumerate(self.keys):
                if not self.booked[r, q, e]:
                    continue
                head = (sea_link, self.port) if sea_link else (self.port,)
                row = dict.fromkeys(("tonnes_t", *COST_COMPONENTS), 0.0)
                tonnes = float(self.drawn_t[r, q, e])
                row["tonnes_t"] = tonnes
                for x, k in enumerate(COMPONENTS):
                    row[k] += float(self.drawn_usd[r, q, e, x])
                for k, per_t in route.cost_components_usd_per_t.items():
                    row[k] += per_t * tonnes
                out[(route.destination, origin, (*head, *route.link_names))] = row
        return out


class _BookView:
    """Replication r's row of `PortBooks`, as the `PortBook` that `Shipping` adds cargoes to."""

    def __init__(self, books: PortBooks, r: int):
        self._books, self._r = books, r

    def add(self, origin: str, sea_link: str, tonnes_t: float, unit_usd: dict[str, float]) -> None:
        if tonnes_t <= 0:
            return
        books, e = self._books, self._books._index[(origin, sea_link)]
        books.tonnes_t[self._r, e] += tonnes_t
        for component, per_t in unit_usd.items():
            books.usd[self._r, e, COMPONENTS.index(component)] += per_t * tonnes_t

    def add_cost(self, origin: str, sea_link: str, component: str, usd: float) -> None:
        books, e = self._books, self._books._index[(origin, sea_link)]
        books.usd[self._r, e, COMPONENTS.index(component)] += usd


def merge_costs(into: CostBook, more: CostBook) -> None:
    for key, row in more.items():
        acc = into.setdefault(key, dict.fromkeys(row, 0.0))
        for k, v in row.items():
            acc[k] = acc.get(k, 0.0) + v


def cargo_timelines(
    topology: Topology,
    start_date: dt.date,
    horizon_days: float,
    prices: PriceSetter,
    sequences: list[np.random.SeedSequence],
    refineries: list[str],
    stock_t: Callable[[], np.ndarray],
    ports: PortArrays,
    keys: list[str],
    logs: list[Callable[[float, str, EventKind, str], None]],
    books: dict[str, PortBooks],
) -> CargoTimelines:
    """One `CargoRun` per replication, over views of the chunk's arrays."""
    runs = []
    clock = _Clock()
    for r, sequence in enumerate(sequences):
        network = _NetworkView(
            {name: _RefineryView(stock_t, r, n) for n, name in enumerate(refineries)},
            {name: _TankView(ports, r, p, keys) for p, name in enumerate(topology.ports)},
        )
        views = {name: b.view(r) for name, b in books.items()}
        runs.append(
            CargoRun(
                topology, start_date, horizon_days, prices, sequence, network, logs[r], views, clock
            )
        )
    return CargoTimelines(runs, clock, topology, horizon_days, refineries, stock_t, ports)
