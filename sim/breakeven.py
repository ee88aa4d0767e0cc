"""Break-even Russian price: the premium on Russian crude at which a strategy's net value to
Belarus equals the status quo's.

Net value (summary.csv `net_value_usd`: refining margin less margin lost to run cuts) falls
as Russian crude gets dearer, and falls faster for the scenario that buys more of it. The
break-even premium p* is where strategy and base are worth the same: above it the strategy is
worth more. A premium of +x USD/t on Russian crude is the same, for Belarus, as an export-duty
discount smaller by x (Belarus pays Urals − duty + premium), so p* also reads as "how much of
the duty exemption can go before the strategy pays".

The difference is close to linear in the premium (prices do not change the physics), so p* is
found by the secant method and then checked by a direct run at p*; further secant steps are
taken until the check holds within the tolerance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sim.runner import simulate
from sim.scenario.schema import Scenario
from sim.scenario.variants import with_values

#: Origin of the crude whose price moves.
RUSSIA = "russia"


@dataclass(frozen=True)
class BreakEven:
    """One strategy against the base at one set of overrides (e.g. refinery configurations)."""

    strategy: str
    #: Net values at the premiums as declared, USD.
    base_net_value_usd: float
    strategy_net_value_usd: float
    #: Extra premium on Russian crude (both scenarios) at which the two are worth the same,
    #: USD/t; NaN when there is none within the search (the difference does not move).
    breakeven_premium_usd_per_t: float
    #: Strategy − base net value in a direct run at that premium, USD (the check).
    check_difference_usd: float
    #: Russian crude bought by each, t (why the difference moves with the premium).
    base_russian_t: float
    strategy_russian_t: float
    runs: int


def russian_premiums(scenario: Scenario) -> dict[str, float]:
    """The premium of every contract of Russian crude that has a price, USD/t."""
    return {
        name: c.price.premium_usd_per_t
        for name, c in scenario.contracts.items()
        if c.origin == RUSSIA and c.price is not None
    }


def with_extra_premium(scenario: Scenario, extra_usd_per_t: float) -> Scenario:
    """`scenario` with `extra_usd_per_t` added to the premium of all its Russian crude."""
    values = {
        f"contracts.{name}.price.premium_usd_per_t": round(premium + extra_usd_per_t, 6)
        for name, premium in russian_premiums(scenario).items()
    }
    return with_values(scenario, values) if values else scenario


def net_value_usd(scenario: Scenario) -> tuple[float, float]:
    """Net value to Belarus of one replication (mean if several), and its Russian tonnes."""
    result = simulate(scenario, daily="none")
    reps = result.replications
    value = sum(r.summary["net_value_usd"] for r in reps) / len(reps)
    russian = sum(
        row["shipped_t"] for r in reps for row in r.contracts if row["origin"] == RUSSIA
    ) / len(reps)
    return value, russian


def breakeven(
    base: Scenario,
    strategy: Scenario,
    tolerance_usd: float = 1e5,
    max_runs: int = 12,
    evaluate: Callable[[Scenario], tuple[float, float]] = net_value_usd,
) -> BreakEven:
    """The extra Russian premium at which `strategy` and `base` have equal net value."""
    runs = 0

    def difference(extra: float) -> tuple[float, float, float, float, float]:
        """Strategy − base net value at an extra premium, both values, both Russian tonnes."""
        nonlocal runs
        runs += 2
        b, b_ru = evaluate(with_extra_premium(base, extra))
        s, s_ru = evaluate(with_extra_premium(strategy, extra))
        return s - b, b, s, b_ru, s_ru

    d0, base_value, strategy_value, base_ru, strategy_ru = difference(0.0)
    x0, x1 = 0.0, 100.0
    d1 = difference(x1)[0]
    check = float("nan")
    root = float("nan")
    while runs < max_runs and d1 != d0:
        root = x1 - d1 * (x1 - x0) / (d1 - d0)
        check = difference(root)[0]
        if abs(check) <= tolerance_usd:
            break
        x0, d0, x1, d1 = x1, d1, root, check
    return BreakEven(
        strategy=strategy.scenario.name,
        base_net_value_usd=base_value,
        strategy_net_value_usd=strategy_value,
        breakeven_premium_usd_per_t=root,
        check_difference_usd=check,
        base_russian_t=base_ru,
        strategy_russian_t=strategy_ru,
        runs=runs,
    )


def row(result: BreakEven, extra: Mapping[str, Any]) -> dict[str, Any]:
    """A breakeven.csv row."""
    return {
        **extra,
        "strategy": result.strategy,
        "base_net_value_usd": result.base_net_value_usd,
        "strategy_net_value_usd": result.strategy_net_value_usd,
        "difference_usd": result.strategy_net_value_usd - result.base_net_value_usd,
        "base_russian_t": result.base_russian_t,
        "strategy_russian_t": result.strategy_russian_t,
        "breakeven_premium_usd_per_t": result.breakeven_premium_usd_per_t,
        "check_difference_usd": result.check_difference_usd,
    }
