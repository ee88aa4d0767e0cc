"""Result folders: inside --out, claimed against a second writer, complete or absent however a
run is killed, --force only over this program's folders, leftovers cleaned, the long tables
streamed (docs/reliability.md)."""

from __future__ import annotations

import datetime as dt
import errno
import gc
import json
import math
import os
import random
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import psutil
import pytest

import sim.sweep.store
from sim import folders, load_scenario, run, simulate
from sim.cli import main
from sim.errors import ResultsExistError
from sim.folders import (
    FolderBusyError,
    FolderLock,
    NotOurFolderError,
    Staging,
    UnsafeFolderError,
    check_ours,
    checked_folder,
    clean_stale,
    host_tag,
    recover,
)
from sim.results import TABLES, run_folder, write_run
from sim.sweep import run_sweep
from sim.sweep.store import SweepFolder
from tests.test_sweep import write_sweep

REPO = Path(__file__).resolve().parents[1]
BASE = REPO / "scenarios" / "base.toml"
#: Every file of a run's folder.
RUN_FILES = sorted(
    [f"{t}.csv" for t in TABLES] + ["summary_stats.csv", "manifest.json", "scenario.resolved.json"]
)


def dead_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def assert_complete(folder: Path) -> None:
    """A run's folder as a finished run leaves it: every file, every row the manifest counts."""
    assert sorted(p.name for p in folder.iterdir()) == RUN_FILES
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["program"] == "oil-supply-sim" and manifest["kind"] == "run"
    assert manifest["status"] == "completed"
    for table, rows in manifest["rows"].items():
        text = (folder / f"{table}.csv").read_bytes()
        assert text.endswith(b"\n") and text.count(b"\n") == rows + 1, table


def hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


# ------------------------------------------------------------------ inside --out


def test_a_folder_must_lie_strictly_inside_out(tmp_path):
    out = tmp_path / "out"
    assert checked_folder(out, out / "a" / "b") == out / "a" / "b"
    assert (out / "a").is_dir()
    for bad in (out, out / ".", out / "..", out / "a" / ".." / "..", tmp_path / "elsewhere"):
        with pytest.raises(UnsafeFolderError):
            checked_folder(out, bad)
    (tmp_path / "outside").mkdir()
    (out / "link").symlink_to(tmp_path / "outside")
    with pytest.raises(UnsafeFolderError, match="symbolic link"):
        checked_folder(out, out / "link" / "run")
    # --out itself may be a symbolic link (a results disk elsewhere).
    (tmp_path / "alias").symlink_to(out)
    assert checked_folder(tmp_path / "alias", tmp_path / "alias" / "x" / "y").parent.is_dir()


def test_a_scenario_folder_that_is_a_symlink_is_not_written_through(tmp_path, capsys):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "base").symlink_to(elsewhere)
    argv = ["run", str(BASE), "--out", str(out), "--set", "scenario.horizon_days=20", "--quiet"]
    assert main(argv) == 3
    assert "symbolic link" in capsys.readouterr().err
    assert list(elsewhere.iterdir()) == []


# ------------------------------------------------------------------ --force


