"""Decode uploaded audio to float32 mono samples at 16 kHz, in bounded memory.

PCM WAV, the common case, is read with the stdlib; every other format the OpenAI API accepts
(flac, mp3, mp4/m4a, mpeg, ogg, webm, non-PCM WAV) is decoded by ffmpeg through PyAV, with the
container named by us from its magic bytes: ffmpeg never probes the upload, so demuxers that
open other files or URLs (hls, concat, image2, ...) cannot be chosen, and no demuxer may open
any protocol (`protocol_whitelist`).

Nothing holds the whole decoded audio: `open_audio` decodes once to check the upload and count
its length, keeping no samples, and `Audio.blocks()` decodes again, block by block, as the
engine asks for them. Both passes resample with ffmpeg's libswresample, chunk by chunk, as
`ffmpeg -ar 16000` (how openai-whisper loads audio) does."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import av
import numpy as np
import numpy.typing as npt

from airlock.gateway.errors import BadRequest, TooLarge

TARGET_RATE = 16_000
SUPPORTED = "flac, m4a, mp3, mp4, mpeg, mpga, ogg, wav, webm"
# Sample rates audio is recorded at. Below the floor one decoded frame (FLAC: up to 65,535
# samples) would resample to minutes of samples at once; above the ceiling the resampler's
# filter grows without use.
MIN_RATE = 1_000
MAX_RATE = 768_000
_WAV_BLOCK_BYTES = 1024 * 1024  # PCM read per step: 8 MiB of float64 at most while converted

Samples = npt.NDArray[np.float32]
T = TypeVar("T")


@dataclass(frozen=True)
class Audio:
    """An upload that decodes: its length, and its samples on demand."""

    data: bytes
    container: str
    duration_s: float
    max_seconds: float

    def blocks(self) -> Iterator[Samples]:
        """16 kHz mono float32 blocks (a few thousand samples each), decoded as they are read."""
        return _decoded(_resampled(self._frames()), self.container)

    def _frames(self) -> Iterator[av.AudioFrame]:
        return _bounded(_source(self.data, self.container), self.max_seconds)


def open_audio(data: bytes, max_seconds: float) -> Audio:
    """The upload checked by decoding it once, keeping no samples: 400 for unreadable audio,
    413 past `max_seconds` (a small compressed file can expand to hours of samples), counted
    before resampling. PCM WAV channels are averaged; ffmpeg mixes the others down as
    `ffmpeg -ac 1` does, which is how openai-whisper loads audio."""
    container = detect_container(data)
    if container is None:
        raise BadRequest(f"the file is not audio in a supported format ({SUPPORTED})", param="file")
    seconds = 0.0
    for frame in _decoded(_bounded(_source(data, container), max_seconds), container):
        seconds += frame.samples / frame.sample_rate
    if not seconds:
        raise BadRequest("the file contains no audio samples", param="file")
    return Audio(data, container, seconds, max_seconds)


def detect_container(data: bytes) -> str | None:
    """The ffmpeg demuxer for `data`, from its first bytes; None when it is none we accept."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"fLaC":
        return "flac"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:3] == b"ID3" or _mpeg_audio_sync(data[:2]):
        return "mp3"
    if data[4:8] == b"ftyp":
        return "mp4"  # the mov demuxer: mp4, m4a, mov
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"  # webm is matroska
    if data[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return "mpeg"
    return None


def _mpeg_audio_sync(head: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, a defined version and layer (ADTS AAC, whose
    layer bits are 0, is not mp3)."""
    if len(head) < 2 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    return (head[1] >> 3) & 3 != 1 and (head[1] >> 1) & 3 != 0


def _source(data: bytes, container: str) -> Iterator[av.AudioFrame]:
    """The upload's frames at their own rate: PCM WAV without ffmpeg, the rest through it."""
    reader = _wav_reader(data) if container == "wav" else None
    return _ffmpeg(data, container) if reader is None else _wav(reader)


def _wav_reader(data: bytes) -> wave.Wave_read | None:
    """The stdlib's reader for PCM WAV; None for what it cannot read (IEEE float, A-law, ...)."""
    try:
        reader: wave.Wave_read = wave.open(io.BytesIO(data))  # noqa: SIM115 - closed by _wav, which reads it
    except (wave.Error, EOFError, RuntimeError):  # RuntimeError: a chunk size past the end
        return None
    if reader.getsampwidth() not in (1, 2, 3, 4) or reader.getframerate() <= 0:
        reader.close()
        return None
    return reader


def _wav(reader: wave.Wave_read) -> Iterator[av.AudioFrame]:
    width, channels, rate = reader.getsampwidth(), reader.getnchannels(), reader.getframerate()
    _check_rate(rate)  # before PyAV sees it: a frame's rate is a C int
    step = max(1, min(rate, _WAV_BLOCK_BYTES // (width * channels)))  # at most a second
    with reader:
        while True:
            try:
                pcm = reader.readframes(step)
            except (wave.Error, EOFError, RuntimeError):
                return  # a truncated last chunk: the frames before it are the audio
            count = len(pcm) // (width * channels)
            if not count:
                return
            mono = _pcm(pcm[: count * width * channels], width).reshape(-1, channels).mean(axis=1)
            frame = av.AudioFrame.from_ndarray(
                mono.astype(np.float32)[np.newaxis, :], format="flt", layout="mono"
            )
            frame.sample_rate = rate
            yield frame


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
    return np.frombuffer(frames, dtype="<i4").astype(np.float64) / float(1 << 31)


def _ffmpeg(data: bytes, container: str) -> Iterator[av.AudioFrame]:
    with av.open(
        io.BytesIO(data),
        "r",
        format=container,
        container_options={"protocol_whitelist": "none"},
        metadata_errors="ignore",  # tags are never read; bad UTF-8 in them is no error
    ) as source:
        if not source.streams.audio:
            raise BadRequest("the file has no audio stream", param="file")
        yield from source.decode(source.streams.audio[0])


def _decoded(items: Iterable[T], container: str) -> Iterator[T]:
    """`items`, with ffmpeg's errors said as a 400 naming the format."""
    try:
        yield from items
    except av.FFmpegError as exc:
        raise BadRequest(
            f"could not decode the audio as {container} ({exc.strerror}); "
            f"send a complete file in a supported format ({SUPPORTED})",
            param="file",
        ) from None


def _bounded(frames: Iterable[av.AudioFrame], max_seconds: float) -> Iterator[av.AudioFrame]:
    """The frames, refused once they pass `max_seconds` or come at a rate no audio is recorded
    at. Checked before resampling, so no frame expands beyond a few seconds of samples."""
    seconds = 0.0
    for frame in frames:
        rate = frame.sample_rate
        seconds += frame.samples / rate if rate > 0 else 0.0
        if seconds > max_seconds:
            raise TooLarge(
                f"the audio is longer than {max_seconds:g} seconds; split it and send the parts"
            )
        _check_rate(rate)
        yield frame


def _check_rate(rate: int) -> None:
    if not MIN_RATE <= rate <= MAX_RATE:
        raise BadRequest(
            f"the audio's sample rate ({rate:,} Hz) is not one audio is recorded at "
            f"({MIN_RATE:,} to {MAX_RATE:,} Hz)",
            param="file",
        )


def _resampled(frames: Iterable[av.AudioFrame]) -> Iterator[Samples]:
    """16 kHz mono float32 chunks. A resampler takes one input format, layout and rate; a stream
    that changes them midway (joined files) gets a new one."""
    resampler: av.AudioResampler | None = None
    setup: tuple[str, str, int] | None = None
    for frame in frames:
        current = (frame.format.name, frame.layout.name, frame.sample_rate)
        if resampler is None or current != setup:
            if resampler is not None:
                yield from _mono(resampler.resample(None))
            resampler = av.AudioResampler(format="flt", layout="mono", rate=TARGET_RATE)
            setup = current
        yield from _mono(resampler.resample(frame))
    if resampler is not None:
        yield from _mono(resampler.resample(None))


def _mono(frames: list[av.AudioFrame]) -> Iterator[Samples]:
    for frame in frames:
        yield frame.to_ndarray().reshape(-1).astype(np.float32, copy=False)
