"""Tensor shapes of decoder-only transformers from config.json, named as their checkpoints are.

Llama, Mistral, Qwen2/3, Gemma 1/2/3, Phi-3, and the mixture-of-experts variants Mixtral,
Qwen2-MoE, Qwen3-MoE. Counting the shapes gives the parameter count; writing them as a header
gives a checkpoint that reads exactly like the real one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from airlock.fit.arch import Arch, from_config, get_int, text_config, tied

Shape = tuple[int, ...]
Shapes = Iterator[tuple[str, Shape]]

DECODERS = (
    "llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "gemma3_text", "phi3",
    "mixtral", "qwen2_moe", "qwen3_moe",
)  # fmt: skip


def decoder_shapes(raw: Mapping[str, Any]) -> Shapes:
    cfg = text_config(raw)
    arch = from_config(cfg)
    yield "model.embed_tokens.weight", (arch.vocab, arch.hidden)
    for i in range(arch.layers):
        prefix = f"model.layers.{i}."
        yield from _attention(cfg, arch, prefix + "self_attn.")
        yield from _mlp(cfg, arch, i, prefix)
        norms = ["input_layernorm", "post_attention_layernorm"]
        if arch.model_type.startswith(("gemma2", "gemma3")):  # norms before and after each block
            norms += ["pre_feedforward_layernorm", "post_feedforward_layernorm"]
        for norm in norms:
            yield prefix + norm + ".weight", (arch.hidden,)
    yield "model.norm.weight", (arch.hidden,)
    if not tied(cfg):
        yield "lm_head.weight", (arch.vocab, arch.hidden)


def _attention(cfg: Mapping[str, Any], arch: Arch, prefix: str) -> Shapes:
    q_out, kv_out = arch.heads * arch.head_dim, arch.kv_heads * arch.head_dim
    if arch.model_type == "phi3":
        yield prefix + "qkv_proj.weight", (q_out + 2 * kv_out, arch.hidden)
    else:
        qkv_bias = arch.model_type in ("qwen2", "qwen2_moe") or bool(cfg.get("attention_bias"))
        for name, out in (("q_proj", q_out), ("k_proj", kv_out), ("v_proj", kv_out)):
            yield f"{prefix}{name}.weight", (out, arch.hidden)
            if qkv_bias:
                yield f"{prefix}{name}.bias", (out,)
    yield prefix + "o_proj.weight", (arch.hidden, q_out)
    if cfg.get("attention_bias") and arch.model_type not in ("qwen2", "qwen2_moe"):
        yield prefix + "o_proj.bias", (arch.hidden,)
    if arch.model_type.startswith(("qwen3", "gemma3")):  # per-head RMSNorm on queries and keys
        yield prefix + "q_norm.weight", (arch.head_dim,)
        yield prefix + "k_norm.weight", (arch.head_dim,)


def gated_mlp(prefix: str, hidden: int, inner: int, fused: bool = False) -> Shapes:
    if fused:
        yield prefix + "gate_up_proj.weight", (2 * inner, hidden)
    else:
        yield prefix + "gate_proj.weight", (inner, hidden)
        yield prefix + "up_proj.weight", (inner, hidden)
    yield prefix + "down_proj.weight", (hidden, inner)


def _mlp(cfg: Mapping[str, Any], arch: Arch, layer: int, prefix: str) -> Shapes:
    kind = arch.model_type
    if kind == "mixtral":
        yield prefix + "block_sparse_moe.gate.weight", (arch.experts, arch.hidden)
        for e in range(arch.experts):
            expert = f"{prefix}block_sparse_moe.experts.{e}."
            yield expert + "w1.weight", (arch.intermediate, arch.hidden)
            yield expert + "w2.weight", (arch.hidden, arch.intermediate)
            yield expert + "w3.weight", (arch.intermediate, arch.hidden)
        return
    if kind in ("qwen2_moe", "qwen3_moe") and _sparse_layer(cfg, layer, arch.experts):
        moe = get_int(cfg, "moe_intermediate_size")
        yield prefix + "mlp.gate.weight", (arch.experts, arch.hidden)
        for e in range(arch.experts):
            yield from gated_mlp(f"{prefix}mlp.experts.{e}.", arch.hidden, moe)
        shared = get_int(cfg, "shared_expert_intermediate_size", default=0)
        if shared:
            yield from gated_mlp(prefix + "mlp.shared_expert.", arch.hidden, shared)
            yield prefix + "mlp.shared_expert_gate.weight", (1, arch.hidden)
        return
    yield from gated_mlp(prefix + "mlp.", arch.hidden, arch.intermediate, fused=kind == "phi3")


def _sparse_layer(cfg: Mapping[str, Any], layer: int, experts: int) -> bool:
    """Qwen MoE: every `decoder_sparse_step`-th layer is sparse, except `mlp_only_layers`."""
    step = get_int(cfg, "decoder_sparse_step", default=1) or 1
    only_mlp = cfg.get("mlp_only_layers") or []
    return experts > 0 and layer not in only_mlp and (layer + 1) % step == 0
