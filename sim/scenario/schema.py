"""The scenario schema: frozen, closed models; every field declared once with unit and meaning.

Field descriptions are the user documentation: docs/scenarios.md is generated from them
(`python -m sim.scenario.docs`), so the reference never drifts from what is validated.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

#: Largest magnitude of any number in an input file (seeds aside). 1e12 t is some 250 years of
#: the world's crude output, so no real figure comes near it; below it, sums over a run stay
#: well inside the engine's tonne tolerances and the range the LP solver (HiGHS) represents.
MAX_MAGNITUDE = 1e12
#: Fields of any size: seeds only name a random stream.
_UNBOUNDED_FIELDS = frozenset({"seed"})
#: A name that becomes a folder: letters, digits, `_.-`, not starting with a dot, ≤ 64 characters.
PATH_NAME_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$"


def beyond_magnitude(value: Any) -> float | None:
    """The first number in `value` (a number, or lists and tables of them) whose magnitude is
    above MAX_MAGNITUDE, or None. Nested models are not entered: they check their own."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bool):
            continue
        if isinstance(item, int | float):
            if abs(item) > MAX_MAGNITUDE:
                return item
        elif isinstance(item, dict):  # e.g. a sweep's `overrides` table: seeds stay unbounded
            stack.extend(v for k, v in item.items() if k not in _UNBOUNDED_FIELDS)
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return None


def check_magnitude(value: Any, info: ValidationInfo) -> Any:
    """A field validator: every number within ±MAX_MAGNITUDE (non-finite ones are refused by
    `allow_inf_nan=False` before this runs)."""
    if info.field_name not in _UNBOUNDED_FIELDS:
        big = beyond_magnitude(value)
        if big is not None:
            # A lone number is quoted by the loader's "(got …)"; one inside a list or table here.
            inside = "" if big is value else f" ({big:g} is not)"
            raise PydanticCustomError(
                "too_large",
                "must be within ±1e12, the largest magnitude the simulator accepts{inside}",
                {"inside": inside},
            )
    return value


class Spec(BaseModel):
    """Base of every scenario section: unknown keys are errors, values are immutable, numbers
    are finite (no `inf`, no `nan`) and of magnitude at most MAX_MAGNITUDE."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, allow_inf_nan=False)

    _magnitude = field_validator("*", mode="after")(check_magnitude)


PositiveTonnes = Annotated[float, Field(ge=0)]


class Located(Spec):
    """Base of nodes and links: the country an asset lies in (who can stop crude on it)."""

    country: str | None = Field(
        None,
        description="Country the asset lies in, or whose operator runs it when a line crosses a "
        "border (id in `countries`, e.g. `RU`); required on every node and on every pipeline "
        "and rail link once the scenario declares `countries`. Sea links may leave it unset "
        "(international waters, no transit state).",
    )


class Settings(Spec):
    """What is simulated, from when, for how long, and how many times."""

    name: str = Field(
        pattern=PATH_NAME_PATTERN,
        description="Scenario name; names the result folder (letters, digits, `_.-`, not "
        "starting with `.`, at most 64 characters).",
    )
    description: str = Field("", description="What the scenario represents, in a sentence.")
    start_date: dt.date = Field(description="Calendar date of simulation day 0.")
    horizon_days: int = Field(gt=0, le=36500, description="Simulated length, days.")
    seed: int = Field(0, ge=0, description="Root seed of the run's `SeedSequence`.")
    replications: int = Field(1, ge=1, description="Independent replications to run.")
    step_days: float = Field(
        1.0,
        gt=0,
        le=1,
        description="Length of one network step, days; 1 divided by it must be a whole number.",
    )
    low_stock_days: float = Field(
        10.0,
        ge=0,
        description="Days of cover (stock ÷ target run) below which a refinery's stock counts "
        "as low (the low-stock share of time), days.",
    )
    n1_stock_draw_days: float = Field(
        30.0,
        gt=0,
        description="Period the N−1 indicators ask stock to cover a lost entry route for: "
        "S_m = usable stock ÷ this (physical), or what the run planner draws of it in this "
        "time, ÷ this (contracted; docs/indicators.md), days.",
    )


MassFraction = Annotated[float, Field(ge=0, le=1)]


class Assay(Spec):
    """Straight-run cuts of a grade by mass fraction (a typical published assay); the five cuts
    sum to 1. The valuation (docs/valuation.md) turns them into products."""

    light_ends_mass_frac: MassFraction = Field(
        0.0,
        description="Gas and LPG (up to C4) and distillation losses: burnt as refinery fuel, "
        "no sales value, mass fraction.",
    )
    naphtha_mass_frac: MassFraction = Field(
        description="Naphtha, boiling below ≈ 175 °C, mass fraction."
    )
    middle_distillates_mass_frac: MassFraction = Field(
        description="Kerosene and gasoil, ≈ 175–350 °C, mass fraction."
    )
    vacuum_gas_oil_mass_frac: MassFraction = Field(
        description="Vacuum gas oil, ≈ 350–540 °C, mass fraction."
    )
    vacuum_residue_mass_frac: MassFraction = Field(
        description="Vacuum residue, above ≈ 540 °C, mass fraction."
    )
    source: str = Field("", description="Where the assay comes from.")

    def total_mass_frac(self) -> float:
        """Sum of the five cuts (1 for a complete assay)."""
        return (
            self.light_ends_mass_frac
            + self.naphtha_mass_frac
            + self.middle_distillates_mass_frac
            + self.vacuum_gas_oil_mass_frac
            + self.vacuum_residue_mass_frac
        )


class Grade(Spec):
    """A crude grade: how many barrels a tonne holds, and its quality."""

    bbl_per_t: float = Field(gt=0, description="Barrels in one tonne, bbl/t.")
    api_gravity: float | None = Field(
        None,
        description="API gravity, degrees; used by the crude window's blend limits (none: "
        "derived from `bbl_per_t`).",
    )
    sulphur_pct: float | None = Field(
        None,
        ge=0,
        le=10,
        description="Sulphur, mass %; used by the crude window and the valuation's sulphur "
        "cost (none: 0).",
    )
    assay: Assay | None = Field(
        None, description="Straight-run cuts; required when a refinery is valued."
    )
    description: str = Field("", description="Free text.")


class FieldNode(Located):
    """A producing field or a seller's delivery point where crude enters the network."""

    kind: Literal["field"]
    production_t_per_day: float | None = Field(
        None,
        gt=0,
        description="Most the field can deliver into the network, t/day; none = no limit.",
    )
    description: str = Field("", description="Free text.")


