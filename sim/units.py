"""Unit conversions, in one place. Mass in t, time in days, money in USD."""

from __future__ import annotations

import datetime as dt

#: Tolerance for comparing tonnages that went through floating-point sums, t.
TONNES_TOLERANCE_T = 1e-6


def usd_per_bbl_to_usd_per_t(price_usd_per_bbl: float, bbl_per_t: float) -> float:
    """Price per tonne of a grade with `bbl_per_t` barrels in a tonne."""
    return price_usd_per_bbl * bbl_per_t


def rub_to_usd(amount_rub: float, rub_per_usd: float) -> float:
    return amount_rub / rub_per_usd


def bbl_per_t_from_api(api_gravity: float) -> float:
    """Barrels per tonne from API gravity: 1 / (0.158987 m³/bbl × SG)."""
    specific_gravity = 141.5 / (api_gravity + 131.5)
    return 1.0 / (0.158987 * specific_gravity)


def date_at(start: dt.date, time_days: float) -> dt.date:
    """Calendar date of a simulation time (days since the start date)."""
    return start + dt.timedelta(days=int(time_days))


def days_between(start: dt.date, later: dt.date) -> int:
    return (later - start).days


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def days_in_month(day: dt.date) -> int:
    first_next = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return (first_next - dt.date(day.year, day.month, 1)).days


def first_of_next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
