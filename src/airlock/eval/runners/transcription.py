"""Transcription: each candidate transcribes each clip; word and character errors are counted
against the reference (a failed clip is an empty transcript: every reference word deleted)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from airlock.eval.candidates.interface import Candidate
from airlock.eval.datasets.interface import ItemSet, TranscriptionItem
from airlock.eval.metrics.speech import character_errors, word_errors
from airlock.eval.runners.board import Batch, Board, ItemScores, Progress
from airlock.eval.usage import Usage

_COUNTS = {"wer": word_errors, "cer": character_errors}


def run_transcription(
    data: ItemSet,
    candidates: Sequence[Candidate],
    metrics: Sequence[str],
    board: Board,
    progress: Progress,
) -> None:
    progress.start(data.count, "clips")
    for item in data.items():
        assert isinstance(item, TranscriptionItem)
        usage = [Usage() for _ in candidates]
        heard = []
        for c, candidate in enumerate(candidates):
            said = usage[c].attempt(item.where, partial(candidate.transcribe, item))
            if said is not None:
                usage[c].completion_tokens += said.completion_tokens
            heard.append("" if said is None else said.text)
        # The reference's length is the item's: the same denominator for every candidate.
        lengths = {m: _COUNTS[m](item.text, item.text)[1] for m in metrics}
        errors = [{m: _COUNTS[m](item.text, h)[0] for m in metrics} for h in heard]
        board.add(Batch([ItemScores(lengths, errors)], usage))
        progress.advance(1)
