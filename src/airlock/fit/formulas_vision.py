"""Tensor shapes of the vision towers and projectors of multimodal configs (`vision_config`).

SigLIP (siglip_vision_model) and CLIP-ViT (clip_vision_model), as transformers builds them, and
the projectors joining them to the language model. Checked against the published totals:
Gemma3ForConditionalGeneration(google/gemma-3-4b-it) 4,300,079,472 parameters (SigLIP tower
416,866,032: the Gemma 3 report's "417M vision encoder"), LlavaForConditionalGeneration
(llava-hf/llava-1.5-7b-hf) 7,063,427,072.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airlock.fit.arch import get_int
from airlock.fit.formulas_decoder import Shapes
from airlock.fit.formulas_other import layer_norm, linear


def _patches(cfg: Mapping[str, Any]) -> int:
    return (get_int(cfg, "image_size") // get_int(cfg, "patch_size")) ** 2


def _encoder(p: str, cfg: Mapping[str, Any]) -> Shapes:
    hidden, inner = get_int(cfg, "hidden_size"), get_int(cfg, "intermediate_size")
    for i in range(get_int(cfg, "num_hidden_layers")):
        layer = f"{p}encoder.layers.{i}."
        for name in ("k_proj", "v_proj", "q_proj", "out_proj"):
            yield from linear(f"{layer}self_attn.{name}", hidden, hidden)
        yield from layer_norm(layer + "layer_norm1", hidden)
        yield from linear(layer + "mlp.fc1", inner, hidden)
        yield from linear(layer + "mlp.fc2", hidden, inner)
        yield from layer_norm(layer + "layer_norm2", hidden)


def siglip_shapes(p: str, cfg: Mapping[str, Any]) -> Shapes:
    """SiglipVisionTransformer; the attention-pooling head unless `vision_use_head` is false."""
    hidden, patch = get_int(cfg, "hidden_size"), get_int(cfg, "patch_size")
    yield f"{p}embeddings.patch_embedding.weight", (
        hidden, get_int(cfg, "num_channels"), patch, patch,
    )  # fmt: skip
    yield f"{p}embeddings.patch_embedding.bias", (hidden,)
    yield f"{p}embeddings.position_embedding.weight", (_patches(cfg), hidden)
    yield from _encoder(p, cfg)
    yield from layer_norm(p + "post_layernorm", hidden)
    if cfg.get("vision_use_head", True):
        yield f"{p}head.probe", (1, 1, hidden)
        yield f"{p}head.attention.in_proj_weight", (3 * hidden, hidden)
        yield f"{p}head.attention.in_proj_bias", (3 * hidden,)
        yield from linear(p + "head.attention.out_proj", hidden, hidden)
        yield from layer_norm(p + "head.layernorm", hidden)
        inner = get_int(cfg, "intermediate_size")
        yield from linear(p + "head.mlp.fc1", inner, hidden)
        yield from linear(p + "head.mlp.fc2", hidden, inner)


def clip_shapes(p: str, cfg: Mapping[str, Any]) -> Shapes:
    """CLIPVisionTransformer: a class token, an unbiased patch convolution, pre and post norms."""
    hidden, patch = get_int(cfg, "hidden_size"), get_int(cfg, "patch_size")
    yield f"{p}embeddings.class_embedding", (hidden,)
    yield f"{p}embeddings.patch_embedding.weight", (
        hidden, get_int(cfg, "num_channels"), patch, patch,
    )  # fmt: skip
    yield f"{p}embeddings.position_embedding.weight", (_patches(cfg) + 1, hidden)
    yield from layer_norm(p + "pre_layrnorm", hidden)
    yield from _encoder(p, cfg)
    yield from layer_norm(p + "post_layernorm", hidden)


def gemma3_projector(
    vision: Mapping[str, Any], text: Mapping[str, Any], cfg: Mapping[str, Any]
) -> Shapes:
    """Gemma3MultiModalProjector: a bias-free projection and an RMSNorm (the pooling has none)."""
    width = get_int(vision, "hidden_size")
    yield "multi_modal_projector.mm_input_projection_weight", (width, get_int(text, "hidden_size"))
    yield "multi_modal_projector.mm_soft_emb_norm.weight", (width,)


def llava_projector(
    vision: Mapping[str, Any], text: Mapping[str, Any], cfg: Mapping[str, Any]
) -> Shapes:
    """LlavaMultiModalProjector: two linear layers; a list of feature layers is concatenated."""
    layers = cfg.get("vision_feature_layer", -2)
    width = get_int(vision, "hidden_size") * (len(layers) if isinstance(layers, list) else 1)
    out = get_int(text, "hidden_size")
    bias = cfg.get("multimodal_projector_bias", True) is not False
    yield from linear("multi_modal_projector.linear_1", out, width, bias=bias)
    yield from linear("multi_modal_projector.linear_2", out, out, bias=bias)
