"""Which engine serves a model, decided from its config files (never from its name)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airlock.gateway.engines.interface import Capability, Engine, EngineError


def capability_of(folder: Path) -> Capability:
    """The model's main capability; raises EngineError for a model no engine serves."""
    config = _read_json(folder / "config.json")
    architectures = [str(a) for a in config.get("architectures") or []]
    if config.get("model_type") == "whisper" or any("Whisper" in a for a in architectures):
        return Capability.TRANSCRIPTION
    if any(a.endswith("ForSequenceClassification") for a in architectures):
        return Capability.RERANK
    if (folder / "modules.json").is_file() or (
        folder / "config_sentence_transformers.json"
    ).is_file():
        return Capability.EMBEDDINGS
    if any(a.endswith("ForCausalLM") for a in architectures):
        return Capability.CHAT
    raise EngineError(
        f"no engine serves this model (architectures: {', '.join(architectures) or 'none'})"
    )


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
    from airlock.gateway.engines.hf_causal import CausalLM

    return CausalLM(folder, prepack=prepack)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
