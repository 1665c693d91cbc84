"""What the runners ask of a candidate, whatever it is."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from airlock.eval.datasets.interface import GenerationItem, Task, TranscriptionItem
from airlock.eval.result import ModelRef

Vectors = npt.NDArray[np.float32]


class ItemFailed(Exception):
    """This input got no answer (too long for the model, refused by the server...); the item is
    scored as an empty answer and counted as failed."""


@dataclass(frozen=True)
class Answer:
    text: str
    prompt_tokens: int
    completion_tokens: int


class Candidate(ABC):
    name: str
    kind: str  # "admitted" or "endpoint"
    model: ModelRef | None = None
    endpoint: str | None = None

    def refuses(self, task: Task) -> str | None:
        """Why this candidate cannot take `task` (None: it can), known before loading it."""
        return None

    @abstractmethod
    def open(self) -> None:
        """Load what the candidate needs; raises CandidateError."""

    @abstractmethod
    def embed(self, texts: list[str]) -> tuple[Vectors, int]:
        """Unit-length vectors, one row per text, and the input tokens read."""

    @abstractmethod
    def rerank(self, query: str, documents: list[str]) -> tuple[list[float], int]:
        """A relevance score per document (higher: more relevant), and the tokens read."""

    @abstractmethod
    def generate(self, item: GenerationItem, max_tokens: int) -> Answer:
        """The answer to the item's messages or prompt, greedy (temperature 0)."""

    @abstractmethod
    def transcribe(self, item: TranscriptionItem) -> Answer:
        """The text of the item's audio."""

    @abstractmethod
    def close(self) -> None:
        """Free what open() loaded; safe to call more than once."""


def unit_rows(vectors: npt.NDArray[np.floating]) -> Vectors:
    """Rows scaled to length 1, so that a dot product is the cosine similarity."""
    rows = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.where(norms == 0, 1, norms)).astype(np.float32, copy=False)