class MarketNode(Located):
    """A load port where crude is bought at a price; a contract may take supply from it."""

    kind: Literal["market"]
    description: str = Field("", description="Free text.")


class JunctionNode(Located):
    """A pumping station or branching point; crude passes through without stock."""

    kind: Literal["junction"]
    description: str = Field("", description="Free text.")


class PortNode(Located):
    """A discharge terminal with tanks: tanker lots land here and move on by link."""

    kind: Literal["port"]
    tank_capacity_t: PositiveTonnes = Field(description="Usable tank capacity, t.")
    initial_stock_t: PositiveTonnes = Field(0.0, description="Crude in the tanks at day 0, t.")
    initial_grade: str | None = Field(
        None, description="Grade of the initial stock; default: the first grade declared."
    )
    berths: int = Field(1, ge=1, description="Tankers that can discharge at once.")
    discharge_t_per_day: float = Field(
        50_000.0, gt=0, description="Rate one tanker discharges at, t/day."
    )
    port_fee_usd_per_t: PositiveTonnes = Field(
        0.0, description="Port and terminal charges per tonne discharged, USD/t."
    )
    demurrage_usd_per_day: PositiveTonnes = Field(
        0.0, description="Paid for each day a tanker waits for a berth or for tank room, USD/day."
    )
    description: str = Field("", description="Free text.")


class CrudeWindow(Spec):
    """The crudes a refinery can take: the grades it accepts, and limits on its crude blend (API
    gravity by volume-weighted density, sulphur by mass). A contract or cargo of a grade outside
    `grades` bound for the refinery is refused; the blend limits are reported, not enforced
    (`sim.economics.window.window_headroom`)."""

    grades: list[str] | None = Field(
        None, min_length=1, description="Grade ids the refinery accepts; none = any grade."
    )
    blend_api_gravity_min: float | None = Field(
        None, description="Least API gravity of the blend run (its heaviest), degrees."
    )
    blend_api_gravity_max: float | None = Field(
        None, description="Most API gravity of the blend run (its lightest), degrees."
    )
    blend_sulphur_max_pct: float | None = Field(
        None, ge=0, le=10, description="Most sulphur in the blend run, mass %."
    )


