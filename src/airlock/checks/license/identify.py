"""Which known license a text is: word 5-gram shingles compared with the shipped reference texts.

Normalizing first (case, punctuation, markdown, line breaks, copyright lines, years) makes the
comparison survive reformatting; shingles make it degrade gracefully with edits, so the score
says how much of the text is the known license and how much is not.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources

SHINGLE = 5
HIGH, MEDIUM, LOW = 0.95, 0.8, 0.5
# Differences past these are reported as an edited text: a sentence added or taken out.
EXACT, ADDED_SHINGLES = 0.99, 5
# Too few shingles to tell licenses apart: a one-line "Licensed under ..." is matched by name.
MIN_SHINGLES = 20
# Texts within SIBLINGS of the best score are told apart by their own phrases; evidence within
# TIE of the best leaves the answer ambiguous.
SIBLINGS = 0.1
TIE = 0.05
_COPYRIGHT_LINE = re.compile(r"^\W*(copyright\b|\(c\)|©)", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")
_YEAR = re.compile(r"(19|20)\d\d")


@dataclass(frozen=True)
class Reference:
    license_id: str
    variant: str
    shingles: frozenset[str]


@dataclass(frozen=True)
class TextMatch:
    license_id: str
    variant: str
    score: float  # Dice similarity of the shingle sets, 0..1
    covered: float  # share of the reference text found in the file
    extra: float  # share of the file that is not in the reference text
    added: int  # shingles of the file not in the reference text (5 or so per added phrase)
    alternatives: tuple[str, ...]  # other licenses within TIE of the best score

    @property
    def edited(self) -> bool:
        return self.covered < EXACT or self.added >= ADDED_SHINGLES

    @property
    def confidence(self) -> str:
        level = confidence_label(self.score)
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
        return text


def confidence_label(score: float) -> str:
    if score >= HIGH:
        return "high"
    if score >= MEDIUM:
        return "medium"
    return "low" if score >= LOW else "none"


def normalize(text: str) -> list[str]:
    """The words of a license text, without copyright lines, years, case or punctuation."""
    lines = (line for line in text.splitlines() if not _COPYRIGHT_LINE.match(line))
    lowered = " ".join(lines).lower().replace("licence", "license")
    return [word for word in _WORD.findall(lowered) if not _YEAR.fullmatch(word)]


def shingles(words: list[str]) -> frozenset[str]:
    return frozenset(" ".join(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1))


@functools.cache
def references() -> tuple[Reference, ...]:
    """Reference texts: `texts/<id>.txt`, or `texts/<id>@<variant>.txt` for other versions."""
    folder = resources.files("airlock.data").joinpath("licenses", "texts")
    found = []
    for item in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if item.name.endswith(".txt"):
            license_id, _, variant = item.name.removesuffix(".txt").partition("@")
            words = normalize(item.read_text("utf-8"))
            found.append(Reference(license_id, variant, shingles(words)))
    return tuple(found)


def identify(text: str) -> TextMatch | None:
    """The best-matching known license, or None when the text is short or matches none."""
    candidate = shingles(normalize(text))
    if len(candidate) < MIN_SHINGLES:
        return None
    best: dict[str, tuple[float, int, Reference]] = {}
    for reference in references():
        common = len(candidate & reference.shingles)
        dice = 2 * common / (len(candidate) + len(reference.shingles))
        if dice > best.get(reference.license_id, (-1.0,))[0]:
            best[reference.license_id] = (dice, common, reference)
    ranked = sorted(best.values(), key=lambda item: item[0], reverse=True)
    if ranked[0][0] < LOW:
        return None
    siblings = [item for item in ranked if item[0] >= ranked[0][0] - SIBLINGS]
    winner, ties = _tell_apart(candidate, siblings)
    score, common, reference = winner
    return TextMatch(
        license_id=reference.license_id,
        variant=reference.variant,
        score=round(score, 3),
        covered=round(common / len(reference.shingles), 3),
        extra=round(1 - common / len(candidate), 3),
        added=len(candidate) - common,
        alternatives=ties,
    )


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
