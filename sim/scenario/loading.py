"""Reading scenario files: TOML, `extends` inheritance, `--set` overrides, validation.

The only scenario module that touches the filesystem. Problems are collected and raised
together as one ScenarioError, each with its file and dotted key path: first every problem of
shape and type (the schema), then, once the shape is right, every cross-reference rule
(checks.py), which need a well-formed scenario to run at all.
"""

from __future__ import annotations

import codecs
import copy
import os
import stat
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from sim.errors import Problem, ScenarioError
from sim.scenario.checks import run_checks
from sim.scenario.schema import Scenario

_KIND_TAGS = {"field", "market", "junction", "port", "refinery", "pipeline", "rail", "sea"}

#: Largest input file read, bytes (1 MB): many times any real scenario, and a bound on memory.
MAX_FILE_BYTES = 1_000_000
#: Deepest nesting of tables and arrays in a file, or made by a `--set` key and its value
#: (a scenario needs 5); deeper input is refused before anything recurses into it.
MAX_NESTING = 32
#: Most files in an `extends` chain, the file named on the command line included.
MAX_EXTENDS_CHAIN = 16
#: Set to 1 to let `extends` name an absolute path or a file outside the scenario tree.
ALLOW_OUTSIDE_EXTENDS_ENV = "OIL_SIM_ALLOW_OUTSIDE_EXTENDS"


def _file_problem(path: Path, message: str) -> ScenarioError:
    return ScenarioError([Problem(str(path), "", message)])


def read_text(path: Path) -> str:
    """The UTF-8 text of a regular file of at most MAX_FILE_BYTES; anything else (a missing
    file, a folder, a device or pipe, a larger file, other encodings) is a ScenarioError."""
    # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise _file_problem(path, "file not found") from None
    except IsADirectoryError:
        raise _file_problem(path, "is a folder, not a file") from None
    except OSError as exc:
        raise _file_problem(path, f"cannot read: {exc.strerror}") from None
    except ValueError as exc:  # a NUL byte in the name
        raise _file_problem(path, f"cannot read: {exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise _file_problem(path, "is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise _file_problem(path, "is not a regular file (a device, pipe or socket)")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise _file_problem(path, f"cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_FILE_BYTES:
        raise _file_problem(path, f"larger than {MAX_FILE_BYTES:,} bytes (1 MB), the most read")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _file_problem(path, "is UTF-16 text; expected UTF-8 (save the file as UTF-8)")
    try:
        return raw.decode("utf-8-sig")  # a UTF-8 byte-order mark, as some editors write, is fine
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise _file_problem(
            path,
            f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}, at offset "
            f"{exc.start}); expected UTF-8 (save the file as UTF-8)",
        ) from None


def nesting(value: Any) -> tuple[int, list[str]]:
    """How many tables and arrays deep `value` goes, and the key path to its deepest point.

    Walks without recursion, so that it can measure what recursion could not.
    """
    deepest: tuple[int, list[str]] = (0, [])
    stack: list[tuple[Any, int, list[str]]] = [(value, 0, [])]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, Mapping):
            children: Iterable[tuple[str, Any]] = ((str(k), v) for k, v in item.items())
        elif isinstance(item, list | tuple):
            children = ((str(i), v) for i, v in enumerate(item))
        else:
            continue
        depth += 1
        if depth > deepest[0]:
            deepest = (depth, path)
        if depth > MAX_NESTING:
            break  # deep enough to refuse; no need to find the very bottom
        stack.extend((v, depth, [*path, k]) for k, v in children)
    return deepest


def short_key(parts: list[str], most: int = 6) -> str:
    """A dotted key path, its middle elided when it has more than `most` parts."""
    if len(parts) <= most:
        return ".".join(parts)
    return ".".join(parts[: most - 1]) + f".….{parts[-1]}"


def _too_deep_message() -> str:
    most = MAX_NESTING
    return f"tables and arrays nested more than {most} levels deep; at most {most} allowed"


