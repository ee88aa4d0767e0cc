"""The sweep file schema: frozen, closed pydantic models, each field declared once with meaning.

A sweep names a base scenario, the **levers** to vary (policy choices: lists of values, ranges
with a step, or a Latin-hypercube sample between bounds) and the **uncertainties** to sample
afresh in every replication (distributions over dotted keys of the scenario), the number of
replications per lever point and a seed. docs/sweeps.md is generated from these models
(`python -m sim.sweep.docs`), so the reference never drifts from what is validated.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.scenario.schema import PATH_NAME_PATTERN, check_magnitude

#: A value a lever or a discrete uncertainty may set: whatever a TOML scalar can be.
Scalar = bool | int | float | str | dt.date
#: Most runs a sweep may have (lever points × replications), and so most values of one lever.
MAX_RUNS = 1_000_000


class Spec(BaseModel):
    """Base of every sweep section: unknown keys are errors, values are immutable, numbers are
    finite and within ±1e12 (as in a scenario)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, allow_inf_nan=False)

    _magnitude = field_validator("*", mode="after")(check_magnitude)


class SweepSettings(Spec):
    """What is swept, from which scenario, how many times, from which seed."""

    name: str = Field(
        pattern=PATH_NAME_PATTERN,
        description="Sweep name; names the result folder `<out>/<name>/` (letters, digits, "
        "`_.-`, not starting with `.`, at most 64 characters).",
    )
    description: str = Field("", description="What the sweep asks, in a sentence.")
    base: str = Field(
        min_length=1,
        description="Base scenario file, as a path relative to the sweep file "
        '(e.g. `"../kazakh_via_russia.toml"`); its `extends` chain is followed as usual.',
    )
    replications: int = Field(
        ge=1,
        description="Runs per lever point; each draws its own uncertainties and random streams "
        "(`--replications` overrides it).",
    )
    seed: int = Field(
        ge=0,
        description="Root seed: the Latin-hypercube sample, every run's seed and every sampled "
        "value derive from it and the run's identity (lever point, replication).",
    )
    samples: int | None = Field(
        None,
        ge=1,
        description="Points of the Latin-hypercube sample over the levers given as `low`/`high`; "
        "required when there are such levers, otherwise not allowed.",
    )


class Lever(Spec):
    """A policy choice varied over lever points. Give exactly one form: `values`; or `start`,
    `stop` and `step`; or `low` and `high` (sampled by a Latin hypercube with the sweep's other
    `low`/`high` levers, `sweep.samples` points)."""

    values: list[Scalar] | None = Field(
        None,
        min_length=1,
        description="The values to try, in order (numbers, strings, booleans or dates); "
        "no value twice.",
    )
    start: float | None = Field(None, description="Range: first value.")
    stop: float | None = Field(
        None, description="Range: last value, included when the steps land on it (to 1e-9)."
    )
    step: float | None = Field(
        None, gt=0, description="Range: step, at least 1e-6 (the precision results are kept to)."
    )
    low: float | None = Field(None, description="Latin hypercube: lower bound.")
    high: float | None = Field(None, description="Latin hypercube: upper bound (above `low`).")
    integer: bool = Field(
        False,
        description="Round each value to a whole number (for integer keys, e.g. berths); "
        "ranges of whole numbers are whole anyway.",
    )

    @model_validator(mode="after")
    def _one_form(self) -> Lever:  # noqa: C901 — one case per lever form
        forms = {
            "values": self.values is not None,
            "start/stop/step": any(v is not None for v in (self.start, self.stop, self.step)),
            "low/high": self.low is not None or self.high is not None,
        }
        given = [name for name, present in forms.items() if present]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of: values; start, stop and step; low and high"
                + (f" (got {' and '.join(given)})" if given else "")
            )
        if forms["start/stop/step"]:
            missing = [k for k in ("start", "stop", "step") if getattr(self, k) is None]
            if missing:
                raise ValueError(
                    f"a range needs start, stop and step (missing {', '.join(missing)})"
                )
            assert self.start is not None and self.stop is not None and self.step is not None
            if self.stop < self.start:
                raise ValueError(f"stop {self.stop} is below start {self.start}")
            if self.step < 1e-6:
                raise ValueError(f"step {self.step} is below 1e-6")
            count = math.floor((self.stop - self.start) / self.step + 1e-9) + 1
            if count > MAX_RUNS:
                raise ValueError(f"the range has {count:,} values; at most {MAX_RUNS:,}")
        if forms["low/high"]:
            if self.low is None or self.high is None:
                raise ValueError("a Latin-hypercube lever needs both low and high")
            if not self.high > self.low:
                raise ValueError(f"high {self.high} must be above low {self.low}")
        if self.values is not None:
            seen: list[Any] = []
            for value in self.values:
                if any(type(value) is type(s) and value == s for s in seen):
                    raise ValueError(f"value {value!r} is given twice")
                seen.append(value)
        return self

    @property
    def sampled(self) -> bool:
        """True for a Latin-hypercube lever (`low`/`high`)."""
        return self.low is not None


