"""Speech to text with Whisper through transformers (processor + generate), 16 kHz mono input.
Audio is transcribed one 30-second window at a time; each window with text is one segment. The
request's cancel token is checked before each window and at each decoding step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoProcessor,
    StoppingCriteriaList,
    WhisperForConditionalGeneration,
)
from transformers.models.whisper.tokenization_whisper import LANGUAGES

from airlock.gateway.engines.cpu_kernels import prepack_linears
from airlock.gateway.engines.interface import (
    Capability,
    Engine,
    EngineError,
    Segment,
    Transcription,
    TranscriptionRequest,
    windows,
)
from airlock.gateway.engines.stop_on_cancel import StopOnCancel

# Whisper reads 30-second windows; longer audio is transcribed window by window.
_WINDOW_S = 30
_MAX_NEW_TOKENS = 224  # half of Whisper's 448 positions, leaving room for the start tokens
_START_TOKENS = 4  # <|startoftranscript|>, language, task, <|notimestamps|>


class WhisperEngine(Engine):
    capabilities = frozenset({Capability.TRANSCRIPTION})

    def __init__(self, folder: Path, *, prepack: bool = True) -> None:
        self._processor: Any = AutoProcessor.from_pretrained(  # type: ignore[no-untyped-call]
            str(folder), trust_remote_code=False, local_files_only=True
        )
        self._model: Any = WhisperForConditionalGeneration.from_pretrained(
            str(folder), local_files_only=True
        )
        generation = self._model.generation_config
        lang_to_id: dict[str, int] = getattr(generation, "lang_to_id", None) or {}
        # English-only checkpoints (`.en`) have no language tokens and refuse `language`.
        self._multilingual = bool(lang_to_id) and getattr(generation, "is_multilingual", True)
        self._languages = {token.strip("<|>"): i for token, i in lang_to_id.items()}
        self._special = frozenset(self._processor.tokenizer.all_special_ids)
        if prepack:
            prepack_linears(self._model, self._probe)

    def _probe(self) -> torch.Tensor:
        config = self._model.config
        # The encoder takes exactly one 30-second window of log-mel frames.
        features = torch.zeros(1, config.num_mel_bins, 2 * config.max_source_positions)
        start = torch.tensor([[config.decoder_start_token_id]])
        logits: torch.Tensor = self._model(input_features=features, decoder_input_ids=start).logits
        return logits

    def transcribe(self, request: TranscriptionRequest) -> Transcription:
        if request.translate and not self._multilingual:
            raise EngineError("this model is English-only: it cannot translate", param="model")
        language = self._language(request.language)
        prompt_ids = self._prompt_ids(request.prompt)
        positions = self._model.config.max_target_positions
        room = positions - (0 if prompt_ids is None else len(prompt_ids)) - _START_TOKENS
        options: dict[str, Any] = {
            "max_new_tokens": max(1, min(_MAX_NEW_TOKENS, positions // 2, room)),
            "temperature": request.temperature,
            "stopping_criteria": StoppingCriteriaList([StopOnCancel(request.cancel)]),
        }
        if prompt_ids is not None:
            options["prompt_ids"] = prompt_ids
        rate = request.sample_rate
        window = _WINDOW_S * rate
        segments: list[Segment] = []
        end = 0  # samples read so far: the audio arrives window by window
        for chunk in windows(request.audio, window):
            start, end = end, end + len(chunk)
            request.cancel.check()
            features = self._processor(
                chunk, sampling_rate=rate, return_tensors="pt"
            ).input_features
            if self._multilingual:
                # Detected on the first window and kept, as openai-whisper does.
                language = language or self._detect(features)
                task = "translate" if request.translate else "transcribe"
                options.update(language=language, task=task)
            text, tokens, avg_logprob = self._generate(features, options)
            request.cancel.check()  # a window cut short by the token is not a segment
            if text:
                segments.append(
                    Segment(
                        start / rate, end / rate, text, tokens, avg_logprob, request.temperature
                    )
                )
        code = "en" if request.translate else language or "en"  # what the text is written in
        return Transcription(
            " ".join(s.text for s in segments),
            LANGUAGES.get(code, code),
            end / rate,
            tuple(segments),
        )

    def _generate(
        self, features: torch.Tensor, options: dict[str, Any]
    ) -> tuple[str, tuple[int, ...], float]:
        """One window: its text, text token ids and mean log-probability per generated token."""
        with torch.inference_mode():
            out = self._model.generate(
                features, return_dict_in_generate=True, output_scores=True, **options
            )
        # `sequences` also holds the prompt and start tokens; one score per generated token.
        generated: list[int] = out.sequences[0, -len(out.scores) :].tolist()
        logprobs = [
            float(torch.log_softmax(score[0].float(), dim=-1)[token])
            for score, token in zip(out.scores, generated, strict=True)
        ]
        text = self._processor.tokenizer.decode(generated, skip_special_tokens=True).strip()
        tokens = tuple(t for t in generated if t not in self._special)
        return text, tokens, sum(logprobs) / len(logprobs)

    def _language(self, requested: str | None) -> str | None:
        """The ISO-639-1 code to transcribe as; None: detect it (multilingual models)."""
        if requested is None:
            return None if self._multilingual else "en"
        code = requested.strip().lower()
        if not self._multilingual:
            if code != "en":
                raise EngineError(
                    "this model transcribes English only: language must be 'en'", param="language"
                )
            return code
        if code not in self._languages:
            raise EngineError(
                f"language {requested!r} is not one this model knows; use an ISO-639-1 code: "
                + ", ".join(sorted(self._languages)),
                param="language",
            )
        return code

    def _detect(self, features: torch.Tensor) -> str:
        with torch.inference_mode():
            found = int(self._model.detect_language(input_features=features)[0])
        return next(code for code, i in self._languages.items() if i == found)

    def _prompt_ids(self, prompt: str | None) -> torch.Tensor | None:
        """<|startofprev|> and the prompt's last tokens (openai-whisper keeps at most half the
        decoder's positions); None without a prompt or where the processor cannot encode one."""
        if not prompt or not prompt.strip() or not hasattr(self._processor, "get_prompt_ids"):
            return None
        try:
            ids: torch.Tensor = self._processor.get_prompt_ids(prompt, return_tensors="pt")
        except ValueError as exc:  # text that spells a special token, e.g. <|endoftext|>
            raise EngineError(f"prompt: {exc}", param="prompt") from None
        keep = self._model.config.max_target_positions // 2 - 1
        return torch.cat([ids[:1], ids[1:][-keep:]])

    def close(self) -> None:
        del self._model
        del self._processor
