"""The few architecture numbers sizing needs, from a config.json or GGUF metadata."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airlock.fit.families import (
    DECODER,
    ENCODER,
    ENCODER_DECODER,
    Completed,
    Filled,
    complete,
    family,
    kind_of,
)

_DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
# Architectures whose config.json ties the output projection to the embeddings by default.
_TIED_BY_DEFAULT = ("gemma", "bert", "t5", "whisper")


# Bounds on architecture numbers, far above any real model (the largest have about 130 layers
# and 384 experts): a typo or a hostile number is a ConfigError, not a division by zero or
# formulas that make tensors for a trillion layers.
MAX_REPEATS = 100_000  # layers and experts: the formulas make tensors for each
MAX_NUMBER = 2**40
# Layers x experts: DeepSeek-V3 has 61 x 256; beyond this the formulas would take minutes.
MAX_EXPERT_LAYERS = 1_000_000
_REPEATS = ("layer", "block_count", "expert")


class ConfigError(ValueError):
    """A config that says too little to size the model."""


def bounded(source: str, key: str, value: int, required: bool) -> int:
    """`value` if it is a usable size: at least 1 when required (0 reads as "none" otherwise)."""
    low = 1 if required else 0
    high = MAX_REPEATS if any(part in key for part in _REPEATS) else MAX_NUMBER
    if not low <= value <= high:
        raise ConfigError(f"{source} {key} is {value:,}: expected {low} to {high:,}")
    return value


@dataclass(frozen=True)
class Arch:
    model_type: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    intermediate: int
    max_context: int | None = None
    kv_dtype_bytes: int = 2
    kv_layers: int = 0  # layers that keep a KV cache: decoder layers, none for encoders
    experts: int = 0
    experts_per_token: int = 0
    kv_lora_rank: int = 0  # multi-head latent attention (DeepSeek-V2/V3)
    rope_head_dim: int = 0
    window: int | None = None
    sliding: tuple[bool, ...] = ()  # per KV layer: True where attention is windowed
    kind: str = DECODER  # decoder, encoder or encoder-decoder (families.py)
    cross_tokens: int = 0  # encoder-decoder: encoder positions cross-attended (0: the context)
    filled: tuple[Filled, ...] = ()  # config values taken from tensor shapes or defaults


def get_int(cfg: Mapping[str, Any], *keys: str, default: int | None = None) -> int:
    """The first of `keys` that holds an integer, else `default`; raises when none does."""
    for key in keys:
        value = cfg.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return bounded("config.json", key, value, required=default is None)
    if default is None:
        raise ConfigError(f"config.json has no {' / '.join(keys)}")
    return default


def text_completed(
    cfg: Mapping[str, Any], shapes: Mapping[str, tuple[int, ...]] | None = None
) -> Completed:
    """The language model's config, its missing keys filled (families.complete). Multimodal
    configs (Gemma 3, Llava, ...) nest it under `text_config`."""
    nested = cfg.get("text_config")
    if isinstance(nested, dict):
        cfg = {**nested, "model_type": nested.get("model_type", cfg.get("model_type"))}
    return complete(cfg, shapes)


def text_config(cfg: Mapping[str, Any]) -> Mapping[str, Any]:
    return text_completed(cfg).config


def tied(cfg: Mapping[str, Any]) -> bool:
    value = cfg.get("tie_word_embeddings")
    if isinstance(value, bool):
        return value
    return str(cfg.get("model_type", "")).startswith(_TIED_BY_DEFAULT)


def from_config(
    raw: Mapping[str, Any], shapes: Mapping[str, tuple[int, ...]] | None = None
) -> Arch:
    """`shapes` (tensor name to shape, from the checkpoint's headers) fill what config.json
    leaves out before the family's defaults do."""
    done = text_completed(raw, shapes)
    cfg, kind = done.config, kind_of(done.config)
    model_type = str(cfg.get("model_type", "")).lower()
    if kind == ENCODER_DECODER:
        return _encoder_decoder(cfg, model_type, done.filled, _dtype_bytes(raw))
    hidden = get_int(cfg, "hidden_size", "n_embd", "d_model")
    heads = get_int(cfg, "num_attention_heads", "n_head")
    layers = get_int(cfg, "num_hidden_layers", "n_layer")
    window = cfg.get("sliding_window") if isinstance(cfg.get("sliding_window"), int) else None
    experts = get_int(cfg, "num_local_experts", "num_experts", "n_routed_experts", default=0)
    if layers * max(experts, 1) > MAX_EXPERT_LAYERS:
        raise ConfigError(
            f"config.json has {layers:,} layers of {experts:,} experts: far more than any "
            f"model (at most {MAX_EXPERT_LAYERS:,} expert layers are sized)"
        )
    return Arch(
        model_type=model_type,
        layers=layers,
        hidden=hidden,
        heads=heads,
        kv_heads=get_int(cfg, "num_key_value_heads", default=heads),
        head_dim=get_int(cfg, "head_dim", default=hidden // heads),
        vocab=get_int(cfg, "vocab_size"),
        intermediate=get_int(cfg, "intermediate_size", "n_inner", default=4 * hidden),
        max_context=get_int(cfg, "max_position_embeddings", "n_positions", default=0) or None,
        kv_dtype_bytes=_dtype_bytes(raw),
        kv_layers=0 if kind == ENCODER else layers,  # an encoder generates nothing: no cache
        experts=experts,
        experts_per_token=get_int(cfg, "num_experts_per_tok", default=0),
        kv_lora_rank=get_int(cfg, "kv_lora_rank", default=0),
        rope_head_dim=get_int(cfg, "qk_rope_head_dim", default=0),
        window=window,
        sliding=_sliding_layers(cfg, model_type, layers, window),
        kind=kind,
        filled=done.filled,
    )


def _encoder_decoder(
    cfg: Mapping[str, Any], model_type: str, filled: tuple[Filled, ...], dtype_bytes: int
) -> Arch:
    hidden = get_int(cfg, "d_model")
    if model_type == "t5":
        heads, layers = get_int(cfg, "num_heads"), get_int(cfg, "num_decoder_layers", "num_layers")
        head_dim, ffn = get_int(cfg, "d_kv"), get_int(cfg, "d_ff")
        max_context = None
    else:
        heads, layers = get_int(cfg, "decoder_attention_heads"), get_int(cfg, "decoder_layers")
        head_dim, ffn = hidden // heads, get_int(cfg, "decoder_ffn_dim")
        max_context = get_int(cfg, "max_target_positions", "max_position_embeddings", default=0)
    found = family(model_type)
    cross_key = found.cross_attention_tokens if found else None
    return Arch(
        model_type=model_type,
        layers=layers,
        hidden=hidden,
        heads=heads,
        kv_heads=heads,
        head_dim=head_dim,
        vocab=get_int(cfg, "vocab_size"),
        intermediate=ffn,
        max_context=max_context or None,
        kv_dtype_bytes=dtype_bytes,
        kv_layers=layers,
        kind=ENCODER_DECODER,
        cross_tokens=get_int(cfg, cross_key) if cross_key else 0,
        filled=filled,
    )


def _dtype_bytes(cfg: Mapping[str, Any]) -> int:
    dtype = cfg.get("dtype", cfg.get("torch_dtype"))
    return _DTYPE_BYTES.get(str(dtype), 2)


def _sliding_layers(
    cfg: Mapping[str, Any], model_type: str, layers: int, window: int | None
) -> tuple[bool, ...]:
    """Which layers attend within a window (their KV cache stops growing at the window)."""
    types = cfg.get("layer_types")
    if isinstance(types, list) and len(types) == layers:
        return tuple(kind == "sliding_attention" for kind in types)
    if window is None:
        return ()
    if model_type == "gemma2":  # even layers local, odd global (transformers Gemma2)
        return tuple(i % 2 == 0 for i in range(layers))
    if model_type.startswith("gemma3"):  # 5 local layers, then one global
        pattern = get_int(cfg, "sliding_window_pattern", default=6) or 6
        return tuple((i + 1) % pattern != 0 for i in range(layers))
    if model_type.startswith("qwen"):
        if not cfg.get("use_sliding_window"):
            return ()
        first = get_int(cfg, "max_window_layers", default=layers)
        return tuple(i >= first for i in range(layers))
    return (True,) * layers  # Mistral v0.1 style: every layer windowed
