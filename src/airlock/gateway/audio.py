"""Decode uploaded audio without ffmpeg: WAV (PCM 8/16/24/32-bit) via the stdlib, mixed to mono
and resampled to 16 kHz with numpy. Other formats are refused with a clear 400."""

from __future__ import annotations

import io
import wave

import numpy as np
import numpy.typing as npt

from airlock.gateway.errors import BadRequest

TARGET_RATE = 16_000


def decode_wav(data: bytes) -> npt.NDArray[np.float32]:
    """Mono float32 samples at 16 kHz in [-1, 1]."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise BadRequest(
            "only WAV audio is supported (PCM); convert other formats first", param="file"
        )
    try:
        with wave.open(io.BytesIO(data)) as reader:
            width = reader.getsampwidth()
            channels = reader.getnchannels()
            rate = reader.getframerate()
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as exc:
        raise BadRequest(f"unreadable WAV file: {exc}", param="file") from None
    samples = _pcm(frames, width).reshape(-1, channels).mean(axis=1)
    if rate != TARGET_RATE and samples.size:
        target = round(samples.size * TARGET_RATE / rate)
        positions = np.linspace(0, samples.size - 1, num=target)
        samples = np.interp(positions, np.arange(samples.size), samples)
    result: npt.NDArray[np.float32] = samples.astype(np.float32)
    return result


def _pcm(frames: bytes, width: int) -> npt.NDArray[np.float64]:
    if width == 1:  # unsigned 8-bit
        return (np.frombuffer(frames, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    if width == 2:
        return np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0
    if width == 3:
        raw = np.frombuffer(frames, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        values = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        values = np.where(values >= 1 << 23, values - (1 << 24), values)
        return values.astype(np.float64) / float(1 << 23)
    if width == 4:
        return np.frombuffer(frames, dtype="<i4").astype(np.float64) / float(1 << 31)
    raise BadRequest(f"unsupported WAV sample width: {width} bytes", param="file")
