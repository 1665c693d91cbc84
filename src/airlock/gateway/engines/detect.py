"""Load a model with the engine its config files call for (the rule is in `engine_choice`)."""

from __future__ import annotations

from pathlib import Path

from airlock import engine_choice as choice
from airlock.gateway.engines.interface import Capability, Engine, EngineError

_CAPABILITIES = {
    choice.EMBEDDINGS: Capability.EMBEDDINGS,
    choice.RERANK: Capability.RERANK,
    choice.TRANSCRIPTION: Capability.TRANSCRIPTION,
    choice.CAUSAL_LM: Capability.CHAT,
    choice.IMAGES: Capability.IMAGES,
    choice.SPEECH: Capability.SPEECH,
}


def capability_of(folder: Path) -> Capability:
    """The model's main capability; raises EngineError for a model no engine serves."""
    chosen = choice.choose_engine(folder)
    if chosen.engine is None:
        raise EngineError(f"no engine serves this model: {chosen.reason}")
    return _CAPABILITIES[chosen.engine]


def load_engine(folder: Path, *, prepack: bool = True) -> Engine:
    """Load the model in `folder` (a verified private copy) with the engine its files call for.

    `prepack`: run float32 matrix multiplies on prepacked oneDNN kernels (cpu_kernels.py)."""
    capability = capability_of(folder)
    if capability is Capability.EMBEDDINGS:
        from airlock.gateway.engines.st_embeddings import SentenceEmbeddings

        return SentenceEmbeddings(folder, prepack=prepack)
    if capability is Capability.RERANK:
        from airlock.gateway.engines.st_rerank import CrossEncoderRerank

        return CrossEncoderRerank(folder, prepack=prepack)
    if capability is Capability.TRANSCRIPTION:
        from airlock.gateway.engines.hf_whisper import WhisperEngine

        return WhisperEngine(folder, prepack=prepack)
    if capability is Capability.IMAGES:
        from airlock.gateway.engines.diffusion import DiffusionEngine

        return DiffusionEngine(folder)
    if capability is Capability.SPEECH:
        from airlock.gateway.engines.vits_speech import VitsSpeech

        return VitsSpeech(folder)
    from airlock.gateway.engines.hf_causal import CausalLM

    return CausalLM(folder, prepack=prepack)
