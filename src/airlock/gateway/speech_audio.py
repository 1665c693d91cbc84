"""Speech encoded as it is spoken, in OpenAI's formats: mp3, opus (in Ogg), aac (ADTS), flac
through PyAV (ffmpeg's encoders, bundled in its wheels); wav and pcm written here.

Each block of samples is encoded when it arrives and the bytes written so far are handed back
(the muxers flush every packet), so a client hears the first sentence while the next is made.
The output is never seekable: the FLAC header's total length is left unknown and the WAV header
says "as long as the stream" (0xFFFFFFFF), as OpenAI's streamed WAV does; decoders accept both.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
import numpy.typing as npt

# OpenAI's `pcm`: raw 24 kHz signed 16-bit little-endian samples, no header; clients play it
# at 24 kHz whatever the model's rate, so it is resampled.
PCM_RATE = 24000


@dataclass(frozen=True)
class Format:
    media_type: str
    muxer: str | None = None  # None: written here (wav, pcm)
    codec: str | None = None
    options: dict[str, str] = field(default_factory=dict)  # the muxer's own


FORMATS = {
    "mp3": Format("audio/mpeg", "mp3", "libmp3lame"),
    # Ogg pages of at most 100 ms: the muxer's default 1 s pages held a short text's audio back.
    "opus": Format("audio/ogg", "ogg", "libopus", {"page_duration": "100000"}),
    "aac": Format("audio/aac", "adts", "aac"),
    "flac": Format("audio/flac", "flac", "flac"),
    "wav": Format("audio/wav"),
    "pcm": Format("audio/pcm"),
}


def encode(name: str, rate: int, blocks: Iterable[npt.NDArray[np.float32]]) -> Iterator[bytes]:
    """The encoded bytes of mono float32 `blocks` at `rate`, a piece per block (and the
    encoder's tail at the end)."""
    if name == "wav":
        yield _wav_header(rate)
        for block in blocks:
            yield _s16(block)
    elif name == "pcm":
        yield from _pcm(rate, blocks)
    else:
        yield from _muxed(FORMATS[name], rate, blocks)


def _s16(block: npt.NDArray[np.float32]) -> bytes:
    return np.asarray(np.round(np.clip(block, -1.0, 1.0) * 32767), dtype="<i2").tobytes()


def _wav_header(rate: int) -> bytes:
    unknown = 0xFFFFFFFF  # a stream: its length is not known when the header is sent
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)  # PCM, mono, 16-bit
    return (
        b"RIFF" + struct.pack("<I", unknown) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"data" + struct.pack("<I", unknown)
    )  # fmt: skip


def _frame(block: npt.NDArray[np.float32], rate: int, pts: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(block, dtype=np.float32).reshape(1, -1), format="flt", layout="mono"
    )
    frame.sample_rate = rate
    frame.pts = pts
    return frame


def _pcm(rate: int, blocks: Iterable[npt.NDArray[np.float32]]) -> Iterator[bytes]:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=PCM_RATE)
    pts = 0
    for block in blocks:
        out = resampler.resample(_frame(block, rate, pts))
        pts += len(block)
        yield b"".join(bytes(f.to_ndarray().astype("<i2").tobytes()) for f in out)
    yield b"".join(bytes(f.to_ndarray().astype("<i2").tobytes()) for f in resampler.resample(None))


class _Sink:
    """A write-only file for the muxer (no seek: it writes as a stream); taken as it fills."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out, self._parts = b"".join(self._parts), []
        return out


def _muxed(fmt: Format, rate: int, blocks: Iterable[npt.NDArray[np.float32]]) -> Iterator[bytes]:
    assert fmt.muxer is not None and fmt.codec is not None
    codec = av.Codec(fmt.codec, "w")
    rates = codec.audio_rates
    # The model's rate where the codec takes it; else the next rate up it takes (opus: 48 kHz
    # at most), so no detail is thrown away that the model made.
    out_rate = rate if not rates or rate in rates else min(rates, key=lambda r: (r < rate, r))
    sink = _Sink()
    # flush_packets: every packet reaches the sink at once, not when ffmpeg's buffer fills.
    options = {"flush_packets": "1", **fmt.options}
    with av.open(sink, "w", format=fmt.muxer, options=options) as container:
        stream: Any = container.add_stream(fmt.codec, rate=out_rate, layout="mono")
        pts = 0
        for block in blocks:
            container.mux(stream.encode(_frame(block, rate, pts)))
            pts += len(block)
            yield sink.take()
        container.mux(stream.encode(None))
    yield sink.take()
