"""Progress of run, compare, n1 and stress: count, rate and ETA on standard error when it is a
terminal; nothing when it is not (a pipe, a log, pytest's capture) or with --quiet."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from sim.cli import main
from sim.progress import line, terminal_progress

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SHORT = ["--set", "scenario.horizon_days=60", "--replications", "1"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def commands(out: Path) -> dict[str, list[str]]:
    base, outage = (str(SCENARIOS / f) for f in ("base.toml", "unecha_mozyr_outage.toml"))
    stress = str(SCENARIOS / "stress" / "russian_cutoff_90d_transit_refused.toml")
    return {
        # 150 days: the outage (day 120) must lie inside the horizon.
        "compare": ["compare", base, outage, *SHORT, "--set", "scenario.horizon_days=150",
                    "--out", str(out)],
        "n1": ["n1", base, "--duration-days", "10", *SHORT, "--out", str(out)],
        "stress": ["stress", str(SCENARIOS / "risk_regime.toml"), "--stress", stress, *SHORT,
                   "--out", str(out)],
        "run": ["run", base, "--set", "scenario.horizon_days=60", "--replications", "3",
                "--out", str(out)],
    }  # fmt: skip


def test_the_progress_line_gives_count_rate_and_eta():
    assert line("n1", 3, 12, 1.5) == "n1: 3/12 runs (25 %), 2.00 runs/s, ETA 0:00:04"
    assert line("x", 0, 5, 0.0).endswith("ETA ?")
    assert terminal_progress("x", stream=io.StringIO()) is None  # not a terminal
    assert terminal_progress("x", quiet=True, stream=Terminal()) is None
    screen = Terminal()
    show = terminal_progress("x", stream=screen)
    assert show is not None
    show(1, 2)
    show(2, 2)
    assert "x: 1/2 runs (50 %)" in screen.getvalue()
    assert screen.getvalue().endswith("\n") and screen.getvalue().count("\n") == 1


@pytest.mark.parametrize("command", ["compare", "n1", "stress", "run"])
def test_no_progress_when_standard_error_is_not_a_terminal(command, tmp_path, capsys):
    assert main(commands(tmp_path)[command]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "written to" in captured.out


@pytest.mark.parametrize("command", ["compare", "n1", "stress", "run"])
def test_progress_on_a_terminal_and_none_with_quiet(command, tmp_path, capsys, monkeypatch):
    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    assert main(commands(tmp_path)[command]) == 0
    text = screen.getvalue()
    assert f"{command}: " in text and "/s, ETA" in text
    assert "(100 %)" in text and text.endswith("\n")
    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    assert main([*commands(tmp_path)[command], "--force", "--quiet"]) == 0
    assert screen.getvalue() == ""
    capsys.readouterr()
