"""What crude is worth at the refinery gate: a linear yield model a planner can check by hand.

The equations, the allocation of conversion capacity and a worked example are in
docs/valuation.md. In short, for the tonnes t_k of each crude k run in a period of `days`:

- straight-run naphtha → gasoline (share g of the configuration) or naphtha (1 − g);
  middle distillates → diesel; light ends → refinery fuel and loss (no sales value);
- the conversion units take vacuum gas oil (VGO) first, then vacuum residue, up to
  capacity × days, pro rata across the crudes: converted VGO and residue leave at the
  configuration's yields, the rest is sold as fuel oil;
- gross product worth = Σ product tonnes × product price;
- sulphur cost = c × Σ_k t_k (s_k − L) when the blend's sulphur S = Σ t_k s_k / Σ t_k is
  above the limit L, else 0 (split among crudes by their own t_k (s_k − L), so a sweet crude
  in a sour blend carries a credit);
- processing cost = Σ t_k × variable cost;
- netback = gross worth − sulphur cost − processing cost;
- **refinery margin = netback − landed crude cost** (the one margin concept used throughout:
  `margin_usd_per_t` on refineries is this margin per tonne of the crude normally run).

Call it once per refinery per period with everything the refinery ran in that period:
conversion capacity is shared, so valuing a period's runs in pieces overstates conversion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.engine.crude import split_mix_key
from sim.scenario.schema import Grade, RefineryConfig, Scenario

#: Products with a price, in the order of `ProductPrices`.
PRICED_PRODUCTS = ("gasoline", "diesel", "naphtha", "fuel_oil", "coke")
#: Light ends, conversion gas, hydrogen balance and losses: no sales value.
FUEL_AND_LOSS = "fuel_and_loss"
PRODUCTS = (*PRICED_PRODUCTS, FUEL_AND_LOSS)


@dataclass(frozen=True)
class CrudeValue:
    """The share of a period's valuation that falls to one crude (a grade, or origin|grade)."""

    runs_t: float
    products_t: dict[str, float]
    gross_worth_usd: float
    sulphur_cost_usd: float
    processing_cost_usd: float

    @property
    def netback_usd(self) -> float:
        """Gross product worth − sulphur cost − processing cost, USD."""
        return self.gross_worth_usd - self.sulphur_cost_usd - self.processing_cost_usd

    def margin_usd(self, landed_cost_usd: float) -> float:
        """Refinery margin on these tonnes: netback − landed crude cost, USD."""
        return self.netback_usd - landed_cost_usd


@dataclass(frozen=True)
class RunValue:
    """A refinery's runs over a period, valued: products, worth, costs, and per crude."""

    runs_t: float
    days: float
    blend_sulphur_pct: float
    #: Feed the conversion units took, t.
    vacuum_gas_oil_converted_t: float
    vacuum_residue_converted_t: float
    products_t: dict[str, float]
    gross_worth_usd: float
    sulphur_cost_usd: float
    processing_cost_usd: float
    by_crude: dict[str, CrudeValue] = field(default_factory=dict)

    @property
    def netback_usd(self) -> float:
        """Gross product worth − sulphur cost − processing cost: the crude's worth at the
        refinery gate, USD."""
        return self.gross_worth_usd - self.sulphur_cost_usd - self.processing_cost_usd

    def margin_usd(self, landed_cost_usd: float) -> float:
        """Refinery margin: netback − landed crude cost of the tonnes run, USD."""
        return self.netback_usd - landed_cost_usd

    def per_t(self, usd: float) -> float:
        """An amount of this run per tonne run, USD/t (NaN when nothing ran)."""
        return usd / self.runs_t if self.runs_t > 0 else float("nan")

    @property
    def gross_worth_usd_per_t(self) -> float:
        return self.per_t(self.gross_worth_usd)

    @property
    def netback_usd_per_t(self) -> float:
        return self.per_t(self.netback_usd)

    @property
    def light_products_frac(self) -> float:
        """Gasoline, diesel and naphtha as a share of the tonnes run."""
        light = sum(self.products_t[p] for p in ("gasoline", "diesel", "naphtha"))
        return self.per_t(light)

    @property
    def conversion_depth_frac(self) -> float:
        """1 − fuel oil ÷ runs: the share of crude not left as fuel oil (the depth of
        conversion as Belarusian and Russian refiners quote it)."""
        return 1.0 - self.per_t(self.products_t["fuel_oil"])


