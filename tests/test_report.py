"""Reports: every chart is a real PNG of sensible size, report.html parses, embeds every chart
and shows the headline numbers of the CSVs, and renders in a headless browser."""

from __future__ import annotations

import base64
import csv
import json
import math
import os
import random
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sim import registry
from sim.cli import main
from sim.report import ReportError, detect_kind, report
from sim.report.formatting import (
    RUN_HEADLINE,
    format_interval,
    format_kpi,
    input_label,
    measure,
    signed,
)
from sim.report.run_data import disruptions, load
from sim.report.sensitivity import drivers, too_few_runs
from sim.report.sweep import levels
from sim.results import SUMMARY_KPIS
from sim.statistics import describe, mean_ci

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SHORT = "scenario.horizon_days=60"
# Move the outage (1 May, 20 days) into a 60-day run, so its shading is drawn.
EARLY_OUTAGE = (
    "disruptions.southern_leg_outage.start_date=2019-01-20",
    "disruptions.northern_leg_derate.start_date=2019-01-20",
)
RUN_CHARTS = {
    "stock.png",
    "runs.png",
    "deliveries.png",
    "landed_cost.png",
    "margin.png",
    "link_flows.png",
}
COMPARISON_CHARTS = {"kpis.png", "differences.png"}
SWEEP_CHARTS = {"levers.png", "heatmap.png", "tornado.png"}


# ------------------------------------------------------------------ helpers


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR", f"{path.name}: no IHDR chunk first"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def assert_sensible_png(path: Path) -> None:
    width, height = png_size(path)
    assert 400 <= width <= 4000, f"{path.name}: width {width} px"
    assert 400 <= height <= 4000, f"{path.name}: height {height} px"


class Page(HTMLParser):
    """What a browser would see: the text, the images' sources, any external reference."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.external: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value:
                if tag == "img" and name == "src":
                    self.images.append(value)
                if not value.startswith(("data:", "#")):
                    self.external.append(value)

    def handle_data(self, data):
        self.text.append(data)

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def parse(html_path: Path) -> Page:
    page = Page()
    page.feed(html_path.read_text(encoding="utf-8"))
    page.close()
    return page


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def number(cell: str) -> float:
    return float(cell) if cell else math.nan


def check_folder(folder: Path, expected_charts: set[str]) -> Page:
    """Every chart expected is a sensible PNG; the page parses and embeds exactly the PNGs."""
    pngs = sorted(p.name for p in folder.glob("*.png"))
    assert expected_charts <= set(pngs), f"missing charts: {expected_charts - set(pngs)}"
    for name in pngs:
        assert_sensible_png(folder / name)
    page = parse(folder / "report.html")
    assert page.tags[:2] == ["html", "head"]
    uris = [src for src in page.images if src.startswith("data:image/png;base64,")]
    assert len(uris) == len(page.images) == len(pngs)
    embedded = sorted(base64.b64decode(uri.partition(",")[2]) for uri in uris)
    assert embedded == sorted((folder / name).read_bytes() for name in pngs)
    assert page.external == [], f"the page refers outside itself: {page.external}"
    return page


# ------------------------------------------------------------------ result folders


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    """A 60-day run of the outage scenario, the outage moved into it, reported by run --report."""
    out = tmp_path_factory.mktemp("run")
    sets = [x for s in (SHORT, *EARLY_OUTAGE) for x in ("--set", s)]
    args = ["run", str(SCENARIOS / "unecha_mozyr_outage.toml"), *sets, "--out", str(out)]
    assert main([*args, "--report", "--quiet"]) == 0
    (folder,) = (out / "unecha_mozyr_outage").iterdir()
    return folder


@pytest.fixture(scope="module")
def cargo_run_folder(tmp_path_factory) -> Path:
    """Two replications of the diversified strategy (cargoes, rail, five origins), 60 days,
    reported afterwards by the report command."""
    out = tmp_path_factory.mktemp("cargo_run")
    file = str(SCENARIOS / "diversified.toml")
    # The scheduled US cargoes fall after day 60: buy one in January instead.
    sets = ["--set", SHORT, "--set", "cargoes.us_light_klaipeda.schedule=[2019-01-15]"]
    code = main(["run", file, *sets, "--replications", "2", "--out", str(out), "--quiet"])
    assert code == 0
    (folder,) = (out / "diversified").iterdir()
    assert main(["report", str(folder)]) == 0
    return folder


@pytest.fixture(scope="module")
def comparison_folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("comparison")
    files = [str(SCENARIOS / f) for f in ("base.toml", "unecha_mozyr_outage.toml")]
    sets = ["--set", "scenario.horizon_days=150"]  # takes in the outage (day 120, 20 days)
    code = main(["compare", *files, *sets, "--replications", "3", "--out", str(out), "--report"])
    assert code == 0
    (folder,) = (out / "comparisons").iterdir()
    return folder


SWEEP_FILE = """
[sweep]
name = "outage_small"
description = "Outage length and northern leg capacity; the Urals price uncertain"
base = "{base}"
replications = 3
seed = 7

