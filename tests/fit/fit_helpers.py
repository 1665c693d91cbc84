"""Known configs and header-only checkpoints built from them (no tensor data is ever written)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from airlock.fit.params import config_shapes

LLAMA_31_8B: dict[str, Any] = {
    "model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
    "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
    "vocab_size": 128256, "tie_word_embeddings": False, "max_position_embeddings": 131072,
    "torch_dtype": "bfloat16",
}  # fmt: skip
LLAMA_31_70B = {**LLAMA_31_8B, "hidden_size": 8192, "intermediate_size": 28672,
                "num_hidden_layers": 80, "num_attention_heads": 64}  # fmt: skip
LLAMA_31_405B = {**LLAMA_31_8B, "hidden_size": 16384, "intermediate_size": 53248,
                 "num_hidden_layers": 126, "num_attention_heads": 128}  # fmt: skip


def write_config(folder: Path, config: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.json"
    path.write_text(json.dumps(config))
    return path


def write_sparse_checkpoint(folder: Path, config: dict[str, Any], shards: int) -> None:
    """A sharded bf16 safetensors folder: real headers, data left as holes (sparse files)."""
    write_config(folder, config)
    shapes = config_shapes(config)
    per_shard = math.ceil(len(shapes) / shards)
    weight_map = {}
    for number in range(shards):
        name = f"model-{number + 1:05d}-of-{shards:05d}.safetensors"
        header, offset = {}, 0
        for tensor, shape in shapes[number * per_shard : (number + 1) * per_shard]:
            size = math.prod(shape) * 2
            header[tensor] = {"dtype": "BF16", "shape": list(shape),
                              "data_offsets": [offset, offset + size]}  # fmt: skip
            offset += size
            weight_map[tensor] = name
        raw = json.dumps(header).encode()
        with (folder / name).open("wb") as handle:
            handle.write(len(raw).to_bytes(8, "little") + raw)
            handle.truncate(8 + len(raw) + offset)
    index = {"metadata": {}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))


# Safetensors dtypes' bits per element (the safetensors format's own table).
DTYPE_BITS = {"BOOL": 8, "U8": 8, "I8": 8, "I16": 16, "I32": 32, "I64": 64, "F16": 16,
              "BF16": 16, "F32": 32, "F8_E4M3": 8}  # fmt: skip
Stored = tuple[str, str, tuple[int, ...]]  # name, safetensors dtype, shape


def stored_bytes(tensors: list[Stored]) -> int:
    return sum(math.prod(shape) * DTYPE_BITS[dtype] // 8 for _, dtype, shape in tensors)


def write_tensors(
    folder: Path, tensors: list[Stored], config: dict[str, Any] | None, shards: int = 1
) -> None:
    """A safetensors folder holding exactly `tensors`: real headers, data left as holes."""
    if config is not None:
        write_config(folder, config)
    folder.mkdir(parents=True, exist_ok=True)
    per_shard = math.ceil(len(tensors) / shards)
    weight_map = {}
    for number in range(shards):
        name = f"model-{number + 1:05d}-of-{shards:05d}.safetensors"
        header, offset = {}, 0
        for tensor, dtype, shape in tensors[number * per_shard : (number + 1) * per_shard]:
            size = math.prod(shape) * DTYPE_BITS[dtype] // 8
            header[tensor] = {"dtype": dtype, "shape": list(shape),
                              "data_offsets": [offset, offset + size]}  # fmt: skip
            offset += size
            weight_map[tensor] = name
        raw = json.dumps(header).encode()
        with (folder / name).open("wb") as handle:
            handle.write(len(raw).to_bytes(8, "little") + raw)
            handle.truncate(8 + len(raw) + offset)
    index = {"metadata": {}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
