"""Speech to text with Whisper through transformers (processor + generate), 16 kHz mono input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from transformers import AutoProcessor, WhisperForConditionalGeneration

from airlock.gateway.engines.interface import Capability, Engine, Transcription

# Whisper reads 30-second windows; longer audio is transcribed window by window.
_WINDOW_S = 30
_MAX_NEW_TOKENS = 224  # half of Whisper's 448 positions, leaving room for the start tokens


class WhisperEngine(Engine):
    capabilities = frozenset({Capability.TRANSCRIPTION})

    def __init__(self, folder: Path) -> None:
        self._processor: Any = AutoProcessor.from_pretrained(  # type: ignore[no-untyped-call]
            str(folder), trust_remote_code=False, local_files_only=True
        )
        self._model: Any = WhisperForConditionalGeneration.from_pretrained(
            str(folder), local_files_only=True
        )

    def transcribe(self, audio: npt.NDArray[np.float32], sample_rate: int) -> Transcription:
        window = _WINDOW_S * sample_rate
        limit = min(_MAX_NEW_TOKENS, self._model.config.max_target_positions // 2)
        texts: list[str] = []
        for start in range(0, max(len(audio), 1), window):
            chunk = audio[start : start + window]
            features = self._processor(
                chunk, sampling_rate=sample_rate, return_tensors="pt"
            ).input_features
            with torch.inference_mode():
                ids = self._model.generate(features, max_new_tokens=limit)
            texts.append(self._processor.batch_decode(ids, skip_special_tokens=True)[0].strip())
        language = str(getattr(self._model.generation_config, "language", None) or "en")
        return Transcription(" ".join(t for t in texts if t), language, len(audio) / sample_rate)

    def close(self) -> None:
        del self._model
