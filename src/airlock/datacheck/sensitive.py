"""Personal data and secrets in a text: where they are and what kind, never what they say.
The patterns, their sources and the tests a match must pass are data
(data/datacheck/sensitive.toml, validators.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from airlock.datacheck.knowledge import load
from airlock.datacheck.validators import CHECKS

PERSONAL_DATA, SECRET = "AIR930", "AIR931"


@dataclass(frozen=True)
class Pattern:
    rule_id: str
    kind: str
    title: str
    regex: re.Pattern[str]
    group: int
    # What the text must match before `regex` runs (None: always runs): the keywords, in the
    # lower-cased text, or the gate, in the text.
    gate: re.Pattern[str] | None
    gate_on_lower: bool
    check: Callable[[str], int | None] | None


@dataclass(frozen=True, slots=True)
class Hit:
    pattern: Pattern
    start: int  # character offsets in the text
    end: int


@cache
def patterns() -> tuple[Pattern, ...]:
    data = load("sensitive.toml")
    found = []
    for section, rule_id in (("personal", PERSONAL_DATA), ("secret", SECRET)):
        for spec in data[section]:
            keywords = "|".join(re.escape(keyword) for keyword in spec["keywords"])
            gate = keywords or spec["gate"]
            found.append(
                Pattern(
                    rule_id,
                    spec["kind"],
                    spec["title"],
                    re.compile(spec["regex"]),
                    spec["group"],
                    re.compile(gate) if gate else None,
                    bool(keywords),
                    CHECKS[spec["check"]] if spec["check"] else None,
                )
            )
    return tuple(found)


# No pattern matches fewer characters than an e-mail address such as a@b.co.
_SHORTEST = 6


def find(text: str) -> list[Hit]:
    """Every personal datum and secret in `text`, in order; where two overlap (a card number
    inside a longer token), the one that starts first, then the longer, is kept."""
    if len(text) < _SHORTEST:
        return []
    lowered = ""
    gates: dict[tuple[re.Pattern[str], bool], bool] = {}  # patterns share gates (digits)
    hits = []
    for pattern in patterns():
        if pattern.gate is not None:
            key = (pattern.gate, pattern.gate_on_lower)
            if key not in gates:
                if pattern.gate_on_lower and not lowered:
                    lowered = text.lower()
                gates[key] = (
                    pattern.gate.search(lowered if pattern.gate_on_lower else text) is not None
                )
            if not gates[key]:
                continue
        for match in pattern.regex.finditer(text):
            start, end = match.span(pattern.group)
            if pattern.check is not None:
                length = pattern.check(text[start:end])
                if length is None:
                    continue
                end = start + length
            hits.append(Hit(pattern, start, end))
    hits.sort(key=lambda hit: (hit.start, hit.start - hit.end))
    kept: list[Hit] = []
    for hit in hits:
        if not kept or hit.start >= kept[-1].end:
            kept.append(hit)
    return kept


def redact(text: str) -> str:
    """`text` with every personal datum and secret replaced by its kind: for the words a report
    quotes from the data (field names, labels, paths), which must not carry them either."""
    for hit in reversed(find(text)):
        text = f"{text[: hit.start]}[redacted {hit.pattern.kind}]{text[hit.end :]}"
    return text
