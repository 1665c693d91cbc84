"""Which engine would serve a model, decided from its config files alone (never from its name,
never by loading it). `airlock admit` records the answer; the gateway loads by the same rule.

Nothing heavy is imported here (no torch, transformers or numpy): admission stays light, and
the registry migration that fills in older rows can use it too."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from airlock.diffusers_classes import known_classes

# Engine ids as recorded in the registry and shown by `airlock models`.
EMBEDDINGS = "sentence-transformers"
RERANK = "cross-encoder"
TRANSCRIPTION = "whisper"
CAUSAL_LM = "causal-lm"
IMAGES = "diffusers"  # a diffusers pipeline folder (model_index.json): text-to-image
SPEECH = "vits"  # a VITS text-to-speech model (MMS-TTS and others in transformers' layout)

# Components that hold no weights (their configs are all they load).
_WEIGHTLESS_SUFFIXES = ("Scheduler", "Tokenizer", "TokenizerFast", "Processor", "FeatureExtractor")

# The weight files transformers' `from_pretrained` reads (one file, or an index of shards).
_WEIGHT_FILES = frozenset(
    {
        "model.safetensors",
        "model.safetensors.index.json",
        "pytorch_model.bin",
        "pytorch_model.bin.index.json",
    }
)
_SENTENCE_TRANSFORMERS_MARKERS = ("modules.json", "config_sentence_transformers.json")


@dataclass(frozen=True)
class EngineChoice:
    engine: str | None  # None: no engine serves the model
    reason: str  # why this engine, or why none

    @property
    def servable(self) -> bool:
        return self.engine is not None


def choose_engine(source: Path, files: Iterable[str] | None = None) -> EngineChoice:
    """The engine for the model at `source`; `files`: its manifest's relative paths (default:
    the files in the folder now)."""
    if not source.is_dir():
        return EngineChoice(None, "a single file: the gateway serves a folder with config.json")
    present = frozenset(files) if files is not None else _listing(source)
    if "model_index.json" in present:
        return _pipeline_choice(source, present)
    if "config.json" not in present:
        return EngineChoice(None, "no config.json, so no engine knows what the weights are")
    config = _read_json(source / "config.json")
    if config is None:
        return EngineChoice(None, "config.json is not a JSON object")
    engine = _engine_for(config, present)
    if engine is None:
        architectures = ", ".join(str(a) for a in config.get("architectures") or []) or "none"
        return EngineChoice(None, f"no engine serves architectures: {architectures}")
    if not _has_weights(engine, present):
        return EngineChoice(
            None, "no weights file the engine loads (model.safetensors or pytorch_model.bin)"
        )
    return EngineChoice(engine, "chosen from config.json")


def _engine_for(config: dict[str, Any], present: frozenset[str]) -> str | None:
    architectures = [str(a) for a in config.get("architectures") or []]
    if config.get("model_type") == "whisper" or any("Whisper" in a for a in architectures):
        return TRANSCRIPTION
    if config.get("model_type") == "vits" or "VitsModel" in architectures:
        return SPEECH
    if any(a.endswith("ForSequenceClassification") for a in architectures):
        return RERANK
    if any(marker in present for marker in _SENTENCE_TRANSFORMERS_MARKERS):
        return EMBEDDINGS
    if any(a.endswith("ForCausalLM") for a in architectures):
        return CAUSAL_LM
    return None


def _pipeline_choice(source: Path, present: frozenset[str]) -> EngineChoice:
    """A diffusers pipeline: a pipeline class of diffusers, every component a class of diffusers
    or transformers, and every component with weights stored as safetensors."""
    index = _read_json(source / "model_index.json")
    if index is None:
        return EngineChoice(None, "model_index.json is not a JSON object")
    pipeline = index.get("_class_name")
    if (
        not isinstance(pipeline, str)
        or not pipeline.isidentifier()
        or not pipeline.endswith("Pipeline")
    ):
        return EngineChoice(None, "model_index.json names no diffusers pipeline class")
    known = known_classes()  # the scan judges model_index.json by the same list (AIR711-713)
    if not known.has("diffusers", pipeline):
        return EngineChoice(None, f"{pipeline} is not a diffusers pipeline: custom code")
    weighted = 0
    for name, entry in index.items():
        if name.startswith("_") or not isinstance(entry, list) or entry == [None, None]:
            continue  # settings (requires_safety_checker) and components left out
        if len(entry) != 2 or not all(isinstance(e, str) for e in entry):
            return EngineChoice(
                None, f"model_index.json: component {name!r} is not [library, class]"
            )
        library, cls = entry
        if not known.has(library, cls):
            return EngineChoice(
                None, f"component {name!r} is class {cls} of {library!r}: custom code"
            )
        if cls.endswith(_WEIGHTLESS_SUFFIXES):
            continue
        inside = [PurePosixPath(p) for p in present if p.startswith(f"{name}/")]
        if not any(p.suffix == ".safetensors" for p in inside):
            return EngineChoice(
                None, f"component {name!r} has no safetensors weights (the only ones loaded)"
            )
        weighted += 1
    if not weighted:
        return EngineChoice(None, "model_index.json lists no component with weights")
    return EngineChoice(IMAGES, "chosen from model_index.json")


def _has_weights(engine: str, present: frozenset[str]) -> bool:
    if engine == EMBEDDINGS:  # sentence-transformers modules may keep weights in a subfolder
        return any(PurePosixPath(p).name in _WEIGHT_FILES for p in present)
    return bool(present & _WEIGHT_FILES)


def _listing(folder: Path) -> frozenset[str]:
    return frozenset(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
