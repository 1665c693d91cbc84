"""MinHash sketches of records for near-duplicate search, kept compact.

The signature is datasketch's MinHash (default "affine32" scheme, 64 permutations, seed 1) of
a record's shingles: its lower-cased words, three at a time. Shingles are hashed by combining
the CRC-32 of each word (datasketch pre-mixes inputs with MurmurHash3's finalizer, so a fast
hash is enough). The permutations are datasketch's own; the arithmetic is datasketch's,
applied to a whole batch of records at once with numpy, about five times faster than one
MinHash object per record (tests/datacheck/test_sketch.py checks the values equal
datasketch's MinHash on the same shingles). datasketch's MinHashLSH picks the bands (b bands
of r rows) for the threshold.

datasketch's index is not used: it keeps Python objects, about 1.6 KB per record (measured),
1.6 GB for a million. What is kept instead, per record: one 8-byte hash per band (`bands`, 40
bytes at the default threshold) and the lowest 8 bits of each of the 64 values (`bits`, 64
bytes; b-bit minwise hashing, Li and König 2010), from which two records' similarity is
estimated without their texts."""

from __future__ import annotations

import re
import zlib

import numpy as np
import numpy.typing as npt

NUM_PERM = 64
SHINGLE_WORDS = 3
_WORD = re.compile(r"\w+")
# Three word hashes make one shingle hash: h1 * M1 + h2 * M2 + h3 (mod 2^32), odd multipliers.
_M1, _M2 = np.uint32(0x9E3779B1), np.uint32(0x85EBCA77)
# Band rows are folded into one 64-bit number with this odd multiplier (FNV-1a 64-bit prime).
_FOLD = np.uint64(0x100000001B3)
# Shingles permuted at once: bounds the (shingles x 64) work array to 16 MB, however long a
# record is.
_WINDOW = 65536


class Sketcher:
    def __init__(self, threshold: float) -> None:
        from datasketch import MinHash, MinHashLSH  # type: ignore[import-untyped]

        lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self.bands: int = lsh.b
        self.rows: int = lsh.r
        self.threshold = threshold
        a, b = MinHash(num_perm=NUM_PERM, seed=1).permutations
        self._a = np.asarray(a, dtype=np.uint32)
        self._b = np.asarray(b, dtype=np.uint32)

    def signatures(self, texts: list[str]) -> npt.NDArray[np.uint32]:
        """The 64 MinHash values of each text (one row per text)."""
        hashes, owners = shingle_hashes(texts)
        values = np.full((len(texts), NUM_PERM), np.iinfo(np.uint32).max, dtype=np.uint32)
        mixed = _fmix32(hashes)
        for start in range(0, len(mixed), _WINDOW):
            window, who = mixed[start : start + _WINDOW], owners[start : start + _WINDOW]
            with np.errstate(over="ignore"):  # mod 2^32 arithmetic, as datasketch's
                permuted = window[:, None] * self._a + self._b
            firsts = np.flatnonzero(np.r_[True, who[1:] != who[:-1]])
            rows = who[firsts]
            values[rows] = np.minimum(values[rows], np.minimum.reduceat(permuted, firsts, axis=0))
        return values

    def sketch(self, texts: list[str]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint8]]:
        """(band hashes, one row of `bands` per text; 8-bit signatures, one row of 64)."""
        values = self.signatures(texts)
        bands = np.zeros((len(texts), self.bands), dtype=np.uint64)
        with np.errstate(over="ignore"):  # the fold wraps around 2^64 on purpose
            for band in range(self.bands):
                for column in range(band * self.rows, (band + 1) * self.rows):
                    bands[:, band] = bands[:, band] * _FOLD + values[:, column]
        return bands, (values & 0xFF).astype(np.uint8)


def shingle_hashes(texts: list[str]) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """(hash of each shingle, index of the text it belongs to), texts in order. A text of
    fewer than three words is one shingle (its words, padded)."""
    words: list[int] = []
    counts = []
    for text in texts:
        found = [zlib.crc32(word.encode()) for word in _WORD.findall(text.lower())]
        found += [0] * (SHINGLE_WORDS - len(found))  # pad short texts to one shingle
        words += found
        counts.append(len(found))
    flat = np.array(words, dtype=np.uint32)
    shingles = np.array(counts) - (SHINGLE_WORDS - 1)
    owners = np.repeat(np.arange(len(texts)), shingles)
    # The position of each shingle's first word: skip the last two words of every text.
    starts = np.arange(len(owners)) + (SHINGLE_WORDS - 1) * owners
    with np.errstate(over="ignore"):
        hashes = flat[starts] * _M1 + flat[starts + 1] * _M2 + flat[starts + 2]
    return hashes, owners


def _fmix32(values: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    """MurmurHash3's 32-bit finalizer, as datasketch applies it to every input hash."""
    with np.errstate(over="ignore"):
        values = values ^ (values >> np.uint32(16))
        values = values * np.uint32(0x85EBCA6B)
        values = values ^ (values >> np.uint32(13))
        values = values * np.uint32(0xC2B2AE35)
        return values ^ (values >> np.uint32(16))


def similarity(
    first: npt.NDArray[np.uint8], second: npt.NDArray[np.uint8]
) -> npt.NDArray[np.float64]:
    """Estimated Jaccard similarity of row pairs from 8-bit signatures: the share of equal
    values, less the 1-in-256 chance that two different values share their low 8 bits."""
    equal = (first == second).mean(axis=1)
    chance = 1 / 256
    estimate: npt.NDArray[np.float64] = np.clip((equal - chance) / (1 - chance), 0.0, 1.0)
    return estimate
