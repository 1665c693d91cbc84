"""What stored tensors are, for counting the way publishers do.

Buffers computed from config.json (RoPE frequency tables), attention masks and cache scales
are stored but are not parameters; multi-token-prediction layers (DeepSeek-V3's layer 61) are
stored but only speculative decoding loads them; the input embedding is one row read per
token, which some publishers leave out of the active parameters. Names and sources:
airlock/data/tensor_roles.toml.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from airlock.fit.arch import text_config
from airlock.fit.params import Tensor


@dataclass(frozen=True)
class Split:
    parameters: tuple[Tensor, ...]
    buffers: tuple[Tensor, ...]  # stored, not parameters: their bytes still count
    mtp: tuple[Tensor, ...]  # multi-token-prediction layers, kept apart
    mtp_layers: tuple[int, ...]


@dataclass(frozen=True)
class _NotParameter:
    names: tuple[str, ...]
    min_dims: int
    what: str


@cache
def _data() -> dict[str, Any]:
    text = resources.files("airlock.data").joinpath("tensor_roles.toml").read_text("utf-8")
    return tomllib.loads(text)


@cache
def _not_parameters() -> tuple[_NotParameter, ...]:
    return tuple(
        _NotParameter(tuple(row["names"]), row.get("min_dims", 0), row["what"])
        for row in _data()["not_parameter"]
    )


def _named(name: str, entries: Iterable[str]) -> bool:
    return any(name == entry or name.endswith("." + entry) for entry in entries)


def not_parameter(tensor: Tensor) -> str | None:
    """What the tensor is when it is stored but is not a parameter, else None."""
    for rule in _not_parameters():
        if len(tensor.shape) >= rule.min_dims and _named(tensor.name, rule.names):
            return rule.what
    return None


def split(tensors: Sequence[Tensor], config: Mapping[str, Any] | None) -> Split:
    mtp_layers = _mtp_layers(config)
    pattern = re.compile(re.escape(_data()["mtp"]["layers"]) + r"(\d+)\.")
    parameters, buffers, mtp = [], [], []
    for tensor in tensors:
        layer = pattern.match(tensor.name)
        if layer and int(layer.group(1)) in mtp_layers:
            mtp.append(tensor)
        elif not_parameter(tensor):
            buffers.append(tensor)
        else:
            parameters.append(tensor)
    found = tuple(layer for layer in mtp_layers if any(_in_layer(t, layer) for t in mtp))
    return Split(tuple(parameters), tuple(buffers), tuple(mtp), found)


def _mtp_layers(config: Mapping[str, Any] | None) -> frozenset[int]:
    if config is None:
        return frozenset()
    cfg = text_config(config)
    count, layers = cfg.get(_data()["mtp"]["count_key"]), cfg.get("num_hidden_layers")
    if not isinstance(count, int) or not isinstance(layers, int) or count <= 0:
        return frozenset()
    return frozenset(range(layers, layers + count))


def _in_layer(tensor: Tensor, layer: int) -> bool:
    return tensor.name.startswith(f"{_data()['mtp']['layers']}{layer}.")


def input_embedding(tensors: Iterable[Tensor]) -> int:
    """Parameters of the input token embedding when a separate output head exists (0 when
    the head is tied to it: the table then multiplies every token's hidden state)."""
    names = _data()["embeddings"]
    embedding = head = 0
    for tensor in tensors:
        if _named(tensor.name, names["input"]):
            embedding += tensor.elements
        elif _named(tensor.name, names["output"]):
            head += tensor.elements
    return embedding if head else 0
