"""Transcription items: a JSON Lines manifest beside the audio files,
`{"audio": "clips/0001.wav", "text": "the reference transcript", "language": "en"}`; `audio`
is relative to the manifest's folder and may not leave it (the data set's fingerprint covers
exactly the files inside it)."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from airlock.eval.datasets.interface import TranscriptionItem
from airlock.eval.jsonl import Record, text_field

FIELDS = frozenset({"audio", "text", "language"})
# One clip is read whole before it is decoded (as an upload to the gateway is).
MAX_AUDIO_BYTES = 512 * 1024 * 1024


def parse_transcription(record: Record) -> TranscriptionItem:
    relative = text_field(record, "audio")
    text = text_field(record, "text")
    language = text_field(record, "language", required=False)
    assert relative is not None and text is not None
    if not any(ch.isalnum() for ch in text):
        raise record.error("'text' has no words to compare a transcript with")
    return TranscriptionItem(
        f"{record.path}:{record.line}", _audio_path(record, relative), text, language
    )


def _audio_path(record: Record, relative: str) -> Path:
    root = record.path.resolve().parent
    if PurePosixPath(relative).is_absolute() or os.path.isabs(relative):
        raise record.error(f"audio path {relative!r} must be relative to the manifest's folder")
    path = (root / relative).resolve()
    if root not in path.parents:
        raise record.error(f"audio path {relative!r} leaves the manifest's folder")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise record.error(f"audio file {relative!r}: {exc.strerror or exc}") from None
    if not path.is_file():
        raise record.error(f"audio path {relative!r} is not a file")
    if size > MAX_AUDIO_BYTES:
        raise record.error(f"audio file {relative!r} is over {MAX_AUDIO_BYTES >> 20} MiB")
    return path
