"""Oil supply diversification simulator.

Public API::

    from sim import load_scenario, run
    scenario = load_scenario("scenarios/base.toml", overrides=["scenario.replications=5"])
    output = run(scenario, out="results")
    print(output.folder, output.summary[0]["unserved_t"])

`simulate(scenario)` runs in memory without writing files. `run_sweep("scenarios/sweeps/x.toml")`
runs a parameter sweep (levers × uncertainties × replications) and writes `results/<sweep>/`.
"""

from sim.api import RunOutput, run
from sim.compare import ComparisonOutput, compare
from sim.errors import MassBalanceError, Problem, ResultsExistError, ScenarioError
from sim.runner import ScenarioResult, simulate
from sim.scenario.loading import load_scenario
from sim.scenario.schema import Scenario
from sim.sweep import SweepOutput, load_sweep, run_sweep

__version__ = "0.1.0"

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
    "run",
    "run_sweep",
    "simulate",
]
