"""Which path runs replications: the event path (sim.engine, the reference) or the array path
(sim.array_path: the replications of one scenario as a numpy array axis). A leaf module, so
the manifests can say which was chosen without importing either.

Set by `python -m sim --engine array ...`; kept in an environment variable, so that sweep
workers in other processes inherit it.
"""

from __future__ import annotations

import os

ENGINE_VARIABLE = "SIM_ENGINE"
ENGINES = ("event", "array")


def engine_setting() -> str:
    """The path chosen for replications (`event` unless SIM_ENGINE says otherwise)."""
    value = os.environ.get(ENGINE_VARIABLE, "event").strip().lower() or "event"
    if value not in ENGINES:
        raise ValueError(f"{ENGINE_VARIABLE}={value!r}: expected one of {', '.join(ENGINES)}")
    return value
