"""One candidate's requests in a run: their times, tokens and failures (runners and the judge
both count into it)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from airlock.eval.candidates.interface import ItemFailed

T = TypeVar("T")


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