def products_t(
    config: RefineryConfig,
    naphtha_t: Any,
    middle_distillates_t: Any,
    light_ends_t: Any,
    vacuum_gas_oil_t: Any,
    vacuum_residue_t: Any,
    vgo_converted_t: Any,
    residue_converted_t: Any,
) -> dict[str, Any]:
    """Products of one crude's straight-run cuts, t: naphtha split into gasoline and naphtha,
    the converted vacuum gas oil and residue by their yields, the rest as fuel oil. Floats or
    numpy arrays alike (the array path values every replication at once with this)."""
    yv, yr = config.vacuum_gas_oil_yields, config.vacuum_residue_yields
    g = config.naphtha_to_gasoline_mass_frac
    vc, rc = vgo_converted_t, residue_converted_t
    return {
        "gasoline": g * naphtha_t + vc * yv.gasoline_mass_frac + rc * yr.gasoline_mass_frac,
        "diesel": middle_distillates_t + vc * yv.diesel_mass_frac + rc * yr.diesel_mass_frac,
        "naphtha": (1.0 - g) * naphtha_t,
        "fuel_oil": (vacuum_gas_oil_t - vc)
        + (vacuum_residue_t - rc)
        + vc * yv.fuel_oil_mass_frac
        + rc * yr.fuel_oil_mass_frac,
        "coke": vc * yv.coke_mass_frac + rc * yr.coke_mass_frac,
        FUEL_AND_LOSS: light_ends_t
        + vc * yv.fuel_and_loss_mass_frac
        + rc * yr.fuel_and_loss_mass_frac,
    }


def value_runs(
    config: RefineryConfig,
    runs_t: Mapping[str, float],
    grades: Mapping[str, Grade],
    prices_usd_per_t: Mapping[str, float],
    days: float = 1.0,
) -> RunValue:
    """Value what a refinery ran over `days` days.

    `runs_t`: tonnes run by crude id; `grades`: the `Grade` (assay and sulphur) of each of those
    ids; `prices_usd_per_t`: the price of each product in `PRICED_PRODUCTS`, USD/t (e.g.
    `scenario.product_prices.usd_per_t(month)`). Every grade needs an assay.
    """
    run = {k: t for k, t in runs_t.items() if t > 0}
    total_t = sum(run.values())
    zero = dict.fromkeys(PRODUCTS, 0.0)
    if total_t <= 0:
        return RunValue(0.0, days, float("nan"), 0.0, 0.0, zero, 0.0, 0.0, 0.0, {})
    assays = {}
    for key in run:
        assay = grades[key].assay
        if assay is None:
            raise ValueError(f"crude {key!r} has no assay: it cannot be valued")
        assays[key] = assay
    sulphur = {k: grades[k].sulphur_pct or 0.0 for k in run}

    # Conversion capacity: vacuum gas oil first, then residue; pro rata across crudes.
    vgo_t = sum(t * assays[k].vacuum_gas_oil_mass_frac for k, t in run.items())
    residue_t = sum(t * assays[k].vacuum_residue_mass_frac for k, t in run.items())
    capacity_t = config.conversion_capacity_t_per_day * days
    vgo_conv_t = min(capacity_t, vgo_t)
    residue_conv_t = min(capacity_t - vgo_conv_t, residue_t)
    vgo_share = vgo_conv_t / vgo_t if vgo_t > 0 else 0.0
    residue_share = residue_conv_t / residue_t if residue_t > 0 else 0.0

    blend_sulphur = sum(t * sulphur[k] for k, t in run.items()) / total_t
    over_limit = blend_sulphur > config.sulphur_limit_pct
    by_crude = {}
    for key, t in run.items():
        a = assays[key]
        naphtha = t * a.naphtha_mass_frac
        vgo = t * a.vacuum_gas_oil_mass_frac
        residue = t * a.vacuum_residue_mass_frac
        vc, rc = vgo * vgo_share, residue * residue_share
        products = products_t(
            config,
            naphtha,
            t * a.middle_distillates_mass_frac,
            t * a.light_ends_mass_frac,
            vgo,
            residue,
            vc,
            rc,
        )
        worth = sum(products[p] * prices_usd_per_t[p] for p in PRICED_PRODUCTS)
        sulphur_cost = (
            config.sulphur_cost_usd_per_t_per_pct * t * (sulphur[key] - config.sulphur_limit_pct)
            if over_limit
            else 0.0
        )
        by_crude[key] = CrudeValue(
            runs_t=t,
            products_t=products,
            gross_worth_usd=worth,
            sulphur_cost_usd=sulphur_cost,
            processing_cost_usd=t * config.processing_cost_usd_per_t,
        )
    crudes = by_crude.values()
    return RunValue(
        runs_t=total_t,
        days=days,
        blend_sulphur_pct=blend_sulphur,
        vacuum_gas_oil_converted_t=vgo_conv_t,
        vacuum_residue_converted_t=residue_conv_t,
        products_t={p: sum(c.products_t[p] for c in crudes) for p in PRODUCTS},
        gross_worth_usd=sum(c.gross_worth_usd for c in crudes),
        sulphur_cost_usd=sum(c.sulphur_cost_usd for c in crudes),
        processing_cost_usd=sum(c.processing_cost_usd for c in crudes),
        by_crude=by_crude,
    )


