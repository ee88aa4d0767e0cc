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
