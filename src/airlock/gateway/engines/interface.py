"""The one interface every embedded engine implements; a route asks for a capability."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt


class Capability(StrEnum):
    EMBEDDINGS = "embeddings"
    RERANK = "rerank"
    CHAT = "chat"
    COMPLETIONS = "completions"
    TRANSCRIPTION = "transcription"
    IMAGES = "images"
    IMAGE_EDITS = "image_edits"  # image-to-image from the same pipeline's components
    SPEECH = "speech"


class EngineError(Exception):
    """A request the engine cannot serve (bad input for this model); `param` names the field."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class Cancelled(Exception):
    """The request was given up (its timeout passed, or its client went away): the engine
    stopped at a step boundary without finishing."""


class CancelToken(threading.Event):
    """Set when a request is given up. Engines check it once per step (a decoding step, a
    transcription window, before and after tokenizing) and stop, so that abandoned work never
    keeps a core busy or the model's slot taken."""

    def check(self) -> None:
        if self.is_set():
            raise Cancelled("the request was given up")


class ContextLengthError(EngineError):
    """A request longer than the model's context, found by tokenizing it: refused before any
    model work (HTTP 400 `context_length_exceeded`)."""


def context_exceeded(limit: int, found: str, *, param: str) -> ContextLengthError:
    """OpenAI's wording, both numbers in it: `found` says how many tokens came, and where."""
    return ContextLengthError(
        f"This model's maximum context length is {limit:,} tokens; {found}.", param=param
    )


def sane_limit(*candidates: object) -> int | None:
    """The first real token limit: tokenizers say 1e30 (VERY_LARGE_INTEGER) for "unknown"."""
    for limit in candidates:
        if isinstance(limit, int) and not isinstance(limit, bool) and 0 < limit < 10**8:
            return limit
    return None


@dataclass(frozen=True)
class Embeddings:
    vectors: npt.NDArray[np.float32]  # one row per input
    tokens: list[int]  # input tokens per input


@dataclass(frozen=True)
class JsonOutput:
    """The output is one JSON value matching `schema` (`{"type": "object"}` for JSON mode)."""

    schema: dict[str, Any]


@dataclass(frozen=True)
class ToolUse:
    """The model may (`auto`) or must (`required`, or one function's name) call tools; calls
    are written as engines/tool_calls.py says, arguments valid against each function's schema."""

    functions: tuple[dict[str, Any], ...]  # the request's tools[].function objects
    choice: str  # "auto", "required", or the name of the one function to call
    parallel: bool = True  # several calls in one answer


@dataclass(frozen=True)
class Generation:
    """What to generate: a chat (`messages`, with the `tools` its template renders) or a raw
    `prompt`, the sampling settings, and what the output must match (`constraint`)."""

    messages: list[dict[str, Any]] | None = None
    tools: list[dict[str, Any]] | None = None
    prompt: str | None = None
    max_tokens: int = 256
    # True when max_tokens is the gateway's default, not the caller's: it is then shortened to
    # what the model's context leaves after the prompt, instead of refusing the request.
    default_max_tokens: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    constraint: JsonOutput | ToolUse | None = None
    logprobs: int | None = None  # None: not asked; k: each token's and the top k alternatives
    cancel: CancelToken = field(default_factory=CancelToken)


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token: its text, log probability under the model (before sampling
    settings and constraints), and the `top` most likely tokens at that step."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass
class GenerationStream:
    """Text pieces as they are produced. `completion_tokens` counts the tokens generated so far
    (usage for a stream cut short); it and `finish_reason` ("length" when max_tokens stopped it)
    are final once the iterator is exhausted. Closing the iterator early stops the generation."""

    pieces: Iterator[str]
    prompt_tokens: int
    completion_tokens: int = 0
    finish_reason: str = "stop"
    logprobs: list[TokenLogprob] = field(default_factory=list)  # when asked for, at the end


