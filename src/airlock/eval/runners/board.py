"""What a run has finished: per item, each candidate's score for each metric (a numerator) and
the item's denominator; per candidate, its requests' times, tokens and failures. A batch is
added in one step, so an interrupted run leaves whole batches only."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from airlock.eval.candidates.interface import ItemFailed

T = TypeVar("T")


class Progress(Protocol):
    def start(self, total: int, what: str) -> None: ...

    def advance(self, done: int) -> None: ...


class NoProgress:
    def start(self, total: int, what: str) -> None:
        pass

    def advance(self, done: int) -> None:
        pass


@dataclass
class Usage:
    """One candidate's requests: their times, tokens and failures."""

    latencies_s: list[float] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    failed: int = 0
    first_failure: str | None = None

    def timed(self, call: Callable[[], T]) -> T:
        """`call()`, timed as one request."""
        start = time.perf_counter()
        try:
            return call()
        finally:
            self.latencies_s.append(time.perf_counter() - start)

    def attempt(self, where: str, call: Callable[[], T]) -> T | None:
        """`call()` timed as one request; None (counted as a failure) when it fails."""
        try:
            return self.timed(call)
        except ItemFailed as exc:
            self.fail(where, str(exc))
            return None

    def fail(self, where: str, why: str) -> None:
        self.failed += 1
        if self.first_failure is None:
            self.first_failure = f"{where}: {why}"

    def add(self, other: Usage) -> None:
        self.latencies_s.extend(other.latencies_s)
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.failed += other.failed
        self.first_failure = self.first_failure or other.first_failure


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
