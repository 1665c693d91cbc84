"""Exact and near duplicates inside the checked data, and leakage into it from `--against`
data, found in bounded memory: per record an 8-byte digest of its text and its sketch
(sketch.py), about 120 bytes, in numpy arrays; pairs are found by sorting, not by an index of
Python objects.

Exact: the same text once runs of whitespace are made one space. Near: records that share a
band (LSH), whose estimated similarity is at or above the threshold. In a band bucket each
record is compared with the bucket's first record and with the one before it, so a bucket of
thousands of copies costs two comparisons per record, not millions; the clusters still show.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from airlock.datacheck.records import Record
from airlock.datacheck.sketch import Sketcher, similarity

CHECKED, AGAINST = 0, 1


@dataclass(frozen=True)
class RecordRef:
    file: str
    where: str  # "line 12", "" for a whole file

    def describe(self) -> str:
        return f"{self.file} {self.where}".strip()

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "location": self.where}


@dataclass(frozen=True)
class Pair:
    """`second` repeats `first` (a duplicate), or a checked record (`first`) is also in the
    `--against` data (`second`)."""

    first: RecordRef
    second: RecordRef
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "first": self.first.to_dict(),
            "second": self.second.to_dict(),
            "similarity": round(self.similarity, 3),
        }


@dataclass(frozen=True)
class Pairs:
    records: int  # checked records concerned: copies, or records found in the other data
    pairs: tuple[Pair, ...]  # the first ones, at most the limit asked for

    def to_dict(self) -> dict[str, Any]:
        return {"records": self.records, "pairs": [pair.to_dict() for pair in self.pairs]}


@dataclass(frozen=True)
class Duplicates:
    exact: Pairs
    near: Pairs
    leaked: Pairs | None  # None without --against
    near_leaked: Pairs | None


def digest(text: str) -> int:
    normal = " ".join(text.split())
    return int.from_bytes(hashlib.blake2b(normal.encode(), digest_size=8).digest(), "little")


class DuplicateIndex:
    def __init__(self, sketcher: Sketcher, against: bool) -> None:
        """`against`: whether --against data is compared (leakage is then reported)."""
        self._sketcher = sketcher
        self.against = against
        self._files: list[tuple[str, str]] = []
        self._file_ids: dict[tuple[str, str], int] = {}
        self._groups: dict[tuple[int, str], int] = {}
        self._chunks: list[dict[str, npt.NDArray[Any]]] = []

    def add(self, records: list[Record], side: int) -> None:
        """Index a batch; records with no text are not duplicates of anything (they are
        reported as empty), nor are `--against` records never compared for leakage."""
        kept = [r for r in records if r.key.strip() and (side == CHECKED or r.leak)]
        if not kept:
            return
        bands, bits = self._sketcher.sketch([r.key for r in kept])
        self._chunks.append({
            "digest": np.array([digest(r.key) for r in kept], dtype=np.uint64),
            "bands": bands,
            "bits": bits,
            "side": np.full(len(kept), side, dtype=np.uint8),
            "domain": np.array([self._group(side, r.group) for r in kept], dtype=np.uint16),
            "leak": np.array([r.leak for r in kept], dtype=bool),
            "file": np.array([self._file(r) for r in kept], dtype=np.uint32),
            "line": np.array([r.line for r in kept], dtype=np.uint32),
        })  # fmt: skip

    def _file(self, record: Record) -> int:
        key = (record.file, record.unit)
        if key not in self._file_ids:
            self._file_ids[key] = len(self._files)
            self._files.append(key)
        return self._file_ids[key]

    def _group(self, side: int, group: str) -> int:
        return self._groups.setdefault((side, group), len(self._groups))

    def resolve(self, max_pairs: int) -> Duplicates:
        if not self._chunks:
            empty = Pairs(0, ())
            leaks = empty if self.against else None
            return Duplicates(empty, empty, leaks, leaks)
        # Column by column, each chunk's part dropped once copied: the peak is one column
        # over the index's size, not twice the index.
        columns = {}
        for name in list(self._chunks[0]):
            columns[name] = np.concatenate([chunk.pop(name) for chunk in self._chunks])
        self._chunks = []
        return _Resolver(
            columns, self._files, self._sketcher.threshold, max_pairs, self.against
        ).run()


class _Resolver:
    def __init__(
        self,
        columns: dict[str, npt.NDArray[Any]],
        files: list[tuple[str, str]],
        threshold: float,
        max_pairs: int,
        against: bool,
    ) -> None:
        self.c = columns
        self.files = files
        self.threshold = threshold
        self.max_pairs = max_pairs
        self.against = against
        self.n = len(columns["digest"])

    def ref(self, index: int) -> RecordRef:
        file, unit = self.files[int(self.c["file"][index])]
        line = int(self.c["line"][index])
        return RecordRef(file, f"{unit} {line}" if line else "")

    def pairs(
        self,
        first: npt.NDArray[np.int64],
        second: npt.NDArray[np.int64],
        sims: npt.NDArray[np.float64],
        records: int,
    ) -> Pairs:
        listed = tuple(
            Pair(self.ref(a), self.ref(b), float(s))
            for a, b, s in zip(
                first[: self.max_pairs],
                second[: self.max_pairs],
                sims[: self.max_pairs],
                strict=True,
            )
        )
        return Pairs(records, listed)

    def run(self) -> Duplicates:
        digest, domain, side = self.c["digest"], self.c["domain"], self.c["side"]
        # Exact copies within a domain (one side's group): sorted by domain, text, position.
        order = np.lexsort((np.arange(self.n), digest, domain))
        same = np.r_[
            False,
            (domain[order][1:] == domain[order][:-1]) & (digest[order][1:] == digest[order][:-1]),
        ]
        run_start = np.maximum.accumulate(np.where(same, 0, np.arange(self.n)))
        copies, originals = order[same], order[run_start[same]]
        is_copy = np.zeros(self.n, dtype=bool)
        is_copy[copies] = True
        checked_copy = side[copies] == CHECKED
        first, second = originals[checked_copy], copies[checked_copy]
        in_file_order = np.argsort(second, kind="stable")
        first, second = first[in_file_order], second[in_file_order]
        exact = self.pairs(first, second, np.ones(len(first)), len(first))

        leaked, leaked_mask = (
            self._exact_leaks() if self.against else (None, np.zeros(self.n, dtype=bool))
        )
        near, near_leaked = self._near(is_copy, leaked_mask)
        return Duplicates(exact, near, leaked, near_leaked if self.against else None)

    def _exact_leaks(self) -> tuple[Pairs, npt.NDArray[np.bool_]]:
        digest, side, leak = self.c["digest"], self.c["side"], self.c["leak"]
        checked = np.flatnonzero((side == CHECKED) & leak)
        other = np.flatnonzero(side == AGAINST)
        other = other[np.argsort(digest[other], kind="stable")]
        position = np.searchsorted(digest[other], digest[checked])
        position = np.minimum(position, max(len(other) - 1, 0))
        hit = (
            (digest[other][position] == digest[checked])
            if len(other)
            else np.zeros(len(checked), dtype=bool)
        )
        mask = np.zeros(self.n, dtype=bool)
        mask[checked[hit]] = True
        found = self.pairs(
            checked[hit], other[position[hit]], np.ones(int(hit.sum())), int(hit.sum())
        )
        return found, mask

    def _near(
        self, is_copy: npt.NDArray[np.bool_], leaked: npt.NDArray[np.bool_]
    ) -> tuple[Pairs, Pairs]:
        candidates = self._candidates(np.flatnonzero(~is_copy))
        low, high = candidates // self.n, candidates % self.n
        c = self.c
        same_side = c["side"][low] == c["side"][high]
        duplicate = (
            same_side & (c["side"][low] == CHECKED) & (c["domain"][low] == c["domain"][high])
        )
        leak = ~same_side & c["leak"][low] & c["leak"][high] & ~leaked[low] & ~leaked[high]
        wanted = (duplicate | leak) & (c["digest"][low] != c["digest"][high])
        low, high, duplicate = low[wanted], high[wanted], duplicate[wanted]
        sims = similarity(c["bits"][low], c["bits"][high])
        close = sims >= self.threshold
        # Checked records are indexed before --against ones, so a leak's `low` is the checked one.
        return (
            self._listed(low, high, sims, close & duplicate, high),
            self._listed(low, high, sims, close & ~duplicate, low),
        )

    def _listed(
        self,
        low: npt.NDArray[np.int64],
        high: npt.NDArray[np.int64],
        sims: npt.NDArray[np.float64],
        keep: npt.NDArray[np.bool_],
        counted: npt.NDArray[np.int64],
    ) -> Pairs:
        """Most similar first; `counted`: which member of each pair is the checked record
        concerned (the later one of a duplicate pair, the checked one of a leak)."""
        low, high, sims, counted = low[keep], high[keep], sims[keep], counted[keep]
        order = np.lexsort((high, low, -sims))
        return self.pairs(low[order], high[order], sims[order], len(np.unique(counted)))

    def _candidates(self, active: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Pairs (as low * n + high) that share a band: each record with its bucket's first
        record and with the record before it."""
        found = [np.empty(0, dtype=np.int64)]
        for band in range(self.c["bands"].shape[1]):
            keys = self.c["bands"][active, band]
            order = np.argsort(keys, kind="stable")
            ids, sorted_keys = active[order], keys[order]
            same = np.r_[False, sorted_keys[1:] == sorted_keys[:-1]]
            if not same.any():
                continue
            start = np.maximum.accumulate(np.where(same, 0, np.arange(len(ids))))
            members = np.flatnonzero(same)
            for a, b in ((ids[start[members]], ids[members]), (ids[members - 1], ids[members])):
                found.append(np.minimum(a, b).astype(np.int64) * self.n + np.maximum(a, b))
        return np.unique(np.concatenate(found))
