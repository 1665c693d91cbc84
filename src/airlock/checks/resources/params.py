"""Parameter counts: exact from checkpoint headers, or from config.json by architecture."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airlock.checks.resources import formulas_other as other
from airlock.checks.resources.arch import ConfigError, text_config
from airlock.checks.resources.formulas_decoder import DECODERS, Shape, decoder_shapes
from airlock.checks.resources.formulas_mla import deepseek_shapes
from airlock.checks.resources.quant import GGML_NAMES
from airlock.headers.gguf_index import GgufTensor
from airlock.headers.safetensors import TensorHeader

_FORMULAS = {
    "deepseek_v2": deepseek_shapes,
    "deepseek_v3": deepseek_shapes,
    "gpt_neox": other.gpt_neox_shapes,
    "bert": other.bert_shapes,
    "t5": other.t5_shapes,
    "whisper": other.whisper_shapes,
}
_DTYPE_LABELS = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}
_LABEL_BITS = {"F32": 32, "F16": 16, "BF16": 16}


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str  # safetensors dtype or ggml type name
    nbytes: int

    @property
    def elements(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Counts:
    parameters: int
    stored_bytes: int
    by_dtype: dict[str, int] = field(default_factory=dict)  # parameters per stored dtype

    @property
    def main_dtype(self) -> str:
        return max(self.by_dtype, key=lambda dtype: self.by_dtype[dtype], default="?")


def supported() -> tuple[str, ...]:
    return (*DECODERS, *_FORMULAS)


def config_shapes(raw: Mapping[str, Any]) -> list[tuple[str, Shape]]:
    model_type = str(text_config(raw).get("model_type", "")).lower()
    if model_type in DECODERS:
        return list(decoder_shapes(raw))
    if model_type in _FORMULAS:
        return list(_FORMULAS[model_type](text_config(raw)))
    shown = model_type or "(none)"
    raise ConfigError(
        f"config.json model_type {shown} has no formula (known: {', '.join(supported())}); "
        "pass the folder with its safetensors files for an exact count"
    )


def from_config(raw: Mapping[str, Any]) -> list[Tensor]:
    """The checkpoint's tensors as its config describes them, at the config's dtype."""
    dtype = _DTYPE_LABELS.get(str(raw.get("dtype", raw.get("torch_dtype"))), "BF16")
    bits = _LABEL_BITS[dtype]
    return [
        Tensor(name, shape, dtype, math.prod(shape) * bits // 8)
        for name, shape in config_shapes(raw)
    ]


def from_safetensors(headers: Iterable[TensorHeader]) -> list[Tensor]:
    return [Tensor(h.name, h.shape, h.dtype, h.nbytes) for h in headers]


def from_gguf(tensors: Iterable[GgufTensor]) -> list[Tensor]:
    return [Tensor(t.name, t.shape, GGML_NAMES[t.ggml_type], t.nbytes) for t in tensors]


def count(tensors: Iterable[Tensor]) -> Counts:
    parameters = stored = 0
    by_dtype: dict[str, int] = {}
    for tensor in tensors:
        parameters += tensor.elements
        stored += tensor.nbytes
        by_dtype[tensor.dtype] = by_dtype.get(tensor.dtype, 0) + tensor.elements
    return Counts(parameters, stored, by_dtype)
