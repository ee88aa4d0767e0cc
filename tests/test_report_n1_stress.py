"""Reports of N−1 analyses and stress tests: real folders written by the commands, reported by
`--report` and by `report FOLDER`; the pages name the ranked assets and the strategy that loses
least, the charts are sensible PNGs, and the pages render in a headless browser."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sim.cli import main
from sim.report import detect_kind, report
from sim.report.formatting import format_interval, signed
from tests.test_report import (
    assert_sensible_png,
    check_folder,
    chromium,
    number,
    parse,
    png_size,
    read_csv,
)

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
STRESSES = ("baltic_port_closure.toml", "russian_cutoff_90d_transit_refused.toml")


@pytest.fixture(scope="module")
def n1_folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("n1")
    args = ["n1", str(SCENARIOS / "base.toml"), "--duration-days", "20", "--replications", "2"]
    args += ["--set", "scenario.horizon_days=150", "--out", str(out), "--report", "--quiet"]
    assert main(args) == 0
    (folder,) = (out / "n1").iterdir()
    return folder


@pytest.fixture(scope="module")
def stress_folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("stress")
    files = [str(SCENARIOS / f) for f in ("risk_regime.toml", "global_market_klaipeda.toml")]
    stresses = [x for f in STRESSES for x in ("--stress", str(SCENARIOS / "stress" / f))]
    args = ["stress", *files, *stresses, "--replications", "2", "--out", str(out), "--quiet"]
    assert main(args) == 0
    (folder,) = (out / "stress").iterdir()
    assert main(["report", str(folder)]) == 0
    return folder


def tonnes(row: dict[str, str], stat: str) -> str:
    values = [number(row[f"{stat}_{c}"]) for c in ("mean", "ci95_low", "ci95_high")]
    return format_interval("unserved_t", *values)


def test_n1_report_ranks_the_assets(n1_folder):
    assert detect_kind(n1_folder) == "n1"
    page = check_folder(n1_folder, {"n1_ranking.png"}).all_text
    rows = read_csv(n1_folder / "n1.csv")
    top = rows[0]
    assert top["rank"] == "1"
    assert f"{top['asset']} Most harmful asset" in page
    assert signed(tonnes(top, "extra_unserved_t")) in page
    # The table lists every asset in rank order, each with its extra unserved tonnes.
    positions = [page.index(f"{r['rank']} {r['asset']} {r['asset_kind']}") for r in rows]
    assert positions == sorted(positions)
    for r in rows:
        assert signed(tonnes(r, "extra_unserved_t")) in page, r["asset"]
    # The chart has a row per asset: taller with more assets, within sensible bounds.
    width, height = png_size(n1_folder / "n1_ranking.png")
    assert width >= 1000 and height >= 100 + 30 * len(rows)


def test_stress_report_names_who_loses_least(stress_folder):
    assert detect_kind(stress_folder) == "stress"
    page = check_folder(stress_folder, {"stress_extra.png"}).all_text
    summary = read_csv(stress_folder / "stress_summary.csv")
    first = summary[0]["strategy"]
    for stress in ("baltic_port_closure", "russian_cutoff_90d_transit_refused"):
        rows = [r for r in summary if r["stress"] == stress]
        assert len(rows) == 2
        best = min(rows, key=lambda r: (number(r["unserved_t_mean"]), rows.index(r)))
        assert f"{best['strategy']} Loses least under {stress}" in page
        assert f"Stress {stress}" in page
        for r in rows:
            assert tonnes(r, "unserved_t") in page
            assert signed(tonnes(r, "extra_unserved_t")) in page
            if r["strategy"] != first:
                assert signed(tonnes(r, "unserved_diff_vs_first")) in page
    # A 90-day Russian cut-off leaves crude unserved: the chart has something to show.
    cutoff = [r for r in summary if r["stress"] == "russian_cutoff_90d_transit_refused"]
    assert max(number(r["extra_unserved_t_mean"]) for r in cutoff) > 0
    assert_sensible_png(stress_folder / "stress_extra.png")


def test_reports_of_n1_and_stress_are_the_same_bytes_when_drawn_again(n1_folder, stress_folder):
    for folder, chart in ((n1_folder, "n1_ranking.png"), (stress_folder, "stress_extra.png")):
        before = (folder / chart).read_bytes()
        written = report(folder)
        assert [c.file for c in written.charts] == [chart]
        assert (folder / chart).read_bytes() == before
        assert parse(folder / "report.html").all_text


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["n1", "stress"])
def test_n1_and_stress_reports_render_in_a_headless_browser(
    kind, n1_folder, stress_folder, tmp_path
):
    browser = chromium()
    if browser is None:
        pytest.skip("no Chromium found (chromium, chromium-browser, google-chrome)")
    folder = n1_folder if kind == "n1" else stress_folder
    shot = tmp_path / "screenshot.png"
    command = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
        "--window-size=1280,2000", (folder / "report.html").as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Failed to load resource" not in done.stderr
    assert png_size(shot) == (1280, 2000)
    from matplotlib.image import imread

    pixels = imread(shot)
    colours = {
        tuple(float(v) for v in px[:3]) for y in range(0, 2000, 97) for px in pixels[y][::16]
    }
    assert len(colours) > 20, "the screenshot is (nearly) one colour: nothing rendered"
    assert min(sum(c) for c in colours) < 1.0