@dataclass(frozen=True)
class TranscriptionRequest:
    # Mono samples, or blocks of them decoded as they are read (gateway/audio.py): a long upload
    # is never held whole.
    audio: npt.NDArray[np.float32] | Iterable[npt.NDArray[np.float32]]
    sample_rate: int
    language: str | None = None  # ISO-639-1; None: the engine detects it
    prompt: str | None = None  # text said before the audio: guides names and spelling
    temperature: float = 0.0  # 0: greedy
    translate: bool = False  # into English, whatever the spoken language (Whisper's translate task)
    cancel: CancelToken = field(default_factory=CancelToken)


def windows(
    audio: npt.NDArray[np.float32] | Iterable[npt.NDArray[np.float32]], size: int
) -> Iterator[npt.NDArray[np.float32]]:
    """`audio` in windows of `size` samples (the last one shorter), holding one window at a time."""
    if isinstance(audio, np.ndarray):
        for start in range(0, len(audio), size):
            yield audio[start : start + size]
        return
    pending: list[npt.NDArray[np.float32]] = []
    held = 0
    for block in audio:
        pending.append(block)
        held += len(block)
        while held >= size:
            joined = np.concatenate(pending)
            yield joined[:size]
            pending, held = [joined[size:]], held - size
    if held:
        yield np.concatenate(pending)


@dataclass(frozen=True)
class Segment:
    """A stretch of the transcript with its place in the audio."""

    start_s: float
    end_s: float
    text: str
    tokens: tuple[int, ...]  # the text's token ids
    avg_logprob: float
    temperature: float


@dataclass(frozen=True)
class Transcription:
    text: str
    language: str  # lower-case English name, as OpenAI reports it ("english")
    duration_s: float
    segments: tuple[Segment, ...] = ()


@dataclass(frozen=True)
class ImageRequest:
    """Images from a prompt, or (`image` set) from a starting image and a prompt."""

    prompt: str
    n: int = 1
    size: tuple[int, int] | None = None  # (width, height); None: the pipeline's native size
    steps: int | None = None  # None: the engine's default
    seed: int | None = None  # image i is made from seed + i: each reproducible alone
    guidance_scale: float | None = None  # None: the pipeline's default
    negative_prompt: str | None = None
    image: npt.NDArray[np.uint8] | None = None  # RGB, height x width x 3 (edits)
    strength: float = 0.8  # edits: how far from the starting image (0: none, 1: all)
    cancel: CancelToken = field(default_factory=CancelToken)


@dataclass(frozen=True)
class SpeechRequest:
    text: str
    voice: str
    speed: float = 1.0  # 1: the model's own pace
    cancel: CancelToken = field(default_factory=CancelToken)


@dataclass
class SpeechStream:
    """Mono float32 samples in [-1, 1] at `sample_rate`, one block per sentence as it is spoken;
    closing the iterator early stops the speech."""

    sample_rate: int
    blocks: Iterator[npt.NDArray[np.float32]]


class Engine(ABC):
    """Long work (generate, transcribe) checks its request's `cancel` token once per step and
    raises Cancelled (or, for a generation, ends its pieces) when it is set."""

    capabilities: frozenset[Capability] = frozenset()

    def embed(self, texts: list[str]) -> Embeddings:
        raise EngineError("this model does not produce embeddings")

    def rerank(self, pairs: list[tuple[str, str]]) -> tuple[list[float], list[int]]:
        """Relevance score per (query, document) pair, and the tokens read per pair."""
        raise EngineError("this model does not rerank")

    def generate(self, request: Generation) -> GenerationStream:
        raise EngineError("this model does not generate text")

    def count_tokens(self, text: str) -> int:
        raise EngineError("this model has no tokenizer")

    def transcribe(self, request: TranscriptionRequest) -> Transcription:
        raise EngineError("this model does not transcribe audio")

    def generate_images(self, request: ImageRequest) -> list[npt.NDArray[np.uint8]]:
        """RGB images, height x width x 3, in request order."""
        raise EngineError("this model does not generate images")

    def speak(self, request: SpeechRequest) -> SpeechStream:
        """Checks the request (voice, text) at once; the audio is made as `blocks` is read."""
        raise EngineError("this model does not speak")

    @abstractmethod
    def close(self) -> None:
        """Drop the weights (called when the model is unloaded)."""