class Valuer:
    """Values the runs of one scenario's refineries: built once, called per refinery per step.

    The recorder's call, once per refinery per step with what the refinery ran in that step::

        value = valuer.value_run("mozyr", run_parcel.mix, run_parcel.tonnes_t, "2019-04", dt)
        if value is not None:      # None: the refinery has no `configuration`
            value.gross_worth_usd, value.sulphur_cost_usd, value.processing_cost_usd
            value.margin_usd(landed_cost_usd)        # margin on those tonnes
            value.by_crude["russia|urals"]           # the same, per origin|grade

    Prices are the scenario's `product_prices` for the month.
    """

    def __init__(self, scenario: Scenario):
        self._configs = {
            name: scenario.refinery_configs[node.configuration]
            for name, node in scenario.refineries().items()
            if node.configuration is not None
        }
        self._grades = scenario.grades
        self._prices = scenario.product_prices
        self._grade_of_key: dict[str, Grade] = {}
        self._prices_by_month: dict[str, dict[str, float]] = {}

    def values(self, refinery: str) -> bool:
        """True when the refinery's runs are valued (it names a configuration)."""
        return refinery in self._configs

    def prices_usd_per_t(self, month: str) -> dict[str, float]:
        """Product prices of `month` (`YYYY-MM`), USD/t."""
        prices = self._prices_by_month.get(month)
        if prices is None:
            if self._prices is None:
                raise ValueError("the scenario has no product_prices")
            prices = self._prices_by_month[month] = self._prices.usd_per_t(month)
        return prices

    def value_run(
        self,
        refinery: str,
        mix: Mapping[str, float],
        tonnes_t: float,
        month: str,
        days: float = 1.0,
    ) -> RunValue | None:
        """Value `tonnes_t` run over `days` days with `mix` ("origin|grade" → share, as a
        parcel's mix); None when the refinery is not valued. `by_crude` is keyed by mix key."""
        config = self._configs.get(refinery)
        if config is None:
            return None
        runs = {key: share * tonnes_t for key, share in mix.items()}
        for key in runs:
            if key not in self._grade_of_key:
                self._grade_of_key[key] = self._grades[split_mix_key(key)[1]]
        return value_runs(config, runs, self._grade_of_key, self.prices_usd_per_t(month), days)
