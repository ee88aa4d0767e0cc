"""Parameter sweeps: levers × uncertainties × replications, on a local pool or a Dask cluster.

- `schema.py`: the sweep file's models; `loading.py`: reading and validating it;
- `expand.py`: lever points, run seeds, sampled values, each run's scenario and key;
- `worker.py`: what a worker runs; `executors.py`: serial, local pool, Dask;
- `store.py`: the result folder; `progress.py`: progress display; `run.py`: `run_sweep`;
- `docs.py`: docs/sweeps.md from the schema; `cli.py`: the `sweep` command.
"""

from sim.sweep.loading import LoadedSweep, load_sweep
from sim.sweep.run import SweepInterrupted, SweepOutput, run_sweep
from sim.sweep.store import SweepFolderError

__all__ = [
    "LoadedSweep",
    "SweepFolderError",
    "SweepInterrupted",
    "SweepOutput",
    "load_sweep",
    "run_sweep",
]
