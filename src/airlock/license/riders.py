"""Riders: conditions written to sit on top of another license, such as the Commons Clause. A
LICENSE file that holds one above or below a license text is that license *with* the rider: the
rider's lines are taken out before the rest is identified, so the base text is still recognised
word for word, and the rider binds beside it (never instead of it)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import airlock.license.knowledge as knowledge
from airlock.license.identify import SHINGLE, Reference, references
from airlock.license.normalize import words as words_of

# Share of a rider's reference text a file must contain for the rider to count: its template
# fields ("Software: [name]") are filled in or left out in real copies.
FOUND = 0.6
# A rider's filled-in template line ("Licensor: Acme Inc."): it goes with the rider.
_FIELD = re.compile(r"^\W*[A-Za-z][A-Za-z ]{0,20}:")


@dataclass(frozen=True)
class Split:
    base: str  # the text without its riders
    riders: tuple[str, ...]  # knowledge ids of the riders found, in reference order


def split_riders(text: str) -> Split:
    lines = text.splitlines()
    found: list[str] = []
    taken: set[int] = set()
    for reference in _rider_references():
        rider_lines = _lines_of(lines, reference)
        if rider_lines and reference.license_id not in found:
            found.append(reference.license_id)
        taken |= rider_lines
    base = "\n".join(line for i, line in enumerate(lines) if i not in taken)
    return Split(base, tuple(found))


def _rider_references() -> tuple[Reference, ...]:
    return tuple(r for r in references() if knowledge.by_id(r.license_id).rider)


def _lines_of(lines: list[str], reference: Reference) -> set[int]:
    """The lines that are the rider (most of their words in its shingles) and the template
    fields next to them; none when too little of the rider is there."""
    words = [(i, word) for i, line in enumerate(lines) for word in words_of(line)]
    covered = [False] * len(words)
    seen: set[str] = set()
    for start in range(len(words) - SHINGLE + 1):
        shingle = " ".join(word for _, word in words[start : start + SHINGLE])
        if shingle in reference.shingles:
            seen.add(shingle)
            covered[start : start + SHINGLE] = [True] * SHINGLE
    if not reference.shingles or len(seen) / len(reference.shingles) < FOUND:
        return set()
    total: dict[int, int] = {}
    hits: dict[int, int] = {}
    for (i, _), hit in zip(words, covered, strict=True):
        total[i] = total.get(i, 0) + 1
        hits[i] = hits.get(i, 0) + hit
    rider = {i for i in total if hits[i] * 2 >= total[i]}
    return rider | _fields_around(lines, rider)


def _fields_around(lines: list[str], rider: set[int]) -> set[int]:
    fields: set[int] = set()
    for start, step in ((min(rider) - 1, -1), (max(rider) + 1, 1)):
        i = start
        while 0 <= i < len(lines) and (not lines[i].strip() or _FIELD.match(lines[i])):
            fields.add(i)
            i += step
    return fields
