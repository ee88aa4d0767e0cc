"""The program's name and version: a leaf module, so writing a manifest imports nothing else."""

from __future__ import annotations

#: The program's name, as in pyproject.toml and every manifest's `program`.
PROGRAM = "oil-supply-sim"
#: The program's version (pyproject.toml's `version`; a test keeps the two equal).
__version__ = "0.1.0"