class RefineryNode(Located):
    """A refinery crude unit with its tank farm."""

    kind: Literal["refinery"]
    capacity_t_per_day: float = Field(gt=0, description="Crude unit nameplate rate, t/day.")
    target_run_t_per_day: float = Field(gt=0, description="Planned crude run, t/day.")
    tank_capacity_t: float = Field(gt=0, description="Usable crude tank capacity, t.")
    initial_stock_t: PositiveTonnes = Field(description="Crude stock at day 0, t.")
    initial_grade: str | None = Field(
        None, description="Grade of the initial stock; default: the first grade declared."
    )
    min_operating_stock_t: PositiveTonnes = Field(
        0.0,
        description="Stock the unit never draws below (tank bottoms, blending); "
        "at this level runs are cut to what arrives, t.",
    )
    min_technical_rate_t_per_day: PositiveTonnes = Field(
        0.0, description="Below this feasible rate the crude unit stops, t/day."
    )
    restart_days: float = Field(
        0.0, ge=0, description="Least time a stopped crude unit stays down before restarting, days."
    )
    contaminant_limit_ppm: float = Field(
        10.0,
        ge=0,
        description="Crude above this contaminant level (organic chlorides) is refused "
        "and sent to quarantine storage, ppm.",
    )
    margin_usd_per_t: PositiveTonnes = Field(
        0.0,
        description="Margin lost per tonne of run cut below target, USD/t: the refinery "
        "margin of docs/valuation.md (product worth − sulphur cost − processing cost − landed "
        "crude cost) of the crude it normally runs.",
    )
    configuration: str | None = Field(
        None,
        description="Id in `refinery_configs` its runs are valued with (e.g. before or after "
        "modernisation); none = not valued.",
    )
    crude_window: CrudeWindow | None = Field(
        None, description="Grades it accepts and its crude blend's limits; none = any crude."
    )
    lookahead_days: float = Field(
        14.0,
        ge=0,
        description="Run planner: the run is planned as expected arrivals plus the stock above "
        "the planned floor spread over this many days, at most the target and at least the "
        "minimum technical rate (docs/architecture.md, Refineries); 0 = no planning: run at "
        "target until the operating minimum, then at what arrives, days. ASSUMPTION default.",
    )
    cover_target_days: float = Field(
        0.0,
        ge=0,
        description="Run planner: stock the plan keeps, in days of target run (at least "
        "`min_operating_stock_t`); the stock between it and the operating minimum is drawn only "
        "to hold the minimum technical rate, days.",
    )
    restart_margin_share: float = Field(
        0.1,
        ge=0,
        description="Hysteresis: a stopped crude unit restarts only when its planned rate "
        "reaches the minimum technical rate × (1 + this) (or the target, if lower), "
        "dimensionless. ASSUMPTION default.",
    )
    detection_delay_days: float = Field(
        0.0,
        ge=0,
        description="Crude above the contaminant limit enters the tanks unnoticed for this long "
        "after the first of it arrives; then the contaminated stock is moved to quarantine and "
        "such crude is refused at the gate (0 = refused on arrival), days.",
    )
    quarantine_capacity_t: PositiveTonnes | None = Field(
        None,
        description="Quarantine storage for contaminated crude, t; none = unlimited. When full, "
        "contaminated crude stays in the lines (and in the tanks, unusable).",
    )
    reverse_pumping_t_per_day: PositiveTonnes = Field(
        0.0,
        description="Quarantined crude pumped back out of the network (reverse pumping), t/day.",
    )
    description: str = Field("", description="Free text.")


Node = Annotated[
    FieldNode | MarketNode | JunctionNode | PortNode | RefineryNode, Field(discriminator="kind")
]


class PipelineLink(Located):
    """A crude pipeline, always full: its linefill moves as a batch FIFO."""

    kind: Literal["pipeline"]
    from_node: str = Field(description="Node the line starts at (id in `nodes`).")
    to_node: str = Field(description="Node the line ends at (id in `nodes`).")
    capacity_t_per_day: PositiveTonnes = Field(description="Most crude the line moves, t/day.")
    length_km: float = Field(gt=0, description="Length, km.")
    linefill_t_per_km: float = Field(
        gt=0,
        description="Crude held per km of line (from its internal diameter; the whole line's "
        "when it is shared with third parties), t/km.",
    )
    tariff_usd_per_t: PositiveTonnes = Field(0.0, description="Transport tariff, USD/t.")
    initial_linefill_grade: str | None = Field(
        None, description="Grade filling the line at day 0; default: the first grade declared."
    )
    third_party_t_per_day: PositiveTonnes = Field(
        0.0,
        description="Crude of other shippers the line carries (e.g. transit to the EU), a "
        "background flow: it takes its share of `capacity_t_per_day` (the whole line's), so a "
        "derate can bind on the simulated contracts, and moves through the line's batch FIFO "
        "with their crude, pushing it on (then `linefill_t_per_km` is the whole line's), t/day.",
    )
    third_party_share_rule: Literal["pro_rata", "third_party_first"] = Field(
        "pro_rata",
        description="Who bears a derate (capacity factor f < 1): `pro_rata` — both keep the "
        "same share of what is left (simulated contracts get (capacity − third party) × f); "
        "`third_party_first` — third parties keep their flow while the line can carry it "
        "(simulated contracts get max(0, capacity × f − third party)).",
    )
    description: str = Field("", description="Free text.")

    def available_t_per_day(self, capacity_factor: float = 1.0) -> float:
        """Capacity left for the simulated contracts with a factor of the line's capacity in
        force, after the third parties' share (by the line's sharing rule), t/day."""
        return shared_capacity_t_per_day(
            self.capacity_t_per_day,
            self.third_party_t_per_day,
            self.third_party_share_rule == "third_party_first",
            capacity_factor,
        )


