"""The task a data set poses and the items each task's readers hand out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any


class Task(StrEnum):
    RETRIEVAL = "retrieval"
    RERANK = "rerank"
    GENERATION = "generation"
    TRANSCRIPTION = "transcription"


@dataclass(frozen=True)
class Document:
    id: str
    text: str


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    relevant: Mapping[str, int]  # document id -> relevance grade (0: judged not relevant)
    where: str  # file:line, for messages


@dataclass(frozen=True)
class RerankItem:
    query: str
    documents: tuple[str, ...]
    labels: tuple[int, ...]  # one relevance grade per document (0: not relevant)
    where: str


@dataclass(frozen=True)
class GenerationItem:
    where: str
    messages: tuple[Mapping[str, str], ...] | None = None
    prompt: str | None = None
    references: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    answer: int | None = None  # index into choices
    schema: Mapping[str, Any] | None = None
    pattern: str | None = None

    @property
    def question(self) -> str:
        """What was asked, as a judge reads it: the prompt, or the conversation."""
        if self.prompt is not None:
            return self.prompt
        return "\n".join(f"{m['role']}: {m['content']}" for m in self.messages or ())


@dataclass(frozen=True)
class TranscriptionItem:
    where: str
    audio: Path
    text: str
    language: str | None = None


Item = RerankItem | GenerationItem | TranscriptionItem


class DataSet(ABC):
    """A validated data set: what it asks, which files it is made of, how many items it has.
    Opening one reads it whole once (every record checked); the run streams it again."""

    task: Task
    name: str
    path: Path
    files: tuple[Path, ...]  # every file read, for the fingerprint, in a stable order
    count: int  # items: queries for retrieval, records otherwise
    fields: frozenset[str]  # item fields present in at least one record


class ItemSet(DataSet):
    """Rerank, generation and transcription: one self-contained item per record."""

    @abstractmethod
    def items(self) -> Iterator[Item]:
        """The items again, in file order."""


class RetrievalSet(DataSet):
    """A corpus to search, and queries with relevance judgments on its documents."""

    documents_count: int

    @abstractmethod
    def documents(self) -> Iterator[Document]:
        """Every document once, in file order."""

    @abstractmethod
    def queries(self) -> Iterator[Query]:
        """The queries with at least one relevant document, in file order."""