def _integer() -> Any:
    return Field(False, description="Round each draw to a whole number (for integer keys).")


class Normal(Spec):
    """Normal distribution, optionally truncated to [`low`, `high`] (drawn by inverse CDF)."""

    distribution: Literal["normal"]
    mean: float = Field(description="Mean, in the key's unit.")
    sd: float = Field(gt=0, description="Standard deviation, in the key's unit.")
    low: float | None = Field(None, description="Truncate below this value (optional).")
    high: float | None = Field(None, description="Truncate above this value (optional).")
    integer: bool = _integer()

    @model_validator(mode="after")
    def _bounds(self) -> Normal:
        if self.low is not None and self.high is not None and not self.high > self.low:
            raise ValueError(f"high {self.high} must be above low {self.low}")
        # Truncation must keep some probability: within 8 sd of the mean.
        if self.low is not None and (self.low - self.mean) / self.sd > 8:
            raise ValueError(f"low {self.low} is more than 8 sd above the mean")
        if self.high is not None and (self.mean - self.high) / self.sd > 8:
            raise ValueError(f"high {self.high} is more than 8 sd below the mean")
        return self


class LogNormal(Spec):
    """Log-normal distribution: `median` × exp(`sigma` × a standard normal draw); always > 0."""

    distribution: Literal["lognormal"]
    median: float = Field(gt=0, description="Median, in the key's unit.")
    sigma: float = Field(gt=0, description="Standard deviation of the value's natural log.")
    integer: bool = _integer()


class Uniform(Spec):
    """Uniform distribution on [`low`, `high`)."""

    distribution: Literal["uniform"]
    low: float = Field(description="Lower bound, in the key's unit.")
    high: float = Field(description="Upper bound, in the key's unit (above `low`).")
    integer: bool = _integer()

    @model_validator(mode="after")
    def _bounds(self) -> Uniform:
        if not self.high > self.low:
            raise ValueError(f"high {self.high} must be above low {self.low}")
        return self


class Triangular(Spec):
    """Triangular distribution from `low` to `high`, most likely at `mode`."""

    distribution: Literal["triangular"]
    low: float = Field(description="Lower bound, in the key's unit.")
    mode: float = Field(description="Most likely value, from `low` to `high`.")
    high: float = Field(description="Upper bound, in the key's unit (above `low`).")
    integer: bool = _integer()

    @model_validator(mode="after")
    def _bounds(self) -> Triangular:
        if not self.high > self.low:
            raise ValueError(f"high {self.high} must be above low {self.low}")
        if not self.low <= self.mode <= self.high:
            raise ValueError(f"mode {self.mode} must lie from low {self.low} to high {self.high}")
        return self


class Choice(Spec):
    """Discrete choice among `values`, with optional `weights` (default: equally likely)."""

    distribution: Literal["choice"]
    values: list[Scalar] = Field(
        min_length=1, description="The possible values (numbers, strings, booleans or dates)."
    )
    weights: list[Annotated[float, Field(ge=0)]] | None = Field(
        None, description="Relative weight of each value, ≥ 0, not all 0; default equal."
    )

    @model_validator(mode="after")
    def _weights(self) -> Choice:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"{len(self.weights)} weights for {len(self.values)} values; give one each"
                )
            if not math.fsum(self.weights) > 0:
                raise ValueError("weights must not all be 0")
        return self


Uncertainty = Annotated[
    Normal | LogNormal | Uniform | Triangular | Choice, Field(discriminator="distribution")
]

DISTRIBUTIONS: dict[str, type[Spec]] = {
    "normal": Normal,
    "lognormal": LogNormal,
    "uniform": Uniform,
    "triangular": Triangular,
    "choice": Choice,
}


class SweepFile(Spec):
    """A whole sweep file, validated."""

    sweep: SweepSettings
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="Scenario tables deep-merged over the base scenario before anything is "
        "varied, as in a file that `extends` it (e.g. a disruption for a lever to act on).",
    )
    levers: dict[str, Lever] = Field(
        default_factory=dict,
        description="Policy choices, by the dotted key of the scenario value they set.",
    )
    uncertainties: dict[str, Uncertainty] = Field(
        default_factory=dict,
        description="External factors drawn afresh in every run, by dotted key.",
    )

    @property
    def grid_levers(self) -> dict[str, Lever]:
        """Levers given as values or ranges: crossed in full, in file order."""
        return {k: v for k, v in self.levers.items() if not v.sampled}

    @property
    def sampled_levers(self) -> dict[str, Lever]:
        """Levers given as low/high: one Latin-hypercube sample of `sweep.samples` points."""
        return {k: v for k, v in self.levers.items() if v.sampled}
