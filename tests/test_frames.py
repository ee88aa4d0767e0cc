"""`sim.read_results`: result folders as pandas DataFrames with typed columns."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import sim
from sim.registry import STATS

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


def test_a_sweeps_long_points_come_back_typed_and_pivot_to_one_row_per_point(tmp_path):
    folder = tmp_path / "sweep"
    folder.mkdir()
    (folder / "runs.csv").write_text("run_key,point,replication,seed,status,error\n", "utf-8")
    lever = "links.unecha_mozyr.capacity_t_per_day"
    stats = ",".join(STATS)
    rows = [
        f"point,{lever},runs,ok,failed,kpi,{stats}",
        "0,30000,2,2,0,unserved_t,2,10.0,0.0,10.0,10.0,10.0,10.0,10.0",
        "0,30000,2,2,0,landed_cost_usd_per_t,2,400.5,1.5,387.0,414.0,399.1,400.5,401.9",
        "1,40000,2,1,1,unserved_t,1,4.0,0.0,4.0,4.0,4.0,4.0,4.0",
        "1,40000,2,1,1,landed_cost_usd_per_t,0,,,,,,,",
    ]
    (folder / "points.csv").write_text("\n".join(rows) + "\n", "utf-8")
    points = sim.read_results(folder)["points"]
    assert len(points) == 4 and isinstance(points["kpi"].dtype, pd.CategoricalDtype)
    # Declared in the registry: `mean` is a float even when every value is whole.
    assert points["mean"].dtype == "float64" and str(points["n"].dtype) == "Int64"
    wide = sim.wide_points(points)
    assert list(wide.columns[:6]) == ["point", lever, "runs", "ok", "failed", "unserved_t_n"]
    assert list(wide["point"]) == [0, 1] and list(wide[lever]) == [30000, 40000]
    assert list(wide["unserved_t_mean"]) == [10.0, 4.0]
    assert wide["landed_cost_usd_per_t_p95"].iloc[0] == 401.9
    assert pd.isna(wide["landed_cost_usd_per_t_mean"].iloc[1])
    assert wide["unserved_t_mean"].dtype == "float64"
    assert str(wide["unserved_t_n"].dtype) == "Int64"
    means = sim.wide_points(points, ("mean",))
    assert list(means.columns[5:]) == ["unserved_t_mean", "landed_cost_usd_per_t_mean"]
    with pytest.raises(ValueError, match="no statistic"):
        sim.wide_points(points, ("median",))
    with pytest.raises(ValueError, match="long form"):
        sim.wide_points(sim.read_results(folder)["runs"])
