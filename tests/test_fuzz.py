"""Fuzzing the input path (hypothesis): whatever the input, an answer, never a traceback.

Properties, over random bytes, random TOML, shipped scenarios and sweeps mutated, random
`extends` chains and random `--set` overrides:

- loading either gives a scenario (or sweep) or raises ScenarioError carrying Problems (file,
  dotted key, message), never another exception;
- `python -m sim validate` returns 0 or 2 and prints no traceback;
- a mutated scenario that validates also runs (validate accepts what run can run).

docs/reliability.md says what is guaranteed and what the fuzzing found. Examples are shared out
by WEIGHTS: ≈ 1,300 in all by default, deterministic (the same cases on every CI run), in
10–20 s. `FUZZ_EXAMPLES=20000` asks for that many in all, drawn afresh (`FUZZ_SEED` picks them);
`FUZZ_CENSUS=1` counts other exceptions by type and place instead of failing on the first, and
`-s` prints the tally per test.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
import json
import math
import os
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.errors import ScenarioError
from sim.runner import simulate
from sim.scenario.loading import (
    ALLOW_OUTSIDE_EXTENDS_ENV,
    load_scenario,
    read_with_extends,
    validate_data,
)
from sim.sweep.loading import load_sweep

REPO = Path(__file__).resolve().parents[1]
# Scenario files only: sweep and stress files are other formats (and a stress file's two
# tables can be mutated down to nothing).
SCENARIOS = sorted(
    p for p in (REPO / "scenarios").rglob("*.toml") if not {"sweeps", "stress"} & set(p.parts)
)
SWEEPS = sorted((REPO / "scenarios" / "sweeps").glob("*.toml"))

#: Share of the examples each test gets (the default total is their sum).
WEIGHTS = {
    "bytes": 200,
    "toml": 250,
    "mutated_file": 300,
    "set_cli": 250,
    "extends": 100,
    "sweep": 40,
    "engine": 100,
}
TOTAL = int(os.environ.get("FUZZ_EXAMPLES", "0")) or sum(WEIGHTS.values())
LONG_RUN = "FUZZ_EXAMPLES" in os.environ
CENSUS = os.environ.get("FUZZ_CENSUS") == "1"
#: Outcomes by test: "valid", "invalid" (a ScenarioError) or, in a census, the exception.
TALLY: dict[str, Counter[str]] = {name: Counter() for name in WEIGHTS}


def fuzz(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Hypothesis settings for one test: its share of the examples, no deadline."""
    examples = max(1, round(TOTAL * WEIGHTS[name] / sum(WEIGHTS.values())))
    chosen = settings(
        max_examples=examples,
        deadline=None,
        derandomize=not LONG_RUN,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )

    def wrap(test: Callable[..., Any]) -> Callable[..., Any]:
        test = chosen(test)
        if LONG_RUN and "FUZZ_SEED" in os.environ:
            test = seed(int(os.environ["FUZZ_SEED"]))(test)
        return test

    return wrap


@pytest.fixture(scope="module", autouse=True)
def _print_tally():
    yield
    for name, counts in TALLY.items():
        if counts:
            print(f"\nfuzz {name}: {sum(counts.values())} cases: {dict(counts)}")


@contextlib.contextmanager
def command_line_stack() -> Iterator[None]:
    """Python's default recursion limit (1000) counted from here, as a fresh `python -m sim`
    has it: hypothesis raises the limit while a test runs, which would hide RecursionErrors."""
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 1000)
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


def outcome(name: str, action: Callable[[], Any]) -> Any:
    """Run `action`; a ScenarioError must carry well-formed Problems; any other exception
    fails the test (or, in a census, is counted by type and the line that raised it)."""
    try:
        with command_line_stack():
            result = action()
    except ScenarioError as exc:
        assert exc.problems, "a ScenarioError without problems"
        for p in exc.problems:
            assert isinstance(p.file, str) and isinstance(p.key, str)
            assert isinstance(p.message, str) and p.message
        TALLY[name]["invalid"] += 1
        return None
    except Exception as exc:
        counted(name, exc)
        return None
    TALLY[name]["valid"] += 1
    return result


