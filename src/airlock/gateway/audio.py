"""Decode uploaded audio to float32 mono samples at 16 kHz, bounded in length.

PCM WAV, the common case, is read with the stdlib and resampled with numpy. Every other format
the OpenAI API accepts (flac, mp3, mp4/m4a, mpeg, ogg, webm, non-PCM WAV) is decoded by ffmpeg
through PyAV, with the container named by us from its magic bytes: ffmpeg never probes the
upload, so demuxers that open other files or URLs (hls, concat, image2, ...) cannot be chosen,
and no demuxer may open any protocol (`protocol_whitelist`)."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterable, Iterator

import av
import numpy as np
import numpy.typing as npt

from airlock.gateway.errors import BadRequest, TooLarge

TARGET_RATE = 16_000
SUPPORTED = "flac, m4a, mp3, mp4, mpeg, mpga, ogg, wav, webm"

Samples = npt.NDArray[np.float32]


def decode_audio(data: bytes, max_seconds: float) -> Samples:
    """Mono float32 samples at 16 kHz; 400 for unreadable audio, 413 past `max_seconds` (a
    small compressed file can expand to hours of samples). PCM WAV channels are averaged; ffmpeg
    mixes the others down as `ffmpeg -ac 1` does, which is how openai-whisper loads audio."""
    container = detect_container(data)
    if container is None:
        raise BadRequest(f"the file is not audio in a supported format ({SUPPORTED})", param="file")
    pcm = _stdlib_wav(data, max_seconds) if container == "wav" else None
    samples = pcm if pcm is not None else _ffmpeg(data, container, max_seconds)
    if not samples.size:
        raise BadRequest("the file contains no audio samples", param="file")
    return samples


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


def _stdlib_wav(data: bytes, max_seconds: float) -> Samples | None:
    """PCM WAV without ffmpeg; None for what `wave` cannot read (IEEE float, A-law, ...)."""
    try:
        with wave.open(io.BytesIO(data)) as reader:
            width = reader.getsampwidth()
            channels = reader.getnchannels()
            rate = reader.getframerate()
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError, RuntimeError):  # RuntimeError: a chunk size past the end
        return None
    if width not in (1, 2, 3, 4) or rate <= 0:
        return None
    count = len(frames) // (width * channels)
    # Checked before resampling: a tiny declared rate would otherwise expand without bound.
    _check_length(count / rate, max_seconds)
    samples = _pcm(frames[: count * width * channels], width).reshape(-1, channels).mean(axis=1)
    if rate != TARGET_RATE and samples.size:
        target = round(samples.size * TARGET_RATE / rate)
        positions = np.linspace(0, samples.size - 1, num=target)
        samples = np.interp(positions, np.arange(samples.size), samples)
    result: Samples = samples.astype(np.float32)
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
    return np.frombuffer(frames, dtype="<i4").astype(np.float64) / float(1 << 31)


def _ffmpeg(data: bytes, container: str, max_seconds: float) -> Samples:
    try:
        with av.open(
            io.BytesIO(data),
            "r",
            format=container,
            container_options={"protocol_whitelist": "none"},
            metadata_errors="ignore",  # tags are never read; bad UTF-8 in them is no error
        ) as source:
            if not source.streams.audio:
                raise BadRequest("the file has no audio stream", param="file")
            frames = _bounded(source.decode(source.streams.audio[0]), max_seconds)
            chunks = list(_resampled(frames))
    except av.FFmpegError as exc:
        raise BadRequest(
            f"could not decode the audio as {container} ({exc.strerror}); "
            f"send a complete file in a supported format ({SUPPORTED})",
            param="file",
        ) from None
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def _bounded(frames: Iterable[av.AudioFrame], max_seconds: float) -> Iterator[av.AudioFrame]:
    """The frames, refused once they pass `max_seconds`. Counted before resampling, like the
    WAV path, so memory stays bounded."""
    seconds = 0.0
    for frame in frames:
        if frame.sample_rate <= 0:
            raise BadRequest("the audio stream has no sample rate", param="file")
        seconds += frame.samples / frame.sample_rate
        _check_length(seconds, max_seconds)
        yield frame


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


def _check_length(seconds: float, max_seconds: float) -> None:
    if seconds > max_seconds:
        raise TooLarge(
            f"the audio is longer than {max_seconds:g} seconds; split it and send the parts"
        )