def shared_capacity_t_per_day(
    capacity_t_per_day: float, third_party_t_per_day: float, third_party_first: bool, factor: float
) -> float:
    """What a line shared with third parties leaves for the simulated contracts, t/day."""
    if third_party_first:
        return max(0.0, capacity_t_per_day * factor - third_party_t_per_day)
    return (capacity_t_per_day - third_party_t_per_day) * factor


def third_party_flow_t_per_day(
    capacity_t_per_day: float, third_party_t_per_day: float, third_party_first: bool, factor: float
) -> float:
    """The third parties' flow on a shared line under the same rule, t/day: with what
    `shared_capacity_t_per_day` leaves, it fills the derated line (capacity × factor)."""
    if third_party_first:
        return min(third_party_t_per_day, capacity_t_per_day * factor)
    return third_party_t_per_day * factor


class RailLink(Located):
    """A rail corridor of tank-car trains from a port's tanks, or from a rail loading terminal
    (a junction or field: crude bought there), to a refinery.

    Its capacity is the lesser of what is loaded a day (trains × cars × payload) and what the
    fleet can carry round its cycle (fleet cars × payload ÷ cycle days); crude loaded on a day
    arrives `transit_days` later.
    """

    kind: Literal["rail"]
    from_node: str = Field(
        description="Port, junction or field the trains load at (id in `nodes`)."
    )
    to_node: str = Field(description="Refinery the trains unload at (id in `nodes`).")
    trains_per_day: float = Field(gt=0, description="Trains loaded a day, trains/day.")
    cars_per_train: int = Field(gt=0, description="Tank cars in a train.")
    payload_t_per_car: float = Field(gt=0, description="Crude one tank car carries, t.")
    fleet_cars: int = Field(gt=0, description="Tank cars in the corridor's fleet.")
    cycle_days: float = Field(
        gt=0, description="Round trip of a car: load, run, unload, return, days."
    )
    transit_days: float = Field(
        ge=0, description="Loading to unloading of a train (one way), days."
    )
    tariff_usd_per_t: PositiveTonnes = Field(
        0.0, description="Rail tariff and loading charges, USD/t."
    )
    description: str = Field("", description="Free text.")

    @property
    def capacity_t_per_day(self) -> float:
        """Most the corridor moves a day: loading limit or fleet cycle, the lesser, t/day."""
        loading = self.trains_per_day * self.cars_per_train * self.payload_t_per_car
        fleet = self.fleet_cars * self.payload_t_per_car / self.cycle_days
        return min(loading, fleet)


class SeaLink(Located):
    """A tanker voyage from a market (load port) to a discharge port."""

    kind: Literal["sea"]
    from_node: str = Field(description="Market the cargo loads at (id in `nodes`).")
    to_node: str = Field(description="Port the cargo discharges at (id in `nodes`).")
    voyage_days: float = Field(gt=0, description="Sailing time, load port to discharge port, days.")
    freight_usd_per_t: PositiveTonnes = Field(description="Freight, USD/t.")
    delay_days_mean: PositiveTonnes = Field(
        0.0,
        description="Mean of a random extra sailing delay (exponential; 0 = none), days; "
        "drawn per voyage from the replication's `voyage:<link>` stream.",
    )
    description: str = Field("", description="Free text.")


Link = Annotated[PipelineLink | RailLink | SeaLink, Field(discriminator="kind")]


class Country(Spec):
    """A country that produces crude or whose territory or operators carry it.

    Its id (the `ID` in `[countries.ID]`) is the code nodes and links name in `country`
    (ISO 3166-1 alpha-2 in the shipped scenarios: `RU`, `BY`, `KZ`, ...). A contract's or cargo
    option's crude comes from the country whose `origins` list its `origin`.
    """

    name: str = Field(description="Country name, e.g. `Russia`.")
    risk_weight: float = Field(
        1.0,
        ge=0,
        description="Political-risk weight r_i of the risk-weighted concentration indices "
        "(Σ r_i s_i², docs/indicators.md), dimensionless; 1 for every country gives the plain "
        "index.",
    )
    origins: list[str] = Field(
        default_factory=list,
        description="Origin labels (contracts' and cargo options' `origin`) of crude produced "
        "in this country; a label belongs to at most one country.",
    )
    description: str = Field("", description="Free text (sources of the risk weight).")


