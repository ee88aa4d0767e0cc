"""Help at every step: each kind of mistake names the closest thing the user may have meant,
and one pass lists the problems of shape and the cross-references of what did validate."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sim.cli import main
from sim.errors import Problem, ScenarioError
from sim.scenario.loading import load_scenario
from sim.suggest import did_you_mean

REPO = Path(__file__).resolve().parents[1]
BASE = REPO / "scenarios" / "base.toml"


def problems(path: Path, overrides: list[str]) -> list[tuple[str, str]]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return [(p.key, p.message) for p in info.value.problems]


def test_did_you_mean_names_close_names_only():
    assert did_you_mean("unecha_mozyr2", ["unecha_mozyr", "samara_unecha"]) == (
        "; did you mean 'unecha_mozyr'?"
    )
    assert did_you_mean("zzz", ["unecha_mozyr"]) == ""


def test_an_unknown_key_names_the_models_closest_fields():
    assert problems(BASE, ["scenario.horizon_dys=30"]) == [
        ("scenario.horizon_dys", "unknown key; did you mean 'horizon_days'?")
    ]


def test_an_unknown_key_in_a_kind_of_node_names_that_kinds_fields():
    (found,) = problems(BASE, ["nodes.mozyr.target_run_t_per_dy=1"])
    assert found[0] == "nodes.mozyr.target_run_t_per_dy"
    assert found[1].startswith("unknown key; did you mean 'target_run_t_per_day'")


def test_an_unknown_node_of_a_link_names_the_closest_node():
    found = problems(BASE, ["links.unecha_mozyr.to_node=mozir"])
    assert ("links.unecha_mozyr.to_node", "unknown node 'mozir'; did you mean 'mozyr'?") in found


def test_an_unknown_contract_source_names_the_closest_node():
    (key, message), *_ = problems(BASE, ["contracts.russia_mozyr.source=samarra"])
    assert key == "contracts.russia_mozyr.source"
    assert message == "unknown node 'samarra'; did you mean 'samara'?"


def test_an_unknown_disruption_target_names_the_closest_asset():
    found = problems(
        REPO / "scenarios" / "unecha_mozyr_outage.toml",
        ["disruptions.southern_leg_outage.target=unecha_mozir"],
    )
    assert len(found) == 1
    assert found[0][1].endswith("; did you mean 'unecha_mozyr'?")


def test_a_set_of_a_missing_id_says_there_is_none_and_names_the_closest():
    assert problems(BASE, ["links.unecha_mozyr2.capacity_t_per_day=40000"]) == [
        ("links.unecha_mozyr2", "--set: no link 'unecha_mozyr2'; did you mean 'unecha_mozyr'?")
    ]


def test_a_missing_scenario_file_names_the_files_beside_it(tmp_path):
    shutil.copy(BASE, tmp_path / "base.toml")
    ((key, message),) = problems(tmp_path / "bse.toml", [])
    assert message == "file not found; did you mean 'base.toml'?"


def test_a_missing_folder_says_so(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nowhere" / "base.toml")]) == 2
    assert "(no folder" in capsys.readouterr().err


def test_one_pass_lists_shape_problems_and_the_cross_references_of_what_validated():
    # A bad value in one link (shape) and an unknown node in another (a cross-reference):
    # both at once, where the rules used to wait for the shape to be fixed.
    found = problems(
        BASE,
        [
            "links.unecha_mozyr.capacity_t_per_day=-5",
            "links.surgut_polotsk.to_node=naftn",
        ],
    )
    keys = [key for key, _ in found]
    assert "links.unecha_mozyr.capacity_t_per_day" in keys
    assert ("links.surgut_polotsk.to_node", "unknown node 'naftn'; did you mean 'naftan'?") in found


def test_a_problem_outside_the_id_sections_says_the_rules_did_not_run(capsys):
    assert main(["validate", str(BASE), "--set", "scenario.horizon_days=-1"]) == 2
    assert "cross-section rules" in capsys.readouterr().err


def test_problem_is_still_a_plain_record():
    assert str(Problem("f", "k", "m")) == "f: k: m"
