"""`sim.read_results`: result folders as pandas DataFrames with typed columns."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import sim

pd = pytest.importorskip("pandas")

REPO = Path(__file__).resolve().parents[1]
BASE = REPO / "scenarios" / "base.toml"
SHORT = ["scenario.replications=2", "scenario.horizon_days=40"]


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    scenario = sim.load_scenario(BASE, overrides=SHORT)
    return sim.run(scenario, out=tmp_path_factory.mktemp("results")).folder


def test_a_runs_tables_come_back_typed(run_folder):
    frames = sim.read_results(run_folder)
    assert {"summary", "daily", "events", "costs", "refineries"} <= set(frames)
    summary = frames["summary"]
    assert len(summary) == 2
    assert str(summary["replication"].dtype) == "Int64"
    assert summary["unserved_t"].dtype == "float64"
    daily = frames["daily"]
    assert pd.api.types.is_datetime64_any_dtype(daily["date"])
    assert isinstance(daily["asset"].dtype, pd.CategoricalDtype)
    assert "mozyr" in set(daily["asset"])
    assert daily["stock_t"].dtype == "float64"


def test_a_comparison_folder_is_read(tmp_path):
    output = sim.compare([BASE, BASE], replications=2, out=tmp_path, overrides=SHORT[1:])
    frames = sim.read_results(output.folder)
    assert {"comparison", "replications", "ranking"} <= set(frames)
    assert isinstance(frames["comparison"]["kpi"].dtype, pd.CategoricalDtype)
    assert str(frames["ranking"]["rank"].dtype) == "Int64"


def test_a_folder_of_nothing_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not a result folder"):
        sim.read_results(tmp_path)


def test_without_pandas_the_error_says_how_to_get_it(run_folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"oil-supply-sim\[pandas\]"):
        sim.read_results(run_folder)
