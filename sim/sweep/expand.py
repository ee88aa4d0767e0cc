"""From a sweep to its runs: lever points, each run's seed, its sampled values, its scenario.

A run is identified by (lever point, replication). Everything random about it derives from the
sweep seed and that identity, never from which worker runs it or when (sim.randomness: the
functions, and the text of the manifest's `seed_derivation`):

- the run's `SeedSequence` is replication r's of the sweep seed, the same at every lever point —
  common random numbers, so differences between points are the levers' effect, not sampling
  noise;
- the run's scenario seed (`scenario.seed`, from which the engine's own streams derive) is
  `derived_seed` of that sequence;
- each uncertainty draws from its own named stream of that sequence, so adding one never shifts
  another;
- the Latin-hypercube sample of the levers draws from a named stream of the sweep seed.

Continuous values are rounded to 6 decimals (the precision of result files) before they are
set, so runs.csv says exactly what ran.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.errors import ScenarioError
from sim.randomness import (
    LATIN_HYPERCUBE_STREAM,
    derived_seed,
    replication_seed_sequence,
    root_seed_sequence,
    stream,
    uncertainty_stream,
)
from sim.scenario.schema import Scenario
from sim.scenario.variants import scenario_sha256, set_values, with_values
from sim.sweep.loading import LoadedSweep
from sim.sweep.schema import Choice, Lever, LogNormal, Normal, SweepFile, Triangular, Uniform

#: Decimals kept of a continuous lever or sampled value (as in the result files).
DECIMALS = 6


def _round(value: float, integer: bool) -> float | int:
    return int(round(value)) if integer else round(float(value), DECIMALS) + 0.0


def range_values(lever: Lever) -> list[Any]:
    """`start`, `start + step`, ... up to `stop` (included when a step lands on it, to 1e-9)."""
    assert lever.start is not None and lever.stop is not None and lever.step is not None
    count = math.floor((lever.stop - lever.start) / lever.step + 1e-9) + 1
    whole = all(float(v).is_integer() for v in (lever.start, lever.stop, lever.step))
    out: list[Any] = []
    for i in range(count):
        value = lever.start + i * lever.step
        out.append(int(round(value)) if whole else _round(value, lever.integer))
    return out


def grid_values(lever: Lever) -> list[Any]:
    if lever.values is not None:
        return [
            _round(v, True) if lever.integer and isinstance(v, float) else v for v in lever.values
        ]
    return range_values(lever)


def latin_hypercube(spec: SweepFile, seed: int) -> list[tuple[Any, ...]]:
    """`sweep.samples` points over the low/high levers (one column each, in file order)."""
    sampled = spec.sampled_levers
    if not sampled:
        return [()]
    from scipy.stats import qmc  # imported here: only sweeps with such levers need it

    rng = stream(root_seed_sequence(seed), LATIN_HYPERCUBE_STREAM)
    try:
        engine = qmc.LatinHypercube(d=len(sampled), rng=rng)
    except TypeError:  # scipy < 1.15 names it `seed`
        engine = qmc.LatinHypercube(d=len(sampled), seed=rng)
    unit = engine.random(spec.sweep.samples or 1)
    rows = []
    for u in unit:
        row = []
        for (_, lever), x in zip(sampled.items(), u, strict=True):
            assert lever.low is not None and lever.high is not None
            row.append(_round(lever.low + float(x) * (lever.high - lever.low), lever.integer))
        rows.append(tuple(row))
    return rows


@dataclass(frozen=True)
class Point:
    """One lever point: its index and the value of every lever (in file order)."""

    index: int
    values: tuple[Any, ...]


def lever_points(spec: SweepFile) -> list[Point]:
    """Every lever point: the grid levers crossed in full (in file order, the last varying
    fastest), each combination with every Latin-hypercube sample. No levers: one point."""
    keys = list(spec.levers)
    grid_keys = list(spec.grid_levers)
    sampled_keys = list(spec.sampled_levers)
    grids = [grid_values(spec.levers[k]) for k in grid_keys]
    samples = latin_hypercube(spec, spec.sweep.seed)
    points = []
    for index, (combo, sample) in enumerate(itertools.product(itertools.product(*grids), samples)):
        by_key = dict(zip(grid_keys, combo, strict=True)) | dict(
            zip(sampled_keys, sample, strict=True)
        )
        points.append(Point(index, tuple(by_key[k] for k in keys)))
    return points


# ------------------------------------------------------------------ one run


def draw(item: Any, rng: np.random.Generator) -> Any:
    """One value of an uncertainty."""
    if isinstance(item, Choice):
        if item.weights is None:
            return item.values[int(rng.integers(len(item.values)))]
        p = np.asarray(item.weights, dtype=float)
        return item.values[int(rng.choice(len(item.values), p=p / p.sum()))]
    if isinstance(item, Normal):
        from scipy.special import ndtr, ndtri

        lo = 0.0 if item.low is None else float(ndtr((item.low - item.mean) / item.sd))
        hi = 1.0 if item.high is None else float(ndtr((item.high - item.mean) / item.sd))
        u = lo + rng.random() * (hi - lo)
        value = item.mean + item.sd * float(ndtri(u)) if 0 < u < 1 else item.mean
        if item.low is not None:
            value = max(value, item.low)
        if item.high is not None:
            value = min(value, item.high)
        return _round(value, item.integer)
    if isinstance(item, LogNormal):
        return _round(item.median * math.exp(item.sigma * rng.standard_normal()), item.integer)
    if isinstance(item, Uniform):
        return _round(rng.uniform(item.low, item.high), item.integer)
    if isinstance(item, Triangular):
        return _round(rng.triangular(item.low, item.mode, item.high), item.integer)
    raise TypeError(f"unknown uncertainty {item!r}")


@dataclass(frozen=True)
class SweepContext:
    """What a worker needs to run any run of the sweep (sent with every chunk of runs)."""

    name: str
    definition: str  # definition_sha256: identifies the sweep, for the worker's caches
    seed: int
    base_data: dict[str, Any]
    lever_keys: tuple[str, ...]
    uncertainties: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, sweep: LoadedSweep) -> SweepContext:
        return cls(
            name=sweep.name,
            definition=sweep.definition_sha256,
            seed=sweep.seed,
            base_data=sweep.base_data,
            lever_keys=tuple(sweep.spec.levers),
            uncertainties=tuple(sweep.spec.uncertainties.items()),
        )


@dataclass
class ResolvedRun:
    """A run's identity, seed, sampled values and scenario (or why it has none)."""

    point: int
    replication: int
    seed: int
    lever_values: tuple[Any, ...]
    sampled: tuple[Any, ...]
    key: str
    scenario: Scenario | None
    error: str


