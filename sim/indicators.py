"""Security-of-supply indicators (formulas from the reference file, §7)."""

from __future__ import annotations

import math
from collections.abc import Mapping


def shares(amounts: Mapping[str, float]) -> dict[str, float]:
    """Each key's share of the positive total (fractions summing to 1); empty if none."""
    total = sum(v for v in amounts.values() if v > 0)
    if total <= 0:
        return {}
    return {k: v / total for k, v in amounts.items() if v > 0}


def hhi(amounts: Mapping[str, float]) -> float:
    """Herfindahl–Hirschman index on the 0–10,000 scale: Σ (100 · s_i)².

    Above 2,500 is "highly concentrated" (US DOJ/FTC 2010); one supplier gives 10,000.
    NaN when nothing was supplied.
    """
    s = shares(amounts)
    if not s:
        return float("nan")
    return sum((100.0 * x) ** 2 for x in s.values())


def shannon(amounts: Mapping[str, float]) -> float:
    """Shannon–Wiener diversity H = −Σ s_i ln s_i (0 for a single supplier)."""
    s = shares(amounts)
    if not s:
        return float("nan")
    return -sum(x * math.log(x) for x in s.values())