class PriceFormula(Spec):
    """Contract price: a benchmark plus a differential per barrel and a premium per tonne, less
    the Russian export duty the buyer does not pay. Russian crude sold to Belarus inside the
    EAEU paid no export duty: its price was the world price less the duty (plus a premium). The
    duty of a month is its published value if `export_duty_monthly_usd_per_t` gives one, else the
    tax-manoeuvre formula if `export_duty_formula` says so, else `export_duty_usd_per_t`
    (docs/valuation.md, "Export duty")."""

    benchmark: str = Field(description="Price series id in `prices`.")
    differential_usd_per_bbl: float = Field(0.0, description="Added to the benchmark, USD/bbl.")
    premium_usd_per_t: float = Field(0.0, description="Added per tonne (premium), USD/t.")
    export_duty_usd_per_t: PositiveTonnes = Field(
        0.0,
        description="Export duty not paid, subtracted per tonne in months without a published "
        "value when the formula is off, USD/t.",
    )
    export_duty_monthly_usd_per_t: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict,
        description="Published export duty by month `YYYY-MM`, USD/t; takes precedence over "
        "the formula and the constant. Contracts only (a cargo is priced once, at purchase).",
    )
    export_duty_formula: Literal["none", "tax_manoeuvre"] = Field(
        "none",
        description="`tax_manoeuvre`: months without a published duty use k × (29.2 + 0.30 × "
        "(P − 182.5)) USD/t, P = benchmark (USD/bbl) × `export_duty_bbl_per_t`, k by year: "
        "5/6 (2019), 4/6 (2020), 3/6 (2021), 2/6 (2022), 1/6 (2023), 0 (2024 on). The formula "
        "holds in the top price bracket only (P above 365 USD/t): months below it need a "
        "published duty. Contracts only.",
    )
    export_duty_k: float | None = Field(
        None,
        ge=0,
        le=1,
        description="The formula's k for every month (a sweep lever); none = k of the month's "
        "year.",
    )
    export_duty_bbl_per_t: float = Field(
        7.3,
        gt=0,
        description="Converts the benchmark to P for the formula, bbl/t (7.3: the convention of "
        "the Russian monitoring price of Urals).",
    )


class Swap(Spec):
    """A swap: the seller's crude is handed in at one node; the same tonnes of another origin
    are handed out at another node, downstream, for the buyer (no physical transit between)."""

    in_at: str = Field(description="Node where the contract's crude is handed in (e.g. Samara).")
    out_at: str = Field(description="Node where the same tonnes are handed out (e.g. Unecha).")
    delivered_origin: str = Field("russia", description="Physical origin of the crude handed out.")
    fee_usd_per_t: PositiveTonnes = Field(0.0, description="Swap fee per tonne, USD/t.")


class Contract(Spec):
    """A supply option: who sells what, from where, to which refinery, how much a month."""

    seller: str = Field(description="Seller (company), free text.")
    origin: str = Field(
        description="Origin of the crude, a label, e.g. `russia`, `kazakhstan` (shares, transit "
        "conditions); its country is the one in `countries` whose `origins` list it."
    )
    grade: str = Field(description="Grade id in `grades`.")
    source: str = Field(description="Node where the crude enters the network (not a refinery).")
    destination: str = Field(description="Refinery node the crude is bought for.")
    volume_t_per_month: PositiveTonnes = Field(
        description="Nominated volume, delivered evenly over the month (volume ÷ days in the "
        "month each day, so a whole month ships exactly this in months of 28 to 31 days), "
        "t/month."
    )
    price: PriceFormula | None = Field(
        None,
        description="Price formula; required unless the source is a port (crude already bought "
        "as a cargo, which carries its own costs).",
    )
    routes: list[list[str]] | None = Field(
        None,
        min_length=1,
        description="Routes the crude may take, each a list of link ids from source to "
        "destination; none = any route in the network.",
    )
    priority: int = Field(
        1, ge=1, description="Sharing rule class: 1 is served first; within a class, pro rata."
    )
    swap: Swap | None = Field(
        None,
        description="Deliver by swap: each route runs from the source to `swap.in_at`, then "
        "from `swap.out_at` to the destination. Needs `routes`.",
    )
    contaminant_ppm: PositiveTonnes = Field(
        0.0, description="Contaminant level of the crude as delivered by the seller, ppm."
    )
    makeup_max_share: float = Field(
        0.0,
        ge=0,
        description="Make-up of missed tonnes (nominated but not shipped): once supply resumes, "
        "the contract may ship up to this share of its daily nomination on top of it until the "
        "missed tonnes are made up; 0 = missed tonnes are lost, dimensionless.",
    )
    makeup_window_days: float = Field(
        0.0,
        ge=0,
        description="Make-up: days from the day supply resumes during which missed tonnes may "
        "be made up; what is still missed then is lost, days.",
    )
    start_date: dt.date | None = Field(None, description="First day of supply; default day 0.")
    end_date: dt.date | None = Field(
        None, description="Day supply stops (exclusive); default never."
    )


