"""Errors the program reports to a user: every problem with its file, key path and reason."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and what is wrong."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: {self.message}"


class ScenarioError(Exception):
    """An input file is invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem], notes: list[str] | None = None):
        self.problems = list(problems)
        #: What the user should know beside the problems (e.g. that some rules did not run).
        self.notes = list(notes or [])
        super().__init__("\n".join([*(str(p) for p in self.problems), *self.notes]))


class ResultsExistError(Exception):
    """A result folder exists already and overwriting it was not asked for."""


class MassBalanceError(Exception):
    """The run's books do not close: crude was created or lost by the engine."""
