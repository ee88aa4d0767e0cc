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
import re
import stat
import tomllib
import types
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from sim.errors import Problem, ScenarioError
from sim.scenario.checks import run_checks
from sim.scenario.schema import Scenario
from sim.suggest import did_you_mean

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


def _nearby_files(path: Path) -> str:
    """`"; did you mean ..."` naming the files most like `path` in its folder, or saying that
    the folder itself is missing; `""` when nothing there is close."""
    folder = path.parent
    try:
        names = [p.name for p in folder.iterdir() if p.is_file()]
    except FileNotFoundError:
        return f" (no folder {str(folder)!r} either)"
    except OSError:
        return ""
    return did_you_mean(path.name, names)


def read_text(path: Path) -> str:
    """The UTF-8 text of a regular file of at most MAX_FILE_BYTES; anything else (a missing
    file, a folder, a device or pipe, a larger file, other encodings) is a ScenarioError."""
    # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise _file_problem(path, f"file not found{_nearby_files(path)}") from None
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
        if err["type"] == "extra_forbidden" and err["loc"]:
            allowed = allowed_keys(err["loc"][:-1])
            message += did_you_mean(str(err["loc"][-1]), allowed)
        elif err["type"] not in _FRIENDLY and "input" in err and not isinstance(err["input"], dict):
            message = f"{message} (got {_clip(err['input'])})"
        problems.append(Problem(file, _key_path(err["loc"]), message))
    return problems


def _unwrap(tp: Any) -> Any:
    """`X` from `Annotated[X, ...]` and from `X | None`."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
            continue
        if get_origin(tp) in (Union, types.UnionType):
            members = [m for m in get_args(tp) if m is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp


def _kind_tag(model: Any) -> str | None:
    """The `kind` a model of a discriminated union is chosen by, if it has one."""
    field = model.model_fields.get("kind") if _is_model(model) else None
    if field is None or get_origin(field.annotation) is not Literal:
        return None
    return str(get_args(field.annotation)[0])


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the table at error location `loc` may hold (pydantic's loc, kind tags included),
    found by walking the schema's types; empty when the walk loses its way."""
    tp: Any = Scenario
    for part in loc:
        tp = _unwrap(tp)
        origin = get_origin(tp)
        if _is_model(tp):
            field = tp.model_fields.get(str(part))
            if field is None:
                return []
            tp = field.annotation
        elif origin is dict:
            tp = get_args(tp)[1]
        elif origin in (list, tuple):
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            tagged = [m for m in map(_unwrap, get_args(tp)) if _kind_tag(m) == str(part)]
            if not tagged:
                return []
            tp = tagged[0]
        else:
            return []
    tp = _unwrap(tp)
    return list(tp.model_fields) if _is_model(tp) else []


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
        found = checks_on_what_validated(data, exc, file)
        notes = [] if found is not None else [f"{file}: {NOT_CHECKED}"]
        raise ScenarioError(validation_problems(exc, file) + (found or []), notes) from None
    problems = [Problem(file, key, message) for key, message in run_checks(scenario)]
    if problems:
        raise ScenarioError(problems)
    return scenario


#: The sections that map ids to entries: an entry with a problem of shape can be set aside and
#: the cross-section rules run on the others.
_ID_SECTIONS = (
    "grades", "nodes", "links", "contracts", "cargoes", "prices", "transit", "disruptions",
    "refinery_configs", "countries",
)  # fmt: skip
#: Rules that judge the network as a whole: an entry set aside could change their verdict.
_WHOLE_NETWORK_RULES = (
    "check_contract_reachable", "check_refinery_supplied", "check_origin_countries",
    "check_origins_claimed_once",
)  # fmt: skip
NOT_CHECKED = (
    "cross-section rules (ids, routes, dates, ...) not checked: fix the problems above first"
)