def counted(name: str, exc: Exception) -> None:
    """Re-raise `exc`, or in a census count it by type and the line that raised it."""
    if not CENSUS:
        raise exc
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    TALLY[name][f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}"] += 1


# ------------------------------------------------------------------ writing TOML


def toml_value(value: Any) -> str:
    """`value` as a TOML value (inline tables and arrays): a writer for the tests only."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return {math.inf: "inf", -math.inf: "-inf"}.get(value, repr(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        items = ", ".join(
            f"{json.dumps(str(k), ensure_ascii=False)} = {toml_value(v)}" for k, v in value.items()
        )
        return "{ " + items + " }" if items else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def toml_document(data: dict[str, Any]) -> str:
    return "".join(
        f"{json.dumps(str(k), ensure_ascii=False)} = {toml_value(v)}\n" for k, v in data.items()
    )


# ------------------------------------------------------------------ strategies

EXTREME_FLOATS = [
    0.0, -0.0, 1e-320, 5e-324, 1e-12, 1e-9, 1e-6, 1e-3, 0.5, 1.0, 2.0, 1e6, 9.99e11, 1e12,
    1.0000001e12, 1e13, 1e20, 1e300, 1.7976931348623157e308, math.inf, -math.inf, math.nan,
    -1.0, -1e12, -1e20,
]  # fmt: skip
EXTREME_INTS = [0, 1, -1, 2**31, 2**63, 10**12, 10**13, 10**30, -(10**20)]
EXTREME_DATES = [dt.date(1, 1, 1), dt.date(1970, 1, 1), dt.date(9999, 11, 1), dt.date(9999, 12, 31)]
NASTY_TEXT = [
    "", ".", "..", "../x", "/", "/dev/zero", "a$b$", "$", "x" * 65, "x" * 300, "a.b", "a b",
    "é", "\u202e", "\x7f", "\t", "-", "_", "CON", "nul", "a|b", "{}", "%s", "\\", "\U0001f600",
]  # fmt: skip

scalars = st.one_of(
    st.sampled_from(EXTREME_FLOATS),
    st.floats(),
    st.sampled_from(EXTREME_INTS),
    st.integers(),
    st.booleans(),
    st.sampled_from(EXTREME_DATES),
    st.dates(),
    st.sampled_from(NASTY_TEXT),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=20),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(NASTY_TEXT) | st.text(max_size=6), inner, max_size=4),
    ),
    max_leaves=12,
)

toml_scalar_texts = st.one_of(
    st.sampled_from(
        [
            "inf", "-inf", "nan", "+nan", "1e308", "1e309", "5e-324", "-0.0", "1e20", "0x7fffffff",
            "0o777", "0b101", "1_000", "9" * 5000, "0001-01-01", "9999-12-31", "2019-02-29",
            "2019-13-01", "1979-05-27T07:32:00Z", "07:32:00", "true", "'a$b$'", '"\\u0000"',
            '"\\ud800"', '"' + "x" * 300 + '"', "[]", "{}", "[1, 'a']", "{ a = 1 }", "..", "$x$",
        ]
    ),
    scalars.map(lambda v: toml_value(v)),
    st.text(max_size=30),
)  # fmt: skip


@st.composite
def nested_texts(draw: st.DrawFn) -> str:
    """An array or inline table nested from 1 to 600 deep (often around the limits: ours, 32,
    and Python's recursion, reached near 450)."""
    depth = draw(st.sampled_from([31, 32, 33, 300, 450, 600]) | st.integers(1, 600))
    if draw(st.booleans()):
        return "[" * depth + "1" + "]" * depth
    return "{ a = " * depth + "1" + " }" * depth


values_text = st.one_of(toml_scalar_texts, nested_texts())

toml_keys = st.one_of(
    st.sampled_from(["scenario", "nodes", "links", "contracts", "extends", "grades", "a.b"]),
    st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True),
    st.text(max_size=8).map(lambda k: json.dumps(k, ensure_ascii=False)),
)


