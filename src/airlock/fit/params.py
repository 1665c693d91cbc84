"""Parameter counts: exact from checkpoint headers, or from config.json by architecture."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airlock.fit import formulas
from airlock.fit.formulas_decoder import Shape
from airlock.fit.quant import GGML_NAMES
from airlock.headers.gguf_index import GgufTensor
from airlock.headers.safetensors import TensorHeader

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


def config_shapes(raw: Mapping[str, Any]) -> list[tuple[str, Shape]]:
    """Every tower's tensors, by the architecture's formula (formulas.py)."""
    return formulas.config_shapes(raw)


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


def count(tensors: Iterable[Tensor], buffers: Iterable[Tensor] = ()) -> Counts:
    """`buffers` are stored but are not parameters: their bytes count, their elements not."""
    parameters = 0
    stored = sum(buffer.nbytes for buffer in buffers)
    by_dtype: dict[str, int] = {}
    for tensor in tensors:
        parameters += tensor.elements
        stored += tensor.nbytes
        by_dtype[tensor.dtype] = by_dtype.get(tensor.dtype, 0) + tensor.elements
    return Counts(parameters, stored, by_dtype)
