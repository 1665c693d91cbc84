"""What a run has finished: per item, each candidate's score for each metric (a numerator) and
the item's denominator; per candidate, its requests' times, tokens and failures. A batch is
added in one step, so an interrupted run leaves whole batches only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from airlock.eval.usage import Usage

T = TypeVar("T")


class Progress(Protocol):
    def start(self, total: int, what: str) -> None: ...

    def advance(self, done: int) -> None: ...


class NoProgress:
    def start(self, total: int, what: str) -> None:
        pass

    def advance(self, done: int) -> None:
        pass


@dataclass(frozen=True)
class ItemScores:
    denominators: Mapping[str, float]  # metric -> the item's weight (0: it does not apply)
    numerators: Sequence[Mapping[str, float]]  # per candidate, metric -> score


@dataclass(frozen=True)
class Batch:
    items: Sequence[ItemScores]
    usage: Sequence[Usage]  # per candidate


class Board:
    def __init__(self, candidates: int, metrics: Sequence[str]) -> None:
        self.candidates = candidates
        self.metrics = list(metrics)
        self.batches: list[Batch] = []
        # Work done before any item (embedding a corpus): counted, not an item.
        self.setup: list[Usage] = [Usage() for _ in range(candidates)]

    def add(self, batch: Batch) -> None:
        self.batches.append(batch)  # one step: an interrupt never leaves half a batch

    @property
    def items(self) -> int:
        return sum(len(b.items) for b in self.batches)

    def scores(self, metric: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(candidates x items numerators, items denominators) of one metric."""
        rows = [item for batch in self.batches for item in batch.items]
        den = np.array([item.denominators[metric] for item in rows], dtype=np.float64)
        num = np.array(
            [[item.numerators[c][metric] for item in rows] for c in range(self.candidates)],
            dtype=np.float64,
        ).reshape(self.candidates, len(rows))
        return num, den

    def usage(self, candidate: int) -> Usage:
        total = Usage()
        total.add(self.setup[candidate])
        for batch in self.batches:
            total.add(batch.usage[candidate])
        return total