@st.composite
def toml_texts(draw: st.DrawFn) -> str:
    """TOML-ish text: tables, dotted headers, keys and values, some of it broken."""
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["table", "array_table", "pair", "dotted", "junk"]))
        if kind == "table":
            parts = draw(st.lists(toml_keys, min_size=1, max_size=4))
            if draw(st.integers(0, 9)) == 0:
                parts = parts * draw(st.integers(1, 300))
            lines.append("[" + ".".join(parts) + "]")
        elif kind == "array_table":
            lines.append("[[" + ".".join(draw(st.lists(toml_keys, min_size=1, max_size=3))) + "]]")
        elif kind == "pair":
            lines.append(f"{draw(toml_keys)} = {draw(values_text)}")
        elif kind == "dotted":
            keys = ".".join(draw(st.lists(toml_keys, min_size=2, max_size=6)))
            lines.append(f"{keys} = {draw(values_text)}")
        else:
            lines.append(draw(st.text(max_size=40)))
    return "\n".join(lines) + "\n"


def key_paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in nested dicts and lists."""
    out = [prefix] if prefix else []
    if isinstance(data, dict):
        for k, v in data.items():
            out += key_paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += key_paths(v, (*prefix, i))
    return out


#: Keys the engine property leaves alone: they set how long a run takes (the number of events
#: is bounded by check_event_counts, tested there; replications multiply it), not whether it
#: can run.
ENGINE_FIXED = {
    "horizon_days", "step_days", "review_days", "mtbf_days", "mttr_days", "seed", "replications"
}  # fmt: skip

RESOLVED = {path: read_with_extends(path) for path in SCENARIOS}
PATHS = {path: key_paths(data) for path, data in RESOLVED.items()}
DOTTED = sorted(
    {
        ".".join(map(str, p))
        for paths in PATHS.values()
        for p in paths
        if all(isinstance(x, str) for x in p)
    }
)


def _kind(value: Any) -> str | None:
    """ "number" or "date" for the values the engine property changes, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return "number"
    return "date" if isinstance(value, dt.date) else None


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


@st.composite
def mutated_scenarios(draw: st.DrawFn, values_only: bool = False) -> tuple[Path, dict[str, Any]]:
    """A shipped scenario, resolved, with 1–4 random changes: of any kind, or (`values_only`)
    numbers and dates changed to other numbers and dates, extreme ones included."""
    source = draw(st.sampled_from(SCENARIOS))
    data = copy.deepcopy(RESOLVED[source])
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in key_paths(data) if p]
        if not paths:  # mutated down to an empty document: nothing left to change
            break
        if values_only:
            paths = [p for p in paths if _kind(_get(data, p)) and p[-1] not in ENGINE_FIXED]
            if not paths:
                break
            path = draw(st.sampled_from(paths))
            old = _get(data, path)
            if _kind(old) == "date":
                new: Any = draw(st.sampled_from(EXTREME_DATES) | st.dates())
            else:
                new = draw(
                    st.one_of(
                        st.sampled_from([0, 1e-9, 1e-6, 1e-3, 1.0, 1e6, 1e9, 1e11, 1e12, -1.0]),
                        st.floats(0, 1e6).map(lambda f, old=old: old * f if old else f),
                        st.floats(-1e12, 1e12),
                        st.sampled_from(EXTREME_FLOATS),
                    )
                )
                if isinstance(old, int) and math.isfinite(new):
                    new = int(new)
            _get(data, path[:-1])[path[-1]] = new
            continue
        action = draw(st.sampled_from(["set", "delete", "rename", "add"]))
        path = draw(st.sampled_from(paths))
        parent = _get(data, path[:-1])
        if action == "set":
            parent[path[-1]] = draw(values)
        elif action == "delete":
            del parent[path[-1]]
        elif action == "rename" and isinstance(parent, dict):
            new_key = draw(st.sampled_from(NASTY_TEXT) | st.text(max_size=10))
            parent[new_key] = parent.pop(path[-1])
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = draw(values)
    return source, data


