"""Changed copies of a scenario, validated again, and a scenario's identity (its sha256).

Whatever runs something other than a file as loaded makes it here: `run --seed` and
`--replications`, the count `--target-ci` reached, `compare`'s common seed and replications,
N−1's outages, a sweep run's levers and draws. The copy goes through the same validation as a
file (`validate_data`: the schema, then every check), so a bad value is a ScenarioError listing
its problems, never an unchecked scenario.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sim.scenario.loading import validate_data
from sim.scenario.schema import Scenario


def set_dotted(data: Mapping[str, Any], key: str, value: Any) -> dict[str, Any]:
    """A copy of `data` with `key` (dotted) set to `value`; tables on the path are copied,
    the rest is shared (so the copy is cheap)."""
    parts = key.split(".")
    root = dict(data)
    table = root
    for part in parts[:-1]:
        inner = table.get(part)
        inner = dict(inner) if isinstance(inner, Mapping) else {}
        table[part] = inner
        table = inner
    table[parts[-1]] = value
    return root


def set_values(data: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of scenario data with each dotted key of `values` set, in order."""
    out = dict(data)
    for key, value in values.items():
        out = set_dotted(out, key, value)
    return out


def with_values(
    base: Scenario | Mapping[str, Any], values: Mapping[str, Any], *, file: str = "<scenario>"
) -> Scenario:
    """`base` (a scenario, or scenario data as read from its TOML) with each dotted key of
    `values` set (e.g. `{"scenario.seed": 7}`), validated as a file would be.

    A scenario with nothing to change is returned as it is. Raises ScenarioError listing every
    problem, each under `file`.
    """
    if isinstance(base, Scenario):
        if not values:
            return base
        base = base.model_dump()
    return validate_data(set_values(base, values), file)


def resolved_json(scenario: Scenario) -> str:
    """The scenario exactly as it runs (defaults filled in), as canonical JSON."""
    return json.dumps(scenario.model_dump(mode="json"), indent=2, sort_keys=False) + "\n"


def scenario_sha256(scenario: Scenario) -> str:
    """The sha256 of `resolved_json`: what identifies a scenario in folder names and manifests."""
    return hashlib.sha256(resolved_json(scenario).encode("utf-8")).hexdigest()
