"""Parameter sweeps: levers × uncertainties × replications, on a local pool or a Dask cluster.

- `schema.py`: the sweep file's models; `loading.py`: reading and validating it;
- `expand.py`: lever points, run seeds, sampled values, each run's scenario and key;
- `worker.py`: what a worker runs; `executors.py`: serial, local pool, Dask;
- `store.py`: the result folder; `progress.py`: progress display; `run.py`: `run_sweep`;
- `docs.py`: docs/sweeps.md from the schema; `cli.py`: the `sweep` command.

The names below are imported on first use, so the command line's `sweep` parser (`cli.py`)
loads nothing of the engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.sweep.loading import LoadedSweep, load_sweep
    from sim.sweep.run import SweepInterrupted, SweepOutput, run_sweep
    from sim.sweep.store import SweepFolderError

#: Each public name and the module it lives in.
_HOMES: dict[str, str] = {
    "LoadedSweep": "sim.sweep.loading",
    "SweepFolderError": "sim.sweep.store",
    "SweepInterrupted": "sim.sweep.run",
    "SweepOutput": "sim.sweep.run",
    "load_sweep": "sim.sweep.loading",
    "run_sweep": "sim.sweep.run",
}

__all__ = [
    "LoadedSweep",
    "SweepFolderError",
    "SweepInterrupted",
    "SweepOutput",
    "load_sweep",
    "run_sweep",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'sim.sweep' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
