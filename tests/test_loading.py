"""Reading scenario files: `extends`, `--set` overrides, file errors, and the command line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main
from sim.errors import Problem, ScenarioError
from sim.network import refinery_reach
from sim.scenario.loading import (
    ALLOW_OUTSIDE_EXTENDS_ENV,
    MAX_EXTENDS_CHAIN,
    MAX_FILE_BYTES,
    MAX_NESTING,
    apply_overrides,
    load_scenario,
    read_toml,
    read_with_extends,
)

REPO = Path(__file__).resolve().parents[1]
BASE = REPO / "scenarios" / "base.toml"
OUTAGE = REPO / "scenarios" / "unecha_mozyr_outage.toml"

# A small valid scenario: one grade, a junction source, a refinery, a pipeline, a contract.
MINIMAL_TOML = """\
[scenario]
name = "minimal"
start_date = 2020-01-01
horizon_days = 10

[grades.light]
bbl_per_t = 7.3

[prices.brent]
usd_per_bbl = 60.0

[nodes.src]
kind = "junction"

[nodes.ref]
kind = "refinery"
capacity_t_per_day = 1000
target_run_t_per_day = 800
tank_capacity_t = 20000
initial_stock_t = 10000

[links.src_ref]
kind = "pipeline"
from_node = "src"
to_node = "ref"
capacity_t_per_day = 1200
length_km = 100
linefill_t_per_km = 50

