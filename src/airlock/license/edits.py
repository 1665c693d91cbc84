"""Whether a license file says what its reference text says.

The file's words are aligned with the reference template's (difflib); each difference is then
judged by what it could change. Never an edit: layout (see normalize), another name in one of
the template's name slots, optional text present or left out (an appended acceptable-use
policy), and informational text before or after the license that grants, limits or denies
nothing (a title, a list of bundled libraries). An edit: any difference that adds or removes
an operative word ("not", "may", "commercial", ... in data/licenses/matching.toml), a number
changed for another, or three words or more added to or taken out of the license text itself.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from airlock.license.template import APPENDIX, OPTIONAL, TEXT, Template

# Words added or removed inside the license text, past which a difference is an edit even when
# none of them is operative: a phrase, as in "permission [by the administrative authority]".
MIN_PHRASE = 3
# A name slot holds a name: longer content there is judged as text added.
MAX_SLOT_WORDS = 20
# An appendix the file has most of is held to every word: a prohibition taken out of an
# acceptable-use policy is an edit, as in the license.
APPENDIX_PRESENT = 0.5
_QUOTE_WORDS = 12
_LETTER = re.compile(r"[a-z]")
Opcodes = Sequence[tuple[str, int, int, int, int]]


@dataclass(frozen=True)
class Edit:
    removed: tuple[str, ...]  # reference words the file does not have
    added: tuple[str, ...]  # file words the reference does not have

    def describe(self) -> str:
        if self.removed and self.added:
            return f'"{_quote(self.removed)}" changed to "{_quote(self.added)}"'
        if self.added:
            return f'added "{_quote(self.added)}"'
        return f'removed "{_quote(self.removed)}"'


@functools.cache
def operative_words() -> frozenset[str]:
    return frozenset(str(word) for word in _matching()["operative"])


@functools.cache
def appendices(license_id: str) -> tuple[str, ...]:
    """Texts the publisher of `license_id` may ship after it in the same file."""
    folder = resources.files("airlock.data").joinpath("licenses", "appendices")
    return tuple(
        folder.joinpath(str(entry["file"])).read_text("utf-8")
        for entry in _matching()["appendix"]
        if license_id in entry["licenses"]
    )


@functools.cache
def _matching() -> dict[str, Any]:
    source = resources.files("airlock.data").joinpath("licenses", "matching.toml")
    return tomllib.loads(source.read_text("utf-8"))


@dataclass(frozen=True)
class Comparison:
    edits: tuple[Edit, ...]  # the differences that can change a term
    found: float  # share of the words every copy has that the file has (a filled slot counts)


def compare(candidate: Sequence[str], template: Template) -> Comparison:
    """How a file's words differ from the template's, and which differences can change a term."""
    opcodes = difflib.SequenceMatcher(None, template.words, candidate, autojunk=False).get_opcodes()
    anchors = [k for k, op in enumerate(opcodes) if op[0] == "equal"]
    if not anchors:
        return Comparison((Edit(template.plain(), tuple(candidate)),), 0.0)
    names = _names(opcodes, template, candidate)
    held = {TEXT, *_present_appendices(opcodes, template)}  # spans whose every word counts
    required = [s for s in template.spans if s > OPTIONAL]
    matched = sum(
        1
        for tag, i1, i2, *_ in opcodes
        for i in range(i1, i2)
        if template.spans[i] in names or (tag == "equal" and template.spans[i] > OPTIONAL)
    )
    found = []
    for k, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            continue
        removed = [
            template.words[i]
            for i in range(i1, i2)
            if template.spans[i] in held
            or (template.spans[i] >= 0 and template.spans[i] not in names)
        ]
        added = [candidate[j] for j in range(j1, j2) if not any(j in at for at in names.values())]
        inside = anchors[0] < k < anchors[-1]  # within the license text, not around it
        if (removed or added) and _significant(removed, added, inside=inside):
            found.append(Edit(tuple(removed), tuple(added)))
    return Comparison(tuple(found), matched / len(required) if required else 1.0)


def _present_appendices(opcodes: Opcodes, template: Template) -> set[int]:
    """The appendices the file has most of."""
    total: dict[int, int] = {}
    matched: dict[int, int] = {}
    for tag, i1, i2, *_ in opcodes:
        for i in range(i1, i2):
            span = template.spans[i]
            if span <= APPENDIX:
                total[span] = total.get(span, 0) + 1
                matched[span] = matched.get(span, 0) + (tag == "equal")
    return {span for span, count in total.items() if matched[span] >= APPENDIX_PRESENT * count}


def _names(opcodes: Opcodes, template: Template, candidate: Sequence[str]) -> dict[int, range]:
    """The name slots (SPDX vars) the file fills acceptably, with where it fills them: a short
    text that matches the slot's pattern or adds and removes no operative word."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for i, span in enumerate(template.spans):
        if span >= 0:
            first.setdefault(span, i)
            last[span] = i
    operative = operative_words()
    accepted = {}
    for var, start in first.items():
        at = range(_position(opcodes, start, end=False), _position(opcodes, last[var], end=True))
        filled = [candidate[j] for j in at]
        original = template.words[start : last[var] + 1]
        if len(filled) > MAX_SLOT_WORDS:
            continue
        same_terms = operative.intersection(filled) == operative.intersection(original)
        if same_terms or _fullmatch(template.patterns[var], " ".join(filled)):
            accepted[var] = at
    return accepted


def _position(opcodes: Opcodes, i: int, *, end: bool) -> int:
    """Where template word `i` lies in the file (just after it when `end`)."""
    for tag, i1, i2, j1, j2 in opcodes:
        if i1 <= i < i2:
            if tag == "equal":
                return j1 + (i - i1) + (1 if end else 0)
            return j2 if end else j1
    return 0


def _fullmatch(pattern: str, text: str) -> bool:
    try:
        return re.fullmatch(pattern, text, re.IGNORECASE | re.DOTALL) is not None
    except re.error:
        return False


def _significant(removed: list[str], added: list[str], *, inside: bool) -> bool:
    if operative_words().intersection(removed + added):
        return True
    numbers = ([w for w in removed if w.isdigit()], [w for w in added if w.isdigit()])
    if all(numbers) and sorted(numbers[0]) != sorted(numbers[1]):
        return True  # "700 million" -> "7 million"
    if not inside:  # a title, a note or a list around the license: it states no term
        return False
    return max(_phrase(removed), _phrase(added)) >= MIN_PHRASE


def _phrase(found: list[str]) -> int:
    return sum(1 for w in found if _LETTER.search(w) and not w.startswith("url"))


def _quote(found: tuple[str, ...]) -> str:
    text = " ".join(found[:_QUOTE_WORDS])
    return text + " ..." if len(found) > _QUOTE_WORDS else text
