"""How the report writes numbers: each KPI with its label and unit, at a readable scale.

The same functions format the headline numbers in report.html and the tests' expectations, so
a test can read a CSV, format its value here and look for the text in the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim import registry


@dataclass(frozen=True)
class Measure:
    """A KPI: its label for people, its unit (as in docs/results.md) and which way is better."""

    label: str
    unit: str
    better: str = ""  # "lower", "higher" or "" (neither)


#: Headline numbers of a run (when the column has a value): from the results registry.
RUN_HEADLINE: tuple[str, ...] = registry.RUN_HEADLINE


def in_sentence(label: str) -> str:
    """A label inside a sentence: its first letter lower case, the rest as written (names such
    as Belarus keep their capital)."""
    return label[:1].lower() + label[1:]


def measure(kpi: str) -> Measure:
    """The KPI's label, unit and better-when, from the results registry; a column the registry
    does not know (a lever, say) is shown under its own name, with the unit its suffix says."""
    try:
        column = registry.kpi(kpi)
    except KeyError:
        unit = next((u for suffix, u in UNIT_SUFFIXES if kpi.endswith(suffix)), "")
        return Measure(kpi, unit)
    return Measure(column.label or kpi, column.unit, str(column.better))


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


#: Unit words at the end of an input key, as people write them (`_t_per_day`: t/day).
UNIT_WORDS: dict[str, str] = {
    "t": "t",
    "kt": "kt",
    "usd": "USD",
    "bbl": "bbl",
    "day": "day",
    "days": "days",
    "month": "month",
    "year": "yr",
    "hours": "h",
    "km": "km",
    "pct": "%",
}
#: The noun for a section whose key ends in a unit only (`prices.brent.usd_per_bbl`).
SECTION_NOUNS: dict[str, str] = {"prices": "price"}


def _split_unit(field: str) -> tuple[str, str]:
    """`capacity_t_per_day` -> (`capacity`, `t/day`); `route` -> (`route`, ``)."""
    words = field.split("_")
    for size in (3, 1):
        tail = words[-size:] if len(words) >= size else []
        if size == 3 and len(tail) == 3 and tail[1] == "per":
            if tail[0] in UNIT_WORDS and tail[2] in UNIT_WORDS:
                unit = f"{UNIT_WORDS[tail[0]]}/{UNIT_WORDS[tail[2]]}"
                return "_".join(words[:-3]), unit
        if size == 1 and tail and tail[0] in UNIT_WORDS and len(words) > 1:
            return "_".join(words[:-1]), UNIT_WORDS[tail[0]]
    return field, ""


def input_label(key: str) -> str:
    """A lever's or uncertainty's dotted key, or a KPI column, as people read it:
    `links.unecha_mozyr.capacity_t_per_day` -> `unecha_mozyr capacity (t/day)`,
    `prices.brent.usd_per_bbl` -> `brent price (USD/bbl)`, a KPI by its registry label."""
    try:
        column = registry.kpi(key)
    except KeyError:
        column = None
    if column is not None and column.label:
        return column.label
    parts = key.split(".")
    if len(parts) < 2:
        name, unit = _split_unit(key)
        return f"{name.replace('_', ' ')} ({unit})" if unit else key.replace("_", " ")
    section, middle, field = parts[0], parts[1:-1], parts[-1]
    name, unit = _split_unit(field)
    if field in UNIT_WORDS:  # the whole field is a unit
        name, unit = "", UNIT_WORDS[field]
    noun = name.replace("_", " ") or SECTION_NOUNS.get(section, "")
    text = " ".join(p for p in (*middle, noun) if p) or key
    return f"{text} ({unit})" if unit else text


def decimals_for(unit: str, magnitude: float) -> int:
    """Decimals for every number of one chart whose largest scaled absolute value is
    `magnitude`: one precision for the whole chart."""
    return _digits(unit, magnitude if math.isfinite(magnitude) else 0.0)
