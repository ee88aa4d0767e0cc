"""How the report writes numbers: each KPI with its label and unit, at a readable scale.

The same functions format the headline numbers in report.html and the tests' expectations, so
a test can read a CSV, format its value here and look for the text in the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    """A KPI: its label for people, its unit (as in docs/results.md) and which way is better."""

    label: str
    unit: str
    better: str = ""  # "lower", "higher" or "" (neither)


#: The summary.csv columns the report shows, in the order it shows them.
MEASURES: dict[str, Measure] = {
    "refinery_intake_t": Measure("Crude received by the refineries", "t", "higher"),
    "runs_t": Measure("Crude run", "t", "higher"),
    "unserved_t": Measure("Planned runs not made (unserved)", "t", "lower"),
    "run_cut_days": Measure("Refinery-days with runs cut", "days", "lower"),
    "min_days_cover": Measure("Lowest stock, in days of runs", "days", "higher"),
    "landed_cost_usd_per_t": Measure("Landed cost", "USD/t", "lower"),
    # Total cost falls when less crude arrives: not better by itself (landed cost is per tonne).
    "supply_cost_usd": Measure("Supply cost", "USD"),
    "lost_margin_usd": Measure("Margin lost to run cuts", "USD", "lower"),
    "supplier_hhi": Measure("Supplier concentration (HHI)", "index", "lower"),
    "supplier_shannon": Measure("Supplier diversity (Shannon)", "index", "higher"),
    "cargoes_bought": Measure("Cargoes bought", "count"),
    "trade_balance_usd_per_year": Measure("Trade balance with the partner", "USD/yr", "higher"),
}

#: Headline numbers of a run (when the column has a value).
RUN_HEADLINE: tuple[str, ...] = (
    "refinery_intake_t",
    "unserved_t",
    "run_cut_days",
    "min_days_cover",
    "landed_cost_usd_per_t",
    "supply_cost_usd",
    "lost_margin_usd",
    "supplier_hhi",
    "cargoes_bought",
    "trade_balance_usd_per_year",
)


def measure(kpi: str) -> Measure:
    """The KPI's label and unit; an unknown column is shown under its own name."""
    if kpi in MEASURES:
        return MEASURES[kpi]
    unit = next(
        (u for suffix, u in UNIT_SUFFIXES if kpi.endswith(suffix)),
        "",
    )
    return Measure(kpi, unit)


UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_usd_per_t", "USD/t"),
    ("_usd_per_year", "USD/yr"),
    ("_usd", "USD"),
    ("_t", "t"),
    ("_days", "days"),
)


@dataclass(frozen=True)
class Scale:
    """Divide values by `divisor` and write `unit` after them (e.g. tonnes as Mt)."""

    divisor: float
    unit: str


def scale_for(unit: str, magnitude: float) -> Scale:
    """A readable scale for values of this unit whose largest absolute value is `magnitude`."""
    m = abs(magnitude) if math.isfinite(magnitude) else 0.0
    if unit == "t":
        if m >= 1e6:
            return Scale(1e6, "Mt")
        if m >= 1e3:
            return Scale(1e3, "kt")
        return Scale(1.0, "t")
    if unit in ("USD", "USD/yr"):
        per = "/yr" if unit == "USD/yr" else ""
        if m >= 1e9:
            return Scale(1e9, f"bn USD{per}")
        if m >= 1e6:
            return Scale(1e6, f"m USD{per}")
        if m >= 1e3:
            return Scale(1e3, f"k USD{per}")
        return Scale(1.0, unit)
    return Scale(1.0, unit)


def _digits(unit: str, scaled: float) -> int:
    """Decimals for a scaled value: about four significant figures, fewer for counts."""
    if unit in ("count", "index"):
        return 0
    m = abs(scaled)
    if unit == "USD/t":
        return 2
    if m >= 1000:
        return 0
    if m >= 100:
        return 1
    return 2


def format_number(value: float, unit: str, scale: Scale | None = None) -> str:
    """`value` in `unit`, e.g. `17.13 Mt`, `108.1 kt`, `491.34 USD/t`, `8.42 bn USD`; NaN: n/a."""
    if value is None or not math.isfinite(value):
        return "n/a"
    scale = scale or scale_for(unit, value)
    scaled = value / scale.divisor
    if unit == "index" and abs(scaled) < 100:  # Shannon: small, HHI: up to 10,000
        text = f"{scaled:,.2f}"
    else:
        text = f"{scaled:,.{_digits(unit, scaled)}f}"
    if text.startswith("-"):
        text = "−" + text[1:]
        if text.strip("−0.,") == "":  # -0.00 after rounding
            text = text[1:]
    suffix = "" if scale.unit in ("index", "count", "") else f" {scale.unit}"
    return text + suffix


def format_kpi(kpi: str, value: float) -> str:
    """A KPI value as the report writes it."""
    return format_number(value, measure(kpi).unit)


def format_interval(kpi: str, value: float, low: float, high: float) -> str:
    """`value ± half-width` of a 95 % interval, both at the value's scale (half-width 0: value)."""
    unit = measure(kpi).unit
    if not math.isfinite(value):
        return "n/a"
    half = (high - low) / 2 if math.isfinite(low) and math.isfinite(high) else 0.0
    scale = scale_for(unit, max(abs(value), abs(half)))
    text = format_number(value, unit, scale)
    if half <= 0:
        return text
    number, _, suffix = text.partition(" ")
    half_text = format_number(half, unit, scale).partition(" ")[0]
    return f"{number} ± {half_text}" + (f" {suffix}" if suffix else "")


def signed(text: str) -> str:
    """A formatted difference with its sign: `+108.1 kt`, `−14.43 days`, `0.00 days`."""
    head = text.split(" ")[0]
    if text.startswith(("−", "n/a")) or head.strip("0.,") == "":
        return text
    return "+" + text
