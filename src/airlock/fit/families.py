"""Model families (`airlock/data/architectures.toml`): what kind of model a `model_type` is, and
the values its transformers config class supplies when config.json leaves a key out.

Published configs often rely on those defaults (google/gemma-3-4b-it's `text_config` has no
`vocab_size`, `num_attention_heads` or `head_dim`). A missing key is taken from the checkpoint's
tensor shapes when the headers are there, else from the family's documented default, and every
value filled in is reported with where it came from.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

DECODER, ENCODER, ENCODER_DECODER, VISION = "decoder", "encoder", "encoder-decoder", "vision"
# Sub-configs of a multimodal config.json, by tower.
SUB_CONFIGS = {"vision": "vision_config", "audio": "audio_config"}


@dataclass(frozen=True)
class Family:
    model_type: str
    kind: str
    source: str
    defaults: Mapping[str, int | bool]
    cross_attention_tokens: str | None  # config key: encoder positions the decoder attends to


@dataclass(frozen=True)
class Filled:
    """A config value airlock supplied: from a tensor's shape or the family's default."""

    key: str
    value: int | bool
    basis: str  # in words: "gemma3_text default", "shape of <tensor>"
    source: str = ""  # where the default is documented


@dataclass(frozen=True)
class Completed:
    config: dict[str, Any]
    filled: tuple[Filled, ...]


@cache
def _data() -> dict[str, Any]:
    text = resources.files("airlock.data").joinpath("architectures.toml").read_text("utf-8")
    return tomllib.loads(text)


@cache
def family(model_type: str) -> Family | None:
    row = _data()["model_type"].get(model_type)
    if row is None:
        return None
    return Family(
        model_type=model_type,
        kind=row["kind"],
        source=row["source"],
        defaults=dict(row.get("defaults", {})),
        cross_attention_tokens=row.get("cross_attention_tokens"),
    )


def kind_of(cfg: Mapping[str, Any]) -> str:
    """The family's kind; an unlisted model_type reads as a decoder unless the config says
    `is_encoder_decoder` (transformers' own flag for seq2seq models)."""
    found = family(str(cfg.get("model_type", "")).lower())
    if found is not None:
        return found.kind
    return ENCODER_DECODER if cfg.get("is_encoder_decoder") is True else DECODER


def gguf_kind(architecture: str) -> str:
    """The kind of a GGUF `general.architecture` (llama.cpp's names)."""
    kind = _data()["gguf_architecture"].get(architecture, DECODER)
    return kind if kind in (ENCODER, ENCODER_DECODER) else DECODER


def complete(cfg: Mapping[str, Any], shapes: Mapping[str, tuple[int, ...]] | None) -> Completed:
    """`cfg` with the keys sizing reads filled in: tensor shapes first, then the defaults."""
    config = dict(cfg)
    filled: list[Filled] = []
    for rule in _data()["from_shape"]:
        key = rule["key"]
        if config.get(key) is not None or not shapes:
            continue
        found_shape = _shape_value(shapes, rule["tensors"], rule["dim"])
        if found_shape is not None:
            value, name = found_shape
            config[key] = value
            filled.append(Filled(key, value, f"shape of {name}"))
    found = family(str(config.get("model_type", "")).lower())
    if found is not None:
        for key, value in found.defaults.items():
            if config.get(key) is None:  # absent, or null as transformers writes an unset key
                config[key] = value
                basis = f"{found.model_type} default"
                filled.append(Filled(key, value, basis, found.source))
    return Completed(config, tuple(filled))


def _shape_value(
    shapes: Mapping[str, tuple[int, ...]], suffixes: Iterable[str], dim: int
) -> tuple[int, str] | None:
    for suffix in suffixes:
        for name, shape in shapes.items():
            if (name == suffix or name.endswith("." + suffix)) and len(shape) > dim:
                return shape[dim], name
    return None


@cache
def _tower_pattern() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple(
        (tower, re.compile(r"(?:^|\.)(?:" + "|".join(map(re.escape, starts)) + r")\."))
        for tower, starts in _data()["towers"].items()
    )


def tower_of(name: str) -> str | None:
    """ "vision" or "audio" for a tensor of a multimodal checkpoint's side towers, else None."""
    for tower, pattern in _tower_pattern():
        if pattern.search(name):
            return tower
    return None
