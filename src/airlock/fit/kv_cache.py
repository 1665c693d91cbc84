"""KV cache: the bytes each token of context keeps per sequence, and the total at a context.

Standard and grouped-query attention keep a key and a value per KV head per layer:
2 x kv_layers x kv_heads x head_dim x bytes (Llama-3.1-8B in bf16: 131,072 bytes per token).
Multi-head latent attention (DeepSeek-V2/V3) keeps one compressed latent and the rotary key:
layers x (kv_lora_rank + qk_rope_head_dim) x bytes, as vLLM and llama.cpp store it.
Sliding-window layers (Mistral v0.1, Gemma 2/3, hybrid `layer_types`) stop growing at the
window, so long contexts cost far less than the per-token figure suggests.
Encoder-only models generate nothing and keep no cache. An encoder-decoder's decoder also keeps
a cross-attention key and value per encoder position, fixed per sequence: Whisper attends to
1500 audio frames (30 s), T5-style models to their input (taken as the context).
"""

from __future__ import annotations

from dataclasses import dataclass

from airlock.fit.arch import Arch
from airlock.fit.families import ENCODER_DECODER


@dataclass(frozen=True)
class KvCache:
    bytes_per_token: int  # per sequence, before any window cap
    context: int
    batch: int
    total_bytes: int  # at context x batch, windows applied
    dtype_bytes: int
    layers: int
    windowed_layers: int
    window: int | None
    latent: bool  # multi-head latent attention
    cross_tokens: int = 0  # encoder positions each sequence's cross-attention cache holds
    cross_bytes: int = 0  # that cache, per sequence (in total_bytes, times the batch)


def layer_bytes_per_token(arch: Arch) -> int:
    if arch.kv_lora_rank:
        return (arch.kv_lora_rank + arch.rope_head_dim) * arch.kv_dtype_bytes
    return 2 * arch.kv_heads * arch.head_dim * arch.kv_dtype_bytes


def kv_cache(arch: Arch, context: int, batch: int) -> KvCache:
    per_layer = layer_bytes_per_token(arch)
    windowed = sum(arch.sliding[: arch.kv_layers]) if arch.window else 0
    cached_tokens = (arch.kv_layers - windowed) * context
    if windowed and arch.window:
        cached_tokens += windowed * min(context, arch.window)
    cross_tokens = (arch.cross_tokens or context) if arch.kind == ENCODER_DECODER else 0
    cross_bytes = per_layer * arch.kv_layers * cross_tokens
    return KvCache(
        bytes_per_token=per_layer * arch.kv_layers,
        context=context,
        batch=batch,
        total_bytes=(per_layer * cached_tokens + cross_bytes) * batch,
        dtype_bytes=arch.kv_dtype_bytes,
        layers=arch.kv_layers,
        windowed_layers=windowed,
        window=arch.window if windowed else None,
        latent=bool(arch.kv_lora_rank),
        cross_tokens=cross_tokens,
        cross_bytes=cross_bytes,
    )
