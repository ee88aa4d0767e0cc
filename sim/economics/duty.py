"""The Russian crude export duty, which Russian crude sold to Belarus inside the EAEU does not pay.

Belarus bought Russian crude at roughly the export netback: the world price less this duty, plus a
premium (ref §5). The duty of a month is, in order of precedence:

1. the published duty of that month, when the scenario gives it;
2. with the tax-manoeuvre formula switched on, the formula of the top price bracket,
       duty = k × (29.2 + 0.30 × (P − 182.5))  USD/t,
   P the Urals price in USD/t and k the manoeuvre's coefficient of the year (5/6 in 2019 down to
   0 from 2024). The Tax Code gives this only for P above 365 USD/t; below it other brackets
   apply, so scenarios give the published duties of such months (the checks refuse a month the
   formula would have to cover below the bracket). Reproduces Dec 2019 (P 447.7 → 90.6) and Jan
   2020 (P 471.2 → 77.2);
3. a constant default.

P is the benchmark price of the month itself. The Tax Code computes month M's duty from the
Urals price of the monitoring period (15th of M−2 to 14th of M−1); with a flat or annual-average
price series that makes no difference, with monthly prices the formula leads the published duty
by about 1.5 months, which is why published months take precedence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

#: Lower edge of the formula's price bracket, USD/t: the formula holds for P above it.
TOP_BRACKET_FLOOR_USD_PER_T = 365.0
#: The Russian monitoring price converts USD/bbl to USD/t at 7.3 bbl/t (MinFin's convention for
#: Urals: 61.33 USD/bbl is reported as 447.7 USD/t; G). The grade's own 7.25 bbl/t would put P
#: 0.7 % lower and the duty ≈ 0.4 USD/t lower.
MONITORING_BBL_PER_T = 7.3

#: k, the share of the pre-2019 top-bracket duty left in each year of the tax manoeuvre.
_K_BY_YEAR = {
    2019: Fraction(5, 6),
    2020: Fraction(4, 6),
    2021: Fraction(3, 6),
    2022: Fraction(2, 6),
    2023: Fraction(1, 6),
}
FIRST_MANOEUVRE_YEAR = 2019
LAST_MANOEUVRE_YEAR = 2024


def manoeuvre_k(year: int) -> float:
    """The tax manoeuvre's coefficient k for a calendar year: 5/6 (2019) … 1/6 (2023), 0 (2024+)."""
    if year < FIRST_MANOEUVRE_YEAR:
        raise ValueError(f"the tax-manoeuvre coefficient is defined from 2019, not for {year}")
    return float(_K_BY_YEAR.get(year, 0))


def formula_duty_usd_per_t(urals_usd_per_t: float, k: float) -> float:
    """Export duty by the top-bracket formula, k × (29.2 + 0.30 × (P − 182.5)), USD/t (≥ 0).

    Exact in the top bracket (P > 365 USD/t); below it the result extrapolates the formula (used
    only when a price shock pushes P there during a run; the checks keep scenarios out of it).
    """
    return max(0.0, k * (29.2 + 0.30 * (urals_usd_per_t - 182.5)))


def month_year(month: str) -> int:
    """Year of a `YYYY-MM` month key."""
    return int(month[:4])


@dataclass(frozen=True)
class ExportDutyRule:
    """A contract's export duty, compiled: published months, formula or default (see above)."""

    default_usd_per_t: float = 0.0
    monthly_usd_per_t: Mapping[str, float] = field(default_factory=dict)
    formula: bool = False
    #: k for every month; None: by the month's year.
    k: float | None = None
    #: Converts the benchmark (USD/bbl) to P (USD/t).
    bbl_per_t: float = MONITORING_BBL_PER_T

    def usd_per_t(self, benchmark_usd_per_bbl: float, month: str) -> float:
        """Duty not paid on a tonne bought in `month` (`YYYY-MM`) at this benchmark, USD/t."""
        published = self.monthly_usd_per_t.get(month)
        if published is not None:
            return published
        if self.formula:
            k = self.k if self.k is not None else manoeuvre_k(month_year(month))
            return formula_duty_usd_per_t(benchmark_usd_per_bbl * self.bbl_per_t, k)
        return self.default_usd_per_t

    @property
    def is_zero(self) -> bool:
        """True when no month can carry a duty."""
        return (
            not self.formula
            and self.default_usd_per_t == 0.0
            and not any(self.monthly_usd_per_t.values())
        )


NO_DUTY = ExportDutyRule()
