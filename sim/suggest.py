"""'Did you mean ...?': the closest known names to a name the user gave (a leaf module).

Used for unknown keys, ids, kinds and file names, so a typo's message points at the fix.
difflib's ratio is enough for names of a few words; cutoff 0.6 keeps unrelated names out.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

#: How alike two names must be (difflib's ratio, 0–1) for one to be suggested for the other.
CUTOFF = 0.6
#: Most names suggested at once: only names about as close as the best (within TIE) join it.
MOST = 3
TIE = 0.05


def closest(word: str, choices: Iterable[str], most: int = MOST) -> list[str]:
    """The known names most like `word`, best first (none if nothing is close); after the best,
    only names within TIE of its likeness."""
    names = difflib.get_close_matches(str(word), sorted(set(choices)), n=most, cutoff=CUTOFF)
    if not names:
        return []

    def likeness(name: str) -> float:
        return difflib.SequenceMatcher(None, str(word), name).ratio()

    best = likeness(names[0])
    return [n for n in names if likeness(n) >= best - TIE]


def did_you_mean(word: str, choices: Iterable[str], most: int = MOST) -> str:
    """`"; did you mean 'x'?"` (or `'x' or 'y'`) to append to a message, or `""`."""
    names = closest(word, choices, most)
    if not names:
        return ""
    return f"; did you mean {' or '.join(repr(n) for n in names)}?"
