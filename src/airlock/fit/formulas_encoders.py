"""Tensor shapes of encoder-only models from config.json: DeBERTa-v2/v3, ModernBERT, NomicBERT.

Each is the base model as transformers (or the publisher's remote code) builds it, named as in a
checkpoint of that base model; task heads (masked-LM, classifier) are not included, and
formulas.not_counted says so. BERT, RoBERTa and XLM-RoBERTa share formulas_other.bert_shapes.
Checked against the publishers' counts: DebertaV2Model(deberta-v3-base) 183,831,552;
ModernBertModel(ModernBERT-base) 149,014,272; nomic-embed-text-v1.5 136,731,648.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airlock.fit.arch import ConfigError, get_int
from airlock.fit.formulas_decoder import Shapes
from airlock.fit.formulas_other import layer_norm, linear

_NOMIC_BIASES = ("qkv_proj_bias", "mlp_fc1_bias", "mlp_fc2_bias")


def deberta_v2_shapes(cfg: Mapping[str, Any]) -> Shapes:
    """transformers modeling_deberta_v2: DebertaV2Embeddings, DisentangledSelfAttention,
    DebertaV2Encoder (relative position embeddings, their LayerNorm, the optional ConvLayer)."""
    hidden, inner = get_int(cfg, "hidden_size"), get_int(cfg, "intermediate_size")
    width = get_int(cfg, "embedding_size", default=hidden)
    positions = get_int(cfg, "max_position_embeddings")
    yield "embeddings.word_embeddings.weight", (get_int(cfg, "vocab_size"), width)
    if cfg.get("position_biased_input", True):
        yield "embeddings.position_embeddings.weight", (positions, width)
    types = get_int(cfg, "type_vocab_size", default=0)
    if types:
        yield "embeddings.token_type_embeddings.weight", (types, width)
    if width != hidden:
        yield from linear("embeddings.embed_proj", hidden, width, bias=False)
    yield from layer_norm("embeddings.LayerNorm", hidden)
    relative = bool(cfg.get("relative_attention", False))
    kinds = cfg.get("pos_att_type") or []
    if isinstance(kinds, str):
        kinds = [kind.strip() for kind in kinds.lower().split("|")]
    separate_keys = relative and not cfg.get("share_att_key", False)
    for i in range(get_int(cfg, "num_hidden_layers")):
        p = f"encoder.layer.{i}."
        for name in ("query_proj", "key_proj", "value_proj"):
            yield from linear(f"{p}attention.self.{name}", hidden, hidden)
        if separate_keys and "c2p" in kinds:
            yield from linear(p + "attention.self.pos_key_proj", hidden, hidden)
        if separate_keys and "p2c" in kinds:
            yield from linear(p + "attention.self.pos_query_proj", hidden, hidden)
        yield from linear(p + "attention.output.dense", hidden, hidden)
        yield from layer_norm(p + "attention.output.LayerNorm", hidden)
        yield from linear(p + "intermediate.dense", inner, hidden)
        yield from linear(p + "output.dense", hidden, inner)
        yield from layer_norm(p + "output.LayerNorm", hidden)
    if relative:  # -1 (the default) means "unset" for both keys
        buckets = _positive(cfg, "position_buckets") or _positive(cfg, "max_relative_positions")
        yield "encoder.rel_embeddings.weight", (2 * (buckets or positions), hidden)
    norms = str(cfg.get("norm_rel_ebd", "none")).lower().split("|")
    if "layer_norm" in (norm.strip() for norm in norms):
        yield from layer_norm("encoder.LayerNorm", hidden)
    kernel = get_int(cfg, "conv_kernel_size", default=0)
    if kernel:
        groups = get_int(cfg, "conv_groups", default=1)
        yield "encoder.conv.conv.weight", (hidden, hidden // groups, kernel)
        yield "encoder.conv.conv.bias", (hidden,)
        yield from layer_norm("encoder.conv.LayerNorm", hidden)


def _positive(cfg: Mapping[str, Any], key: str) -> int:
    value = cfg.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and value < 1:
        return 0
    return get_int(cfg, key, default=0)


def modernbert_shapes(cfg: Mapping[str, Any]) -> Shapes:
    """transformers modeling_modernbert: the first layer has no attention norm (an Identity)."""
    hidden, inner = get_int(cfg, "hidden_size"), get_int(cfg, "intermediate_size")
    norm_bias = bool(cfg.get("norm_bias", False))
    attention_bias, mlp_bias = bool(cfg.get("attention_bias")), bool(cfg.get("mlp_bias"))
    yield "embeddings.tok_embeddings.weight", (get_int(cfg, "vocab_size"), hidden)
    yield from layer_norm("embeddings.norm", hidden, bias=norm_bias)
    for i in range(get_int(cfg, "num_hidden_layers")):
        p = f"layers.{i}."
        if i:
            yield from layer_norm(p + "attn_norm", hidden, bias=norm_bias)
        yield from linear(p + "attn.Wqkv", 3 * hidden, hidden, bias=attention_bias)
        yield from linear(p + "attn.Wo", hidden, hidden, bias=attention_bias)
        yield from layer_norm(p + "mlp_norm", hidden, bias=norm_bias)
        yield from linear(p + "mlp.Wi", 2 * inner, hidden, bias=mlp_bias)
        yield from linear(p + "mlp.Wo", hidden, inner, bias=mlp_bias)
    yield from layer_norm("final_norm", hidden, bias=norm_bias)


def nomic_bert_shapes(cfg: Mapping[str, Any]) -> Shapes:
    """nomic-ai's NomicBertModel (remote code) as nomic-embed-text-v1/v1.5 configure it: rotary
    positions, SwiGLU (fc11, fc12, fc2), post-norm, no biases on the linear layers. Other
    settings of that code (learned positions, MoE layers, pre-norm, biases) have no formula."""
    biased = any(cfg.get(key) is not False for key in _NOMIC_BIASES)
    if (
        cfg.get("activation_function") != "swiglu"
        or cfg.get("prenorm")
        or biased
        or get_int(cfg, "num_experts", default=0)
        or not cfg.get("rotary_emb_fraction")
    ):
        raise ConfigError(
            "config.json nomic_bert: only the layout of nomic-embed-text (rotary, SwiGLU, "
            "post-norm, dense, no linear biases) has a formula; pass the folder with its "
            "safetensors files"
        )
    hidden, inner = get_int(cfg, "n_embd"), get_int(cfg, "n_inner")
    yield "embeddings.word_embeddings.weight", (get_int(cfg, "vocab_size"), hidden)
    types = get_int(cfg, "type_vocab_size", default=0)
    if types:
        yield "embeddings.token_type_embeddings.weight", (types, hidden)
    yield from layer_norm("emb_ln", hidden)
    for i in range(get_int(cfg, "n_layer")):
        p = f"encoder.layers.{i}."
        yield from linear(p + "attn.Wqkv", 3 * hidden, hidden, bias=False)
        yield from linear(p + "attn.out_proj", hidden, hidden, bias=False)
        yield from linear(p + "mlp.fc11", inner, hidden, bias=False)
        yield from linear(p + "mlp.fc12", inner, hidden, bias=False)
        yield from linear(p + "mlp.fc2", hidden, inner, bias=False)
        yield from layer_norm(p + "norm1", hidden)
        yield from layer_norm(p + "norm2", hidden)
