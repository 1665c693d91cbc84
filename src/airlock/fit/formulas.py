"""Which formula sizes a config.json, tower by tower, and what no formula covers.

A multimodal config (`text_config` + `vision_config`) is counted as its checkpoint stores it:
the language model under `language_model.`, the vision tower under `vision_tower.vision_model.`
and the projector between them. Whatever has no formula (an unknown vision tower, an audio
tower, an encoder's task head) is listed by `not_counted`, so the count says what it leaves out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airlock.fit import formulas_other as other
from airlock.fit import formulas_vision as vision
from airlock.fit.arch import ConfigError, text_config
from airlock.fit.families import ENCODER, SUB_CONFIGS, complete, kind_of
from airlock.fit.formulas_decoder import DECODERS, Shape, Shapes, decoder_shapes
from airlock.fit.formulas_encoders import (
    deberta_v2_shapes,
    modernbert_shapes,
    nomic_bert_shapes,
)
from airlock.fit.formulas_mla import deepseek_shapes

_TEXT: dict[str, Callable[[Mapping[str, Any]], Shapes]] = {
    "deepseek_v2": deepseek_shapes,
    "deepseek_v3": deepseek_shapes,
    "gpt_neox": other.gpt_neox_shapes,
    "bert": other.bert_shapes,
    "roberta": other.bert_shapes,  # BERT's layout (type_vocab_size 1, positions 514)
    "xlm-roberta": other.bert_shapes,
    "camembert": other.bert_shapes,
    "deberta-v2": deberta_v2_shapes,
    "modernbert": modernbert_shapes,
    "nomic_bert": nomic_bert_shapes,
    "t5": other.t5_shapes,
    "whisper": other.whisper_shapes,
}
_VISION: dict[str, Callable[[str, Mapping[str, Any]], Shapes]] = {
    "siglip_vision_model": vision.siglip_shapes,
    "clip_vision_model": vision.clip_shapes,
}
# By the multimodal config's own model_type: (vision config, text config, whole config).
_PROJECTORS: dict[
    str, Callable[[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]], Shapes]
] = {
    "gemma3": vision.gemma3_projector,
    "llava": vision.llava_projector,
}
_TEXT_PREFIX, _VISION_PREFIX = "language_model.", "vision_tower.vision_model."


def supported() -> tuple[str, ...]:
    return (*DECODERS, *_TEXT)


def config_shapes(raw: Mapping[str, Any]) -> list[tuple[str, Shape]]:
    text = text_config(raw)
    model_type = str(text.get("model_type", "")).lower()
    if model_type in DECODERS:
        shapes = decoder_shapes(raw)
    elif model_type in _TEXT:
        shapes = _TEXT[model_type](text)
    else:
        shown = model_type or "(none)"
        raise ConfigError(
            f"config.json model_type {shown} has no formula (known: {', '.join(supported())}); "
            "pass the folder with its safetensors files for an exact count"
        )
    if not isinstance(raw.get("text_config"), dict):
        return list(shapes)
    found = [(_TEXT_PREFIX + name, shape) for name, shape in shapes]
    tower = _vision_config(raw)
    if tower is not None and _vision_type(tower) in _VISION:
        found += _VISION[_vision_type(tower)](_VISION_PREFIX, tower)
        projector = _PROJECTORS.get(str(raw.get("model_type", "")).lower())
        if projector is not None:
            found += projector(tower, text, raw)
    return found


def not_counted(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """What config_shapes(raw) leaves out, in words for the report."""
    missing = []
    tower = _vision_config(raw)
    parent = str(raw.get("model_type", "")).lower()
    if tower is not None and _vision_type(tower) not in _VISION:
        missing.append(f"the vision tower ({_vision_type(tower) or 'no model_type'}: no formula)")
    elif tower is not None and parent not in _PROJECTORS:
        missing.append(f"the projector joining the vision tower to the language model ({parent})")
    if isinstance(raw.get(SUB_CONFIGS["audio"]), dict):
        missing.append("the audio tower (audio_config: no formula)")
    text = text_config(raw)
    heads = [name for name in raw.get("architectures") or [] if isinstance(name, str)]
    if kind_of(text) == ENCODER and heads and not heads[0].endswith("Model"):
        missing.append(f"the task head of {heads[0]} (a classifier or masked-LM layer)")
    return tuple(missing)


def _vision_config(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    nested = raw.get(SUB_CONFIGS["vision"])
    return complete(nested, None).config if isinstance(nested, dict) else None


def _vision_type(tower: Mapping[str, Any]) -> str:
    return str(tower.get("model_type", "")).lower()
