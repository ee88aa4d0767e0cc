"""Summary statistics of replications: mean, spread, confidence interval, percentiles."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np


def _t_quantile(dof: int) -> float:
    """Student t 0.975 quantile (imported lazily: scipy.stats costs ~0.3 s to import)."""
    from scipy.stats import t

    return float(t.ppf(0.975, dof))


def mean_ci(values: Iterable[float]) -> tuple[int, float, float, float, float]:
    """`(n, mean, sd, low, high)` of the values, NaNs left out; low–high is the 95 % CI.

    sd is the sample standard deviation (n − 1); the interval is mean ± t(0.975, n − 1) · sd / √n,
    of half-width 0 when n = 1 or sd = 0. With no values left: n = 0 and NaN for the rest.
    """
    xs = [float(v) for v in values if not math.isnan(v)]
    n = len(xs)
    if n == 0:
        nan = float("nan")
        return 0, nan, nan, nan, nan
    if all(x == xs[0] for x in xs):  # exact: no rounding noise around identical values
        return n, xs[0], 0.0, xs[0], xs[0]
    mean = math.fsum(xs) / n
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    half = _t_quantile(n - 1) * sd / math.sqrt(n) if sd > 0 else 0.0
    return n, mean, sd, mean - half, mean + half


def describe(values: Iterable[float]) -> dict[str, float]:
    """n, mean, sd, 95 % CI of the mean, and the 5th, 50th and 95th percentiles (NaNs left out).

    Percentiles are numpy's default (linear interpolation between order statistics).
    """
    xs = [float(v) for v in values if not math.isnan(v)]
    n, mean, sd, low, high = mean_ci(xs)
    if n:
        p5, p50, p95 = (float(v) for v in np.percentile(xs, [5, 50, 95]))
    else:
        p5 = p50 = p95 = float("nan")
    return {
        "n": n,
        "mean": mean,
        "sd": sd,
        "ci95_low": low,
        "ci95_high": high,
        "p5": p5,
        "p50": p50,
        "p95": p95,
    }