def read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file; every way it can be unreadable is a ScenarioError naming the file."""
    text = read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _file_problem(path, f"not valid TOML: {exc}") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise _file_problem(path, f"not valid TOML: {exc}") from None
    except RecursionError:
        raise _file_problem(path, _too_deep_message()) from None
    depth, where = nesting(data)
    if depth > MAX_NESTING:
        raise ScenarioError([Problem(str(path), short_key(where), _too_deep_message())])
    return data


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` on top of `base`: tables merge key by key, anything else is replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def outside_extends_allowed() -> bool:
    """True when the environment lets `extends` leave the scenario tree."""
    value = os.environ.get(ALLOW_OUTSIDE_EXTENDS_ENV, "")
    return value.strip().lower() in {"1", "true", "yes"}


def _parent_of(path: Path, parent: Any, tree: Path) -> Path:
    """The file `path` extends, resolved, once it is a name `extends` may use."""

    def refused(message: str) -> ScenarioError:
        return ScenarioError([Problem(str(path), "extends", message)])

    if not isinstance(parent, str) or not parent:
        raise refused("must be a file name (string)")
    allowed = outside_extends_allowed()
    if Path(parent).is_absolute() and not allowed:
        raise refused(
            f"{parent!r} is an absolute path; give a path relative to this file "
            f"(or set {ALLOW_OUTSIDE_EXTENDS_ENV}=1)"
        )
    try:
        target = (path.parent / parent).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a NUL byte
        raise refused(f"bad path {_clip(parent)}: {exc}") from None
    if not allowed and not target.is_relative_to(tree):
        raise refused(
            f"{parent!r} is outside the scenario tree {tree} (the folder above the scenario's "
            f"own); set {ALLOW_OUTSIDE_EXTENDS_ENV}=1 to allow it"
        )
    try:
        found = target.exists()
    except OSError:
        found = True  # e.g. no permission: reading it says so
    if not found:
        raise refused(f"file {parent!r} not found next to this file")
    return target


def read_with_extends(path: Path) -> dict[str, Any]:
    """The file's tables merged over those of the file it `extends`, and so on up the chain.

    Every file of the chain is a regular file of at most MAX_FILE_BYTES; the chain holds at most
    MAX_EXTENDS_CHAIN files; and, unless ALLOW_OUTSIDE_EXTENDS_ENV is set, each `extends` is a
    relative path to a file inside the *scenario tree*, the folder that holds the named file's
    folder (so `scenarios/history/x.toml` may extend `../base.toml`, but not `../../x.toml`).
    """
    path = path.resolve()
    tree = path.parent.parent
    chain: list[Path] = []
    tables: list[dict[str, Any]] = []
    while True:
        if path in chain:
            names = " -> ".join(p.name for p in (*chain, path))
            raise ScenarioError([Problem(str(path), "extends", f"inheritance cycle: {names}")])
        if len(chain) == MAX_EXTENDS_CHAIN:
            raise ScenarioError(
                [
                    Problem(
                        str(chain[-1]),
                        "extends",
                        f"extends chain longer than {MAX_EXTENDS_CHAIN} files "
                        f"(from {chain[0].name})",
                    )
                ]
            )
        chain.append(path)
        data = read_toml(path)
        parent = data.pop("extends", None)
        tables.append(data)
        if parent is None:
            break
        path = _parent_of(path, parent, tree)
    merged: dict[str, Any] = {}
    for data in reversed(tables):
        merged = deep_merge(merged, data)
    return merged


def parse_override(text: str) -> tuple[str, Any]:
    """`a.b.c=VALUE` into its key path and a value read as TOML (a bare word is a string)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"override {_clip(text)} is not KEY=VALUE")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except (tomllib.TOMLDecodeError, ValueError):  # ValueError: an integer too long to convert
        value = raw
    except RecursionError:
        message = _too_deep_message()
        raise ValueError(f"{short_key(key.split('.'))}: {message}") from None
    return key, value


def apply_overrides(data: dict[str, Any], overrides: Iterable[str], file: str) -> dict[str, Any]:
    """Set each `dotted.key=value`; a path through something that is not a table is an error,
    as is a key and value nested deeper than MAX_NESTING."""
    data = copy.deepcopy(data)
    problems = []
    for text in overrides:
        try:
            key, value = parse_override(text)
        except ValueError as exc:
            problems.append(Problem(file, "--set", str(exc)))
            continue
        parts = key.split(".")
        levels = len(parts) + nesting(value)[0]
        if levels > MAX_NESTING:
            problems.append(Problem(file, short_key(parts), f"--set: {_too_deep_message()}"))
            continue
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


def _clip(value: Any, most: int = 80) -> str:
    """`repr(value)`, cut to about `most` characters: a message quotes input, never all of it."""
    text = repr(value)
    return text if len(text) <= most else f"{text[: most - 1]}…"


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
            message = f"{message} (got {_clip(err['input'])})"
        problems.append(Problem(file, _key_path(err["loc"]), message))
    return problems


def _expected_kinds(err: ErrorDetails) -> str:
    loc = err["loc"]
    section = str(loc[0]) if loc else ""
    kinds = {"nodes": "field, market, junction, port, refinery", "links": "pipeline"}
    return kinds.get(section, str((err.get("ctx") or {}).get("expected_tags", "")))


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