def test_force_replaces_only_a_result_folder_of_this_program_and_kind(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    check_ours(folder, "run")  # empty: nothing to lose
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(NotOurFolderError, match="no manifest.json"):
        check_ours(folder, "run")
    manifest = folder / "manifest.json"
    manifest.write_text('{"program": "oil-supply', encoding="utf-8")
    with pytest.raises(NotOurFolderError, match="cannot be read"):
        check_ours(folder, "run")
    manifest.write_text('{"program": "someone-else", "kind": "run"}', encoding="utf-8")
    with pytest.raises(NotOurFolderError, match="not written by"):
        check_ours(folder, "run")
    manifest.write_text('{"program": "oil-supply-sim", "kind": "sweep"}', encoding="utf-8")
    with pytest.raises(NotOurFolderError, match="sweep result, not a run"):
        check_ours(folder, "run")
    check_ours(folder, "sweep")
    (tmp_path / "link").symlink_to(folder)
    with pytest.raises(NotOurFolderError, match="symbolic link"):
        check_ours(tmp_path / "link", "sweep")


def test_run_force_refuses_a_users_folder_at_its_path(tmp_path, capsys):
    out = tmp_path / "out"
    scenario = load_scenario(BASE, ["scenario.horizon_days=20"])
    folder = run_folder(out, scenario)
    folder.mkdir(parents=True)
    (folder / "thesis.tex").write_text("years of work", encoding="utf-8")
    argv = ["run", str(BASE), "--set", "scenario.horizon_days=20", "--out", str(out), "--force"]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert "not a result folder" in err and "Traceback" not in err
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.tex"]
    assert hidden(folder.parent) == []


def test_force_never_removes_out_or_a_folder_outside_it(tmp_path, capsys):
    """A sweep named `.` with --force once deleted the whole --out folder."""
    out = tmp_path / "out"
    (out / "earlier").mkdir(parents=True)
    (out / "earlier" / "keep.csv").write_text("a\n", encoding="utf-8")
    sweep = tmp_path / "dot.toml"
    sweep.write_text(
        f'[sweep]\nname = "."\nbase = "{BASE.as_posix()}"\nreplications = 1\nseed = 1\n'
        "[overrides.scenario]\nhorizon_days = 10\n[levers]\n"
        '"links.unecha_mozyr.capacity_t_per_day" = { values = [40000] }\n',
        encoding="utf-8",
    )
    for name in (".", ".."):
        sweep.write_text(sweep.read_text().replace('name = "."', f'name = "{name}"'))
        code = main(["sweep", str(sweep), "--out", str(out), "--force", "--workers", "1"])
        assert code in (2, 3)  # refused as a folder (3), or as a name once names are checked
    assert (out / "earlier" / "keep.csv").read_text(encoding="utf-8") == "a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dot.toml", "out"]
    for name in (".", ".."):
        with pytest.raises(UnsafeFolderError):
            Staging(out, "sweep", force=True).claim(out / name)


def test_force_swaps_the_new_folder_in_and_old_is_never_missing(tmp_path, monkeypatch):
    out = tmp_path / "out"
    old = write_made_up(out / "x", "old")
    with Staging(out, "run", force=True) as staging:
        staging.claim(old)
        tmp = staging.temporary(old)
        (tmp / "manifest.json").write_text(marker("new"), encoding="utf-8")
        staging.commit(old)
    assert json.loads((old / "manifest.json").read_text())["note"] == "new"
    assert hidden(out) == []

    # Without renameat2 (another kernel or filesystem): two renames, and a kill between them
    # leaves the old folder aside, which the next writer of that folder puts back.
    monkeypatch.setattr(folders, "rename2", lambda *args: False)
    renames = []

    def rename_then_die(source, target):
        renames.append((source, target))
        os.replace(source, target)
        if len(renames) == 1:
            raise KeyboardInterrupt  # "killed" after the first rename

    monkeypatch.setattr(folders.os, "rename", rename_then_die)
    with pytest.raises(KeyboardInterrupt), Staging(out, "run", force=True) as staging:
        staging.claim(old)
        (staging.temporary(old) / "manifest.json").write_text(marker("newer"), encoding="utf-8")
        staging.commit(old)
    monkeypatch.undo()
    assert not old.exists()
    [aside] = [p for p in out.iterdir() if p.name.endswith(".old")]
    os.rename(aside, aside.with_name(aside.name.replace(f"-{os.getpid()}-", f"-{dead_pid()}-")))
    with Staging(out, "run") as staging, pytest.raises(ResultsExistError, match="exists"):
        staging.claim(old)  # puts the old folder back, then finds it there
    assert json.loads((old / "manifest.json").read_text())["note"] == "new"
    assert hidden(out) == []


def marker(note: str) -> str:
    return json.dumps({"program": "oil-supply-sim", "kind": "run", "note": note})


