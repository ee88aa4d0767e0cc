"""The report on hostile or damaged folders: never writes through a planted symbolic link,
names a damaged file and exits 2 (no traceback), and never reads a name as mathtext."""

from __future__ import annotations

import contextlib
import random
import shutil
from pathlib import Path

import pytest

from sim.cli import main
from sim.report import ReportError, report
from tests.test_report import write_fixture_sweep

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    """A 60-day run of the outage scenario with the outage inside it, 2 replications."""
    out = tmp_path_factory.mktemp("run")
    sets = ["scenario.horizon_days=60", "disruptions.southern_leg_outage.start_date=2019-01-20"]
    sets.append("disruptions.northern_leg_derate.start_date=2019-01-25")
    args = [x for s in sets for x in ("--set", s)]
    file = str(SCENARIOS / "unecha_mozyr_outage.toml")
    assert main(["run", file, *args, "--replications", "2", "--out", str(out), "--quiet"]) == 0
    (folder,) = (out / "unecha_mozyr_outage").iterdir()
    return folder


@pytest.fixture
def copy(run_folder, tmp_path) -> Path:
    folder = tmp_path / "run"
    shutil.copytree(run_folder, folder)
    return folder


# ------------------------------------------------------------------ symbolic links


def test_report_replaces_planted_symlinks_and_never_writes_through_them(copy, tmp_path):
    victims = {}
    for name in ("stock.png", "report.html", ".report.html.tmp"):  # the last: an old temp name
        victim = tmp_path / f"victim-{name}"
        victim.write_text("precious", encoding="utf-8")
        (copy / name).symlink_to(victim)
        victims[name] = victim
    written = report(copy)
    for name, victim in victims.items():
        assert victim.read_text(encoding="utf-8") == "precious", name
    for name in ("stock.png", "report.html"):
        assert not (copy / name).is_symlink() and (copy / name).stat().st_size > 1000
    assert written.html == copy / "report.html"
    assert sorted(p.name for p in copy.iterdir() if p.name.startswith(".")) == [
        ".report.html.tmp"  # the planted link, left alone: the report makes its own names
    ]


def test_a_symlinked_result_file_is_not_read(copy, tmp_path, capsys):
    elsewhere = tmp_path / "summary.csv"
    shutil.move(copy / "summary.csv", elsewhere)
    (copy / "summary.csv").symlink_to(elsewhere)
    assert main(["report", str(copy)]) == 2
    err = capsys.readouterr().err
    assert "summary.csv is a symbolic link" in err and "Traceback" not in err


# ------------------------------------------------------------------ damaged files


def _truncate(path: Path, fraction: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


def _drop_column(path: Path, column: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    k = lines[0].split(",").index(column)
    path.write_text(
        "".join(
            ",".join(c for j, c in enumerate(line.split(",")) if j != k) + "\n" for line in lines
        ),
        encoding="utf-8",
    )


DAMAGE = {
    "manifest.json truncated": ("manifest.json", lambda p: _truncate(p, 0.5)),
    "scenario.resolved.json truncated": ("scenario.resolved.json", lambda p: _truncate(p, 0.3)),
    "daily.csv cut mid-row": ("daily.csv", lambda p: _truncate(p, 0.61)),
    "events.csv without a column": ("events.csv", lambda p: _drop_column(p, "event")),
    "daily.csv without a column": ("daily.csv", lambda p: _drop_column(p, "stock_t")),
    "events.csv not text": ("events.csv", lambda p: p.write_bytes(bytes(range(256)))),
    "summary.csv empty": ("summary.csv", lambda p: p.write_bytes(b"")),
    "manifest.json a list": ("manifest.json", lambda p: p.write_text("[1, 2]")),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_file_is_named_and_the_report_exits_2(copy, damage, capsys):
    name, spoil = DAMAGE[damage]
    spoil(copy / name)
    assert main(["report", str(copy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cannot report: ") and name in err, err
    assert "Traceback" not in err
    assert not (copy / "report.html").exists()


def test_random_damage_never_ends_in_a_traceback(run_folder, tmp_path):
    """A few random corruptions here; the longer campaign is in docs/reliability.md."""
    rng = random.Random(7)
    names = sorted(p.name for p in run_folder.iterdir() if p.suffix in (".csv", ".json"))
    for trial in range(6):
        folder = tmp_path / str(trial)
        shutil.copytree(run_folder, folder)
        victim = folder / rng.choice(names)
        data = victim.read_bytes()
        cut = rng.randrange(len(data))
        victim.write_bytes(data[:cut] + (b'\xff,"' if rng.random() < 0.5 else b""))
        with contextlib.suppress(ReportError):
            report(folder)


# ------------------------------------------------------------------ names


def test_a_dollar_sign_in_a_name_is_text_not_mathtext(tmp_path):
    folder = tmp_path / "sweep"
    write_fixture_sweep(folder)
    for name in ("runs.csv", "points.csv", "manifest.json"):
        path = folder / name
        text = path.read_text(encoding="utf-8").replace("north", r"$\frac$ north")
        path.write_text(text.replace("transit.quota.route", "transit.$quota.route"), "utf-8")
    written = report(folder)  # mathtext would fail on \frac without its arguments
    assert "$\\frac$ north" in written.html.read_text(encoding="utf-8")


def corruption_campaign(folders: list[Path], trials: int, seed: int, work: Path) -> dict:
    """Copy a random folder, spoil one of its files at random, report it: how many reports
    were drawn, refused with ReportError (exit 2), or failed otherwise (a traceback)."""
    rng = random.Random(seed)
    counts = {"drawn": 0, "exit_2": 0, "traceback": 0}
    for _ in range(trials):
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(rng.choice(folders), work)
        victim = rng.choice(sorted(p for p in work.iterdir() if p.suffix in (".csv", ".json")))
        data = victim.read_bytes()
        how = rng.choice(["truncate", "truncate", "garbage", "drop_column", "empty", "binary"])
        cut = rng.randrange(max(1, len(data)))
        if how == "truncate":
            victim.write_bytes(data[:cut])
        elif how == "garbage":
            victim.write_bytes(data[:cut] + b'x,"y' + data[cut + 3 :])
        elif how == "drop_column" and victim.suffix == ".csv":
            header = data.decode("utf-8").split("\n", 1)[0]
            _drop_column(victim, header.split(",")[rng.randrange(header.count(",") + 1)])
        elif how == "binary":
            victim.write_bytes(bytes(rng.randrange(256) for _ in range(200)))
        else:
            victim.write_bytes(b"")
        try:
            report(work)
            counts["drawn"] += 1
        except ReportError:
            counts["exit_2"] += 1
        except Exception:  # what the campaign looks for
            counts["traceback"] += 1
    return counts


if __name__ == "__main__":  # the campaign of docs/reliability.md: TRIALS SEED FOLDER...
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(p) for p in sys.argv[3:]]
        print(corruption_campaign(paths, int(sys.argv[1]), int(sys.argv[2]), Path(tmp) / "w"))
