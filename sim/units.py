"""Unit conversions, in one place. Mass in t, time in days, money in USD."""

from __future__ import annotations

import datetime as dt

#: Tolerance for comparing tonnages that went through floating-point sums, t.
TONNES_TOLERANCE_T = 1e-6


def usd_per_bbl_to_usd_per_t(price_usd_per_bbl: float, bbl_per_t: float) -> float:
    """Price per tonne of a grade with `bbl_per_t` barrels in a tonne."""
    return price_usd_per_bbl * bbl_per_t


def date_at(start: dt.date, time_days: float) -> dt.date:
    """Calendar date of a simulation time (days since the start date)."""
    return start + dt.timedelta(days=int(time_days))


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def days_in_month(day: dt.date) -> int:
    first_next = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return (first_next - dt.date(day.year, day.month, 1)).days


def first_of_next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


#: Cubic metres in one barrel.
M3_PER_BBL = 0.158987


def specific_gravity_from_api(api_gravity: float) -> float:
    """Specific gravity (60 °F) of a crude of this API gravity: 141.5 ÷ (API + 131.5)."""
    return 141.5 / (api_gravity + 131.5)


def api_from_specific_gravity(specific_gravity: float) -> float:
    """API gravity, degrees, of a crude of this specific gravity: 141.5 ÷ SG − 131.5."""
    return 141.5 / specific_gravity - 131.5


def specific_gravity_from_bbl_per_t(bbl_per_t: float) -> float:
    """Specific gravity of a crude with `bbl_per_t` barrels in a tonne: 1 ÷ (0.158987 × bbl/t)."""
    return 1.0 / (M3_PER_BBL * bbl_per_t)