def write_made_up(folder: Path, note: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(marker(note), encoding="utf-8")
    return folder


# ------------------------------------------------------------------ one writer at a time


HOLD = """
import sys, time
from pathlib import Path
from sim.folders import FolderLock
lock = FolderLock(Path(sys.argv[1])).acquire()
print("held", flush=True)
time.sleep(60)
"""


def test_a_lock_is_refused_while_held_and_taken_over_when_its_holder_dies(tmp_path):
    folder = tmp_path / "f"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(FolderBusyError, match=f"pid {holder.pid}"):
            FolderLock(folder).acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if holder.stdout:
            holder.stdout.close()
    assert (tmp_path / ".f.lock").exists()  # left by the killed holder, and not in the way
    with FolderLock(folder), pytest.raises(FolderBusyError):
        FolderLock(folder).acquire()  # also from the same process
    assert not (tmp_path / ".f.lock").exists()


def test_a_run_into_a_folder_another_process_writes_exits_3(tmp_path, capsys):
    out = tmp_path / "out"
    folder = run_folder(out, load_scenario(BASE, ["scenario.horizon_days=20"]))
    folder.parent.mkdir(parents=True)
    argv = ["run", str(BASE), "--set", "scenario.horizon_days=20", "--out", str(out), "--quiet"]
    with FolderLock(folder):
        assert main(argv) == 3
        assert "being written by another process" in capsys.readouterr().err
        assert main([*argv, "--force"]) == 3
    assert not folder.exists()
    assert main(argv) == 0
    assert_complete(folder)


@pytest.mark.slow
def test_two_runs_into_one_folder_at_once_one_wins_the_other_exits_3(tmp_path):
    cmd = [sys.executable, "-m", "sim", "run", str(BASE), "--replications", "3", "--daily"]
    cmd += ["all", "--quiet", "--out"]
    for attempt in range(3):
        target = tmp_path / str(attempt)
        procs = [
            subprocess.Popen([*cmd, str(target)], stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
        for p in procs:
            if p.stderr:
                p.stderr.close()
        codes = sorted(code for code, _ in results)
        assert codes == [0, 3], results
        loser = next(err for code, err in results if code == 3)
        assert "being written by another process" in loser or "exists already" in loser
        assert "Traceback" not in loser
        [scenario] = (target / "base").iterdir()
        assert_complete(scenario)
        assert hidden(target / "base") == []


# ------------------------------------------------------------------ killed runs


def _kill_at_random(
    cmd: list[str], rng: random.Random, seconds: float, writing: Path | None
) -> int | None:
    """Start `cmd` and SIGKILL it at a random moment: within `seconds` of its start, or, with
    `writing` (the folder's parent), within `seconds` of the moment its temporary appears there.
    Returns its exit code if it finished first, else None."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if writing is not None:
            while proc.poll() is None and not (
                writing.is_dir() and any(n.endswith(".tmp") for n in hidden(writing))
            ):
                time.sleep(0.001)
        proc.wait(timeout=rng.uniform(0.0, seconds))
        return proc.returncode
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        return None


def kill_campaign(tmp_path: Path, trials: int, seed: int) -> dict[str, int]:
    """SIGKILL `run`s (half of them `--force` over a complete folder) at random moments: half
    anywhere in a run, half while it writes; after each, the folder is complete or absent
    (never absent when a complete one was there), and the next run cleans what the killed one
    left and succeeds. Returns counts for docs/reliability.md."""
    rng = random.Random(seed)
    out = tmp_path / "kills"
    cmd = [sys.executable, "-m", "sim", "run", str(BASE), "--replications", "6", "--daily"]
    cmd += ["all", "--set", "scenario.horizon_days=200", "--out", str(out), "--quiet"]
    settings = ["scenario.horizon_days=200", "scenario.replications=6"]
    folder = run_folder(out, load_scenario(BASE, settings))
    started = time.monotonic()
    assert subprocess.run(cmd, capture_output=True, timeout=120).returncode == 0
    seconds = time.monotonic() - started  # a whole run, start-up included
    assert_complete(folder)
    counts = dict.fromkeys(("trials", "force_trials", "while_writing_trials", "killed"), 0)
    counts |= dict.fromkeys(("finished_first", "temporaries_left_by_kill"), 0)
    counts |= dict.fromkeys(("complete_after", "absent_after"), 0)
    for _ in range(trials):
        force, while_writing = rng.random() < 0.5, rng.random() < 0.5
        if not force and folder.exists():
            folders.remove(folder)
        if force and not folder.exists():
            assert subprocess.run(cmd, capture_output=True, timeout=120).returncode == 0
        counts["trials"] += 1
        counts["force_trials"] += force
        counts["while_writing_trials"] += while_writing
        code = _kill_at_random(
            [*cmd, "--force"] if force else cmd,
            rng,
            seconds / 2 if while_writing else seconds,
            folder.parent if while_writing else None,
        )
        counts["killed" if code is None else "finished_first"] += 1
        assert code in (None, 0), code
        if folder.exists():
            assert_complete(folder)
            counts["complete_after"] += 1
        else:
            assert not force, "a --force run was killed and left no folder"
            counts["absent_after"] += 1
        counts["temporaries_left_by_kill"] += any(
            n.endswith(".tmp") for n in hidden(folder.parent)
        )  # the kill struck while the run wrote
        # The next run cleans what the killed one left, and succeeds.
        again = subprocess.run([*cmd, "--force"], capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        assert_complete(folder)
        assert hidden(folder.parent) == [], "a killed run's leftovers survived the next run"
    return counts


@pytest.mark.slow
def test_a_killed_run_leaves_its_folder_complete_or_absent(tmp_path):
    counts = kill_campaign(tmp_path, trials=4, seed=int(os.environ.get("KILL_SEED", "13")))
    assert counts["trials"] == 4


def test_the_next_run_removes_temporaries_whose_writer_is_gone(tmp_path):
    parent = tmp_path / "base"
    parent.mkdir()
    gone, me = dead_pid(), os.getpid()
    names = {
        f".seed1-aa.{host_tag()}-{gone}-0123abcd.tmp": True,  # its writer died
        f".seed1-aa.{host_tag()}-{me}-0123abcd.tmp": False,  # its writer runs (this process)
        f".seed1-aa.00000000-{gone}-0123abcd.tmp": False,  # another host's: may be running
        f".seed2-bb.00000000-{gone}-4567abcd.tmp": True,  # ... but 8 days old
        ".seed3-cc.x1y2z3_4.tmp": True,  # an earlier version's, 2 days old
        ".seed3-cc.q1w2e3r4.tmp": False,  # an earlier version's, fresh
        f".runs.csv.{gone}.tmp": True,  # an earlier version's sweep file; writer gone
        "seed1-aa": False,  # a result
    }
    for name in names:
        (parent / name).mkdir()
    old = time.time() - 8 * 86400
    os.utime(parent / f".seed2-bb.00000000-{gone}-4567abcd.tmp", (old, old))
    two_days = time.time() - 2 * 86400
    os.utime(parent / ".seed3-cc.x1y2z3_4.tmp", (two_days, two_days))
    removed = {p.name for p in clean_stale(parent)}
    assert removed == {name for name, stale in names.items() if stale}
    assert {p.name for p in parent.iterdir()} == {n for n, stale in names.items() if not stale}


def test_recover_puts_back_a_folder_a_killed_force_left_aside(tmp_path):
    folder = tmp_path / "run"
    aside = write_made_up(tmp_path / f".run.{host_tag()}-{dead_pid()}-0123abcd.old", "old")
    recover(folder)
    assert json.loads((folder / "manifest.json").read_text())["note"] == "old"
    assert not aside.exists()
    # When the new folder did get in place, the one aside is dropped.
    write_made_up(tmp_path / f".run.{host_tag()}-{dead_pid()}-4567abcd.old", "older")
    recover(folder)
    assert json.loads((folder / "manifest.json").read_text())["note"] == "old"
    assert hidden(tmp_path) == []


# ------------------------------------------------------------------ streaming


def same_rows_as_written(read: list[dict], held: list[dict]) -> None:
    """Rows read back from a CSV equal the rows held in memory, type for type, floats as
    written (rounded to 6 decimals; NaN for a missing value)."""
    assert len(read) == len(held) and read
    for got, want in zip(read, held, strict=True):
        assert set(got) == set(want)
        for column, value in want.items():
            assert type(got[column]) is type(value), (column, got[column], value)
            if isinstance(value, float) and math.isnan(value):
                assert math.isnan(got[column]), column
            elif isinstance(value, float):
                assert got[column] == round(value, 6), column
            else:
                assert got[column] == value, column


def assert_same_files(streamed: Path, held: Path) -> None:
    for name in RUN_FILES:
        if name != "manifest.json":
            assert (streamed / name).read_bytes() == (held / name).read_bytes(), name
    a, b = (json.loads((f / "manifest.json").read_text()) for f in (streamed, held))
    assert {k: v for k, v in a.items() if not k.endswith(("_utc", "seconds"))} == {
        k: v for k, v in b.items() if not k.endswith(("_utc", "seconds"))
    }


def test_streamed_tables_are_the_bytes_of_a_run_held_in_memory(tmp_path):
    scenario = load_scenario(BASE, ["scenario.horizon_days=60", "scenario.replications=3"])
    streamed = run(scenario, out=tmp_path / "a", daily="all")
    assert streamed.result.replications == [] and len(streamed.kpis) == 3  # nothing kept
    in_memory = simulate(scenario, daily="all")
    held = write_run(in_memory, tmp_path / "b", started_utc=dt.datetime.now(dt.UTC))
    assert_same_files(streamed.folder, held)
    manifest = json.loads((held / "manifest.json").read_text())
    assert manifest["rows"]["daily"] == 3 * 60 * 7 and manifest["rows"]["summary"] == 3
    # The rows sim.run returns are read back from its CSVs, as simulate() holds them.
    same_rows_as_written(streamed.summary, in_memory.rows("summary"))
    same_rows_as_written(streamed.refineries, in_memory.rows("refineries"))
    assert list(streamed.kpis["unserved_t"]) == [r["unserved_t"] for r in in_memory.rows("summary")]


def test_the_array_path_streams_each_replication_as_the_event_path(tmp_path, monkeypatch):
    """On the array path (which builds a chunk of replications at once) a run still takes each
    replication's result on its own, in order, and writes what a run held in memory writes."""
    monkeypatch.setenv("SIM_ENGINE", "array")
    scenario = load_scenario(BASE, ["scenario.horizon_days=45", "scenario.replications=20"])
    taken: list[int] = []
    replicas = simulate(scenario, daily="none", on_result=lambda r: taken.append(r.replication),
                        keep=False)  # fmt: skip
    assert taken == list(range(20)) and replicas.replications == []
    streamed = run(scenario, out=tmp_path / "a", daily="none")
    in_memory = simulate(scenario, daily="none", engine="array")
    held = write_run(in_memory, tmp_path / "b", started_utc=dt.datetime.now(dt.UTC))
    assert_same_files(streamed.folder, held)
    same_rows_as_written(streamed.summary, in_memory.rows("summary"))


def test_what_a_run_keeps_in_memory_does_not_grow_with_replications(tmp_path):
    """What a run holds once done: each KPI's value (8 bytes a replication), not the per-day
    series nor the summary and refinery rows (peak RSS of `sim run` at 100 and 10,000
    replications: docs/performance.md)."""
    scenario = load_scenario(BASE, ["scenario.horizon_days=30"])

    def kept(replications: int) -> int:
        gc.collect()
        tracemalloc.start()
        try:
            output = run(scenario, out=tmp_path / str(replications), replications=replications,
                         daily="all")  # fmt: skip
            gc.collect()  # the simulations' reference cycles
            held = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        assert len(output.kpis) == replications == len(output.summary)
        return held

    kept(1)  # caches, imports
    few, many = kept(2), kept(42)
    # Held in memory, 40 more replications' summary and refinery rows would add ≈ 400 kB (and
    # their daily rows, 210 each, several MB); their KPI values take 40 × 37 × 8 B ≈ 12 kB.
    assert many - few < 100_000, (few, many)


# ------------------------------------------------------------------ sweeps


@pytest.fixture
def sweep_file(tmp_path) -> Path:
    return write_sweep(tmp_path)


def test_a_sweep_into_a_folder_another_sweep_holds_exits_3(sweep_file, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["sweep", str(sweep_file), "--out", str(out), "--workers", "1", "--quiet"]
    out.mkdir()
    with FolderLock(out / "small"):
        for extra in ([], ["--force"], ["--resume"]):
            assert main([*argv, *extra]) == 3
            err = capsys.readouterr().err
            assert "being written by another process" in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == []
    assert main(argv) == 0
    assert hidden(out) == []


def test_sweep_force_refuses_a_folder_it_did_not_write(sweep_file, tmp_path, capsys):
    out = tmp_path / "out"
    (out / "small").mkdir(parents=True)
    (out / "small" / "data.csv").write_text("mine\n", encoding="utf-8")
    assert main(["sweep", str(sweep_file), "--out", str(out), "--force", "--quiet"]) == 3
    assert "not a result folder" in capsys.readouterr().err
    assert (out / "small" / "data.csv").read_text(encoding="utf-8") == "mine\n"
    # A run's folder of the same name is not a sweep's either.
    (out / "small" / "data.csv").unlink()
    write_made_up(out / "small" / "inner", "a run")
    (out / "small" / "manifest.json").write_text(marker("run"), encoding="utf-8")
    assert main(["sweep", str(sweep_file), "--out", str(out), "--force", "--quiet"]) == 3
    assert "run result, not a sweep" in capsys.readouterr().err


@pytest.mark.parametrize("stays_full", [False, True])
def test_a_full_disk_stops_a_sweep_saying_how_to_resume(
    sweep_file, tmp_path, monkeypatch, capsys, stays_full
):
    whole = run_sweep(sweep_file, workers=1, out=tmp_path / "whole")
    out = tmp_path / "out"
    appends = []
    real_append, real_manifest = SweepFolder.append, SweepFolder.write_manifest

    def full(path: Path) -> OSError:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    def append(self, lines):
        appends.append(len(lines))
        if len(appends) >= 3:
            raise full(self.runs)
        real_append(self, lines)

    def write_manifest(self, manifest):
        if manifest["status"] != "running" and stays_full:
            raise full(self.manifest)
        real_manifest(self, manifest)

    monkeypatch.setattr(SweepFolder, "append", append)
    monkeypatch.setattr(SweepFolder, "write_manifest", write_manifest)
    argv = ["sweep", str(sweep_file), "--out", str(out), "--workers", "1", "--quiet"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "the disk is full" in err and "--resume" in err and "Traceback" not in err
    folder = out / "small"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if stays_full:
        assert manifest["status"] == "running" and "still says running" in err
    else:
        assert manifest["status"] == "interrupted"
        assert manifest["counts"]["done"] == 8
    assert (folder / "runs.csv").read_bytes().count(b"\n") == 1 + 8  # two chunks of 4
    monkeypatch.undo()
    assert main([*argv, "--resume"]) == 0
    for name in ("runs.csv", "points.csv"):
        assert (folder / name).read_bytes() == (whole.folder / name).read_bytes()
    assert hidden(folder) == [] and hidden(out) == []


def test_a_failed_append_leaves_no_partial_row(tmp_path, monkeypatch):
    store = SweepFolder(tmp_path / "s", ["a", "b"], out=tmp_path)
    store.claim(resume=False, force=False)
    store.start("definition", resume=False, force=False)
    store.create_runs()
    store.append(["1,2\n"])
    real_write = os.write

    def half_then_full(fd, data):
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(sim.sweep.store.os, "write", half_then_full)
    with pytest.raises(OSError):
        store.append(["3,4\n", "5,6\n"])
    monkeypatch.undo()
    store.append(["7,8\n"])
    store.release()
    assert (tmp_path / "s" / "runs.csv").read_text() == "a,b\n1,2\n7,8\n"


WORKER = """
import sys
from sim.sweep.executors import _init_worker
_init_worker(None, int(sys.argv[1]), False)
import time
time.sleep(30)
print("still here")
"""


def test_a_pool_worker_whose_sweep_died_before_it_started_exits_at_once():
    """A sweep killed while its pool started once left a worker polling forever."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, str(dead_pid())], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1 and "still here" not in proc.stdout and not proc.stderr
    assert time.monotonic() - started < 20


@pytest.mark.slow
def test_a_sweep_killed_while_its_pool_starts_leaves_no_worker(sweep_file, tmp_path):
    cmd = [sys.executable, "-m", "sim", "sweep", str(sweep_file), "--workers", "2", "--out"]
    for trial in range(3):
        proc = subprocess.Popen([*cmd, str(tmp_path / str(trial))], stderr=subprocess.DEVNULL)
        children: list[psutil.Process] = []
        try:
            deadline = time.monotonic() + 60
            while not children and time.monotonic() < deadline and proc.poll() is None:
                children = psutil.Process(proc.pid).children(recursive=True)
                time.sleep(0.002)
            time.sleep(0.05 * trial)
            children = psutil.Process(proc.pid).children(recursive=True)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        _, alive = psutil.wait_procs(children, timeout=10)
        for child in alive:  # only processes this test started
            child.kill()
        assert children and not alive, (trial, alive)


if __name__ == "__main__":  # the longer campaign of docs/reliability.md
    import tempfile

    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    with tempfile.TemporaryDirectory() as tmp:
        print(kill_campaign(Path(tmp), trials, seed=int(sys.argv[2]) if len(sys.argv) > 2 else 1))