class ReorderRule(Spec):
    """Buy a cargo when the destination's inventory position falls below a number of days."""

    days_of_cover_below: float = Field(
        gt=0,
        description="Buy when (refinery stock + port stock + cargoes bought and not yet "
        "discharged) ÷ target run falls below this, days.",
    )
    review_days: float = Field(1.0, gt=0, description="How often the position is reviewed, days.")
    max_open_cargoes: int = Field(
        2, ge=1, description="Most cargoes of this option bought and not yet discharged."
    )


class Cargo(Spec):
    """A supply option on the global market: tanker lots bought at a market and shipped by sea."""

    seller: str = Field(description="Seller, free text.")
    origin: str = Field(
        description="Origin of the crude, a label; its country is the one in `countries` whose "
        "`origins` list it."
    )
    grade: str = Field(description="Grade id in `grades`.")
    sea_link: str = Field(description="Sea link (market → port) the cargoes sail.")
    destination: str = Field(
        description="Refinery the cargoes are bought for (its cover drives the reorder rule; "
        "it is where their cost is reported)."
    )
    lot_t: float = Field(gt=0, description="Cargo size, t.")
    price: PriceFormula
    loading_days: PositiveTonnes = Field(
        0.0, description="Purchase to loaded and sailing (lead time at the load port), days."
    )
    contaminant_ppm: PositiveTonnes = Field(0.0, description="Contaminant level of the crude, ppm.")
    schedule: list[dt.date] | None = Field(
        None,
        description="Purchase dates (a fixed schedule); or give `reorder` or `annual_volume_t`.",
    )
    reorder: ReorderRule | None = Field(
        None, description="Reorder rule; or give `schedule` or `annual_volume_t`."
    )
    annual_volume_t: float | None = Field(
        None,
        gt=0,
        description="A cargo programme by volume, t/yr: n = round(annual_volume_t ÷ lot_t) lots "
        "a year, bought every 365 ÷ n days, the first half an interval after `start_date` (or "
        "the scenario's start), until `end_date` or the horizon; or give `schedule` or "
        "`reorder`.",
    )
    start_date: dt.date | None = Field(
        None, description="First day the reorder rule or the annual programme may buy."
    )
    end_date: dt.date | None = Field(
        None, description="Day the reorder rule or the annual programme stops buying."
    )

    def lots_per_year(self) -> int | None:
        """n of the annual programme: round(annual_volume_t ÷ lot_t); None without one."""
        if self.annual_volume_t is None:
            return None
        return round(self.annual_volume_t / self.lot_t)

    def purchase_days(self, start: dt.date, horizon_days: float) -> tuple[float, ...] | None:
        """Days after `start` on which a fixed schedule or the annual programme buys a lot,
        in order; None for a reorder rule. The annual programme buys n lots a year, one every
        365 ÷ n days from `start_date` + half an interval, while the day is before `end_date`
        and the horizon (so a whole year of it buys exactly n lots)."""
        if self.schedule is not None:
            return tuple(float((d - start).days) for d in sorted(self.schedule))
        n = self.lots_per_year()
        if not n:
            return None
        interval = 365.0 / n
        first = float((self.start_date - start).days) if self.start_date else 0.0
        last = float((self.end_date - start).days) if self.end_date else float("inf")
        stop = min(last, float(horizon_days))
        count = max(0, math.ceil((stop - first) / interval - 0.5))
        days = (first + interval * (k + 0.5) for k in range(count))
        return tuple(day for day in days if day < stop)


class TradeBalance(Spec):
    """A bilateral trade balance that crude purchases from the partner change."""

    partner_origin: str = Field(description="Origin whose purchases count as imports.")
    exports_usd_per_year: float = Field(
        ge=0, description="Baseline exports to the partner, USD/yr."
    )
    imports_usd_per_year: float = Field(
        ge=0, description="Baseline imports from the partner, USD/yr."
    )
    source: str = Field("", description="Where the baseline comes from.")


class PriceSeries(Spec):
    """A benchmark price, constant or by month."""

    usd_per_bbl: float = Field(gt=0, description="Price when no month is given, USD/bbl.")
    monthly_usd_per_bbl: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict, description="Price by month `YYYY-MM`, USD/bbl; overrides the above."
    )
    source: str = Field("", description="Where the figure comes from.")


