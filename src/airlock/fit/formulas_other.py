"""Tensor shapes of GPT-NeoX, BERT, T5 and Whisper from config.json, named as in checkpoints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airlock.fit.arch import get_int, tied
from airlock.fit.formulas_decoder import Shapes


def linear(name: str, out: int, inp: int, bias: bool = True) -> Shapes:
    yield name + ".weight", (out, inp)
    if bias:
        yield name + ".bias", (out,)


def layer_norm(name: str, width: int, bias: bool = True) -> Shapes:
    yield name + ".weight", (width,)
    if bias:
        yield name + ".bias", (width,)


def gpt_neox_shapes(cfg: Mapping[str, Any]) -> Shapes:
    hidden, vocab = get_int(cfg, "hidden_size"), get_int(cfg, "vocab_size")
    inner = get_int(cfg, "intermediate_size", default=4 * hidden)
    yield "gpt_neox.embed_in.weight", (vocab, hidden)
    for i in range(get_int(cfg, "num_hidden_layers")):
        p = f"gpt_neox.layers.{i}."
        yield from layer_norm(p + "input_layernorm", hidden)
        yield from layer_norm(p + "post_attention_layernorm", hidden)
        yield from linear(p + "attention.query_key_value", 3 * hidden, hidden)
        yield from linear(p + "attention.dense", hidden, hidden)
        yield from linear(p + "mlp.dense_h_to_4h", inner, hidden)
        yield from linear(p + "mlp.dense_4h_to_h", hidden, inner)
    yield from layer_norm("gpt_neox.final_layer_norm", hidden)
    if not tied(cfg):
        yield "embed_out.weight", (vocab, hidden)


def bert_shapes(cfg: Mapping[str, Any]) -> Shapes:
    hidden, inner = get_int(cfg, "hidden_size"), get_int(cfg, "intermediate_size")
    yield "embeddings.word_embeddings.weight", (get_int(cfg, "vocab_size"), hidden)
    positions = get_int(cfg, "max_position_embeddings")
    yield "embeddings.position_embeddings.weight", (positions, hidden)
    yield "embeddings.token_type_embeddings.weight", (get_int(cfg, "type_vocab_size"), hidden)
    yield from layer_norm("embeddings.LayerNorm", hidden)
    for i in range(get_int(cfg, "num_hidden_layers")):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            yield from linear(f"{p}attention.self.{name}", hidden, hidden)
        yield from linear(p + "attention.output.dense", hidden, hidden)
        yield from layer_norm(p + "attention.output.LayerNorm", hidden)
        yield from linear(p + "intermediate.dense", inner, hidden)
        yield from linear(p + "output.dense", hidden, inner)
        yield from layer_norm(p + "output.LayerNorm", hidden)
    yield from linear("pooler.dense", hidden, hidden)


def t5_shapes(cfg: Mapping[str, Any]) -> Shapes:
    d, inner = get_int(cfg, "d_model"), get_int(cfg, "num_heads") * get_int(cfg, "d_kv")
    ff, heads = get_int(cfg, "d_ff"), get_int(cfg, "num_heads")
    gated = str(cfg.get("feed_forward_proj", "relu")).startswith("gated")
    yield "shared.weight", (get_int(cfg, "vocab_size"), d)
    encoder_layers = get_int(cfg, "num_layers")
    for stack, layers in (
        ("encoder", encoder_layers),
        ("decoder", get_int(cfg, "num_decoder_layers", default=encoder_layers)),
    ):
        blocks = ["SelfAttention"] + (["EncDecAttention"] if stack == "decoder" else [])
        for i in range(layers):
            for j, block in enumerate(blocks):
                p = f"{stack}.block.{i}.layer.{j}."
                for name in "qkvo":
                    yield from linear(
                        f"{p}{block}.{name}",
                        inner if name != "o" else d,
                        d if name != "o" else inner,
                        bias=False,
                    )
                if i == 0 and block == "SelfAttention":  # relative position buckets, layer 0
                    buckets = get_int(cfg, "relative_attention_num_buckets", default=32)
                    yield p + block + ".relative_attention_bias.weight", (buckets, heads)
                yield from layer_norm(p + "layer_norm", d, bias=False)
            p = f"{stack}.block.{i}.layer.{len(blocks)}."
            for wi in ("wi_0", "wi_1") if gated else ("wi",):
                yield from linear(f"{p}DenseReluDense.{wi}", ff, d, bias=False)
            yield from linear(p + "DenseReluDense.wo", d, ff, bias=False)
            yield from layer_norm(p + "layer_norm", d, bias=False)
        yield from layer_norm(stack + ".final_layer_norm", d, bias=False)
    if not tied(cfg):
        yield "lm_head.weight", (get_int(cfg, "vocab_size"), d)


def _whisper_layer(p: str, d: int, ffn: int, cross: bool) -> Shapes:
    for block in ("self_attn", "encoder_attn") if cross else ("self_attn",):
        yield from linear(f"{p}{block}.k_proj", d, d, bias=False)
        for name in ("v_proj", "q_proj", "out_proj"):
            yield from linear(f"{p}{block}.{name}", d, d)
        yield from layer_norm(f"{p}{block}_layer_norm", d)
    yield from linear(p + "fc1", ffn, d)
    yield from linear(p + "fc2", d, ffn)
    yield from layer_norm(p + "final_layer_norm", d)


def whisper_shapes(cfg: Mapping[str, Any]) -> Shapes:
    d, mels = get_int(cfg, "d_model"), get_int(cfg, "num_mel_bins")
    yield "model.encoder.conv1.weight", (d, mels, 3)
    yield "model.encoder.conv1.bias", (d,)
    yield "model.encoder.conv2.weight", (d, d, 3)
    yield "model.encoder.conv2.bias", (d,)
    yield "model.encoder.embed_positions.weight", (get_int(cfg, "max_source_positions"), d)
    for i in range(get_int(cfg, "encoder_layers")):
        ffn = get_int(cfg, "encoder_ffn_dim")
        yield from _whisper_layer(f"model.encoder.layers.{i}.", d, ffn, cross=False)
    yield from layer_norm("model.encoder.layer_norm", d)
    yield "model.decoder.embed_tokens.weight", (get_int(cfg, "vocab_size"), d)
    yield "model.decoder.embed_positions.weight", (get_int(cfg, "max_target_positions"), d)
    for i in range(get_int(cfg, "decoder_layers")):
        ffn = get_int(cfg, "decoder_ffn_dim")
        yield from _whisper_layer(f"model.decoder.layers.{i}.", d, ffn, cross=True)
    yield from layer_norm("model.decoder.layer_norm", d)
