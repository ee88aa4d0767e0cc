"""Codes shared by the scenario, the engine, the results and the reports: enums, not strings.

A leaf module (it imports nothing of the package), so the report can read events.csv and
disruptions.csv with the same names the engine wrote them with, without importing the engine.
Each member's value is what the CSV files hold; its description is the documentation
(docs/results.md is generated from it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum


class _Described(StrEnum):
    """A string enum whose members carry a one-line description."""

    description: str

    def __new__(cls, value: str, description: str = "") -> _Described:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member


class EventKind(_Described):
    """What an events.csv row records."""

    MONTH_START = "month_start", "nominations and quotas renew, prices change"
    CONTRACT_START = "contract_start", "a contract's first day"
    CONTRACT_END = "contract_end", "a contract's last day has passed"
    DISRUPTION_START = "disruption_start", "a disruption starts (detail: name and its effects)"
    DISRUPTION_END = "disruption_end", "a disruption ends (detail: name)"
    UNIT_STOP = "unit_stop", "a crude unit fell below its minimum technical rate and stopped"
    UNIT_RESTART = "unit_restart", "a stopped crude unit started again"
    REJECTION_START = "rejection_start", "a refinery starts refusing contaminated crude"
    REJECTION_END = "rejection_end", "a refinery stops refusing contaminated crude"
    CONTAMINATION_DETECTED = (
        "contamination_detected",
        "contaminated crude found in a refinery's tanks `detection_delay_days` after the first "
        "of it entered; that stock moves to quarantine as room allows (detail: tonnes)",
    )
    QUARANTINE_FULL = (
        "quarantine_full",
        "a refinery's quarantine storage is full: contaminated crude stays in the lines",
    )
    QUARANTINE_ROOM = "quarantine_room", "a full quarantine storage has room again"
    MAKEUP_START = (
        "makeup_start",
        "supply has resumed and a contract starts making up missed tonnes (detail: tonnes "
        "missed, the extra rate, the window's end)",
    )
    MAKEUP_END = (
        "makeup_end",
        "a contract's make-up ends: all made up, or its window closed (detail: tonnes still "
        "missed, now lost)",
    )
    LOT_LANDED = "lot_landed", "a discrete lot discharged into tanks"
    LOT_REJECTED = (
        "lot_rejected",
        "a lot over a refinery's contaminant limit, sent to quarantine",
    )
    QUOTA_EXHAUSTED = (
        "quota_exhausted",
        "a transit quota's month is used up; its crude stops until the month turns",
    )
    CARGO_BOUGHT = "cargo_bought", "a cargo bought on the market"
    CARGO_NOT_BOUGHT = (
        "cargo_not_bought",
        "a cargo due to be bought was not: a disruption stops its supplier or its load port",
    )
    TANKER_ARRIVED = "tanker_arrived", "a tanker arrived off its discharge port"
    TANKER_BERTHED = "tanker_berthed", "a tanker took a berth (detail: the days it waited)"
    TANKER_DISCHARGED = "tanker_discharged", "a tanker finished discharging"


class TargetKind(_Described):
    """What kind of asset a disruption acts on (found once, when the scenario is compiled)."""

    LINK = "link", "a pipeline or rail link"
    PORT = "port", "a discharge port (closed to tankers at capacity factor 0)"
    REFINERY = "refinery", "a refinery's crude unit"
    CONTRACT = "contract", "a supply contract"
    CARGO = "cargo", "a cargo option (its price differential)"
    TRANSIT = "transit", "a transit condition (quota, fee)"
    PRICE = "price", "a price series (a benchmark shock)"
    COUNTRY = (
        "country",
        "a country in both roles: `volume_factor` acts on its supply (every contract and cargo "
        "option of its crude), `capacity_factor` on its transit (its pipelines, rail and ports, "
        "and cargo options loading at its markets)",
    )


class Combine(StrEnum):
    """How the values of overlapping disruptions with the same effect on one asset combine."""

    LOWEST = "lowest"
    HIGHEST = "highest"
    SUM = "sum"

    @property
    def reduce(self) -> Callable[[Iterable[float]], float]:
        """The rule as a function of values present (min, max or sum)."""
        return _REDUCE[self]

    def apply(self, values: Iterable[float], default: float) -> float:
        values = list(values)
        return self.reduce(values) if values else default


_REDUCE: dict[Combine, Callable[[Iterable[float]], float]] = {
    Combine.LOWEST: min,
    Combine.HIGHEST: max,
    Combine.SUM: sum,
}


class Effect(_Described):
    """What a disruption does while it lasts; the value is the scenario's field name."""

    CAPACITY_FACTOR = "capacity_factor", "share of capacity left (0 = outage)"
    VOLUME_FACTOR = (
        "volume_factor",
        "share of a contract's nomination still delivered (of a cargo option: of each lot bought)",
    )
    CONTAMINANT_PPM = "contaminant_ppm", "contaminant added to the crude, ppm"
    QUOTA_FACTOR = "quota_factor", "multiplies a transit condition's monthly quota"
    FEE_ADD_USD_PER_T = "fee_add_usd_per_t", "added to a transit condition's fee, USD/t"
    PRICE_ADD_USD_PER_BBL = "price_add_usd_per_bbl", "added to a price or differential, USD/bbl"

    @property
    def combine(self) -> Combine:
        """Overlapping disruptions: the lowest factor, the highest contamination, the sum of
        additions."""
        if self.value.endswith("_factor"):
            return Combine.LOWEST
        if self is Effect.CONTAMINANT_PPM:
            return Combine.HIGHEST
        return Combine.SUM

    @property
    def neutral(self) -> float:
        """The value in force when no disruption with this effect is active."""
        return 1.0 if self.combine is Combine.LOWEST else 0.0


#: Effects a disruption may have on each kind of target.
EFFECTS_BY_TARGET: dict[TargetKind, frozenset[Effect]] = {
    TargetKind.LINK: frozenset({Effect.CAPACITY_FACTOR, Effect.CONTAMINANT_PPM}),
    TargetKind.PORT: frozenset({Effect.CAPACITY_FACTOR}),
    TargetKind.REFINERY: frozenset({Effect.CAPACITY_FACTOR}),
    TargetKind.CONTRACT: frozenset(
        {Effect.VOLUME_FACTOR, Effect.CONTAMINANT_PPM, Effect.PRICE_ADD_USD_PER_BBL}
    ),
    TargetKind.CARGO: frozenset({Effect.PRICE_ADD_USD_PER_BBL, Effect.VOLUME_FACTOR}),
    TargetKind.TRANSIT: frozenset({Effect.QUOTA_FACTOR, Effect.FEE_ADD_USD_PER_T}),
    TargetKind.PRICE: frozenset({Effect.PRICE_ADD_USD_PER_BBL}),
    TargetKind.COUNTRY: frozenset({Effect.VOLUME_FACTOR, Effect.CAPACITY_FACTOR}),
}


class Daily(_Described):
    """Which replications record the per-day series of daily.csv (`run --daily`)."""

    FIRST = "first", "replication 0 only (the default)"
    ALL = "all", "every replication"
    NONE = "none", "none: daily.csv holds its header only"
