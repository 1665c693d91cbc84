"""Which known license a text is: word 5-gram shingles compared with the shipped reference texts.

Normalizing first (normalize.py) makes the comparison survive reformatting; shingles make it
degrade gracefully with edits, so the score says how much of the text is the known license and
how much is not. Whether the text is an edited copy is decided word by word (edits.py).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

from airlock.license.edits import appendices, compare
from airlock.license.normalize import words
from airlock.license.template import OPTIONAL, Template, parse

SHINGLE = 5
HIGH, MEDIUM, LOW = 0.95, 0.8, 0.5
EXACT = 0.99  # share of the reference's words a copy must have to count as all of it
# Too few shingles to tell licenses apart: a one-line "Licensed under ..." is matched by name.
MIN_SHINGLES = 20
# Texts within SIBLINGS of the best score are told apart by their own phrases; evidence within
# TIE of the best leaves the answer ambiguous.
SIBLINGS = 0.1
TIE = 0.05


@dataclass(frozen=True)
class Reference:
    license_id: str
    variant: str
    shingles: frozenset[str]  # of the text every copy has
    optional: frozenset[str]  # of optional text and appendices, counted only when present
    template: Template


@dataclass(frozen=True)
class TextMatch:
    license_id: str
    variant: str
    score: float  # Dice similarity of the shingle sets, 0..1
    covered: float  # share of the reference text's words found in the file (names filled in)
    extra: float  # share of the file that is not in the reference text
    added: int  # shingles of the file not in the reference text (5 or so per added phrase)
    alternatives: tuple[str, ...]  # other licenses within TIE of the best score
    edits: tuple[str, ...] = ()  # differences from the reference that can change a term

    @property
    def edited(self) -> bool:
        return bool(self.edits)

    @property
    def confidence(self) -> str:
        # Every word of the reference is there and nothing that changes a term was added: the
        # text is the license, whatever else the file says around it.
        level = "high" if self.covered >= EXACT and not self.edits else confidence_label(self.score)
        if self.alternatives:  # a tie between siblings halves what we can claim
            return {"high": "medium", "medium": "low"}.get(level, level)
        return level

    def describe(self) -> str:
        text = (
            f"{self.score:.0%} similar to the reference text "
            f"({self.covered:.0%} of it found, {self.extra:.0%} of the file not in it)"
        )
        if self.alternatives:
            text += f"; as close to {', '.join(self.alternatives)}"
        if self.edits:
            more = f" (and {len(self.edits) - 1} more)" if len(self.edits) > 1 else ""
            text += f"; {self.edits[0]}{more}"
        return text


def confidence_label(score: float) -> str:
    if score >= HIGH:
        return "high"
    if score >= MEDIUM:
        return "medium"
    return "low" if score >= LOW else "none"


def shingles(found: tuple[str, ...] | list[str]) -> frozenset[str]:
    return frozenset(" ".join(found[i : i + SHINGLE]) for i in range(len(found) - SHINGLE + 1))


@functools.cache
def references() -> tuple[Reference, ...]:
    """Reference texts: `texts/<id>.txt`, or `texts/<id>@<variant>.txt` for other versions, with
    SPDX template markup where copies differ (template.py) and the appendices a publisher may
    ship after the text (data/licenses/matching.toml)."""
    folder = resources.files("airlock.data").joinpath("licenses", "texts")
    found = []
    for item in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if item.name.endswith(".txt"):
            license_id, _, variant = item.name.removesuffix(".txt").partition("@")
            template = parse(item.read_text("utf-8"), appendices(license_id))
            required, optional = _split_shingles(template)
            found.append(Reference(license_id, variant, required, optional, template))
    return tuple(found)


def _split_shingles(template: Template) -> tuple[frozenset[str], frozenset[str]]:
    """The template's shingles that every copy has, and those that touch optional text."""
    required: set[str] = set()
    optional: set[str] = set()
    for i in range(len(template.words) - SHINGLE + 1):
        shingle = " ".join(template.words[i : i + SHINGLE])
        always = all(span > OPTIONAL for span in template.spans[i : i + SHINGLE])
        (required if always else optional).add(shingle)
    return frozenset(required), frozenset(optional - required)


def identify(text: str) -> TextMatch | None:
    """The best-matching known license, or None when the text is short or matches none."""
    found = words(text)
    candidate = shingles(found)
    if len(candidate) < MIN_SHINGLES:
        return None
    best: dict[str, tuple[float, int, Reference]] = {}
    for reference in references():
        common = len(candidate & reference.shingles)
        present = _appended(candidate, common, reference)
        dice = 2 * (common + present) / (len(candidate) + len(reference.shingles) + present)
        if dice > best.get(reference.license_id, (-1.0,))[0]:
            best[reference.license_id] = (dice, common, reference)
    ranked = sorted(best.values(), key=lambda item: item[0], reverse=True)
    if ranked[0][0] < LOW:
        return None
    siblings = [item for item in ranked if item[0] >= ranked[0][0] - SIBLINGS]
    winner, ties = _tell_apart(candidate, siblings)
    score, common, reference = winner
    present = _appended(candidate, common, reference)
    comparison = compare(found, reference.template)
    return TextMatch(
        license_id=reference.license_id,
        variant=reference.variant,
        score=round(score, 3),
        covered=round(comparison.found, 3),
        extra=round(1 - (common + present) / len(candidate), 3),
        added=len(candidate) - common - present,
        alternatives=ties,
        edits=tuple(edit.describe() for edit in comparison.edits),
    )


def _appended(candidate: frozenset[str], common: int, reference: Reference) -> int:
    """Shingles of optional text and appendices the candidate has: they count towards the match
    when the license itself is there (a use policy alone is not the license)."""
    return len(candidate & reference.optional) if common >= LOW * len(reference.shingles) else 0


def _tell_apart(
    candidate: frozenset[str], siblings: list[tuple[float, int, Reference]]
) -> tuple[tuple[float, int, Reference], tuple[str, ...]]:
    """Among near-identical texts (Llama 3.x, CC variants, RAIL-M), the one whose own phrases
    (shingles no sibling has) the candidate contains most; the others that do as well tie."""
    if len(siblings) == 1:
        return siblings[0], ()
    evidence = []
    for item in siblings:
        others = frozenset().union(*(s[2].shingles for s in siblings if s is not item))
        own = item[2].shingles - others
        evidence.append((len(candidate & own) / len(own) if own else 0.0, item))
    evidence.sort(key=lambda pair: pair[0], reverse=True)
    top, winner = evidence[0]
    ties = tuple(sorted(item[2].license_id for found, item in evidence[1:] if found >= top - TIE))
    return winner, ties if top > 0 else tuple(item[2].license_id for _, item in evidence[1:])
