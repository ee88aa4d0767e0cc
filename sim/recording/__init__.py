"""Recording a replication: an observer of the engine's records that keeps running totals each
step and builds the result rows and KPIs at the end.

- `recorder.py`: the observer; running totals per step (the hot path);
- `rows.py`: the per-table rows of one replication, built from the totals;
- `summary.py`: the summary.csv KPIs;
- `mass_balance.py`: the books that must close before anything is written.
"""

from sim.recording.mass_balance import check_mass_balance
from sim.recording.recorder import Recorder
from sim.recording.result import ReplicationResult

__all__ = ["Recorder", "ReplicationResult", "check_mass_balance"]
