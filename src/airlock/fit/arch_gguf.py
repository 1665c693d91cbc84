"""Architecture numbers from GGUF metadata (`<arch>.block_count`, `<arch>.attention.*`, ...)."""

from __future__ import annotations

from collections.abc import Mapping

from airlock.fit.arch import Arch, ConfigError, bounded
from airlock.fit.families import ENCODER, gguf_kind
from airlock.headers.gguf_index import Value


def from_gguf(meta: Mapping[str, Value], vocab: int) -> Arch:
    """`vocab` comes from the token embedding's shape: token lists are not kept."""
    name = meta.get("general.architecture")
    if not isinstance(name, str):
        raise ConfigError("GGUF metadata has no general.architecture")

    def number(key: str, default: int | None = None) -> int:
        value = meta.get(f"{name}.{key}")
        if isinstance(value, tuple) and value:  # per-layer values: the largest bounds memory
            value = max(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return bounded("GGUF metadata", f"{name}.{key}", value, required=default is None)
        if default is None:
            raise ConfigError(f"GGUF metadata has no {name}.{key}")
        return default

    layers, hidden = number("block_count"), number("embedding_length")
    heads = number("attention.head_count")
    window = number("attention.sliding_window", 0) or None
    latent = number("attention.kv_lora_rank", 0)
    kind = gguf_kind(name)
    return Arch(
        model_type=name,
        layers=layers,
        hidden=hidden,
        heads=heads,
        kv_heads=number("attention.head_count_kv", heads),
        head_dim=number("attention.key_length", hidden // heads),
        vocab=vocab,
        intermediate=number("feed_forward_length", 4 * hidden),
        max_context=number("context_length", 0) or None,
        kv_dtype_bytes=2,  # llama.cpp's default cache type is f16
        kv_layers=0 if kind == ENCODER else layers,  # an encoder generates nothing: no cache
        experts=number("expert_count", 0),
        experts_per_token=number("expert_used_count", 0),
        kv_lora_rank=latent,
        rope_head_dim=number("rope.dimension_count", 0) if latent else 0,
        window=window,
        sliding=_sliding(name, layers) if window else (),
        kind=kind,
    )


def _sliding(name: str, layers: int) -> tuple[bool, ...]:
    if name == "gemma2":
        return tuple(i % 2 == 0 for i in range(layers))
    if name == "gemma3":
        return tuple((i + 1) % 6 != 0 for i in range(layers))
    return (True,) * layers