class ProductPrice(Spec):
    """A refined product's price, constant or by month."""

    usd_per_t: float = Field(gt=0, description="Price when no month is given, USD/t.")
    monthly_usd_per_t: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict, description="Price by month `YYYY-MM`, USD/t; overrides the above."
    )
    source: str = Field("", description="Where the figure comes from.")


class ProductPrices(Spec):
    """Prices of the products the valuation sells (docs/valuation.md), USD/t."""

    gasoline: ProductPrice = Field(description="Gasoline (motor gasoline, reformate blends).")
    diesel: ProductPrice = Field(description="Diesel and gasoil (middle distillates).")
    naphtha: ProductPrice = Field(description="Naphtha sold as such (petrochemical feed).")
    fuel_oil: ProductPrice = Field(description="Fuel oil (unconverted vacuum gas oil and residue).")
    coke: ProductPrice = Field(description="Petroleum coke.")

    def usd_per_t(self, month: str) -> dict[str, float]:
        """Each product's price in `month` (`YYYY-MM`), USD/t."""
        return {
            name: price.monthly_usd_per_t.get(month, price.usd_per_t)
            for name, price in (
                ("gasoline", self.gasoline),
                ("diesel", self.diesel),
                ("naphtha", self.naphtha),
                ("fuel_oil", self.fuel_oil),
                ("coke", self.coke),
            )
        }


class ConversionYields(Spec):
    """What one tonne of feed to the conversion units leaves as; the five sum to 1."""

    gasoline_mass_frac: MassFraction = Field(description="Gasoline, mass fraction.")
    diesel_mass_frac: MassFraction = Field(description="Diesel and gasoil, mass fraction.")
    fuel_oil_mass_frac: MassFraction = Field(
        0.0, description="Heavy cycle oil, unconverted bottoms, to fuel oil, mass fraction."
    )
    coke_mass_frac: MassFraction = Field(0.0, description="Petroleum coke, mass fraction.")
    fuel_and_loss_mass_frac: MassFraction = Field(
        0.0,
        description="Gas burnt as refinery fuel, hydrogen balance and losses: no sales value, "
        "mass fraction.",
    )

    def total_mass_frac(self) -> float:
        """Sum of the five (1 for a complete set of yields)."""
        return (
            self.gasoline_mass_frac
            + self.diesel_mass_frac
            + self.fuel_oil_mass_frac
            + self.coke_mass_frac
            + self.fuel_and_loss_mass_frac
        )


class RefineryConfig(Spec):
    """A refinery configuration for valuation: the linear yield model of docs/valuation.md.

    Straight-run naphtha goes to gasoline (the stated share) or is sold as naphtha; middle
    distillates go to diesel. The conversion units take vacuum gas oil first, then vacuum
    residue, up to their capacity, pro rata across the grades run; what they take leaves at the
    stated yields, the vacuum gas oil and residue they do not take is sold as fuel oil.
    """

    naphtha_to_gasoline_mass_frac: MassFraction = Field(
        description="Share of straight-run naphtha leaving as gasoline (reformed, isomerised); "
        "the rest is sold as naphtha, mass fraction."
    )
    conversion_capacity_t_per_day: PositiveTonnes = Field(
        description="Feed the conversion units (catalytic cracking, hydrocracking, coking) take "
        "a day: vacuum gas oil first, then vacuum residue, t/day."
    )
    vacuum_gas_oil_yields: ConversionYields = Field(
        description="Yields of a tonne of vacuum gas oil converted."
    )
    vacuum_residue_yields: ConversionYields = Field(
        description="Yields of a tonne of vacuum residue converted."
    )
    sulphur_limit_pct: float = Field(
        ge=0, le=10, description="Blend sulphur the treating units handle at no extra cost, mass %."
    )
    sulphur_cost_usd_per_t_per_pct: PositiveTonnes = Field(
        0.0,
        description="Extra cost per tonne run for each percentage point of blend sulphur above "
        "the limit, USD/t per %.",
    )
    processing_cost_usd_per_t: PositiveTonnes = Field(
        description="Variable processing cost per tonne run (energy, chemicals, catalysts, "
        "hydrogen), USD/t."
    )
    description: str = Field("", description="What the configuration represents.")
    source: str = Field("", description="Where the figures come from.")