def checks_on_what_validated(
    data: Mapping[str, Any], exc: ValidationError, file: str
) -> list[Problem] | None:
    """The cross-section rules' findings on the entries that did validate, so one pass shows
    (nearly) every problem: entries of id sections with a problem of shape are set aside, and
    findings about them, or naming them, or judging the whole network, are left out. When the
    problems are elsewhere (e.g. in `[scenario]`), None: the rules did not run."""
    from sim.scenario.checks import CHECKS

    aside: dict[str, set[str]] = {}
    for err in exc.errors(include_url=False):
        loc = err["loc"]
        if len(loc) < 2 or loc[0] not in _ID_SECTIONS or not isinstance(data.get(loc[0]), dict):
            return None
        aside.setdefault(str(loc[0]), set()).add(str(loc[1]))
    rest = {
        key: {k: v for k, v in value.items() if k not in aside[key]} if key in aside else value
        for key, value in data.items()
    }
    try:
        scenario = Scenario.model_validate(rest)
    except ValidationError:
        return None
    prefixes = tuple(f"{section}.{name}" for section, names in aside.items() for name in names)
    names = {repr(name) for names_ in aside.values() for name in names_}
    problems = []
    for check in CHECKS:
        if check.__name__ in _WHOLE_NETWORK_RULES:
            continue
        for key, message in check(scenario):
            inside = key in prefixes or key.startswith(tuple(f"{p}." for p in prefixes))
            if inside or any(name in message for name in names):
                continue
            problems.append(Problem(file, key, _hint_from(message, data)))
    return problems


_UNKNOWN = re.compile(r"^unknown (node|link|grade|country|price series) '([^']*)'$")
_SECTION_OF = {
    "node": "nodes", "link": "links", "grade": "grades", "country": "countries",
    "price series": "prices",
}  # fmt: skip


def _hint_from(message: str, data: Mapping[str, Any]) -> str:
    """An `unknown node 'x'` found with entries set aside gets its suggestion from every id of
    the file, those set aside included (the one meant may be among them)."""
    match = _UNKNOWN.match(message)
    section = data.get(_SECTION_OF[match[1]]) if match else None
    if match is None or not isinstance(section, dict):
        return message
    return message + did_you_mean(match[2], section)


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Read, inherit, override and validate a scenario file into a frozen `Scenario`.

    Raises ScenarioError with every problem found (file, dotted key, reason).
    """
    path = Path(path)
    data = read_with_extends(path)
    overrides = list(overrides)
    created = created_by_overrides(data, overrides)
    data = apply_overrides(data, overrides, str(path))
    try:
        return validate_data(data, str(path))
    except ScenarioError as exc:
        problems = _name_missing_ids(exc.problems, created, data, str(path))
        raise ScenarioError(problems, exc.notes) from None


#: What one entry of each id section is called in messages.
_SINGULAR = {
    "grades": "grade", "nodes": "node", "links": "link", "contracts": "contract",
    "cargoes": "cargo option", "prices": "price series", "transit": "transit condition",
    "disruptions": "disruption", "refinery_configs": "refinery configuration",
    "countries": "country",
}  # fmt: skip


def created_by_overrides(data: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, str]:
    """`{"links.x": "links"}` for every entry of an id section that a `--set` of one of its
    keys (`links.x.capacity_t_per_day=...`) would create because the file has no `x`."""
    created = {}
    for text in overrides:
        try:
            key, _ = parse_override(text)
        except ValueError:
            continue
        parts = key.split(".")
        section = data.get(parts[0])
        if parts[0] in _SINGULAR and len(parts) > 2 and isinstance(section, dict):
            if parts[1] not in section:
                created[f"{parts[0]}.{parts[1]}"] = parts[0]
    return created


def _name_missing_ids(
    problems: list[Problem], created: dict[str, str], data: Mapping[str, Any], file: str
) -> list[Problem]:
    """Problems inside an entry a `--set` created replaced by one: that the id does not exist,
    and which existing ids are closest (a typo in a `--set` key is far likelier than a wish to
    build a new entry from the command line)."""
    if not created:
        return problems
    out: list[Problem] = []
    said: set[str] = set()
    for problem in problems:
        entry = next(
            (e for e in created if problem.key == e or problem.key.startswith(e + ".")), None
        )
        if entry is None:
            out.append(problem)
            continue
        if entry in said:
            continue
        said.add(entry)
        section, name = entry.split(".", 1)
        others = [k for k in data.get(section, {}) if f"{section}.{k}" not in created]
        out.append(
            Problem(
                file,
                entry,
                f"--set: no {_SINGULAR[section]} {name!r}{did_you_mean(name, others)}",
            )
        )
    return out
