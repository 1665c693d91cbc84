"""Texts embedded a batch at a time; a batch the candidate refuses is retried text by text, so
one text too long for the model fails alone."""

from __future__ import annotations

from functools import partial

import numpy as np
import numpy.typing as npt

from airlock.eval.candidates.interface import Candidate, ItemFailed
from airlock.eval.usage import Usage


def embed_batch(
    candidate: Candidate, texts: list[str], usage: Usage, where: list[str]
) -> tuple[npt.NDArray[np.float32] | None, npt.NDArray[np.bool_]]:
    """(vectors, which rows are usable); vectors None when no text could be embedded."""
    try:
        vectors, tokens = usage.timed(lambda: candidate.embed(texts))
    except ItemFailed:
        pass  # retried text by text below, each failure counted for itself
    else:
        usage.prompt_tokens += tokens
        return vectors, np.ones(len(texts), dtype=bool)
    rows: list[npt.NDArray[np.float32] | None] = []
    for text, place in zip(texts, where, strict=True):
        answer = usage.attempt(place, partial(candidate.embed, [text]))
        if answer is None:
            rows.append(None)
            continue
        usage.prompt_tokens += answer[1]
        rows.append(answer[0][0])
    width = next((len(r) for r in rows if r is not None), None)
    usable = np.array([r is not None for r in rows], dtype=bool)
    if width is None:
        return None, usable
    filled = [r if r is not None else np.zeros(width, dtype=np.float32) for r in rows]
    return np.stack(filled).astype(np.float32), usable
