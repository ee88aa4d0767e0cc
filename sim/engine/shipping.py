"""Global-market cargoes: buying (a schedule or a reorder rule), voyages, berths, discharge,
and the cost books of the port tanks the crude lands in.

Each cargo is a SimPy process: bought → loading → voyage (+ a random delay from the
replication's `voyage:<sea link>` stream) → a berth (`simpy.Resource`, so waits and demurrage
appear) → discharge into the port's tanks. Costs follow the crude through the ports' books.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy
from simpy.events import Event

from sim.engine.crude import Parcel
from sim.engine.port_book import PortBook
from sim.engine.records import CargoRecord, CostRecord, LotRecord
from sim.engine.topology import CargoSpec
from sim.kinds import EventKind
from sim.randomness import stream
from sim.units import month_key

if TYPE_CHECKING:
    from sim.engine.network_step import ExecutablePlan, StepResult
    from sim.engine.simulation import Simulation


def reviewing(cargo: CargoSpec, now_days: float, horizon_days: float) -> bool:
    """Whether a reorder rule still reviews at `now_days` (its loop in `Shipping._reorder`)."""
    return now_days < min(cargo.end_day, horizon_days)


def reorder_fires(
    cargo: CargoSpec,
    target_t_per_day: float,
    refinery_stock_t: Any,
    port_stock_t: Any,
    open_cargo_t: Any,
    open_cargoes: Any,
) -> Any:
    """The reorder rule: buy when the inventory position (refinery stock + port stock +
    tonnes bought and not yet discharged) is below `days_of_cover_below` days of the
    refinery's target run and fewer than `max_open_cargoes` are open. Floats give a bool;
    numpy arrays (the array path's replications) give a bool array, element by element the
    same arithmetic."""
    position = refinery_stock_t + port_stock_t + open_cargo_t
    below = position / target_t_per_day < (cargo.days_of_cover_below or 0.0)
    return below & (open_cargoes < cargo.max_open_cargoes)


class Shipping:
    """The cargo options of one replication, and the ports their crude lands in."""

    def __init__(self, sim: Simulation):
        self.sim = sim
        topology = sim.topology
        self.berths = {
            name: simpy.Resource(sim.env, capacity=spec.berths)
            for name, spec in topology.ports.items()
        }
        self.port_books = {name: PortBook() for name in topology.ports}
        #: Capacity factor of each port (disruptions: 0 closes it to tankers).
        self.port_factor = dict.fromkeys(topology.ports, 1.0)
        #: Tonnes bought and not yet discharged, by destination refinery, t.
        self.open_cargo_t = dict.fromkeys(topology.refineries, 0.0)
        self.open_cargoes = [0] * len(topology.cargoes)
        self.bought = [0] * len(topology.cargoes)
        self.discharged = 0
        #: Tonnes of discrete lots landed, t.
        self.lots_landed_t = 0.0
        self._rngs: dict[str, np.random.Generator] = {}

    def start(self, reorder: Callable[[CargoSpec], None] | None = None) -> None:
        """Start every cargo's buying; `reorder`, if given, takes the reorder rules instead of
        a process each (the array path reviews them for all its replications at once)."""
        for cargo in self.sim.topology.cargoes:
            if cargo.schedule_days is not None:
                self.sim.env.process(self._schedule(cargo))
            elif reorder is not None:
                reorder(cargo)
            else:
                self.sim.env.process(self._reorder(cargo))

    # -- buying -------------------------------------------------------------------------
    def _schedule(self, cargo: CargoSpec) -> Generator[Event, None, None]:
        env = self.sim.env
        for day in cargo.schedule_days or ():
            yield env.timeout(day - env.now)
            env.process(self._voyage(cargo))

    def _reorder(self, cargo: CargoSpec) -> Generator[Event, None, None]:
        """Review the inventory position every `review_days`; buy below the threshold."""
        sim, env = self.sim, self.sim.env
        target = sim.topology.refineries[cargo.destination].target_run_t_per_day
        if cargo.start_day > 0:
            yield env.timeout(cargo.start_day)
        while reviewing(cargo, env.now, sim.horizon_days):
            if reorder_fires(
                cargo,
                target,
                sim.network.refineries[cargo.destination].tank.stock_t,
                sim.network.ports[cargo.port].stock_t,
                self.open_cargo_t[cargo.destination],
                self.open_cargoes[cargo.index],
            ):
                env.process(self._voyage(cargo))
            yield env.timeout(cargo.review_days)

    # -- one voyage -----------------------------------------------------------------------
    def _voyage(self, cargo: CargoSpec) -> Generator[Event, None, None]:
        """One cargo: bought, loaded, sailed, berthed (queueing), discharged into port tanks."""
        sim, env = self.sim, self.sim.env
        share = sim.conditions.cargo_volume_factor.get(cargo.name, 1.0)
        if share <= 0:  # its supplier or its load port is cut off (a disruption)
            sim.log(cargo.name, EventKind.CARGO_NOT_BOUGHT, "supplier or load port cut off")
            return
        lot = cargo.lot_t * share
        port = sim.topology.ports[cargo.port]
        self.bought[cargo.index] += 1
        number = self.bought[cargo.index]
        self.open_cargoes[cargo.index] += 1
        self.open_cargo_t[cargo.destination] += lot
        label = f"{cargo.name}#{number}"
        bought = env.now
        cond = sim.conditions
        bench = sim.prices.benchmark_usd_per_bbl(
            cond, cargo.price_benchmark, month_key(sim.now_date())
        )
        crude = cargo.crude_usd_per_t(
            bench + cond.differential_add_usd_per_bbl.get(cargo.name, 0.0)
        )
        sim.log(cargo.name, EventKind.CARGO_BOUGHT, f"{label}: {lot:.0f} t")
        yield env.timeout(cargo.loading_days)
        sailed = env.now
        delay = 0.0
        if cargo.delay_days_mean > 0:
            delay = float(self._voyage_rng(cargo.sea_link).exponential(cargo.delay_days_mean))
        yield env.timeout(cargo.voyage_days + delay)
        arrived = env.now
        sim.log(cargo.port, EventKind.TANKER_ARRIVED, label)
        with self.berths[cargo.port].request() as berth:
            yield berth
            while self.port_factor[cargo.port] <= 0:  # closed (weather): wait, on demurrage
                yield env.timeout(min(1.0, sim.dt))
            berthed = env.now
            sim.log(
                cargo.port, EventKind.TANKER_BERTHED, f"{label} after {berthed - arrived:g} days"
            )
            rate = port.discharge_t_per_day * self.port_factor[cargo.port]
            yield env.timeout(lot / rate)
            unit = {
                "crude_usd": crude,
                "premium_usd": cargo.premium_usd_per_t,
                "freight_usd": cargo.freight_usd_per_t,
                "port_usd": port.port_fee_usd_per_t,
            }
            remaining, room_wait = lot, 0.0
            while True:
                parcel = Parcel(
                    remaining, cargo.contaminant_ppm, sim.topology.cargo_mix[cargo.index]
                )
                left = self.land_lot(cargo.port, parcel)
                self.port_books[cargo.port].add(
                    cargo.origin, cargo.sea_link, remaining - left, unit
                )
                remaining = left
                if remaining <= 1e-9:
                    break
                yield env.timeout(1.0)  # no room in the tanks: wait on board, on demurrage
                room_wait += 1.0
            discharged = env.now
        wait = berthed - arrived + room_wait
        demurrage = wait * port.demurrage_usd_per_day
        self.port_books[cargo.port].add_cost(
            cargo.origin, cargo.sea_link, "demurrage_usd", demurrage
        )
        self.open_cargoes[cargo.index] -= 1
        self.open_cargo_t[cargo.destination] -= lot
        self.discharged += 1
        sim.log(cargo.port, EventKind.TANKER_DISCHARGED, label)
        costs = {k: v * lot for k, v in unit.items()}
        costs["demurrage_usd"] = demurrage
        sim.notify_cargo(
            CargoRecord(
                cargo=cargo.name,
                number=number,
                origin=cargo.origin,
                sea_link=cargo.sea_link,
                port=cargo.port,
                destination=cargo.destination,
                lot_t=lot,
                bought_day=bought,
                sailed_day=sailed,
                arrived_day=arrived,
                berthed_day=berthed,
                discharged_day=discharged,
                voyage_delay_days=delay,
                berth_wait_days=berthed - arrived,
                room_wait_days=room_wait,
                costs_usd=costs,
            )
        )

    def _voyage_rng(self, sea_link: str) -> np.random.Generator:
        rng = self._rngs.get(sea_link)
        if rng is None:
            rng = self._rngs[sea_link] = stream(self.sim.seed_sequence, f"voyage:{sea_link}")
        return rng

    # -- landing and drawing ------------------------------------------------------------
    def land_lot(self, node: str, parcel: Parcel) -> float:
        """A discrete lot (a tanker's discharge) lands in a port's or refinery's tanks.

        Returns the tonnes that did not fit (the carrier keeps them and must wait). A refinery
        refuses a lot above its contaminant limit: it goes to quarantine, as far as there is
        room (during a detection delay it enters the tanks unnoticed instead).
        """
        sim = self.sim
        refinery = sim.network.refineries.get(node)
        dirty = refinery is not None and parcel.ppm > refinery.spec.contaminant_limit_ppm
        if refinery is not None and dirty and refinery.refuses_contaminated(sim.now):
            refused = min(parcel.tonnes_t, refinery.quarantine_room_t())
            refinery.quarantine(refused)
            self.lots_landed_t += refused
            sim.log(node, EventKind.LOT_REJECTED, f"{refused:.0f} t at {parcel.ppm:g} ppm")
            return parcel.tonnes_t - refused
        tank = refinery.tank if refinery is not None else sim.network.ports[node]
        fits = min(parcel.tonnes_t, tank.room_t())
        if refinery is not None and dirty and fits > 0:
            refinery.take_in_contaminated(fits, sim.now)
        tank.receive(Parcel(fits, parcel.ppm, parcel.mix))
        self.lots_landed_t += fits
        sim.notify_lot(LotRecord(node, fits, refinery is not None))
        sim.log(node, EventKind.LOT_LANDED, f"{fits:.0f} t")
        return parcel.tonnes_t - fits

    def book_port_draw(
        self, plan: ExecutablePlan, result: StepResult, port: str, tonnes: float
    ) -> None:
        """Crude drawn from a port's tanks carries its cargoes' costs to the routes it took."""
        sim = self.sim
        entries = self.port_books[port].draw(tonnes, sim.network.ports[port].stock_t + tonnes)
        routes = plan.routes_by_port.get(port, ())
        total = sum(result.shipped_by_route[i] for i in routes)
        if total <= 0:
            return
        for i in routes:
            share = result.shipped_by_route[i] / total
            if share <= 0:
                continue
            route = plan.routes[i]
            for (origin, sea_link), drawn_t, usd in entries:
                head = (sea_link, port) if sea_link else (port,)
                sim.notify_cost(
                    CostRecord(
                        refinery=route.destination,
                        origin=origin,
                        route=(*head, *route.link_names),
                        tonnes_t=drawn_t * share,
                        usd={k: v * share for k, v in usd.items()},
                        transport_usd_per_t=route.cost_components_usd_per_t,
                    )
                )
