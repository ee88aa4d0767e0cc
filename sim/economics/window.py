"""A refinery's crude window: which grades it takes, and how close a blend sits to its limits.

Volumes add when crudes are blended, so the blend's specific gravity is the mass-weighted
harmonic mean, SG = Σ t_k ÷ Σ (t_k ÷ SG_k), and its API gravity is 141.5 ÷ SG − 131.5.
Sulphur is by mass, so the blend's sulphur is the mass-weighted mean Σ t_k s_k ÷ Σ t_k.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from sim.scenario.schema import CrudeWindow, Grade
from sim.units import (
    api_from_specific_gravity,
    specific_gravity_from_api,
    specific_gravity_from_bbl_per_t,
)


def grade_specific_gravity(grade: Grade) -> float:
    """A grade's specific gravity: from its API gravity if given, else from its bbl/t."""
    if grade.api_gravity is not None:
        return specific_gravity_from_api(grade.api_gravity)
    return specific_gravity_from_bbl_per_t(grade.bbl_per_t)


def accepts(window: CrudeWindow | None, grade: str) -> bool:
    """True when a refinery with this window takes the grade at all."""
    return window is None or window.grades is None or grade in window.grades


@dataclass(frozen=True)
class WindowHeadroom:
    """How close a crude blend sits to a refinery's window. A positive headroom is room left;
    a negative one is by how much a limit is broken; NaN where the window sets no limit."""

    blend_api_gravity: float
    blend_sulphur_pct: float
    #: Blend API − the window's minimum, degrees.
    api_above_min: float
    #: The window's maximum − blend API, degrees.
    api_below_max: float
    #: The window's sulphur maximum − blend sulphur, mass %.
    sulphur_below_max_pct: float
    #: Grades in the blend that the window does not accept.
    grades_refused: tuple[str, ...]

    @property
    def within(self) -> bool:
        """True when the blend breaks no limit and holds no refused grade."""
        margins = (self.api_above_min, self.api_below_max, self.sulphur_below_max_pct)
        return not self.grades_refused and all(math.isnan(m) or m >= 0 for m in margins)


def blend_quality(runs_t: Mapping[str, float], grades: Mapping[str, Grade]) -> tuple[float, float]:
    """(API gravity, sulphur mass %) of a blend of `runs_t` tonnes by grade id."""
    total = sum(t for t in runs_t.values() if t > 0)
    if total <= 0:
        return float("nan"), float("nan")
    volume = sum(t / grade_specific_gravity(grades[g]) for g, t in runs_t.items() if t > 0)
    sulphur = sum(t * (grades[g].sulphur_pct or 0.0) for g, t in runs_t.items() if t > 0)
    return api_from_specific_gravity(total / volume), sulphur / total


def window_headroom(
    window: CrudeWindow, runs_t: Mapping[str, float], grades: Mapping[str, Grade]
) -> WindowHeadroom:
    """How far a blend (`runs_t` tonnes by grade id) sits from the window's limits."""
    api, sulphur = blend_quality(runs_t, grades)
    nan = float("nan")
    return WindowHeadroom(
        blend_api_gravity=api,
        blend_sulphur_pct=sulphur,
        api_above_min=(
            api - window.blend_api_gravity_min if window.blend_api_gravity_min is not None else nan
        ),
        api_below_max=(
            window.blend_api_gravity_max - api if window.blend_api_gravity_max is not None else nan
        ),
        sulphur_below_max_pct=(
            window.blend_sulphur_max_pct - sulphur
            if window.blend_sulphur_max_pct is not None
            else nan
        ),
        grades_refused=tuple(
            sorted(g for g, t in runs_t.items() if t > 0 and not accepts(window, g))
        ),
    )