class TransitCondition(Spec):
    """A condition a transit state or operator imposes on a set of links."""

    links: list[str] = Field(min_length=1, description="Link ids the condition applies to.")
    origins: list[str] | None = Field(
        None, description="Origins it applies to; none = all crude on those links."
    )
    quota_t_per_month: PositiveTonnes | None = Field(
        None,
        description="Most tonnes (of those origins) that may enter the links in a month, t/month.",
    )
    tariff_usd_per_t: PositiveTonnes = Field(
        0.0, description="Transit fee per tonne entering the links, on top of link tariffs, USD/t."
    )
    halted: bool = Field(False, description="True: no crude of those origins may use the links.")


class RandomTiming(Spec):
    """When a random disruption happens: failures arrive at random (exponential up-times), and
    each lasts a random repair time."""

    mtbf_days: float = Field(gt=0, description="Mean time between failures (mean up-time), days.")
    mttr_days: float = Field(gt=0, description="Mean time to repair (mean duration), days.")
    repair_distribution: Literal["exponential", "lognormal", "fixed"] = Field(
        "lognormal", description="Distribution of the repair time, with mean `mttr_days`."
    )
    repair_sigma: float = Field(
        0.5, gt=0, description="Lognormal only: standard deviation of the log of the repair time."
    )


class Disruption(Spec):
    """A change to an asset for a while: scheduled (start and duration) or random (`random`).

    The target is a link, a port, a refinery, a contract, a cargo option, a transit condition,
    a price series or a country (ids must not be ambiguous). Give the effects that fit it:
    links, ports, refineries: `capacity_factor` (default 0, an outage; for a port, 0 closes it
    to tankers); links and contracts: `contaminant_ppm`; contracts: `volume_factor` (a cut-off
    or reduction); cargo options: `volume_factor` (the share of each lot bought; 0 stops
    buying); transit conditions: `quota_factor`, `fee_add_usd_per_t`; price series (a
    benchmark shock), contracts and cargo options (a shock to their differential):
    `price_add_usd_per_bbl`. A country (`[countries]`) in its two roles: as a supplier,
    `volume_factor` on every contract and cargo option of its crude ("Russia cuts supply by
    half"); as a transit state, `capacity_factor` on its pipelines, rail links and ports, and
    on the cargo options loading at its markets ("Russia refuses transit"); none given: both 0.
    """

    target: str = Field(description="Id of the asset affected (see above).")
    start_date: dt.date | None = Field(None, description="First day (scheduled disruptions).")
    duration_days: float | None = Field(None, gt=0, description="Length (scheduled), days.")
    random: RandomTiming | None = Field(
        None, description="Random timing instead of `start_date` and `duration_days`."
    )
    capacity_factor: float | None = Field(
        None, ge=0, le=1, description="Share of capacity left while it lasts (0 = outage)."
    )
    volume_factor: float | None = Field(
        None, ge=0, le=1, description="Share of a contract's nomination still delivered."
    )
    contaminant_ppm: float | None = Field(
        None,
        ge=0,
        description="Contaminant added to the crude a contract ships, or to the crude entering "
        "a link, while it lasts, ppm.",
    )
    quota_factor: float | None = Field(
        None, ge=0, description="Multiplies a transit condition's monthly quota."
    )
    fee_add_usd_per_t: float | None = Field(
        None, description="Added to a transit condition's fee, USD/t (costs; routing keeps fees)."
    )
    price_add_usd_per_bbl: float | None = Field(
        None,
        description="Added to a price series, or to a contract's or cargo option's differential "
        "(a price shock), USD/bbl.",
    )

    def effects(self) -> dict[str, float]:
        """The effects given, by field name."""
        names = (
            "capacity_factor",
            "volume_factor",
            "contaminant_ppm",
            "quota_factor",
            "fee_add_usd_per_t",
            "price_add_usd_per_bbl",
        )
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


class Scenario(Spec):
    """A whole scenario, validated: what one run simulates."""

    scenario: Settings
    grades: dict[str, Grade] = Field(min_length=1)
    nodes: dict[str, Node] = Field(min_length=1)
    links: dict[str, Link] = Field(default_factory=dict)
    contracts: dict[str, Contract] = Field(default_factory=dict)
    cargoes: dict[str, Cargo] = Field(default_factory=dict)
    prices: dict[str, PriceSeries] = Field(default_factory=dict)
    transit: dict[str, TransitCondition] = Field(default_factory=dict)
    disruptions: dict[str, Disruption] = Field(default_factory=dict)
    trade: TradeBalance | None = None
    refinery_configs: dict[str, RefineryConfig] = Field(default_factory=dict)
    product_prices: ProductPrices | None = None
    countries: dict[str, Country] = Field(default_factory=dict)

    @property
    def default_grade(self) -> str:
        return next(iter(self.grades))

    def refineries(self) -> dict[str, RefineryNode]:
        return {k: n for k, n in self.nodes.items() if isinstance(n, RefineryNode)}
