"""The memory all audio requests together may hold at once: each holds its upload and, beside
it, the state of decoding it window by window (gateway/audio.py never holds the whole decoded
audio). A request that does not fit now is 429 with Retry-After; one that could never fit is
413. Without it, a burst of big uploads would each hold 25 MiB for as long as its transcription
waits for the model."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from airlock.gateway.errors import TooLarge, TooManyRequests

MIB = 1024 * 1024
# What one request holds beside its upload while it is decoded and transcribed: two 30-second
# windows of 16 kHz float32 samples (3.7 MiB) as they are joined, the decoder's and the
# resampler's buffers (decoding alone grew a process's peak by 8-10 MiB for a 54-minute WAV
# and a 30-minute mp3), and Whisper's feature extraction for one window (about 15 MB).
DECODE_BYTES = 16 * MIB
# A transcription holds its share for as long as the model takes, seconds to minutes.
RETRY_AFTER_S = 5.0


class AudioBudget:
    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self.held_bytes = 0
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, upload_bytes: int) -> Iterator[None]:
        """Reserve what a request with an upload of `upload_bytes` holds, until it is done."""
        need = upload_bytes + DECODE_BYTES
        if need > self.limit_bytes:
            raise TooLarge(
                f"decoding this upload needs {need / MIB:.1f} MiB, more than the gateway's "
                f"audio budget ({self.limit_bytes / MIB:.1f} MiB) allows; send a smaller file"
            )
        with self._lock:
            busy = self.held_bytes + need > self.limit_bytes
            if not busy:
                self.held_bytes += need
        if busy:
            raise TooManyRequests(
                "the gateway is decoding as much audio as its memory budget allows; retry shortly",
                retry_after=RETRY_AFTER_S,
                code="audio_budget_busy",
            )
        try:
            yield
        finally:
            with self._lock:
                self.held_bytes -= need
