"""An admitted model as a candidate: its newest (or named) version from the registry, copied
and hashed into a private folder by the gateway's `verified_copy`, loaded from that copy by the
gateway's `load_engine`: exactly the bytes that were admitted, and the engine `airlock serve`
would run, with the same refusals (a text longer than the model's context is refused, not cut)."""

from __future__ import annotations

from airlock import engine_choice
from airlock.eval.candidates.interface import Answer, Candidate, ItemFailed, Vectors, unit_rows
from airlock.eval.datasets.interface import GenerationItem, Task, TranscriptionItem
from airlock.eval.errors import CandidateError
from airlock.eval.result import ModelRef
from airlock.gateway.catalog import AdmittedModel
from airlock.gateway.engines.interface import Engine, EngineError
from airlock.gateway.loading import IntegrityError, VerifiedCopy, verified_copy

# Which engines can take each task (an embedding model also reranks, by cosine similarity).
_ENGINES = {
    Task.RETRIEVAL: {engine_choice.EMBEDDINGS},
    Task.RERANK: {engine_choice.EMBEDDINGS, engine_choice.RERANK},
    Task.GENERATION: {engine_choice.CAUSAL_LM},
    Task.TRANSCRIPTION: {engine_choice.TRANSCRIPTION},
}
_WHAT = {
    engine_choice.EMBEDDINGS: "an embedding model",
    engine_choice.RERANK: "a reranker",
    engine_choice.CAUSAL_LM: "a text generation model",
    engine_choice.TRANSCRIPTION: "a speech recognition model",
    engine_choice.IMAGES: "an image generation model",
    engine_choice.SPEECH: "a text-to-speech model",
}
# Audio longer than this is refused (decoding keeps no samples, so this bounds time, not memory).
MAX_AUDIO_SECONDS = 4 * 3600.0


class AdmittedCandidate(Candidate):
    kind = "admitted"

    def __init__(
        self, label: str, model: AdmittedModel, engine: str | None, *, prepack: bool
    ) -> None:
        self.name = label
        self.model = ModelRef(model.name, model.digest, model.version)
        self._admitted = model
        self._engine_id = engine
        self._prepack = prepack
        self._engine: Engine | None = None
        self._copy: VerifiedCopy | None = None

    def refuses(self, task: Task) -> str | None:
        if self._admitted.not_servable is not None:
            return (
                f"model {self.name!r} is admitted but cannot be run: {self._admitted.not_servable}"
            )
        if self._engine_id not in _ENGINES[task]:
            what = _WHAT.get(self._engine_id or "", "a model no engine runs")
            return f"model {self.name!r} is {what}: it cannot be evaluated on {task.value} data"
        return None

    def open(self) -> None:
        from airlock.gateway.engines.detect import load_engine

        try:
            copy = verified_copy(self._admitted)
        except IntegrityError as exc:
            raise CandidateError(str(exc)) from None
        except OSError as exc:
            raise CandidateError(
                f"model {self.name!r}: its private copy could not be written "
                f"({exc.strerror or type(exc).__name__})"
            ) from None
        self._copy = copy
        try:
            self._engine = load_engine(copy.path, prepack=self._prepack)
        except EngineError as exc:
            self.close()
            raise CandidateError(f"model {self.name!r} cannot be loaded: {exc}") from None
        except Exception as exc:  # a library's error: its words may name the private copy
            self.close()
            raise CandidateError(
                f"model {self.name!r} cannot be loaded: its engine raised {type(exc).__name__}"
            ) from None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise CandidateError(f"model {self.name!r} is not loaded")
        return self._engine

    def embed(self, texts: list[str]) -> tuple[Vectors, int]:
        try:
            out = self.engine.embed(texts)
        except EngineError as exc:
            raise ItemFailed(str(exc)) from None
        return unit_rows(out.vectors), sum(out.tokens)

    def rerank(self, query: str, documents: list[str]) -> tuple[list[float], int]:
        if self._engine_id == engine_choice.EMBEDDINGS:
            vectors, tokens = self.embed([query, *documents])
            return [float(s) for s in vectors[1:] @ vectors[0]], tokens
        try:
            scores, per_pair = self.engine.rerank([(query, d) for d in documents])
        except EngineError as exc:
            raise ItemFailed(str(exc)) from None
        return scores, sum(per_pair)

    def generate(self, item: GenerationItem, max_tokens: int) -> Answer:
        from airlock.gateway.engines.interface import Generation

        request = Generation(
            messages=None if item.messages is None else [dict(m) for m in item.messages],
            prompt=item.prompt,
            max_tokens=max_tokens,
            temperature=0.0,
        )
        try:
            stream = self.engine.generate(request)
            text = "".join(stream.pieces)
        except EngineError as exc:
            raise ItemFailed(str(exc)) from None
        return Answer(text, stream.prompt_tokens, stream.completion_tokens)

    def transcribe(self, item: TranscriptionItem) -> Answer:
        from airlock.gateway.audio import TARGET_RATE, open_audio
        from airlock.gateway.engines.interface import TranscriptionRequest
        from airlock.gateway.errors import GatewayError

        try:
            audio = open_audio(item.audio.read_bytes(), MAX_AUDIO_SECONDS)
            request = TranscriptionRequest(audio.blocks(), TARGET_RATE, language=item.language)
            out = self.engine.transcribe(request)
        except (GatewayError, EngineError) as exc:
            raise ItemFailed(str(exc)) from None
        except OSError as exc:
            raise ItemFailed(f"cannot read {item.audio.name}: {exc.strerror or exc}") from None
        return Answer(out.text, 0, sum(len(s.tokens) for s in out.segments))

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        if self._copy is not None:
            self._copy.remove()
        self._copy = None
