"""docs/howto.md stays true: every ```bash and ```python block of it runs, in order, in a fresh
folder holding a copy of scenarios/ (the guide's commands run from the repository root)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "howto.md"
BLOCK = re.compile(r"^```(bash|python)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(GUIDE.read_text(encoding="utf-8"))]


def test_the_guide_has_its_recipes():
    kinds = [kind for kind, _ in blocks()]
    assert kinds.count("bash") >= 5 and kinds.count("python") >= 3
    text = GUIDE.read_text(encoding="utf-8")
    for command in ("sim validate", "sim run", "sim compare", "sim stress", "sim sweep"):
        assert command in text, command
    assert "annual_volume_t" in text and "sim.read_results" in text
    assert "docs/howto.md" in (REPO / "README.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_every_block_of_the_guide_runs_in_order(tmp_path):
    pytest.importorskip("pandas")
    shutil.copytree(REPO / "scenarios", tmp_path / "scenarios")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        "PYTHONHASHSEED": "0",
    }
    env.pop("OIL_SIM_ALLOW_OUTSIDE_EXTENDS", None)
    for n, (kind, code) in enumerate(blocks(), 1):
        if kind == "bash":
            command = ["bash", "-euo", "pipefail", "-c", code]
        else:
            command = [sys.executable, "-c", code]
        done = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"block {n} ({kind}) failed:\n{code}\n{done.stderr[-3000:]}"
    # What the recipes wrote.
    assert (tmp_path / "results" / "my_programme_volume" / "points.csv").is_file()
    (comparison,) = (tmp_path / "results" / "comparisons").iterdir()
    assert (comparison / "report.html").is_file()
    (stress,) = (tmp_path / "results" / "stress").iterdir()
    assert (stress / "stress_extra.png").is_file()
