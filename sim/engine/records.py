"""What the engine tells its observers: typed, immutable records, and the observer interface.

The engine knows nothing of recording, KPIs or files. It builds these records as things happen
and hands them to every observer attached to the replication; sim.recording subscribes and
turns them into result rows. Records hold values, never the engine's mutable objects, except
`StepRecord`, whose plan and step result are read during the call only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sim.kinds import Effect, EventKind, TargetKind

if TYPE_CHECKING:
    from sim.engine.network_step import ExecutablePlan, StepResult


@dataclass(frozen=True, slots=True)
class Prices:
    """Contract prices in force (one object per change, so observers can tell by identity)."""

    #: Purchase price (crude + premium) of each contract, USD/t.
    purchase_usd_per_t: tuple[float, ...]
    #: Crude price alone of each contract, USD/t.
    crude_usd_per_t: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A discrete event: an events.csv row."""

    time_days: float
    asset: str
    kind: EventKind
    detail: str = ""


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One network step: what the plan said and what moved."""

    now_days: float
    dt_days: float
    plan: ExecutablePlan
    result: StepResult
    prices: Prices


@dataclass(frozen=True, slots=True)
class LotRecord:
    """A discrete lot (a tanker's discharge) landed in a port's or refinery's tanks."""

    node: str
    tonnes_t: float
    is_refinery: bool


@dataclass(frozen=True, slots=True)
class CostRecord:
    """Tonnes delivered toward a refinery by one origin and route, and what they cost."""

    refinery: str
    origin: str
    #: The route's assets in order: cargo crude starts with its sea link and port.
    route: tuple[str, ...]
    tonnes_t: float
    #: Costs of those tonnes by component, USD.
    usd: dict[str, float]
    #: Transport cost components along the route, USD/t (charged on `tonnes_t`).
    transport_usd_per_t: dict[str, float]


@dataclass(frozen=True, slots=True)
class CargoRecord:
    """A cargo discharged: its timeline and costs (a cargoes.csv row)."""

    cargo: str
    number: int
    origin: str
    sea_link: str
    port: str
    destination: str
    lot_t: float
    bought_day: float
    sailed_day: float
    arrived_day: float
    berthed_day: float
    discharged_day: float
    voyage_delay_days: float
    berth_wait_days: float
    room_wait_days: float
    #: Costs by component, USD: crude, premium, freight, port, demurrage.
    costs_usd: dict[str, float]


@dataclass(frozen=True, slots=True)
class DisruptionRecord:
    """A disruption switched on or off."""

    time_days: float
    name: str
    target: str
    target_kind: TargetKind
    effects: tuple[tuple[Effect, float], ...]
    on: bool


@dataclass(frozen=True, slots=True)
class RunEnd:
    """The replication's closing state, for the books."""

    end_days: float
    #: Crude in tanks and lines at day 0 and at the end, t.
    initial_inventory_t: float
    final_inventory_t: float
    #: Tonnes of discrete lots landed (tankers), t.
    lots_landed_t: float
    #: Tonnes handed in under swaps (they left the simulated network), t.
    swapped_out_t: float
    #: Third parties' crude put into and taken out of the shared lines, t.
    third_party_in_t: float
    third_party_out_t: float
    cargoes_discharged: int
    cargoes_open: int
    #: By contract: tonnes nominated (volume ÷ days in the month, while active), shipped, and
    #: shipped on top of the nomination to make up missed tonnes, t.
    nominated_t: tuple[float, ...]
    contract_shipped_t: tuple[float, ...]
    makeup_t: tuple[float, ...]
    steps: int
    #: Times the step switched to another plan (a new or a cached one).
    plans_used: int
    simpy_events: int
    engine_seconds: float
    #: Steps run as quiet days (`NetworkStep.quiet_step`; 0 with the daily stepping, and on
    #: the array path, which has no quiet days).
    quiet_steps: int = 0


class Observer(Protocol):
    """Receives a replication's records as they happen, then its end."""

    def on_event(self, record: EventRecord) -> None: ...
    def on_step(self, record: StepRecord) -> None: ...
    def on_lot(self, record: LotRecord) -> None: ...
    def on_cost(self, record: CostRecord) -> None: ...
    def on_cargo(self, record: CargoRecord) -> None: ...
    def on_disruption(self, record: DisruptionRecord) -> None: ...
    def on_end(self, record: RunEnd) -> None: ...
