"""The `_id`s of a BEIR corpus or queries file, kept as 8-byte digests (a million ids in 12 MB
rather than the hundreds a set of strings takes): repeated ids, and qrels naming unknown ones."""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from airlock.datacheck.records import Problem


def digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


class Ids:
    def __init__(self, what: str) -> None:
        self.what = what  # "corpus" or "queries"
        self._digests = array("Q")
        self._lines = array("I")
        self._sorted: npt.NDArray[np.uint64] | None = None

    def add(self, text: str, line: int) -> None:
        self._digests.append(digest(text))
        self._lines.append(line)

    def close(self, file: str) -> Iterator[Problem]:
        """A problem for each record whose `_id` an earlier record of the file already has."""
        digests = np.frombuffer(self._digests, dtype=np.uint64)
        lines = np.frombuffer(self._lines, dtype=np.uint32)
        order = np.lexsort((lines, digests))
        ordered = digests[order]
        again = np.flatnonzero(ordered[1:] == ordered[:-1]) + 1
        firsts = np.maximum.accumulate(
            np.where(np.r_[True, ordered[1:] != ordered[:-1]], np.arange(len(order)), 0)
        )
        for position in again:
            first, line = lines[order[firsts[position]]], lines[order[position]]
            yield Problem("AIR911", file, f"line {line}", f"`_id` already used at line {first}")
        self._sorted = np.unique(digests)

    def known(self, digests: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        if self._sorted is None:
            return np.zeros(len(digests), dtype=bool)
        return np.isin(digests, self._sorted, assume_unique=False)
