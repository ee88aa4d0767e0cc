"""The repository carries its own sources: docs/sources.md holds every figure the scenarios cite.

A clone has nothing outside the repository, so no tracked file may point outside it, and every
`[src: id]` citation in a scenario file must name a row of docs/sources.md.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "docs" / "sources.md"
#: The outside folder the project was once written against; a clone does not have it.
OUTSIDE = "../" + "shared"  # split, so this file does not match its own test
#: A citation in a scenario comment: `[src: urals-price-2019]`.
CITATION = re.compile(r"\[src:\s*([^\]\s]*)\s*\]")
#: How a file's header describes the form; not a citation.
PLACEHOLDER = "<id>"
ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _row_ids(text: str) -> list[str]:
    """First cell of every data row of every table whose header's first cell is `id`."""
    ids: list[str] = []
    in_table = False
    for line in text.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] == "id":
            in_table = True
        elif in_table and not set(cells[0]) <= set("-: "):
            ids.append(cells[0].strip("`"))
    return ids


def _citations(text: str) -> list[str]:
    return CITATION.findall(text)


def _tracked_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git checkout ({exc})")
    return [ROOT / name for name in out.decode("utf-8").split("\0") if name]


def _scenario_files() -> list[Path]:
    files = sorted((ROOT / "scenarios").rglob("*.toml"))
    assert files, "no scenario files found"
    return files


def test_no_tracked_file_points_outside_the_repository():
    offenders = []
    for path in _tracked_files():
        if not path.is_file():  # deleted in the working tree but still in the index
            continue
        if OUTSIDE.encode() in path.read_bytes():
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"{OUTSIDE} is not in a clone; cite docs/sources.md instead: {offenders}"


def test_row_ids_are_unique_and_kebab_case():
    ids = _row_ids(SOURCES.read_text(encoding="utf-8"))
    assert len(ids) > 100, "docs/sources.md: expected its tables of figures"
    duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
    assert not duplicates, f"docs/sources.md: ids used more than once: {duplicates}"
    malformed = [i for i in ids if not ID.fullmatch(i)]
    assert not malformed, f"docs/sources.md: ids not in kebab-case: {malformed}"


def test_every_scenario_citation_is_a_row_of_sources_md():
    ids = set(_row_ids(SOURCES.read_text(encoding="utf-8")))
    cited = 0
    missing = []
    for path in _scenario_files():
        for citation in _citations(path.read_text(encoding="utf-8")):
            if citation == PLACEHOLDER:
                continue
            cited += 1
            if citation not in ids:
                missing.append(f"{path.relative_to(ROOT)}: [src: {citation}]")
    assert cited > 50, "expected the scenario files to cite docs/sources.md"
    assert not missing, "cited ids that docs/sources.md does not have:\n" + "\n".join(missing)


def test_scenarios_no_longer_cite_the_old_reference_sections():
    """`ref §5` pointed into a file outside the repository; cite a row id instead."""
    old = re.compile(r"#.*\bref(?:erence)? §")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _scenario_files()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if old.search(line)
    ]
    assert not offenders, f"comments still citing 'ref §N': {offenders}"


def test_the_parsers_see_what_they_should():
    """The helpers above must not pass by finding nothing."""
    table = "| id | figure |\n|---|---|\n| `a-b` | x |\n| `c` | y |\n\n| other |\n|---|\n| `z` |\n"
    assert _row_ids(table) == ["a-b", "c"]
    assert _citations("x = 1  # a [src: a-b] (S), [src: c]") == ["a-b", "c"]
    assert _citations("# [src: ]") == [""]  # an empty citation is caught as missing
