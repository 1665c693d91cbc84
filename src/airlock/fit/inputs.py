"""What `airlock fit` was pointed at, read as tensors and architecture from headers alone.

A Hugging Face folder (config.json + safetensors, sharded through model.safetensors.index.json),
a Hugging Face cache repository, a GGUF file, a safetensors file beside its config.json, or a
config.json alone (shapes from the architecture's formula). Tensor data is never read.

Safetensors without a config.json still give the exact parameters and weight bytes (from the
headers); what needs the architecture (KV cache, speed, accelerators) is left out, with why.
Quantized checkpoints are read as the model's parameters (checkpoint.py): the scheme comes from
config.json's quantization_config, a quantize_config.json beside it, or the tensor names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airlock import hf_cache
from airlock.fit import checkpoint, params, quant_layout
from airlock.fit.arch import Arch, from_config
from airlock.fit.arch_gguf import from_gguf
from airlock.fit.checkpoint import Contents
from airlock.fit.formulas import not_counted
from airlock.fit.params import Tensor
from airlock.headers.gguf_index import read_index
from airlock.headers.safetensors import read_header

INDEX = "model.safetensors.index.json"


class InputError(ValueError):
    """A path `airlock fit` cannot size: missing, unreadable, or holding no model."""


@dataclass(frozen=True)
class Model:
    source: str
    kind: str  # "safetensors", "gguf" or "config"
    exact: bool  # counted from headers, not from a formula
    files: int
    contents: Contents  # the parameters, and what is stored beside them
    arch: Arch | None  # None: no config.json for these safetensors (`no_arch` says so)
    no_arch: str = ""
    not_counted: tuple[str, ...] = ()  # parts of a config-only model no formula covers

    @property
    def tensors(self) -> tuple[Tensor, ...]:
        return self.contents.tensors


def load(path: Path) -> Model:
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if path.is_dir():
        return _folder(snapshot(path), str(path))
    with path.open("rb") as handle:
        head = handle.read(9)
    if head[:4] == b"GGUF":
        return _gguf(path, str(path))
    if len(head) == 9 and head[8:9] == b"{":  # an 8-byte length, then the JSON header
        return _safetensors([path], _config(path.parent / "config.json"), str(path))
    if path.suffix == ".json":
        config = _config(path)
        assert config is not None
        return _formula(config, str(path))
    raise InputError(f"{path}: not a GGUF, safetensors or config.json file")


def snapshot(path: Path) -> Path:
    """A Hugging Face cache repository folder means the snapshot its `main` ref names."""
    if hf_cache.repo_folder(path) is None:
        return path
    found = hf_cache.snapshots(path)
    main = path / "refs" / "main"
    if main.is_file():
        wanted = main.read_text("utf-8").strip()
        found = [snapshot for snapshot in found if snapshot.name == wanted] or found
    if not found:
        raise InputError(f"{path}: the cache repository has no snapshot")
    return found[-1]


def _folder(folder: Path, display: str) -> Model:
    config = _config(folder / "config.json")
    shards = _shards(folder)
    if shards and config is not None:
        return _safetensors(shards, config, display)
    ggufs = sorted(folder.glob("*.gguf"))
    if len(ggufs) == 1:
        return _gguf(ggufs[0], display)
    if len(ggufs) > 1:
        raise InputError(f"{display}: {len(ggufs)} GGUF files; pass the one to size")
    if shards:
        return _safetensors(shards, None, display)
    if config is None:
        raise InputError(f"{display}: no config.json, safetensors or GGUF file to size")
    return _formula(config, display)


def _formula(config: dict[str, Any], display: str) -> Model:
    contents = checkpoint.from_formula(config, params.from_config(config))
    return Model(
        display, "config", False, 1, contents, from_config(config), not_counted=not_counted(config)
    )


def _shards(folder: Path) -> list[Path]:
    index = folder / INDEX
    if not index.is_file():
        return sorted(folder.glob("*.safetensors"))
    weight_map = _json(index).get("weight_map")
    if not isinstance(weight_map, dict):
        raise InputError(f"{index}: no weight_map")
    shards = []
    for name in sorted(set(map(str, weight_map.values()))):
        shard = folder / name
        if shard.resolve().parent != folder.resolve() or not shard.is_file():
            raise InputError(f"{index}: shard {name!r} is missing or outside the folder")
        shards.append(shard)
    return shards


def _safetensors(shards: list[Path], config: dict[str, Any] | None, display: str) -> Model:
    stored = [tensor for shard in shards for tensor in params.from_safetensors(read_header(shard))]
    qconfig, found_in = _quant_config(config, shards[0].parent)
    contents = checkpoint.from_safetensors(stored, config, qconfig, found_in)
    if config is not None:
        shapes = {tensor.name: tensor.shape for tensor in contents.tensors}
        arch = from_config(config, shapes)
        return Model(display, "safetensors", True, len(shards), contents, arch)
    # The KV cache, memory total, fit and speed need the architecture config.json holds.
    no_arch = "no config.json beside the safetensors"
    return Model(display, "safetensors", True, len(shards), contents, None, no_arch)


def _quant_config(config: dict[str, Any] | None, folder: Path) -> tuple[dict[str, Any] | None, str]:
    """quantization_config and where it was found; older exports keep it in its own file."""
    stated = config.get("quantization_config") if config is not None else None
    if isinstance(stated, dict):
        return stated, "config.json"
    for name, method in quant_layout.config_files():
        if (folder / name).is_file():
            return {"quant_method": method, **_json(folder / name)}, name
    return None, ""


def _gguf(path: Path, display: str) -> Model:
    index = read_index(path)
    tensors = tuple(params.from_gguf(index.tensors))
    embedding = next((t for t in tensors if t.name == "token_embd.weight"), None)
    vocab = embedding.shape[-1] if embedding is not None else 0
    contents = checkpoint.from_gguf(tensors)
    return Model(display, "gguf", True, 1, contents, from_gguf(index.metadata, vocab))


def _config(path: Path) -> dict[str, Any] | None:
    return _json(path) if path.is_file() else None


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: cannot read it as JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a JSON object")
    return data
