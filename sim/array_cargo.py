"""Cargoes on the array path: each replication's cargo timeline run in plain Python.

Cargo events are discrete and rare (a few dozen a year), so each replication keeps a small
SimPy environment of its own that runs the event path's own cargo processes
(`sim.engine.shipping.Shipping`: schedules, reorder rules, voyages with delays from the same
`voyage:<sea link>` streams, berths, discharge, port books) against views of the array
state: a reorder rule reads the refinery's and the port's stock of its replication, a lot lands
in that replication's row of the port tanks. The array path advances every replication's
timeline to day k before it steps day k, as SimPy runs every event due by then before the
network clock's step. Only the daily draw from the port tanks is an array operation.

What the disruptions change that tankers read (a port's capacity factor, a price series'
shock) is scheduled into the timeline at the instant it happens, so a tanker berthing after a
closure started waits, as on the event path. (Events of the very same instant may run in
another order than SimPy's; with random times that has probability zero.)
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import simpy

from sim.engine.conditions import Conditions, PriceSetter
from sim.engine.crude import Parcel
from sim.engine.records import CargoRecord, CostRecord, LotRecord
from sim.engine.shipping import Shipping
from sim.engine.topology import Topology
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


class CargoRun:
    """One replication's cargoes: stands in for `Simulation` to the event path's `Shipping`."""

    def __init__(
        self,
        topology: Topology,
        start_date: dt.date,
        horizon_days: float,
        prices: PriceSetter,
        seed_sequence: np.random.SeedSequence,
        network: _NetworkView,
        log: Callable[[float, str, EventKind, str], None],
    ):
        self.topology = topology
        self.start_date = start_date
        self.horizon_days = horizon_days
        self.dt = 1.0
        self.prices = prices
        self.seed_sequence = seed_sequence
        self.network = network
        self._log = log
        self.env = simpy.Environment()
        self.conditions = Conditions.at_start(topology, start_date)
        #: The start of the step the array path is at (`Simulation._clock_now`).
        self.clock_now = 0.0
        self.cargoes: list[CargoRecord] = []
        self.costs: CostBook = {}
        self.shipping = Shipping(cast("Simulation", self))
        self.shipping.start()

    # -- what `Shipping` reads of `Simulation` -----------------------------------------
    @property
    def now(self) -> float:
        return max(self.env.now, self.clock_now)

    def now_date(self) -> dt.date:
        return self.start_date + dt.timedelta(days=math.floor(self.now + 1e-9))

    def log(self, asset: str, kind: EventKind, detail: str = "", at: float | None = None) -> None:
        self._log(self.now if at is None else at, asset, kind, detail)

    def notify_lot(self, record: LotRecord) -> None:
        """Lots land in port tanks only here: the recorder books those in the daily series,
        which the array path does not write."""

    def notify_cargo(self, record: CargoRecord) -> None:
        self.cargoes.append(record)

    # -- driven by the array path --------------------------------------------------------
    def change_at(self, t: float, kind: str, target: str, value: float) -> None:
        """A disruption's effect that tankers read, in force from time t (`Disruptions._apply`)."""

        def apply(_: Any) -> None:
            if kind == "port":
                self.shipping.port_factor[target] = value
            else:
                self.conditions.price_add_usd_per_bbl[target] = value

        event = self.env.timeout(max(0.0, t - self.env.now))
        event.callbacks.append(apply)

    def advance(self, until_days: float, inclusive: bool = True) -> None:
        """Run every event due by `until_days`, within 1e-9 days as the network clock lets
        SimPy run them first (`Simulation._clock`); if not `inclusive`, those before it, as
        SimPy's `run(until=...)` at the end."""
        env = self.env
        limit = until_days + 1e-9 if inclusive else until_days
        while True:
            nxt = env.peek()
            if nxt > limit or (nxt == limit and not inclusive):
                return
            env.step()

    def book_draw(
        self,
        port: str,
        drawn_t: float,
        stock_after_t: float,
        routes: list[tuple[RoutePlan, float]],
    ) -> None:
        """`Shipping.book_port_draw`: the drawn crude's cargo costs go to the routes it took."""
        entries = self.shipping.port_books[port].draw(drawn_t, stock_after_t + drawn_t)
        total = sum(v for _, v in routes)
        if total <= 0:
            return
        for route, v in routes:
            share = v / total
            if share <= 0:
                continue
            for (origin, sea_link), taken_t, usd in entries:
                head = (sea_link, port) if sea_link else (port,)
                _add_cost(
                    self.costs,
                    CostRecord(
                        refinery=route.destination,
                        origin=origin,
                        route=(*head, *route.link_names),
                        tonnes_t=taken_t * share,
                        usd={k: x * share for k, x in usd.items()},
                        transport_usd_per_t=route.cost_components_usd_per_t,
                    ),
                )


def _add_cost(book: CostBook, record: CostRecord) -> None:
    """`Recorder.on_cost`."""
    key = (record.refinery, record.origin, record.route)
    row = book.get(key)
    if row is None:
        row = book[key] = dict.fromkeys(("tonnes_t", *COST_COMPONENTS), 0.0)
    row["tonnes_t"] += record.tonnes_t
    for k, v in record.usd.items():
        row[k] += v
    for k, per_t in record.transport_usd_per_t.items():
        row[k] += per_t * record.tonnes_t


def merge_costs(into: CostBook, more: CostBook) -> None:
    for key, row in more.items():
        acc = into.setdefault(key, dict.fromkeys(row, 0.0))
        for k, v in row.items():
            acc[k] = acc.get(k, 0.0) + v


def cargo_runs(
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
) -> list[CargoRun]:
    """One `CargoRun` per replication, over views of the chunk's arrays."""
    out = []
    for r, sequence in enumerate(sequences):
        network = _NetworkView(
            {name: _RefineryView(stock_t, r, n) for n, name in enumerate(refineries)},
            {name: _TankView(ports, r, p, keys) for p, name in enumerate(topology.ports)},
        )
        out.append(CargoRun(topology, start_date, horizon_days, prices, sequence, network, logs[r]))
    return out
