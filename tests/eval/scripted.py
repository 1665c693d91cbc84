"""A candidate that answers from a script: for the run's own logic (interrupts, the judge, the
report) without a model."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from airlock.eval.candidates.interface import Answer, Candidate, ItemFailed, Vectors
from airlock.eval.datasets.interface import GenerationItem, TranscriptionItem


class Scripted(Candidate):
    kind = "endpoint"

    def __init__(self, name: str, answer: Callable[[GenerationItem], str]) -> None:
        self.name = name
        self.endpoint = f"http://scripted.invalid/{name}"
        self._answer = answer
        self.calls = 0
        self.closed = False

    def open(self) -> None:
        pass

    def generate(self, item: GenerationItem, max_tokens: int) -> Answer:
        self.calls += 1
        text = self._answer(item)
        if text == "FAIL":
            raise ItemFailed("scripted failure")
        return Answer(text, 3, 2)

    def embed(self, texts: list[str]) -> tuple[Vectors, int]:
        rows = np.array([[len(t), 1.0] for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True), len(texts)

    def rerank(self, query: str, documents: list[str]) -> tuple[list[float], int]:
        return [float(len(d)) for d in documents], 0

    def transcribe(self, item: TranscriptionItem) -> Answer:
        return Answer(item.text, 0, 0)

    def close(self) -> None:
        self.closed = True