set_overrides = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(DOTTED), values_text).map(lambda kv: f"{kv[0]}={kv[1]}"),
        st.tuples(st.sampled_from(DOTTED), scalars).map(lambda kv: f"{kv[0]}={toml_value(kv[1])}"),
        st.text(max_size=40),
        st.integers(30, 600).map(lambda n: ".".join(["k"] * n) + "=1"),
    ),
    max_size=4,
)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A folder for this module's files: tree/sub/x.toml, with tree/ the scenario tree."""
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "tree" / "sub").mkdir(parents=True)
    return folder


def validate_cli(name: str, argv: list[str]) -> None:
    """`python -m sim validate ...` in this process exits 0 or 2 and prints no traceback."""
    out, err = io.StringIO(), io.StringIO()

    def call() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), command_line_stack():
            try:
                return main(["validate", *argv])
            except SystemExit as exc:  # argparse: a usage error (e.g. `--set -x`) exits 2
                return int(exc.code or 0)

    try:
        code = call()
    except Exception as exc:
        counted(name, exc)
        return
    printed = out.getvalue() + err.getvalue()
    if CENSUS and (code not in (0, 2) or "Traceback" in printed):
        TALLY[name][f"exit {code}: {printed.strip().splitlines()[-1][:60]}"] += 1
        return
    TALLY[name][f"exit {code}"] += 1
    assert code in (0, 2), printed
    assert "Traceback" not in printed, printed


# ------------------------------------------------------------------ properties


SHIPPED_BYTES = [path.read_bytes() for path in SCENARIOS]


def spliced(original: bytes, at: int, insert: bytes, cut: int) -> bytes:
    """`original` with `insert` put in at `at` and `cut` bytes after it dropped."""
    at %= len(original)
    return original[:at] + insert + original[at + cut :]


@fuzz("bytes")
@given(
    st.one_of(
        st.binary(max_size=3000),
        st.builds(
            spliced,
            st.sampled_from(SHIPPED_BYTES),
            st.integers(0, 20000),
            st.binary(max_size=4) | st.sampled_from([b"\xff", b"\x00", b"\xc3", b"\xef\xbb\xbf"]),
            st.integers(0, 8),
        ),
        st.sampled_from(["utf-16", "utf-16-be", "utf-32", "latin-1", "cp1251"]).map(
            lambda enc: SHIPPED_BYTES[0].decode("utf-8").encode(enc, errors="replace")
        ),
    )
)
def test_random_bytes_load_or_give_problems(work, raw):
    file = work / "tree" / "sub" / "bytes.toml"
    file.write_bytes(raw)
    outcome("bytes", lambda: load_scenario(file))


@fuzz("toml")
@given(toml_texts(), set_overrides)
def test_random_toml_loads_or_gives_problems(work, text, overrides):
    file = work / "tree" / "sub" / "text.toml"
    file.write_text(text, encoding="utf-8")
    outcome("toml", lambda: load_scenario(file, overrides))


@fuzz("mutated_file")
@given(mutated_scenarios())
def test_mutated_scenario_files_load_or_give_problems(work, mutated):
    _, data = mutated
    file = work / "tree" / "sub" / "mutated.toml"
    try:
        text = toml_document(data)
    except RecursionError:
        return  # nested too deep for this test's own writer
    file.write_text(text, encoding="utf-8")
    outcome("mutated_file", lambda: load_scenario(file))


