"""A JSON Lines file of self-contained items (rerank, generation, transcription): read whole
once to check every record and count them, then streamed again for the run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from airlock.eval.datasets.interface import Item, ItemSet, Task, TranscriptionItem
from airlock.eval.jsonl import Record, check_keys, records

# Fields any item may carry for the data set's own bookkeeping; they are not read.
BOOKKEEPING = frozenset({"id", "metadata"})

Parser = Callable[[Record], Item]


class ItemFile(ItemSet):
    def __init__(
        self, task: Task, path: Path, name: str, parse: Parser, fields: frozenset[str]
    ) -> None:
        self.task = task
        self.name = name
        self.path = path
        self._parse = parse
        self._allowed = fields | BOOKKEEPING
        seen: set[str] = set()
        count = 0
        audio: list[Path] = []
        for item, record in self._read():
            count += 1
            seen.update(record.data)
            if isinstance(item, TranscriptionItem):
                audio.append(item.audio)
        self.count = count
        self.fields = frozenset(seen - BOOKKEEPING)
        # The audio files are part of the data set: their bytes change the results.
        self.files = (path, *sorted(set(audio)))

    def items(self) -> Iterator[Item]:
        for item, _ in self._read():
            yield item

    def _read(self) -> Iterator[tuple[Item, Record]]:
        for record in records(self.path):
            check_keys(record, self._allowed, self.task.value)
            yield self._parse(record), record
