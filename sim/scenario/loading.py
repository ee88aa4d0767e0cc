"""Reading scenario files: TOML, `extends` inheritance, `--set` overrides, validation.

The only scenario module that touches the filesystem. Problems are collected and raised
together as one ScenarioError, each with its file and dotted key path: first every problem of
shape and type (the schema), then, once the shape is right, every cross-reference rule
(checks.py), which need a well-formed scenario to run at all.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.errors import Problem, ScenarioError
from sim.scenario.checks import run_checks
from sim.scenario.schema import Scenario

_KIND_TAGS = {"field", "market", "junction", "port", "refinery", "pipeline", "rail", "sea"}


def read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file; a missing file or bad syntax is a ScenarioError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem(str(path), "", "file not found")]) from None
    except OSError as exc:
        raise ScenarioError([Problem(str(path), "", f"cannot read: {exc.strerror}")]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([Problem(str(path), "", f"not valid TOML: {exc}")]) from None


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` on top of `base`: tables merge key by key, anything else is replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def read_with_extends(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The file's tables merged over those of the file it `extends` (recursively)."""
    path = path.resolve()
    if path in _seen:
        chain = " -> ".join(p.name for p in (*_seen, path))
        raise ScenarioError([Problem(str(path), "extends", f"inheritance cycle: {chain}")])
    data = read_toml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError([Problem(str(path), "extends", "must be a file name (string)")])
    parent_path = path.parent / parent
    if not parent_path.exists():
        raise ScenarioError(
            [Problem(str(path), "extends", f"file {parent!r} not found next to this file")]
        )
    return deep_merge(read_with_extends(parent_path, (*_seen, path)), data)


def parse_override(text: str) -> tuple[str, Any]:
    """`a.b.c=VALUE` into its key path and a value read as TOML (a bare word is a string)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"override {text!r} is not KEY=VALUE")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def apply_overrides(data: dict[str, Any], overrides: Iterable[str], file: str) -> dict[str, Any]:
    """Set each `dotted.key=value`; a path through something that is not a table is an error."""
    data = copy.deepcopy(data)
    problems = []
    for text in overrides:
        try:
            key, value = parse_override(text)
        except ValueError as exc:
            problems.append(Problem(file, "--set", str(exc)))
            continue
        parts = key.split(".")
        table = data
        for depth, part in enumerate(parts[:-1]):
            nxt = table.setdefault(part, {})
            if not isinstance(nxt, dict):
                where = ".".join(parts[: depth + 1])
                problems.append(Problem(file, key, f"--set: {where} is a value, not a table"))
                break
            table = nxt
        else:
            table[parts[-1]] = value
    if problems:
        raise ScenarioError(problems)
    return data


def _key_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    # Discriminated unions put the kind tag in the path (nodes.mozyr.refinery.x): drop it.
    if len(parts) > 2 and parts[0] in {"nodes", "links"} and parts[2] in _KIND_TAGS:
        del parts[2]
    return ".".join(parts)


_FRIENDLY = {
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
}


def validation_problems(exc: ValidationError, file: str) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        if err["type"] in ("union_tag_not_found", "union_tag_invalid"):
            # A node or link without a known `kind`: say so at the `kind` key.
            key = _key_path((*err["loc"], "kind"))
            ctx = err.get("ctx", {})
            if err["type"] == "union_tag_not_found":
                message = f"required key is missing (one of {_expected_kinds(err)})"
            else:
                message = f"unknown kind {ctx.get('tag')!r}; expected one of {_expected_kinds(err)}"
            problems.append(Problem(file, key, message))
            continue
        message = _FRIENDLY.get(err["type"], err["msg"])
        if err["type"] not in _FRIENDLY and "input" in err and not isinstance(err["input"], dict):
            message = f"{message} (got {err['input']!r})"
        problems.append(Problem(file, _key_path(err["loc"]), message))
    return problems


def _expected_kinds(err: dict[str, Any]) -> str:
    loc = err["loc"]
    section = str(loc[0]) if loc else ""
    kinds = {"nodes": "field, market, junction, port, refinery", "links": "pipeline"}
    return kinds.get(section, str(err.get("ctx", {}).get("expected_tags", "")))


def validate_data(data: Mapping[str, Any], file: str = "<scenario>") -> Scenario:
    """Validate a scenario given as plain data; raises ScenarioError listing every problem."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(validation_problems(exc, file)) from None
    problems = [Problem(file, key, message) for key, message in run_checks(scenario)]
    if problems:
        raise ScenarioError(problems)
    return scenario


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Read, inherit, override and validate a scenario file into a frozen `Scenario`.

    Raises ScenarioError with every problem found (file, dotted key, reason).
    """
    path = Path(path)
    data = read_with_extends(path)
    data = apply_overrides(data, overrides, str(path))
    return validate_data(data, str(path))
