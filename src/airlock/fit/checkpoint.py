"""A checkpoint's stored tensors as the model's parameters.

Quantized weights are unpacked (quant_layout), buffers and multi-token-prediction layers are
set apart (tensor_roles), and a quantized checkpoint is checked against the parameter count
its config.json's architecture gives: where they differ, the count carries a doubt.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airlock.fit import quant_layout, tensor_roles
from airlock.fit.arch import ConfigError, text_config
from airlock.fit.params import Tensor, config_shapes
from airlock.fit.quant_layout import Quantization


@dataclass(frozen=True)
class Contents:
    tensors: tuple[Tensor, ...]  # the model's parameters (the main model's)
    buffers: tuple[Tensor, ...] = ()  # stored, not parameters: bytes only
    mtp: tuple[Tensor, ...] = ()  # multi-token-prediction layers, not loaded for serving
    mtp_layers: tuple[int, ...] = ()
    quantization: Quantization | None = None
    doubts: tuple[str, ...] = ()


def from_safetensors(
    stored: Sequence[Tensor],
    config: Mapping[str, Any] | None,
    qconfig: Mapping[str, Any] | None,
    found_in: str,
) -> Contents:
    unpacked = quant_layout.unpack(stored, qconfig, found_in)
    doubts = list(unpacked.doubts)
    shapes = _formula(config) if config is not None and unpacked.quantization else None
    parts = tensor_roles.split(quant_layout.with_shapes(unpacked.tensors, shapes or {}), config)
    if shapes is not None and config is not None:
        expected = sum(math.prod(shape) for shape in shapes.values())
        found = sum(tensor.elements for tensor in parts.parameters)
        if found != expected:
            model_type = text_config(config).get("model_type")
            doubts.append(
                f"the tensors hold {found:,} parameters, but config.json's {model_type} "
                f"architecture has {expected:,}: the quantized layout may be read wrongly"
            )
    return Contents(
        tensors=parts.parameters,
        buffers=(*unpacked.buffers, *parts.buffers),
        mtp=parts.mtp,
        mtp_layers=parts.mtp_layers,
        quantization=unpacked.quantization,
        doubts=tuple(doubts),
    )


def from_gguf(tensors: Sequence[Tensor]) -> Contents:
    parts = tensor_roles.split(tensors, None)
    return Contents(parts.parameters, parts.buffers)


def from_formula(config: Mapping[str, Any], tensors: Sequence[Tensor]) -> Contents:
    """config.json alone: a quantized model's stored size is not known without its files."""
    qconfig = config.get("quantization_config")
    if not isinstance(qconfig, dict):
        return Contents(tuple(tensors))
    stated = quant_layout.stated(qconfig, "config.json")
    doubt = (
        f"config.json describes a {stated.method}-quantized checkpoint: without its safetensors "
        "the stored size is taken at the config's dtype, not the quantized format"
    )
    return Contents(tuple(tensors), quantization=stated, doubts=(doubt,))


def _formula(config: Mapping[str, Any]) -> dict[str, tuple[int, ...]] | None:
    try:
        return dict(config_shapes(config))
    except ConfigError:
        return None