[contracts.c1]
seller = "seller"
origin = "russia"
grade = "light"
source = "src"
destination = "ref"
volume_t_per_month = 24000
price = { benchmark = "brent" }
"""

# Three independent problems, each at its own key (all found by the consistency rules).
BAD_TOML = (
    MINIMAL_TOML.replace("target_run_t_per_day = 800", "target_run_t_per_day = 1500")
    .replace('benchmark = "brent"', 'benchmark = "wti"')
    .replace("initial_stock_t = 10000", "initial_stock_t = 30000")
)
BAD_KEYS = (
    "nodes.ref.target_run_t_per_day",
    "contracts.c1.price.benchmark",
    "nodes.ref.initial_stock_t",
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, overrides: list[str] | tuple[str, ...] = ()) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    assert info.value.problems
    return info.value.problems


@pytest.fixture
def base_copy(tmp_path: Path) -> Path:
    """base.toml copied into tmp_path, to be extended by files written beside it."""
    return Path(shutil.copy(BASE, tmp_path / "base.toml"))


# ------------------------------------------------------------------ extends


def test_extends_overrides_one_nested_value_and_keeps_the_rest(base_copy):
    child = write(
        base_copy.parent / "child.toml",
        'extends = "base.toml"\n[scenario]\nname = "child"\n'
        "[nodes.mozyr]\ninitial_stock_t = 300000\n",
    )
    parent = load_scenario(base_copy).model_dump()
    loaded = load_scenario(child)
    assert loaded.nodes["mozyr"].initial_stock_t == 300000
    assert (
        loaded.nodes["mozyr"].capacity_t_per_day == parent["nodes"]["mozyr"]["capacity_t_per_day"]
    )
    expected = parent
    expected["scenario"]["name"] = "child"
    expected["nodes"]["mozyr"]["initial_stock_t"] = 300000
    assert loaded.model_dump() == expected


def test_extends_merges_inline_tables_and_replaces_lists(base_copy):
    child = write(
        base_copy.parent / "child.toml",
        'extends = "base.toml"\n'
        "[contracts.russia_mozyr]\n"
        "price = { benchmark = 'urals', premium_usd_per_t = 5.0 }\n"
        "volume_t_per_month = 100000\n",
    )
    data = read_with_extends(child)
    assert "extends" not in data
    contract = data["contracts"]["russia_mozyr"]
    assert contract["price"] == {
        "benchmark": "urals",
        "differential_usd_per_bbl": 0.0,
        "premium_usd_per_t": 5.0,
        "export_duty_formula": "tax_manoeuvre",
        "export_duty_monthly_usd_per_t": {
            "2019-04": 97.4,
            "2019-05": 104.6,
            "2019-06": 110.4,
            "2019-12": 90.5,
        },
    }
    assert contract["volume_t_per_month"] == 100000
    assert contract["routes"] == [["samara_unecha", "unecha_mozyr"]]
    assert contract["seller"] == "Russian oil companies (Druzhba)"


def test_chained_extends_across_folders(base_copy):
    tmp = base_copy.parent
    write(
        tmp / "mid.toml",
        'extends = "base.toml"\n[scenario]\nname = "mid"\nhorizon_days = 100\n'
        "[nodes.mozyr]\nrestart_days = 5.0\nmin_technical_rate_t_per_day = 10000\n",
    )
    leaf = write(
        tmp / "variants" / "leaf.toml",
        'extends = "../mid.toml"\n[scenario]\nname = "leaf"\n[nodes.mozyr]\nrestart_days = 7.0\n',
    )
    loaded = load_scenario(leaf)
    base = load_scenario(base_copy)
    assert loaded.scenario.name == "leaf"  # leaf
    assert loaded.scenario.horizon_days == 100  # mid
    assert loaded.scenario.start_date == base.scenario.start_date  # base
    assert loaded.nodes["mozyr"].restart_days == 7.0  # leaf over mid
    assert loaded.nodes["mozyr"].min_technical_rate_t_per_day == 10000  # mid
    assert loaded.nodes["mozyr"].tank_capacity_t == base.nodes["mozyr"].tank_capacity_t  # base
    assert loaded.links == base.links
    assert loaded.contracts == base.contracts


def test_repository_outage_scenario_extends_base():
    outage, base = load_scenario(OUTAGE), load_scenario(BASE)
    assert outage.scenario.name == "unecha_mozyr_outage"
    assert set(outage.disruptions) == {"southern_leg_outage", "northern_leg_derate"}
    assert outage.links == base.links
    assert outage.nodes == base.nodes


def test_inheritance_cycle_is_reported_at_extends(tmp_path):
    write(tmp_path / "a.toml", 'extends = "b.toml"\n')
    write(tmp_path / "b.toml", 'extends = "a.toml"\n')
    (problem,) = problems_of(tmp_path / "a.toml")
    assert problem.key == "extends"
    assert "inheritance cycle" in problem.message
    assert "a.toml -> b.toml -> a.toml" in problem.message


def test_file_extending_itself_is_a_cycle(tmp_path):
    (problem,) = problems_of(write(tmp_path / "self.toml", 'extends = "self.toml"\n'))
    assert problem.key == "extends"
    assert "inheritance cycle: self.toml -> self.toml" in problem.message


def test_missing_parent_file(tmp_path):
    child = write(tmp_path / "child.toml", 'extends = "nowhere.toml"\n[scenario]\nname = "c"\n')
    (problem,) = problems_of(child)
    assert (problem.file, problem.key) == (str(child.resolve()), "extends")
    assert "'nowhere.toml' not found" in problem.message


def test_extends_must_be_a_string(tmp_path):
    (problem,) = problems_of(write(tmp_path / "child.toml", "extends = 3\n"))
    assert problem.key == "extends"
    assert "must be a file name" in problem.message


def test_invalid_toml_names_the_file(tmp_path):
    bad = write(tmp_path / "broken.toml", "[scenario\nname = 'x'\n")
    (problem,) = problems_of(bad)
    assert problem.file == str(bad)
    assert problem.key == ""
    assert "not valid TOML" in problem.message
    assert str(ScenarioError([problem])).startswith(f"{bad}: not valid TOML")


def test_invalid_toml_in_a_parent_names_the_parent(tmp_path):
    parent = write(tmp_path / "parent.toml", "horizon_days = = 3\n")
    child = write(tmp_path / "child.toml", 'extends = "parent.toml"\n')
    (problem,) = problems_of(child)
    assert problem.file == str(parent.resolve())
    assert "not valid TOML" in problem.message


def test_missing_file(tmp_path):
    missing = tmp_path / "missing.toml"
    (problem,) = problems_of(missing)
    assert (problem.file, problem.key, problem.message) == (str(missing), "", "file not found")


def test_problems_name_the_file_as_given(tmp_path):
    bad = write(tmp_path / "bad.toml", BAD_TOML)
    problems = problems_of(bad)
    assert sorted(p.key for p in problems) == sorted(BAD_KEYS)
    assert {p.file for p in problems} == {str(bad)}


# ------------------------------------------------------------------ input limits (reliability.md)


def test_utf16_file_is_refused_asking_for_utf8(tmp_path):
    bad = tmp_path / "utf16.toml"
    bad.write_text(MINIMAL_TOML, encoding="utf-16")
    (problem,) = problems_of(bad)
    assert (problem.file, problem.key) == (str(bad), "")
    assert "is UTF-16 text; expected UTF-8" in problem.message


def test_non_utf8_bytes_are_refused_with_their_offset(tmp_path):
    bad = tmp_path / "latin1.toml"
    bad.write_bytes('[scenario]\nname = "Mozyr"\ndescription = "caf\u00e9"\n'.encode("latin-1"))
    (problem,) = problems_of(bad)
    assert (
        "is not UTF-8 text (byte 0xe9 on line 3, at offset 44); expected UTF-8" in problem.message
    )


def test_utf8_byte_order_mark_is_accepted(tmp_path):
    file = tmp_path / "bom.toml"
    file.write_bytes(b"\xef\xbb\xbf" + MINIMAL_TOML.encode("utf-8"))
    assert load_scenario(file).scenario.name == "minimal"


def test_file_larger_than_the_limit_is_refused(tmp_path):
    big = write(tmp_path / "big.toml", MINIMAL_TOML + "#" * MAX_FILE_BYTES + "\n")
    (problem,) = problems_of(big)
    assert "larger than 1,000,000 bytes (1 MB)" in problem.message


def test_folder_is_refused(tmp_path):
    (problem,) = problems_of(tmp_path)
    assert problem.message == "is a folder, not a file"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    (problem,) = problems_of(fifo)
    assert "is not a regular file" in problem.message


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_device_is_refused():
    (problem,) = problems_of(Path("/dev/zero"))
    assert "is not a regular file" in problem.message


def test_nesting_deeper_than_the_limit_is_refused(tmp_path):
    deep = write(tmp_path / "deep.toml", "x = " + "[" * 600 + "]" * 600 + "\n")
    (problem,) = problems_of(deep)
    assert f"nested more than {MAX_NESTING} levels deep; at most {MAX_NESTING}" in problem.message


def test_a_dotted_header_of_many_parts_is_refused_at_its_key(tmp_path):
    deep = write(tmp_path / "header.toml", "[" + ".".join(["a"] * 500) + "]\n")
    (problem,) = problems_of(deep)
    assert problem.key == "a.a.a.a.a.….a"
    assert "nested more than 32 levels deep" in problem.message


def test_nesting_up_to_the_limit_is_read(tmp_path):
    # The document is one level, the 30 tables of the header 30 more, the array the 32nd.
    file = write(tmp_path / "ok.toml", "[" + ".".join(["a"] * 30) + "]\nx = [1]\n")
    assert read_toml(file)
    deeper = write(tmp_path / "deeper.toml", "[" + ".".join(["a"] * 30) + "]\nx = [[1]]\n")
    (problem,) = problems_of(deeper)
    assert problem.key == "a.a.a.a.a.….0"
    assert "nested more than 32 levels deep" in problem.message


def test_override_nested_too_deep_is_refused():
    problems = problems_of(BASE, ["x=" + "[" * 600 + "]" * 600, ".".join(["k"] * 40) + "=1"])
    assert [p.key for p in problems] == ["--set", "k.k.k.k.k.….k"]
    assert "nested more than 32 levels deep" in problems[0].message
    assert "--set: tables and arrays nested more than 32" in problems[1].message


def test_override_of_an_endless_integer_is_a_value_problem_not_a_crash():
    (problem,) = problems_of(BASE, ["scenario.horizon_days=" + "9" * 5000])
    assert problem.key == "scenario.horizon_days"
    assert problem.message.endswith("…)")  # the input is quoted, cut short


def chain(folder: Path, length: int) -> Path:
    """`length` files, each extending the next; the last is MINIMAL_TOML."""
    write(folder / f"f{length - 1}.toml", MINIMAL_TOML)
    for i in range(length - 1):
        write(folder / f"f{i}.toml", f'extends = "f{i + 1}.toml"\n')
    return folder / "f0.toml"


def test_extends_chain_up_to_the_limit_is_followed(tmp_path):
    assert load_scenario(chain(tmp_path, MAX_EXTENDS_CHAIN)).scenario.name == "minimal"


def test_extends_chain_longer_than_the_limit_is_refused(tmp_path):
    (problem,) = problems_of(chain(tmp_path, 1000))
    assert problem.key == "extends"
    assert "extends chain longer than 16 files (from f0.toml)" in problem.message


def test_extends_by_absolute_path_needs_the_setting(tmp_path, monkeypatch):
    monkeypatch.delenv(ALLOW_OUTSIDE_EXTENDS_ENV, raising=False)
    child = write(tmp_path / "child.toml", f'extends = "{BASE.as_posix()}"\n')
    (problem,) = problems_of(child)
    assert problem.key == "extends"
    assert "is an absolute path; give a path relative to this file" in problem.message
    assert f"(or set {ALLOW_OUTSIDE_EXTENDS_ENV}=1)" in problem.message
    monkeypatch.setenv(ALLOW_OUTSIDE_EXTENDS_ENV, "1")
    assert load_scenario(child) == load_scenario(BASE)


def test_extends_out_of_the_scenario_tree_needs_the_setting(tmp_path, monkeypatch):
    monkeypatch.delenv(ALLOW_OUTSIDE_EXTENDS_ENV, raising=False)
    write(tmp_path / "outside.toml", MINIMAL_TOML)
    child = write(tmp_path / "tree" / "sub" / "child.toml", 'extends = "../../outside.toml"\n')
    (problem,) = problems_of(child)
    assert problem.key == "extends"
    assert f"'../../outside.toml' is outside the scenario tree {tmp_path / 'tree'}" in (
        problem.message
    )
    monkeypatch.setenv(ALLOW_OUTSIDE_EXTENDS_ENV, "1")
    assert load_scenario(child).scenario.name == "minimal"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_extends_of_a_device_is_refused_even_when_outside_is_allowed(tmp_path, monkeypatch):
    monkeypatch.setenv(ALLOW_OUTSIDE_EXTENDS_ENV, "1")
    (problem,) = problems_of(write(tmp_path / "child.toml", 'extends = "/dev/zero"\n'))
    assert (problem.file, problem.message) == (
        "/dev/zero",
        "is not a regular file (a device, pipe or socket)",
    )


def test_every_shipped_scenario_stays_within_its_tree(monkeypatch):
    monkeypatch.delenv(ALLOW_OUTSIDE_EXTENDS_ENV, raising=False)
    for path in sorted((REPO / "scenarios").rglob("*.toml")):
        if not {"sweeps", "stress"} & set(path.parts):  # not scenarios: sweep and stress files
            load_scenario(path)


# ------------------------------------------------------------------ --set overrides


def test_override_changes_the_value():
    loaded = load_scenario(BASE, ["links.unecha_mozyr.capacity_t_per_day=40000"])
    assert loaded.links["unecha_mozyr"].capacity_t_per_day == 40000
    assert loaded.links["unecha_polotsk"] == load_scenario(BASE).links["unecha_polotsk"]


def test_override_applies_after_extends():
    loaded = load_scenario(
        OUTAGE,
        [
            "links.unecha_mozyr.capacity_t_per_day=40000",
            "disruptions.southern_leg_outage.capacity_factor=0.25",
            "scenario.start_date=2019-02-01",
        ],
    )
    assert loaded.links["unecha_mozyr"].capacity_t_per_day == 40000
    assert loaded.disruptions["southern_leg_outage"].capacity_factor == 0.25
    assert str(loaded.scenario.start_date) == "2019-02-01"


def test_override_of_the_wrong_type_is_reported_with_its_key():
    problems = problems_of(BASE, ["scenario.horizon_days=abc"])
    assert [p.key for p in problems] == ["scenario.horizon_days"]
    assert "valid integer" in problems[0].message
    assert "'abc'" in problems[0].message
    assert problems[0].file == str(BASE)


def test_override_of_an_unknown_key_is_reported_as_unknown_key():
    problems = problems_of(BASE, ["links.unecha_mozyr.capacityy=1"])
    assert [(p.key, p.message) for p in problems] == [
        ("links.unecha_mozyr.capacityy", "unknown key; did you mean 'capacity_t_per_day'?")
    ]


def test_override_through_a_scalar_is_an_error():
    (problem,) = problems_of(BASE, ["scenario.name.x=1"])
    assert problem.key == "scenario.name.x"
    assert "scenario.name is a value, not a table" in problem.message


def test_override_without_equals_sign_is_an_error():
    (problem,) = problems_of(BASE, ["scenario.horizon_days"])
    assert problem.key == "--set"
    assert "not KEY=VALUE" in problem.message


def test_every_bad_override_is_reported_at_once():
    with pytest.raises(ScenarioError) as info:
        apply_overrides({"scenario": {"name": "x"}}, ["scenario.name.x=1", "=2", "a.b=3"], "f.toml")
    assert [p.key for p in info.value.problems] == ["scenario.name.x", "--set"]
    assert {p.file for p in info.value.problems} == {"f.toml"}


def test_apply_overrides_reads_toml_values_and_leaves_its_input_alone():
    data = {"scenario": {"name": "x", "seed": 1}}
    result = apply_overrides(
        data,
        ["scenario.seed=7", "scenario.step_days=0.5", "scenario.name=my-run", "new.table.k=true"],
        "f.toml",
    )
    assert result == {
        "scenario": {"name": "my-run", "seed": 7, "step_days": 0.5},
        "new": {"table": {"k": True}},
    }
    assert data == {"scenario": {"name": "x", "seed": 1}}


# ------------------------------------------------------------------ command line


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    return write(tmp_path / "bad.toml", BAD_TOML)


@pytest.fixture
def quick_file(base_copy: Path) -> Path:
    """base.toml shortened to a few days, so that a run takes a fraction of a second."""
    return write(
        base_copy.parent / "quick.toml",
        'extends = "base.toml"\n[scenario]\nname = "quick"\nhorizon_days = 10\n',
    )


def assert_reports_every_problem(stderr: str, file: Path) -> None:
    assert "Traceback" not in stderr
    assert f"{len(BAD_KEYS)} problem(s)" in stderr
    for key in BAD_KEYS:
        assert f"{file}: {key}: " in stderr


def test_validate_bad_file_exits_2_and_lists_every_problem(bad_file, capsys):
    assert main(["validate", str(bad_file)]) == 2
    out, err = capsys.readouterr()
    assert_reports_every_problem(err, bad_file)
    assert out == ""


def test_validate_bad_file_in_a_subprocess(bad_file, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "validate", str(bad_file)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert_reports_every_problem(proc.stderr, bad_file)


def test_validate_base_exits_0(capsys):
    assert main(["validate", str(BASE)]) == 0
    out, err = capsys.readouterr()
    assert f"{BASE}: valid" in out
    assert err == ""


def test_validate_several_files_reports_each(bad_file, capsys):
    assert main(["validate", str(BASE), str(bad_file), str(OUTAGE)]) == 2
    out, err = capsys.readouterr()
    assert f"{BASE}: valid" in out
    assert f"{OUTAGE}: valid" in out
    assert_reports_every_problem(err, bad_file)


def test_validate_with_a_bad_override_exits_2(capsys):
    assert main(["validate", str(BASE), "--set", "scenario.horizon_days=abc"]) == 2
    err = capsys.readouterr().err
    assert f"{BASE}: scenario.horizon_days: " in err
    assert "Traceback" not in err


def test_run_bad_file_exits_2_and_writes_nothing(bad_file, tmp_path, capsys):
    out_dir = tmp_path / "results"
    assert main(["run", str(bad_file), "--out", str(out_dir)]) == 2
    assert_reports_every_problem(capsys.readouterr().err, bad_file)
    assert not out_dir.exists()


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    } | {str(p.relative_to(folder)) + "/": (b"", 0) for p in folder.rglob("*") if p.is_dir()}


def test_run_refuses_to_overwrite_without_force(quick_file, tmp_path, capsys):
    out_dir = tmp_path / "results"
    argv = ["run", str(quick_file), "--out", str(out_dir), "--daily", "none", "--quiet"]
    assert main(argv) == 0
    folder = Path(capsys.readouterr().out.strip().removeprefix("results written to "))
    assert folder.parent == out_dir / "quick"
    assert (folder / "manifest.json").is_file()
    before = snapshot(out_dir)

    assert main(argv) == 3
    captured = capsys.readouterr()
    assert "exists already" in captured.err
    assert "--force" in captured.err
    assert "Traceback" not in captured.err
    assert snapshot(out_dir) == before

    assert main([*argv, "--force"]) == 0
    assert f"results written to {folder}" in capsys.readouterr().out
    assert sorted(p.name for p in (out_dir / "quick").iterdir()) == [folder.name]
    assert (folder / "manifest.json").is_file()


def test_describe_base_prints_links_and_refinery_max_flow(capsys):
    assert main(["describe", str(BASE)]) == 0
    out = capsys.readouterr().out
    scenario = load_scenario(BASE)
    for link in scenario.links:
        assert link in out
    reach = refinery_reach(scenario)
    assert {r.refinery for r in reach} == set(scenario.refineries())
    lines = out.splitlines()
    for r in reach:
        flow = f"{r.max_flow_t_per_day:,.0f} t/day against target"
        assert any(line.split()[:1] == [r.refinery] and flow in line for line in lines), r


def test_describe_minimal_scenario_max_flow(tmp_path, capsys):
    assert main(["describe", str(write(tmp_path / "m.toml", MINIMAL_TOML))]) == 0
    out = capsys.readouterr().out
    assert "src_ref" in out
    # The only line into the refinery carries 1,200 t/day; the junction source is unbounded.
    (line,) = [line for line in out.splitlines() if "against target" in line]
    assert line.split()[:6] == ["ref", "1,200", "t/day", "against", "target", "800"]


def test_describe_bad_file_exits_2(bad_file, capsys):
    assert main(["describe", str(bad_file)]) == 2
    assert_reports_every_problem(capsys.readouterr().err, bad_file)


def test_run_into_an_unwritable_place_exits_1_without_traceback(tmp_path, capsys):
    from sim.cli import main

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code = main(["run", str(REPO / "scenarios" / "base.toml"), "--out", str(blocker / "x")])
    err = capsys.readouterr().err
    assert code == 1
    assert "cannot write results" in err and "Traceback" not in err
