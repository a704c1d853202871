"""Case-insensitive patterns run fast: the same pattern, case-sensitive, over the lower-cased text.

Python's ``re`` tries every branch of a keyword alternation (``\\b(?:mrn|acct|policy|...)``) in full
at every position when the pattern is ``re.IGNORECASE``; case-sensitive, it rejects a branch on its
first letter. So a pattern that is case-insensitive throughout (no ``(?-i:...)`` part) is compiled a
second time without the flag, its ``A-Z`` ranges made ``a-z``, and run over ``text.lower()``. Offsets
are the same as long as lower-casing keeps the length (it does for all but a few letters such as
``İ``; then the original pattern runs). Matched text comes back lower-cased: callers that need the
original read ``text[match.start():match.end()]``.

>>> [m.span() for m in finditer(re.compile(r"\\bmrn\\s*\\d+", re.IGNORECASE), "MRN 12, mrn 3")]
[(0, 6), (8, 13)]
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_FAST: dict[re.Pattern[str], re.Pattern[str] | None] = {}


def lowered_twin(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """The case-sensitive twin of an all-case-insensitive ``pattern`` (``None`` if it has none)."""
    if pattern not in _FAST:
        twin = None
        if pattern.flags & re.IGNORECASE and "(?-i" not in pattern.pattern:
            twin = re.compile(pattern.pattern.replace("A-Z", "a-z"), pattern.flags & ~re.IGNORECASE)
        _FAST[pattern] = twin
    return _FAST[pattern]


def finditer(pattern: re.Pattern[str], text: str, lowered: str | None = None) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)``, through the lower-cased twin where one exists (same offsets).

    ``lowered``: ``text.lower()`` if the caller has it already (one lower-casing serves many patterns).
    """
    twin = lowered_twin(pattern)
    if twin is not None:
        lowered = text.lower() if lowered is None else lowered
        if len(lowered) == len(text):
            return twin.finditer(lowered)
    return pattern.finditer(text)
