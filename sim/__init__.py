"""Oil supply diversification simulator.

Public API::

    from sim import load_scenario, run
    scenario = load_scenario("scenarios/base.toml", overrides=["scenario.replications=5"])
    output = run(scenario, out="results")
    print(output.folder, output.summary[0]["unserved_t"])

`simulate(scenario)` runs in memory without writing files. `run_sweep("scenarios/sweeps/x.toml")`
runs a parameter sweep (levers × uncertainties × replications) and writes `results/<sweep>/`.
`read_results(folder)` reads any result folder into pandas DataFrames (needs pandas);
`wide_points(frames["points"])` pivots a sweep's long points table to one row per point.

The names are imported on first use (PEP 562), so `import sim` (and with it every
`from sim import registry`, `python -m sim --help` and `validate`) does not load the engine,
scipy or the sweep machinery until something needs them.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from sim.version import __version__

if TYPE_CHECKING:
    from sim.api import RunOutput, run
    from sim.compare import ComparisonOutput, compare
    from sim.errors import MassBalanceError, Problem, ResultsExistError, ScenarioError
    from sim.frames import read_results, wide_points
    from sim.runner import ScenarioResult, simulate
    from sim.scenario.loading import load_scenario
    from sim.scenario.schema import Scenario
    from sim.sweep import SweepOutput, load_sweep, run_sweep

#: Each public name and the module it lives in.
_HOMES: dict[str, str] = {
    "ComparisonOutput": "sim.compare",
    "MassBalanceError": "sim.errors",
    "Problem": "sim.errors",
    "ResultsExistError": "sim.errors",
    "RunOutput": "sim.api",
    "Scenario": "sim.scenario.schema",
    "ScenarioError": "sim.errors",
    "ScenarioResult": "sim.runner",
    "SweepOutput": "sim.sweep",
    "compare": "sim.compare",
    "load_scenario": "sim.scenario.loading",
    "load_sweep": "sim.sweep",
    "read_results": "sim.frames",
    "run": "sim.api",
    "run_sweep": "sim.sweep",
    "simulate": "sim.runner",
    "wide_points": "sim.frames",
}

__all__ = [
    "ComparisonOutput",
    "MassBalanceError",
    "Problem",
    "ResultsExistError",
    "RunOutput",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "SweepOutput",
    "__version__",
    "compare",
    "load_scenario",
    "load_sweep",
    "read_results",
    "run",
    "run_sweep",
    "simulate",
    "wide_points",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


class _Package(types.ModuleType):
    """The `sim` module: `sim.compare` stays the function when the submodule `sim.compare` loads
    (the import system binds a loaded submodule to its parent's attribute of the same name)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _HOMES.get(name) == value.__name__:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
