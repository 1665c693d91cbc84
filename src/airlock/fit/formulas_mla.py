"""DeepSeek-V2/V3 tensor shapes: multi-head latent attention and fine-grained experts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airlock.fit.arch import from_config, get_int, tied
from airlock.fit.formulas_decoder import Shapes, gated_mlp


def deepseek_shapes(cfg: Mapping[str, Any]) -> Shapes:
    arch = from_config(cfg)
    hidden, heads = arch.hidden, arch.heads
    rope, nope = arch.rope_head_dim, get_int(cfg, "qk_nope_head_dim")
    v_dim, q_rank = get_int(cfg, "v_head_dim"), get_int(cfg, "q_lora_rank", default=0)
    moe = get_int(cfg, "moe_intermediate_size")
    first_dense = get_int(cfg, "first_k_dense_replace", default=0)
    shared = get_int(cfg, "n_shared_experts", default=0)
    # V3 routes with a learned per-expert bias ("noaux_tc"); V2 does not.
    score_bias = cfg.get("topk_method") == "noaux_tc" or arch.model_type == "deepseek_v3"
    yield "model.embed_tokens.weight", (arch.vocab, hidden)
    for i in range(arch.layers):
        attn = f"model.layers.{i}.self_attn."
        if q_rank:  # queries through a low-rank bottleneck too
            yield attn + "q_a_proj.weight", (q_rank, hidden)
            yield attn + "q_a_layernorm.weight", (q_rank,)
            yield attn + "q_b_proj.weight", (heads * (nope + rope), q_rank)
        else:
            yield attn + "q_proj.weight", (heads * (nope + rope), hidden)
        yield attn + "kv_a_proj_with_mqa.weight", (arch.kv_lora_rank + rope, hidden)
        yield attn + "kv_a_layernorm.weight", (arch.kv_lora_rank,)
        yield attn + "kv_b_proj.weight", (heads * (nope + v_dim), arch.kv_lora_rank)
        yield attn + "o_proj.weight", (hidden, heads * v_dim)
        mlp = f"model.layers.{i}.mlp."
        if i < first_dense:
            yield from gated_mlp(mlp, hidden, arch.intermediate)
        else:
            yield mlp + "gate.weight", (arch.experts, hidden)
            if score_bias:
                yield mlp + "gate.e_score_correction_bias", (arch.experts,)
            for e in range(arch.experts):
                yield from gated_mlp(f"{mlp}experts.{e}.", hidden, moe)
            if shared:
                yield from gated_mlp(mlp + "shared_experts.", hidden, moe * shared)
        for norm in ("input_layernorm", "post_attention_layernorm"):
            yield f"model.layers.{i}.{norm}.weight", (hidden,)
    yield "model.norm.weight", (hidden,)
    if not tied(cfg):
        yield "lm_head.weight", (arch.vocab, hidden)
