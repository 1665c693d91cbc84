"""Text to speech with VITS through transformers (`VitsModel`, `VitsTokenizer`): Meta's MMS-TTS
voices (1,100+ languages) and other VITS checkpoints in the same layout, on CPU.

Why VITS: MMS-TTS tokenizes characters, so it needs no phonemizer, no espeak-ng and nothing
fetched at run time; it is transformers' own code. A checkpoint whose tokenizer phonemizes
(`phonemize: true`, which needs the phonemizer package and the espeak-ng program) is refused
at load, not half-served. Text is spoken one sentence at a time, so the first sentence's audio
is sent while the next is made; the cancel token is checked between sentences.

Voices: a single-speaker model speaks every one of OpenAI's voice names with its one voice (so
clients that only know those names work unchanged); a multi-speaker model also takes
`speaker_<i>`. Any other voice is refused (400 `voice`), never replaced by a default.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from transformers import VitsModel, VitsTokenizer

from airlock.gateway.engines.interface import (
    Capability,
    Engine,
    EngineError,
    SpeechRequest,
    SpeechStream,
)

# Where a sentence ends: after . ! ? ; followed by space, after their CJK forms (written with no
# space after them), or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|(?<=[\u3002\uff01\uff1f])\s*|\n+")
# A sentence longer than this is cut at a space: one forward pass holds the whole spectrogram.
MAX_CHUNK_CHARS = 400


@cache
def openai_voices() -> frozenset[str]:
    text = resources.files("airlock.data").joinpath("speech_voices.toml").read_text()
    return frozenset(tomllib.loads(text)["openai"]["voices"])


class VitsSpeech(Engine):
    capabilities = frozenset({Capability.SPEECH})

    def __init__(self, folder: Path) -> None:
        self._tokenizer: Any = VitsTokenizer.from_pretrained(str(folder), local_files_only=True)
        if getattr(self._tokenizer, "phonemize", False):
            raise EngineError(
                "this VITS voice phonemizes its text with espeak-ng (an outside program the "
                "gateway does not run); serve it through an upstream server"
            )
        self._model: Any = VitsModel.from_pretrained(str(folder), local_files_only=True)
        self.sample_rate = int(self._model.config.sampling_rate)
        self._speakers = int(self._model.config.num_speakers or 1)

    def speak(self, request: SpeechRequest) -> SpeechStream:
        speaker = self._speaker(request.voice)
        pieces = [ids for ids in map(self._ids, sentences(request.text)) if ids.shape[1]]
        if not pieces:
            raise EngineError("input has no character this voice can speak", param="input")
        return SpeechStream(self.sample_rate, self._blocks(pieces, speaker, request))

    def _blocks(
        self, pieces: list[torch.Tensor], speaker: int | None, request: SpeechRequest
    ) -> Iterator[npt.NDArray[np.float32]]:
        for ids in pieces:
            request.cancel.check()
            # VitsModel reads its pace from this attribute: one request at a time runs on the
            # model's long-work thread, so it is this request's until the next block.
            self._model.speaking_rate = request.speed
            with torch.inference_mode():
                waveform = self._model(input_ids=ids, speaker_id=speaker).waveform
            yield waveform[0].float().numpy().clip(-1.0, 1.0)

    def _ids(self, text: str) -> torch.Tensor:
        ids: torch.Tensor = self._tokenizer(text, return_tensors="pt").input_ids
        # A text of unknown characters leaves only the blanks VITS puts between characters.
        pad = self._tokenizer.pad_token_id
        return ids if bool((ids != pad).any()) else ids[:, :0]

    def _speaker(self, voice: str) -> int | None:
        if voice in openai_voices() or voice == "default":
            return 0 if self._speakers > 1 else None
        match = re.fullmatch(r"speaker_(\d+)", voice)
        if match and int(match[1]) < self._speakers and self._speakers > 1:
            return int(match[1])
        extra = f", or speaker_0 to speaker_{self._speakers - 1}" if self._speakers > 1 else ""
        raise EngineError(
            f"voice {voice!r} is not one this model speaks: use one of OpenAI's voice names "
            f"(alloy, echo, ...), all this model's default voice{extra}",
            param="voice",
        )

    def close(self) -> None:
        del self._model
        del self._tokenizer


def sentences(text: str) -> list[str]:
    """The text in sentences, each at most MAX_CHUNK_CHARS (longer ones cut at spaces)."""
    out: list[str] = []
    for sentence in (s.strip() for s in _SENTENCE_END.split(text)):
        while len(sentence) > MAX_CHUNK_CHARS:
            cut = sentence.rfind(" ", 0, MAX_CHUNK_CHARS)
            cut = cut if cut > 0 else MAX_CHUNK_CHARS
            out.append(sentence[:cut])
            sentence = sentence[cut:].strip()
        if sentence:
            out.append(sentence)
    return out
