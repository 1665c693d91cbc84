"""A transcription in the OpenAI response formats: verbose_json segments, SRT and WebVTT."""

from __future__ import annotations

import zlib

from airlock.gateway.engines.interface import Segment, Transcription

_MEL_FRAMES_PER_S = 100  # what OpenAI's `seek` counts


def verbose_json(result: Transcription, translated: bool = False) -> dict[str, object]:
    return {
        "task": "translate" if translated else "transcribe",
        "language": result.language,
        "duration": result.duration_s,
        "text": result.text,
        "segments": [_segment(i, s) for i, s in enumerate(result.segments)],
    }


def _segment(index: int, segment: Segment) -> dict[str, object]:
    # no_speech_prob is left out: the engine does not compute it.
    encoded = segment.text.encode()
    return {
        "id": index,
        "seek": round(segment.start_s * _MEL_FRAMES_PER_S),
        "start": segment.start_s,
        "end": segment.end_s,
        "text": segment.text,
        "tokens": list(segment.tokens),
        "temperature": segment.temperature,
        "avg_logprob": segment.avg_logprob,
        # As openai-whisper computes it: high for repetitive (hallucinated) text.
        "compression_ratio": len(encoded) / len(zlib.compress(encoded)),
    }


def srt(result: Transcription) -> str:
    return "".join(
        f"{i}\n{_clock(s.start_s, ',')} --> {_clock(s.end_s, ',')}\n{_cue(s.text)}\n\n"
        for i, s in enumerate(result.segments, start=1)
    )


def vtt(result: Transcription) -> str:
    return "WEBVTT\n\n" + "".join(
        f"{_clock(s.start_s, '.')} --> {_clock(s.end_s, '.')}\n{_cue(s.text)}\n\n"
        for s in result.segments
    )


def _cue(text: str) -> str:
    """One line without "-->": a blank line would end the cue, an arrow reads as its timing."""
    return " ".join(text.split()).replace("-->", "->")


def _clock(seconds: float, decimal: str) -> str:
    """HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (WebVTT)."""
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"
