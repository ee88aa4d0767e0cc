"""Summary statistics of replications: mean, spread, confidence interval, percentiles."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping
from typing import Any

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


class KpiValues:
    """Each KPI's value per replication, in replication order, as 8-byte floats: what the
    statistics over replications need (summary_stats.csv, a run to a target precision), in
    8 bytes per KPI and replication where the summary row they come from, a dict, takes ≈ 5 KB.
    """

    def __init__(self, kpis: Iterable[str]):
        self.values: dict[str, array] = {kpi: array("d") for kpi in kpis}

    def add(self, row: Mapping[str, Any]) -> None:
        """Take one replication's KPIs from its summary row."""
        for kpi, values in self.values.items():
            values.append(row[kpi])

    def __len__(self) -> int:
        return len(next(iter(self.values.values()), ()))

    def __getitem__(self, kpi: str) -> array:
        return self.values[kpi]

    def mean(self, kpi: str) -> float:
        """Plain mean over the replications, NaN included (as summing the rows would)."""
        values = self.values[kpi]
        return sum(values) / len(values)

    def half_width(self, kpi: str) -> float:
        """Half-width of the 95 % confidence interval of the KPI's mean (`mean_ci`)."""
        _, _, _, low, high = mean_ci(self.values[kpi])
        return (high - low) / 2

    def describe(self) -> list[dict[str, Any]]:
        """One row per KPI, in order: `{"kpi": name, **describe(values)}` (summary_stats.csv)."""
        return [{"kpi": kpi, **describe(values)} for kpi, values in self.values.items()]
