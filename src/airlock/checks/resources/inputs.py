"""What `airlock fit` was pointed at, read as tensors and architecture from headers alone.

A Hugging Face folder (config.json + safetensors, sharded through model.safetensors.index.json),
a Hugging Face cache repository, a GGUF file, a safetensors file beside its config.json, or a
config.json alone (shapes from the architecture's formula). Tensor data is never read.

Safetensors without a config.json still give the exact parameters and weight bytes (from the
headers); what needs the architecture (KV cache, speed, accelerators) is left out, with why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airlock import hf_cache
from airlock.checks.resources import params
from airlock.checks.resources.arch import Arch, from_config
from airlock.checks.resources.arch_gguf import from_gguf
from airlock.checks.resources.params import Tensor
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
    tensors: tuple[Tensor, ...]
    arch: Arch | None  # None: no config.json for these safetensors (`no_arch` says so)
    no_arch: str = ""


def load(path: Path) -> Model:
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if path.is_dir():
        return _folder(_snapshot(path), str(path))
    with path.open("rb") as handle:
        head = handle.read(9)
    if head[:4] == b"GGUF":
        return _gguf(path, str(path))
    if len(head) == 9 and head[8:9] == b"{":  # an 8-byte length, then the JSON header
        return _safetensors([path], _config(path.parent / "config.json"), str(path))
    if path.suffix == ".json":
        config = _config(path)
        assert config is not None
        return Model(
            str(path), "config", False, 1, tuple(params.from_config(config)), from_config(config)
        )
    raise InputError(f"{path}: not a GGUF, safetensors or config.json file")


def _snapshot(path: Path) -> Path:
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
    return Model(
        display, "config", False, 1, tuple(params.from_config(config)), from_config(config)
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
    tensors = [tensor for shard in shards for tensor in params.from_safetensors(read_header(shard))]
    if config is not None:
        return Model(display, "safetensors", True, len(shards), tuple(tensors), from_config(config))
    return Model(
        display,
        "safetensors",
        True,
        len(shards),
        tuple(tensors),
        None,
        # The KV cache, memory total, fit and speed need the architecture config.json holds.
        "no config.json beside the safetensors",
    )


def _gguf(path: Path, display: str) -> Model:
    index = read_index(path)
    tensors = tuple(params.from_gguf(index.tensors))
    embedding = next((t for t in tensors if t.name == "token_embd.weight"), None)
    vocab = embedding.shape[-1] if embedding is not None else 0
    return Model(display, "gguf", True, 1, tensors, from_gguf(index.metadata, vocab))


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
