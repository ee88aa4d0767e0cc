"""The command line's front matter: the program's name in its help, and `--version`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main, program_name
from sim.version import __version__

REPO = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def test_version_prints_the_programs_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_python_m_sim_names_itself_so_in_help_and_version():
    out = subprocess.run(
        [sys.executable, "-m", "sim", "--version"], capture_output=True, text=True, env=_env()
    )
    assert out.returncode == 0
    assert out.stdout.strip() == f"python -m sim {__version__}"
    help_ = subprocess.run(
        [sys.executable, "-m", "sim", "--help"], capture_output=True, text=True, env=_env()
    )
    assert help_.stdout.startswith("usage: python -m sim ")


@pytest.mark.parametrize(
    ("argv0", "name"),
    [
        ("/usr/local/bin/oil-sim", "oil-sim"),
        (r"C:\venv\Scripts\oil-sim.exe", "oil-sim"),
        ("/repo/sim/__main__.py", "python -m sim"),
        ("-c", "python -m sim"),
    ],
)
def test_the_program_name_follows_how_it_was_called(argv0, name):
    assert program_name(argv0.replace("\\", os.sep)) == name


def test_the_console_script_names_itself_oil_sim(tmp_path):
    # A script named like the installed console script, calling the same entry point.
    script = tmp_path / "oil-sim"
    script.write_text(
        f"#!{sys.executable}\nimport sys\nfrom sim.cli import main\nsys.exit(main())\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, env=_env())
    assert out.returncode == 0
    assert out.stdout.startswith("usage: oil-sim ")
    version = subprocess.run([str(script), "--version"], capture_output=True, text=True, env=_env())
    assert version.stdout.strip() == f"oil-sim {__version__}"


@pytest.mark.parametrize(
    "argv, engine",
    [
        (["--engine", "array", "run", "scenarios/base.toml"], "array"),
        (["run", "scenarios/base.toml", "--engine", "array"], "array"),
        (["--engine", "array", "compare", "a.toml", "b.toml"], "array"),
        (["compare", "a.toml", "b.toml", "--engine", "event"], "event"),
        (["--engine", "array", "sweep", "s.toml", "--engine", "event"], "event"),
        (["stress", "a.toml", "--engine", "array"], "array"),
        (["n1", "a.toml", "--duration-days", "30", "--engine", "array"], "array"),
        (["run", "scenarios/base.toml"], None),
    ],
)
def test_engine_is_taken_before_or_after_the_command(argv, engine):
    """`--engine` works where users write it, before the command or after it (the later one
    wins); without it nothing is set and the environment decides."""
    from sim.cli import build_parser

    assert build_parser().parse_args(argv).engine == engine
