"""Test session set-up.

Tests that start `python` in a subprocess (scripts, the CLI, a killed sweep) must run this
checkout's `sim`, not the one the interpreter has installed: a git worktree shares its virtual
environment (and its editable install) with the main checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
