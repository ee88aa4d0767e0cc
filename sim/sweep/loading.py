"""Reading a sweep file: TOML, its base scenario, and every problem at once.

Problems are collected and raised together as one ScenarioError, each with its file and dotted
key path, as for scenarios: the sweep file's shape and types (the schema), the base scenario's
own problems, and then each lever's and uncertainty's key, checked by setting a value the key
will take into the base scenario and validating the result (an unknown key, a value of the wrong
type or out of range is found before anything runs).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.errors import Problem, ScenarioError
from sim.scenario.loading import (
    apply_overrides,
    deep_merge,
    read_toml,
    read_with_extends,
    validate_data,
)
from sim.scenario.schema import Scenario
from sim.scenario.variants import scenario_sha256, with_values
from sim.sweep.schema import (
    MAX_RUNS,
    Choice,
    Lever,
    LogNormal,
    Normal,
    SweepFile,
    Triangular,
    Uniform,
)

#: Keys every run sets itself: a lever or uncertainty may not set them.
RESERVED_KEYS = ("scenario.seed", "scenario.replications")
#: Most values of one lever or choice checked one by one before running.
MAX_VALUES_CHECKED = 100


def sweep_key(loc: Iterable[Any]) -> str:
    """A key path in the sweep file; a dotted scenario key is quoted as TOML writes it."""
    parts = []
    for part in loc:
        text = str(part)
        parts.append(f'"{text}"' if "." in text else text)
    return ".".join(parts)


@dataclass(frozen=True)
class LoadedSweep:
    """A validated sweep: its definition, its base scenario (overrides applied) and identity."""

    file: Path
    file_sha256: str
    spec: SweepFile
    base_file: Path
    base_data: dict[str, Any]
    base_scenario: Scenario
    cli_overrides: tuple[str, ...]
    replications: int

    @property
    def name(self) -> str:
        return self.spec.sweep.name

    @property
    def seed(self) -> int:
        return self.spec.sweep.seed

    @property
    def definition_sha256(self) -> str:
        """What the runs depend on: the sweep as validated, the base scenario as resolved,
        `--set` and the replications. A folder is resumed only by the same definition."""
        payload = {
            "sweep": self.spec.model_dump(mode="json"),
            "base_scenario_sha256": scenario_sha256(self.base_scenario),
            "overrides": list(self.cli_overrides),
            "replications": self.replications,
        }
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------ checking keys


def key_problem(resolved: Mapping[str, Any], key: str) -> str | None:
    """Why `key` cannot name a value of the resolved base scenario, or None if it can.

    Every table on the path must exist; the last part may be missing (validation then says
    whether such a key is allowed there) but must not be a table.
    """
    parts = key.split(".")
    if len(parts) < 2 or not all(parts):
        return "not a dotted key of a scenario value (e.g. links.ID.capacity_t_per_day)"
    node: Any = resolved
    for depth, part in enumerate(parts[:-1]):
        where = ".".join(parts[: depth + 1])
        if not isinstance(node, Mapping):
            return f"{'.'.join(parts[:depth])} is a value, not a table"
        if part not in node:
            return f"{where} is not in the base scenario"
        node = node[part]
    if not isinstance(node, Mapping):
        return f"{'.'.join(parts[:-1])} is a value, not a table"
    if isinstance(node.get(parts[-1]), Mapping):
        return "is a table, not a value: name one of its keys"
    return None


def _rounded(value: Any, integer: bool) -> Any:
    return int(round(value)) if integer and isinstance(value, float) else value


def values_to_check(item: Lever | Any) -> list[Any]:
    """Values a lever or uncertainty will set, to validate before running: every value it can
    only take (a list, a range's ends, a choice), or a central one of a continuous spread."""
    if isinstance(item, Lever):
        if item.values is not None:
            return list(item.values[:MAX_VALUES_CHECKED])
        if item.step is not None:
            from sim.sweep.expand import range_values

            ends = range_values(item)
            return [ends[0], ends[-1]] if len(ends) > 1 else ends
        assert item.low is not None and item.high is not None
        return [_rounded((item.low + item.high) / 2, item.integer)]
    if isinstance(item, Choice):
        return list(item.values[:MAX_VALUES_CHECKED])
    if isinstance(item, Normal):
        centre = item.mean
        if item.low is not None:
            centre = max(centre, item.low)
        if item.high is not None:
            centre = min(centre, item.high)
        return [_rounded(centre, item.integer)]
    if isinstance(item, LogNormal):
        return [_rounded(item.median, item.integer)]
    if isinstance(item, Uniform):
        return [_rounded((item.low + item.high) / 2, item.integer)]
    if isinstance(item, Triangular):
        return [_rounded(item.mode, item.integer)]
    raise TypeError(f"unknown sweep item {item!r}")


# ------------------------------------------------------------------ loading


def _schema_problems(exc: ValidationError, file: str) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        # Discriminated unions put the distribution in the path: drop it.
        if len(loc) > 2 and loc[0] == "uncertainties" and str(loc[2]) in _DISTRIBUTION_TAGS:
            del loc[2]
        if err["type"] == "union_tag_not_found":
            problems.append(
                Problem(
                    file,
                    sweep_key([*loc, "distribution"]),
                    f"required key is missing (one of {', '.join(_DISTRIBUTION_TAGS)})",
                )
            )
            continue
        if err["type"] == "union_tag_invalid":
            tag = err.get("ctx", {}).get("tag")
            problems.append(
                Problem(
                    file,
                    sweep_key([*loc, "distribution"]),
                    f"unknown distribution {tag!r}; expected one of "
                    f"{', '.join(_DISTRIBUTION_TAGS)}",
                )
            )
            continue
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        elif err["type"] == "missing":
            message = "required key is missing"
        else:
            message = err["msg"].removeprefix("Value error, ")
            if "input" in err and not isinstance(err["input"], dict):
                message = f"{message} (got {err['input']!r})"
        problems.append(Problem(file, sweep_key(loc), message))
    return problems


_DISTRIBUTION_TAGS = ("normal", "lognormal", "uniform", "triangular", "choice")


def _parse_entries(raw: Any, model: Any) -> dict[str, Any]:
    """Each entry of a levers/uncertainties table that validates on its own (the others'
    problems are reported by the whole-file validation)."""
    from pydantic import TypeAdapter

    adapter = TypeAdapter(model)
    parsed = {}
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            try:
                parsed[key] = adapter.validate_python(value)
            except ValidationError:
                continue
    return parsed


def _cross_problems(raw: Mapping[str, Any], spec: SweepFile | None, file: str) -> list[Problem]:
    """Rules between sections: reserved keys, a key used twice, Latin-hypercube points."""
    problems = []
    levers = raw.get("levers") if isinstance(raw.get("levers"), Mapping) else {}
    uncertain = raw.get("uncertainties") if isinstance(raw.get("uncertainties"), Mapping) else {}
    assert isinstance(levers, Mapping) and isinstance(uncertain, Mapping)
    keys = [("levers", k) for k in levers] + [("uncertainties", k) for k in uncertain]
    for section, key in keys:
        if key in RESERVED_KEYS:
            problems.append(
                Problem(file, sweep_key([section, key]), "is set by the sweep for each run")
            )
        if section == "uncertainties" and key in levers:
            problems.append(
                Problem(file, sweep_key([section, key]), "is a lever too; vary a key one way")
            )
    names = [k for _, k in keys]
    for section, key in keys:
        for other in names:
            if other.startswith(key + "."):
                problems.append(
                    Problem(file, sweep_key([section, key]), f"contains {other}, also varied")
                )
    if spec is not None:
        sampled: Mapping[str, Lever] = spec.sampled_levers
        samples = spec.sweep.samples
    else:  # the file has other problems: judge by the levers and settings that parse
        sampled = {k: v for k, v in _parse_entries(levers, Lever).items() if v.sampled}
        settings = raw.get("sweep") if isinstance(raw.get("sweep"), Mapping) else {}
        assert isinstance(settings, Mapping)
        samples = settings.get("samples")
    if sampled and samples is None:
        problems.append(
            Problem(
                file,
                "sweep.samples",
                f"required: levers {', '.join(sampled)} are sampled by a Latin hypercube",
            )
        )
    if not sampled and samples is not None:
        problems.append(
            Problem(file, "sweep.samples", "no lever has low/high to sample; remove it")
        )
    return problems


def _size_problems(spec: SweepFile, replications: int | None, file: str) -> list[Problem]:
    """A sweep of more than MAX_RUNS runs (lever points × replications) is refused."""
    points = spec.sweep.samples or 1
    for lever in spec.grid_levers.values():
        if lever.values is not None:
            points *= len(lever.values)
        else:
            assert lever.start is not None and lever.stop is not None and lever.step is not None
            points *= math.floor((lever.stop - lever.start) / lever.step + 1e-9) + 1
    runs = points * (spec.sweep.replications if replications is None else max(replications, 1))
    if runs <= MAX_RUNS:
        return []
    return [
        Problem(
            file,
            "levers",
            f"{points:,} lever point(s) × replications make {runs:,} runs; "
            f"at most {MAX_RUNS:,} are run",
        )
    ]


def _load_base(
    raw: Mapping[str, Any], sweep_path: Path, overrides: Iterable[str]
) -> tuple[Path | None, dict[str, Any] | None, Scenario | None, list[Problem]]:
    """The base scenario with the sweep's `overrides` table and `--set` applied, validated."""
    file = str(sweep_path)
    settings = raw.get("sweep")
    base_name = settings.get("base") if isinstance(settings, Mapping) else None
    if not isinstance(base_name, str) or not base_name:
        return None, None, None, []  # the schema reports it
    base_path = sweep_path.parent / base_name
    try:
        found = base_path.exists()
    except (OSError, ValueError):  # no permission (reading says so), a NUL byte in the name
        found = "\0" not in base_name
    if not found:
        return None, None, None, [Problem(file, "sweep.base", f"file {base_name!r} not found")]
    try:
        data = read_with_extends(base_path)
        validate_data(data, str(base_path))
    except ScenarioError as exc:
        return base_path, None, None, exc.problems
    table = raw.get("overrides", {})
    if isinstance(table, Mapping) and table:
        data = deep_merge(data, table)
    try:
        data = apply_overrides(data, overrides, file)
        scenario = validate_data(data, file)
    except ScenarioError as exc:
        problems = []
        for p in exc.problems:
            if isinstance(table, Mapping) and p.key.split(".")[0] in table:
                p = Problem(file, f"overrides.{p.key}", p.message)
            problems.append(p)
        return base_path, None, None, problems
    return base_path, data, scenario, []


def _value_problems(
    section: str,
    items: Mapping[str, Any],
    data: dict[str, Any],
    resolved: Mapping[str, Any],
    file: str,
) -> list[Problem]:
    problems = []
    for key, item in items.items():
        where = sweep_key([section, key])
        message = key_problem(resolved, key)
        if message is not None:
            problems.append(Problem(file, where, message))
            continue
        for value in values_to_check(item):
            try:
                with_values(data, {key: value}, file=file)
            except ScenarioError as exc:
                for p in exc.problems:
                    detail = p.message if p.key == key else f"{p.key}: {p.message}"
                    problems.append(Problem(file, where, f"value {value!r}: {detail}"))
                break  # one bad value per key is enough to say
    return problems


def load_sweep(
    path: str | Path, overrides: Iterable[str] = (), replications: int | None = None
) -> LoadedSweep:
    """Read and validate a sweep file and its base scenario.

    `overrides` are `--set KEY=VALUE` changes to the base scenario; `replications` replaces the
    file's count. Raises ScenarioError listing every problem (file, dotted key, reason).
    """
    path = Path(path)
    file = str(path)
    raw = read_toml(path)
    overrides = tuple(overrides)
    problems: list[Problem] = []
    spec: SweepFile | None = None
    try:
        spec = SweepFile.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_schema_problems(exc, file))
    problems.extend(_cross_problems(raw, spec, file))
    if spec is not None:
        problems.extend(_size_problems(spec, replications, file))
    if replications is not None and replications < 1:
        problems.append(Problem(file, "--replications", "must be at least 1"))
    base_path, data, base, base_problems = _load_base(raw, path, overrides)
    problems.extend(base_problems)
    if data is not None and base is not None:
        from sim.sweep.schema import Uncertainty

        levers = spec.levers if spec else _parse_entries(raw.get("levers"), Lever)
        uncertain = (
            spec.uncertainties if spec else _parse_entries(raw.get("uncertainties"), Uncertainty)
        )
        resolved = base.model_dump()
        problems.extend(_value_problems("levers", levers, data, resolved, file))
        problems.extend(_value_problems("uncertainties", uncertain, data, resolved, file))
    if problems:
        raise ScenarioError(problems)
    assert spec is not None and base_path is not None and data is not None and base is not None
    return LoadedSweep(
        file=path,
        file_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        spec=spec,
        base_file=base_path,
        base_data=data,
        base_scenario=base,
        cli_overrides=overrides,
        replications=spec.sweep.replications if replications is None else replications,
    )
