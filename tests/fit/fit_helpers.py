"""Known configs and header-only checkpoints built from them (no tensor data is ever written)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from airlock.checks.resources.params import config_shapes

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
