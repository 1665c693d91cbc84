"""The writing system of a text: the Unicode script most of its first letters belong to
(ranges in data/datacheck/scripts.toml). A light stand-in for language identification: it
tells Cyrillic from Latin from Han, not English from French; no language-identification
library is a dependency of Airlock (see docs/data-check.md)."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from functools import cache

from airlock.datacheck.knowledge import load

# The letters looked at per record: enough to tell a record's script, cheap on long documents.
SAMPLE_CHARS = 400
NONE, OTHER = "none", "other"


@cache
def _table() -> tuple[list[int], list[int], list[str]]:
    spans = sorted(
        (low, high, script)
        for script, ranges in load("scripts.toml").items()
        for low, high in ranges
    )
    return [s[0] for s in spans], [s[1] for s in spans], [s[2] for s in spans]


@cache
def script_of(char: str) -> str:
    starts, ends, names = _table()
    index = bisect_right(starts, ord(char)) - 1
    return names[index] if index >= 0 and ord(char) <= ends[index] else OTHER


def dominant(text: str) -> str:
    """The script of most letters among the first SAMPLE_CHARS characters; "none" without
    letters."""
    sample = text[:SAMPLE_CHARS]
    if sample.isascii():  # most records: no table look-ups
        return "Latin" if any(char.isalpha() for char in sample) else NONE
    counts = Counter(script_of(char) for char in sample if char.isalpha())
    return counts.most_common(1)[0][0] if counts else NONE