@fuzz("set_cli")
@given(st.sampled_from(SCENARIOS), set_overrides)
def test_validate_with_random_overrides_exits_0_or_2_without_traceback(scenario, overrides):
    argv = [str(scenario)]
    for text in overrides:
        argv += ["--set", text]
    validate_cli("set_cli", argv)


EXTENDS_NAMES = [
    "../base.toml", "../../base.toml", "base.toml", "/dev/zero", "/dev/null", "", ".", "..",
    "sub", "../sub", "a\x00b", "~/x.toml", "x" * 300, "../" * 40 + "etc/passwd",
    str(REPO / "scenarios" / "base.toml"), "f0.toml", "f1.toml", "f2.toml", "f3.toml",
]  # fmt: skip


@fuzz("extends")
@given(
    st.lists(
        st.one_of(st.sampled_from(EXTENDS_NAMES), st.text(max_size=20), st.integers()),
        min_size=1,
        max_size=4,
    ),
    st.integers(0, 40),
    st.booleans(),
)
def test_random_extends_chains_load_or_give_problems(work, targets, chain, allow_outside):
    """Files f0, f1, ... in tree/sub extending random names (each other among them), and a
    chain of `chain` files c0 -> c1 -> ... -> ../base.toml; base.toml is a copy in tree/."""
    sub = work / "tree" / "sub"
    (sub.parent / "base.toml").write_bytes(
        SHIPPED_BYTES[SCENARIOS.index(REPO / "scenarios" / "base.toml")]
    )
    for i, target in enumerate(targets):
        (sub / f"f{i}.toml").write_text(f"extends = {toml_value(target)}\n", encoding="utf-8")
    for i in range(chain):
        target = f"c{i + 1}.toml" if i + 1 < chain else "../base.toml"
        (sub / f"c{i}.toml").write_text(f'extends = "{target}"\n', encoding="utf-8")
    previous = os.environ.get(ALLOW_OUTSIDE_EXTENDS_ENV)
    os.environ[ALLOW_OUTSIDE_EXTENDS_ENV] = "1" if allow_outside else "0"
    try:
        for file in [sub / "f0.toml"] + ([sub / "c0.toml"] if chain else []):
            outcome("extends", lambda file=file: load_scenario(file))
            validate_cli("extends", [str(file)])
    finally:
        if previous is None:
            del os.environ[ALLOW_OUTSIDE_EXTENDS_ENV]
        else:
            os.environ[ALLOW_OUTSIDE_EXTENDS_ENV] = previous


@fuzz("sweep")
@given(st.sampled_from(SWEEPS), st.data())
def test_mutated_sweeps_load_or_give_problems(work, sweep, data):
    import tomllib

    raw = tomllib.loads(sweep.read_text(encoding="utf-8"))
    raw["sweep"]["base"] = str(sweep.parent / raw["sweep"]["base"])
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in key_paths(raw) if p]
        path = data.draw(st.sampled_from(paths))
        parent = _get(raw, path[:-1])
        if data.draw(st.booleans()):
            parent[path[-1]] = data.draw(values)
        elif isinstance(parent, dict):
            del parent[path[-1]]
    file = work / "sweep.toml"
    try:
        file.write_text(toml_document(raw), encoding="utf-8")
    except RecursionError:
        return
    outcome("sweep", lambda: load_sweep(file))


@fuzz("engine")
@given(mutated_scenarios(values_only=True))
def test_a_mutated_scenario_that_validates_also_runs(mutated):
    source, data = mutated
    scenario = outcome("engine", lambda: load_scenario_from(data, source))
    if scenario is not None:
        try:
            with command_line_stack():
                simulate(scenario, daily="none")  # raises on a crash or an open mass balance
        except Exception as exc:
            counted("engine", exc)


def load_scenario_from(data: dict[str, Any], source: Path):
    return validate_data(data, str(source))


def test_the_fuzz_budget_reaches_a_thousand_cases():
    assert sum(WEIGHTS.values()) >= 1000
