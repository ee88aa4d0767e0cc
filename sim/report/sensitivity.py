"""Which inputs of a sweep drive a KPI: partial rank correlation (PRCC) with bootstrap 95 %
confidence intervals, computed from runs.csv with numpy only.

For each input x_i and KPI y, over the successful runs: every input and the KPI are replaced by
their ranks (ties share the average rank); the PRCC of x_i is the correlation between what is
left of rank(x_i) and of rank(y) once the ranks of all the other inputs are regressed out. It
measures a monotone effect of x_i with the others held fixed, so a minor input that happens to
be correlated with a major one in a small sample is not credited with the major one's effect
(a one-at-a-time low-against-high comparison is). The 95 % interval is the 2.5 % and 97.5 %
percentile of the PRCC over BOOTSTRAP resamples of the runs (drawn with replacement, from a
fixed seed, so the same folder gives the same numbers). An interval that includes zero means the
input's effect is not distinguishable from zero with these runs.

The ranking needs enough runs: at least MIN_RUNS_PER_INPUT per input and MIN_RUNS in all
(`minimum_runs`); below that `too_few_runs` gives the warning the report shows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Bootstrap resamples for the confidence interval, and the seed they are drawn from.
BOOTSTRAP = 1000
SEED = 20190101
#: The smallest sample whose ranking the report trusts.
MIN_RUNS_PER_INPUT = 10
MIN_RUNS = 50
METHOD = (
    "partial rank correlation coefficient (PRCC) of each input with the KPI over the successful "
    f"runs, with a 95 % bootstrap confidence interval ({BOOTSTRAP:,} resamples of the runs)"
)


@dataclass(frozen=True)
class Driver:
    """One input's PRCC with a KPI and its bootstrap 95 % interval."""

    key: str
    kind: str  # lever or uncertainty
    prcc: float
    low: float
    high: float

    @property
    def distinguishable(self) -> bool:
        """True when the 95 % interval excludes zero."""
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            return False
        return self.low > 0 or self.high < 0


def minimum_runs(inputs: int) -> int:
    """The fewest successful runs for ranking this many inputs."""
    return max(MIN_RUNS, MIN_RUNS_PER_INPUT * inputs)


def too_few_runs(runs: int, inputs: int) -> str | None:
    """The warning for a sample too small to rank drivers, or None when it is large enough."""
    needed = minimum_runs(inputs)
    if runs >= needed:
        return None
    return (
        f"too few runs to rank drivers: {runs:,} runs for {inputs} inputs; at least "
        f"{needed:,} needed ({MIN_RUNS_PER_INPUT} per input and {MIN_RUNS} in all)"
    )


def encode(values: Sequence[Any]) -> np.ndarray | None:
    """An input's values as numbers with their order: numbers as they are, yes/no as 0/1, ISO
    dates by their order; None for names (no order to correlate) or fewer than two values."""
    if all(isinstance(v, float) and math.isfinite(v) for v in values):
        out = np.array(values, dtype=float)
    else:
        texts = [str(v).lower() for v in values]
        if set(texts) <= {"true", "false"}:
            out = np.array([t == "true" for t in texts], dtype=float)
        elif all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", t) for t in texts):
            order = {d: i for i, d in enumerate(sorted(set(texts)))}
            out = np.array([order[t] for t in texts], dtype=float)
        else:
            return None
    if len(np.unique(out)) < 2:
        return None
    return out


def ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing the average of the ranks they span."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + 1 + ends) / 2.0)[inverse.ravel()]


def prcc(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """PRCC of each column of x (runs × inputs) with y, from the inverse of the rank
    correlation matrix; NaN where it is undefined (a constant column, a singular matrix)."""
    k = x.shape[1]
    data = np.column_stack([*(ranks(x[:, i]) for i in range(k)), ranks(y)])
    with np.errstate(invalid="ignore", divide="ignore"):
        if np.any(np.std(data, axis=0) == 0):
            return np.full(k, np.nan)
        corr = np.corrcoef(data, rowvar=False)
        try:
            p = np.linalg.inv(corr)
        except np.linalg.LinAlgError:
            return np.full(k, np.nan)
        out = -p[:k, k] / np.sqrt(p[np.arange(k), np.arange(k)] * p[k, k])
    return np.clip(np.where(np.isfinite(out), out, np.nan), -1.0, 1.0)


def drivers(
    runs: Sequence[dict[str, Any]], inputs: Sequence[tuple[str, str]], kpi: str
) -> list[Driver]:
    """The PRCC and 95 % interval of every orderable, varying input (key, kind) with the KPI,
    over the runs whose KPI is a finite number; strongest first (by |PRCC|)."""
    used = [r for r in runs if isinstance(r.get(kpi), float) and math.isfinite(r[kpi])]
    columns, kept = [], []
    for key, kind in inputs:
        encoded = encode([r[key] for r in used]) if used else None
        if encoded is not None:
            columns.append(encoded)
            kept.append((key, kind))
    n, k = len(used), len(kept)
    if k == 0 or n < k + 3:  # no degrees of freedom left for a partial correlation
        return []
    x = np.column_stack(columns)
    y = np.array([r[kpi] for r in used], dtype=float)
    point = prcc(x, y)
    rng = np.random.default_rng(SEED)
    samples = np.empty((BOOTSTRAP, k))
    for b in range(BOOTSTRAP):
        index = rng.integers(0, n, n)
        samples[b] = prcc(x[index], y[index])
    out = []
    for i, (key, kind) in enumerate(kept):
        column = samples[:, i][np.isfinite(samples[:, i])]
        if len(column) >= BOOTSTRAP // 2:  # most resamples defined it: an interval to trust
            low, high = (float(v) for v in np.percentile(column, [2.5, 97.5]))
        else:
            low = high = math.nan
        out.append(Driver(key, kind, float(point[i]), low, high))
    out.sort(key=lambda d: -abs(d.prcc) if math.isfinite(d.prcc) else 0.0)
    return out


def ranked_inputs(runs: Sequence[dict[str, Any]], inputs: Sequence[tuple[str, str]]) -> int:
    """How many of the inputs can be ranked (orderable and varying over the runs)."""
    return sum(1 for key, _ in inputs if runs and encode([r[key] for r in runs]) is not None)