[levers]
"disruptions.southern_leg_outage.duration_days" = {{ values = [10, 20, 30] }}
"links.unecha_polotsk.capacity_t_per_day" = {{ values = [20000, 30000] }}

[uncertainties."prices.urals.usd_per_bbl"]
distribution = "normal"
mean = 63.59
sd = 6.0
low = 40.0
high = 90.0
"""


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory) -> Path:
    """A real sweep of 18 runs of 150 days (the outage starts on day 120), in this process."""
    tmp = tmp_path_factory.mktemp("sweep")
    base = os.path.relpath(SCENARIOS / "unecha_mozyr_outage.toml", tmp)
    file = tmp / "small.toml"
    file.write_text(SWEEP_FILE.format(base=base), encoding="utf-8")
    out = tmp / "out"
    args = ["sweep", str(file), "--workers", "1", "--set", "scenario.horizon_days=150"]
    assert main([*args, "--out", str(out), "--quiet"]) == 0
    folder = out / "outage_small"
    assert main(["report", str(folder)]) == 0
    return folder


def write_fixture_sweep(folder: Path) -> None:
    """A hand-made sweep folder in the format of docs/results.md (points.csv long: one row
    per lever point and KPI): 2 × 3 lever points, one continuous uncertainty, one string lever
    value, one failed run."""
    rng = random.Random(3)
    levers = ("contracts.kazakh.volume_t_per_month", "transit.quota.route")
    uncertainty = "prices.brent.usd_per_bbl"
    columns = ["run_key", "point", "replication", "seed", "status", "error"]
    columns += [*levers, uncertainty, *SUMMARY_KPIS]
    runs, points, point = [], [], 0
    for volume in (0.0, 100000.0):
        for route in ("north", "south", "both"):
            mine = []
            for rep in range(4):
                brent = rng.uniform(50, 80)
                failed = point == 2 and rep == 3
                kpis = {k: rng.random() for k in SUMMARY_KPIS}
                kpis["landed_cost_usd_per_t"] = 400 + 1.2 * brent + volume / 1e5 * 5
                kpis["unserved_t"] = 100000 - volume * 0.5 + (route == "north") * 20000
                row = {
                    "run_key": f"k{point}{rep}", "point": point, "replication": rep,
                    "seed": 100 + 10 * point + rep, "status": "failed" if failed else "ok",
                    "error": "ValueError: boom" if failed else "",
                    levers[0]: volume, levers[1]: route, uncertainty: round(brent, 6),
                    **{k: "" if failed else round(v, 6) for k, v in kpis.items()},
                }  # fmt: skip
                runs.append(row)
                mine.append(row)
            p = {"point": point, levers[0]: volume, levers[1]: route}
            ok = [r for r in mine if r["status"] == "ok"]
            p.update(runs=len(mine), ok=len(ok), failed=len(mine) - len(ok))
            for kpi in SUMMARY_KPIS:
                stats = describe([float(r[kpi]) for r in ok])
                points.append({**p, "kpi": kpi, **stats})
            point += 1
    folder.mkdir(parents=True)
    for name, rows in (("runs.csv", runs), ("points.csv", points)):
        with (folder / name).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    manifest = {"kind": "sweep", "sweep_name": "fixture", "seed": 3, "levers": list(levers)}
    manifest["uncertainties"] = [uncertainty]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


# ------------------------------------------------------------------ runs


def test_run_report_has_every_chart_and_embeds_them(run_folder):
    page = check_folder(run_folder, RUN_CHARTS)
    assert "cargoes.png" not in {p.name for p in run_folder.glob("*.png")}  # no cargoes here
    scenario = json.loads((run_folder / "scenario.resolved.json").read_text(encoding="utf-8"))
    assert scenario["scenario"]["description"] in page.all_text  # the question asked


def test_run_report_shows_the_headline_numbers_of_summary_csv(run_folder):
    page = parse(run_folder / "report.html").all_text
    (row,) = read_csv(run_folder / "summary.csv")
    shown = 0
    for kpi in RUN_HEADLINE:
        value = number(row[kpi])
        if math.isnan(value) or (kpi == "cargoes_bought" and value == 0):
            continue
        assert format_kpi(kpi, value) in page, kpi
        shown += 1
    assert shown >= 7
    assert format_kpi("unserved_t", number(row["unserved_t"])) != "0.00 t"  # the outage bit
    for r in read_csv(run_folder / "refineries.csv"):
        assert r["refinery"] in page
        assert format_kpi("refinery_intake_t", number(r["intake_t"])) in page


def test_run_report_with_replications_shows_means_and_intervals(cargo_run_folder):
    page = check_folder(cargo_run_folder, RUN_CHARTS | {"cargoes.png"}).all_text
    rows = read_csv(cargo_run_folder / "summary.csv")
    assert len(rows) == 2
    for kpi in ("refinery_intake_t", "landed_cost_usd_per_t", "min_days_cover"):
        _, mean, _, low, high = mean_ci([number(r[kpi]) for r in rows])
        assert format_interval(kpi, mean, low, high) in page, kpi


def test_disruption_periods_come_from_the_events(run_folder):
    data = load(run_folder)
    periods = {(d.asset, d.name): d for d in disruptions(data, 0)}
    # 2019-01-20 is day 19; both last 20 days.
    assert periods["unecha_mozyr", "southern_leg_outage"].start_day == 19
    assert periods["unecha_mozyr", "southern_leg_outage"].end_day == 39
    assert periods["unecha_mozyr", "southern_leg_outage"].factor == 0.0
    assert periods["unecha_polotsk", "northern_leg_derate"].factor == 0.5
    text = parse(run_folder / "report.html").all_text
    assert "Disruption southern_leg_outage: unecha_mozyr (capacity_factor=0), 2019-01-20" in text


def test_charts_are_the_same_bytes_when_drawn_again(run_folder, tmp_path):
    copy = tmp_path / "again"
    shutil.copytree(run_folder, copy)
    report(copy)
    for png in run_folder.glob("*.png"):
        assert (copy / png.name).read_bytes() == png.read_bytes(), png.name


# ------------------------------------------------------------------ comparisons


def test_comparison_report_shows_every_kpi_and_difference(comparison_folder):
    page = check_folder(comparison_folder, COMPARISON_CHARTS).all_text
    rows = read_csv(comparison_folder / "comparison.csv")
    first = rows[0]["strategy"]
    for row in rows:
        kpi = row["kpi"]
        values = [number(row[c]) for c in ("mean", "ci95_low", "ci95_high")]
        assert format_interval(kpi, *values) in page, (kpi, row["strategy"])
        if row["strategy"] != first:
            diff = [number(row[f"diff_vs_first_{c}"]) for c in ("mean", "ci95_low", "ci95_high")]
            assert signed(format_interval(kpi, *diff)) in page, (kpi, "difference")
    assert "base" in page and "unecha_mozyr_outage" in page


# ------------------------------------------------------------------ sweeps


def test_sweep_report_from_a_real_sweep(sweep_folder):
    page = check_folder(sweep_folder, SWEEP_CHARTS).all_text
    runs = read_csv(sweep_folder / "runs.csv")
    assert f"{len(runs):,}" in page
    points = read_csv(sweep_folder / "points.csv")
    for kpi in ("landed_cost_usd_per_t", "unserved_t"):
        means = [number(p["mean"]) for p in points if p["kpi"] == kpi]
        assert len(means) == 6, kpi  # 3 × 2 lever points
        assert format_kpi(kpi, min(means)) in page, kpi
        assert format_kpi(kpi, max(means)) in page, kpi


def test_sweep_report_from_a_hand_made_folder(tmp_path):
    folder = tmp_path / "fixture"
    write_fixture_sweep(folder)
    assert detect_kind(folder) == "sweep"
    written = report(folder)
    assert {c.file for c in written.charts} == SWEEP_CHARTS
    page = check_folder(folder, SWEEP_CHARTS).all_text
    assert "24 succeeded" not in page and "23 succeeded, 1 failed" in page
    assert "ValueError: boom" in page


def synthetic_runs(n: int, seed: int = 5) -> list[dict]:
    """n runs where the Brent price drives landed cost strongly and the outage length not at
    all; unserved tonnes are noise."""
    rng = random.Random(seed)
    runs = []
    for _ in range(n):
        brent, days = rng.uniform(50, 90), float(rng.choice((10, 20, 30)))
        runs.append(
            {
                "status": "ok",
                "prices.brent.usd_per_bbl": brent,
                "disruptions.southern_leg_outage.duration_days": days,
                "landed_cost_usd_per_t": 400 + 7.3 * brent + rng.gauss(0, 20),
                "unserved_t": rng.uniform(0, 1000),
            }
        )
    return runs


SYNTHETIC_INPUTS = [
    ("disruptions.southern_leg_outage.duration_days", "lever"),
    ("prices.brent.usd_per_bbl", "uncertainty"),
]


def test_drivers_rank_the_strong_input_first_with_an_interval_excluding_zero():
    found = drivers(synthetic_runs(200), SYNTHETIC_INPUTS, "landed_cost_usd_per_t")
    assert [d.key for d in found] == ["prices.brent.usd_per_bbl", SYNTHETIC_INPUTS[0][0]]
    strong, idle = found
    assert strong.prcc > 0.9 and strong.low > 0 and strong.distinguishable
    assert idle.low < 0 < idle.high and not idle.distinguishable
    # The same runs give the same numbers (the bootstrap is seeded).
    assert drivers(synthetic_runs(200), SYNTHETIC_INPUTS, "landed_cost_usd_per_t") == found


def test_a_small_sample_carries_a_warning_and_a_large_one_does_not():
    assert too_few_runs(200, 2) is None
    assert too_few_runs(50, 5) is None
    assert too_few_runs(18, 3) == (
        "too few runs to rank drivers: 18 runs for 3 inputs; at least 50 needed "
        "(10 per input and 50 in all)"
    )
    assert "at least 80 needed" in too_few_runs(60, 8)


def synthetic_sweep(folder: Path, n: int) -> None:
    """A sweep folder from synthetic_runs: one lever (outage days), one uncertainty (Brent).
    Its points.csv is wide (one row per point, `<kpi>_<stat>` columns), as sweeps wrote it
    before it was long: the report still reads such folders."""
    columns = ["run_key", "point", "replication", "seed", "status", "error"]
    lever, uncertainty = (k for k, _ in SYNTHETIC_INPUTS)
    runs = []
    for i, r in enumerate(synthetic_runs(n)):
        point = int(r[lever]) // 10 - 1
        row = {"run_key": f"k{i}", "point": point, "replication": i, "seed": i, "error": ""}
        runs.append({**row, **r})
    points = []
    for point, days in enumerate((10.0, 20.0, 30.0)):
        mine = [r for r in runs if r["point"] == point]
        p = {"point": point, lever: days}
        for kpi in ("landed_cost_usd_per_t", "unserved_t"):
            for stat, value in describe([r[kpi] for r in mine]).items():
                p[f"{kpi}_{stat}"] = value
        points.append(p)
    folder.mkdir(parents=True)
    for name, rows, header in (
        ("runs.csv", runs, [*columns, lever, uncertainty, "landed_cost_usd_per_t", "unserved_t"]),
        ("points.csv", points, list(points[0])),
    ):
        with (folder / name).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, header)
            writer.writeheader()
            writer.writerows(rows)
    manifest = {"kind": "sweep", "sweep_name": "synthetic", "seed": 1, "levers": [lever]}
    manifest["uncertainties"] = [uncertainty]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


@pytest.mark.parametrize("n", [12, 120])
def test_sweep_page_and_terminal_warn_only_when_the_sample_is_small(n, tmp_path, capsys):
    folder = tmp_path / "synthetic"
    synthetic_sweep(folder, n)
    assert main(["report", str(folder)]) == 0
    err = capsys.readouterr().err
    page = parse(folder / "report.html").all_text
    warning = f"too few runs to rank drivers: {n} runs for 2 inputs; at least 50 needed"
    if n < 50:
        assert warning in err and warning in page
    else:
        assert "too few runs" not in err and "too few runs" not in page
        assert "not distinguishable from zero" in page  # the outage length: no effect
    # Readable labels, and the best lever point named by its lever values.
    assert "southern_leg_outage duration (days)" in page
    assert "brent price (USD/bbl)" in page
    assert "point 0" not in page and "southern_leg_outage duration (days) 10" in page
    assert "partial rank correlation" in page


def test_input_keys_read_as_labels():
    assert input_label("links.unecha_mozyr.capacity_t_per_day") == "unecha_mozyr capacity (t/day)"
    assert input_label("prices.brent.usd_per_bbl") == "brent price (USD/bbl)"
    assert input_label("contracts.kazakh.volume_t_per_month") == "kazakh volume (t/month)"
    assert input_label("transit.quota.route") == "quota route"
    assert input_label("landed_cost_usd_per_t") == measure("landed_cost_usd_per_t").label


# ------------------------------------------------------------------ kinds and the network


def test_folder_kind_is_detected_and_other_folders_refused(run_folder, tmp_path, capsys):
    assert detect_kind(run_folder) == "run"
    with pytest.raises(ReportError, match="not a result folder"):
        report(tmp_path)
    assert main(["report", str(tmp_path)]) == 2
    assert "not a result folder" in capsys.readouterr().err


def test_describe_plot_draws_the_network(tmp_path, monkeypatch, capsys):
    out = tmp_path / "net.png"
    assert main(["describe", str(SCENARIOS / "diversified.toml"), "--plot", "--out", str(out)]) == 0
    assert f"network drawn to {out}" in capsys.readouterr().out
    assert_sensible_png(out)
    monkeypatch.chdir(tmp_path)
    assert main(["describe", str(SCENARIOS / "base.toml"), "--plot"]) == 0
    assert "network drawn to results/base-network.png" in capsys.readouterr().out
    assert_sensible_png(tmp_path / "results" / "base-network.png")


def test_plotting_stays_out_of_the_engine_and_the_command_line():
    code = "import sys, sim, sim.cli; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


# ------------------------------------------------------------------ a real browser


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    return None


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["run", "comparison"])
def test_report_renders_in_a_headless_browser(kind, run_folder, comparison_folder, tmp_path):
    browser = chromium()
    if browser is None:
        pytest.skip(
            "no Chromium found (chromium, chromium-browser, google-chrome): .ci/run installs "
            "Debian's chromium when it can; install it to run this test"
        )
    folder = run_folder if kind == "run" else comparison_folder
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
    rows = [pixels[y] for y in range(0, 2000, 97)]
    colours = {tuple(float(v) for v in px[:3]) for row in rows for px in row[::16]}
    assert len(colours) > 20, "the screenshot is (nearly) one colour: nothing rendered"
    # Something dark (text) and the charts' colours, not just the white page.
    assert min(sum(c) for c in colours) < 1.0


def test_levers_with_many_values_are_grouped_into_bins_of_equal_counts():
    rng = random.Random(1)
    runs = [{"x": rng.uniform(0, 100), "y": 1.0} for _ in range(100)]
    groups = levels(runs, "x", ["y"])
    assert len(groups) == 8
    assert sorted(m for g in groups for m in g.members) == list(range(100))
    assert all(12 <= len(g.members) <= 13 for g in groups)
    assert [g.x for g in groups] == sorted(g.x for g in groups)


def test_comparison_report_gives_the_ranked_verdict(comparison_folder):
    import csv

    page = parse(comparison_folder / "report.html").all_text
    with (comparison_folder / "ranking.csv").open() as fh:
        ranking = list(csv.DictReader(fh))
    assert "Verdict: strategies ranked on net value to Belarus" in page
    net = [r for r in ranking if r["kpi"] == "net_value_usd"]
    assert ranking[: len(net)] == net and net[0]["verdict"] == "best"
    for row in net[1:]:
        assert row["verdict"] in page
    # Every other ranked KPI is ranked best first and has a verdict against the reference.
    assert "Verdict per KPI" in page
    for kpi in dict.fromkeys(r["kpi"] for r in ranking):
        rows = [r for r in ranking if r["kpi"] == kpi]
        assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))
        assert any(float(r["mean"]) != 0 for r in rows), f"{kpi} is zero everywhere"
        assert any(r["verdict_vs_reference"] == "reference" for r in rows)
        label = registry.kpi(kpi).label
        assert label in page
    # KPIs that are zero for every strategy are folded into a note, not listed as rows.
    rows = read_csv(comparison_folder / "comparison.csv")
    zero = {r["kpi"] for r in rows} - {
        r["kpi"] for r in rows if float(r["mean"]) != 0 or float(r["sd"]) != 0
    }
    assert ("Zero for every strategy" in page) == bool(zero)
    assert not zero & {r["kpi"] for r in ranking}
