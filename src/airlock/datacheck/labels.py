"""Label balance: how many records carry each label, while the values still look like labels."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# More distinct values than this and the field is an id or free text, not a label.
MAX_LABELS = 1000
# The most frequent label this many times the rarest one's count is an imbalance worth a note.
IMBALANCE_RATIO = 10


@dataclass(frozen=True)
class LabelSummary:
    counts: tuple[tuple[str, int], ...]  # most frequent first; empty when too many to be labels
    distinct: int  # at least this many values
    records: int  # records with a label
    too_many: bool

    @property
    def imbalanced(self) -> bool:
        if self.too_many or len(self.counts) < 2:
            return False
        return self.counts[0][1] >= IMBALANCE_RATIO * self.counts[-1][1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "distinct": self.distinct,
            "too_many_to_be_labels": self.too_many,
            "counts": dict(self.counts),
        }


class Labels:
    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._records = 0
        self._too_many = False

    def add(self, label: str) -> None:
        self._records += 1
        if self._too_many:
            return
        self._counts[label] += 1
        if len(self._counts) > MAX_LABELS:
            self._too_many = True

    def summary(self, redact: Callable[[str], str]) -> LabelSummary | None:
        """`redact`: what a label looks like in a report (labels are data, and may be personal)."""
        if not self._records:
            return None
        if self._too_many:
            return LabelSummary((), len(self._counts), self._records, True)
        shown: Counter[str] = Counter()
        for label, count in self._counts.items():
            shown[redact(label)] += count
        counts = tuple(sorted(shown.items(), key=lambda kv: (-kv[1], kv[0])))
        return LabelSummary(counts, len(self._counts), self._records, False)