def run_key(scenario_hash: str, seed: int, point: int) -> str:
    """The run's key: a hash of its resolved scenario's sha256, its seed and its lever point
    (16 hex digits; the point keeps two points that resolve alike apart)."""
    return hashlib.sha256(f"{scenario_hash}:{seed}:{point}".encode()).hexdigest()[:16]


def error_text(exc: BaseException) -> str:
    """An exception as one line of text for runs.csv."""
    if isinstance(exc, ScenarioError):
        text = "invalid scenario: " + "; ".join(f"{p.key}: {p.message}" for p in exc.problems)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


def resolve(
    context: SweepContext, point: int, replication: int, lever_values: Sequence[Any]
) -> ResolvedRun:
    """The run's seed, sampled values, scenario and key. An invalid scenario is not raised:
    the run carries the error (its key then hashes the scenario data as set)."""
    sequence = replication_seed_sequence(context.seed, replication)
    seed = derived_seed(sequence)
    sampled = tuple(
        draw(item, stream(sequence, uncertainty_stream(key))) for key, item in context.uncertainties
    )
    values = dict(zip(context.lever_keys, lever_values, strict=True))
    values.update(zip((key for key, _ in context.uncertainties), sampled, strict=True))
    values.update({"scenario.seed": seed, "scenario.replications": 1})
    try:
        scenario = with_values(context.base_data, values, file=context.name)
    except ScenarioError as exc:
        data = set_values(context.base_data, values)
        text = json.dumps(data, sort_keys=True, default=str)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return ResolvedRun(
            point,
            replication,
            seed,
            tuple(lever_values),
            sampled,
            run_key(digest, seed, point),
            None,
            error_text(exc),
        )
    return ResolvedRun(
        point,
        replication,
        seed,
        tuple(lever_values),
        sampled,
        run_key(scenario_sha256(scenario), seed, point),
        scenario,
        "",
    )
