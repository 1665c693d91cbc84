"""Length distributions (characters, tokens) kept as one 4-byte number per record: exact
percentiles for a million records in 4 MB."""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

import numpy as np

# Histogram bucket edges: 0, 1-9, 10-99, ... (a log scale shows short and long tails alike).
EDGES = (0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000)


@dataclass(frozen=True)
class LengthSummary:
    unit: str  # "characters" or "tokens"
    count: int
    minimum: int
    median: int
    p90: int
    p99: int
    maximum: int
    mean: float
    histogram: tuple[tuple[str, int], ...]  # (bucket label, records)

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "count": self.count,
            "min": self.minimum,
            "median": self.median,
            "p90": self.p90,
            "p99": self.p99,
            "max": self.maximum,
            "mean": round(self.mean, 2),
            "histogram": {label: count for label, count in self.histogram},
        }


class Lengths:
    def __init__(self, unit: str) -> None:
        self.unit = unit
        self._values = array("I")

    def add(self, length: int) -> None:
        self._values.append(min(length, 0xFFFFFFFF))

    def summary(self) -> LengthSummary | None:
        if not self._values:
            return None
        values = np.frombuffer(self._values, dtype=np.uint32)
        low, median, p90, p99, high = np.percentile(values, [0, 50, 90, 99, 100], method="lower")
        counts = np.histogram(values, bins=[*EDGES, np.iinfo(np.uint32).max + 1])[0]
        labels = [
            _label(low_edge, high_edge)
            for low_edge, high_edge in zip(EDGES, [*EDGES[1:], None], strict=True)
        ]
        return LengthSummary(
            self.unit,
            len(values),
            int(low),
            int(median),
            int(p90),
            int(p99),
            int(high),
            float(values.mean()),
            tuple((label, int(n)) for label, n in zip(labels, counts, strict=True) if n),
        )


def _label(low: int, high: int | None) -> str:
    if high is None:
        return f"{low:,}+"
    return f"{low:,}" if high - low == 1 else f"{low:,}-{high - 1:,}"
