"""Tiny image- and speech-model folders written on the spot, laid out as the real ones are:
a diffusers pipeline (model_index.json, one folder per component, configs as diffusers and
transformers save them, random safetensors weights, a CLIP tokenizer's files) and a Piper voice
(a small ONNX graph made with onnx.helper, its `.onnx.json`, espeak-ng data and tokens.txt)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

MODEL_INDEX = {
    "_class_name": "StableDiffusionPipeline",
    "_diffusers_version": "0.42.1",
    "feature_extractor": [None, None],
    "image_encoder": [None, None],
    "requires_safety_checker": False,
    "safety_checker": [None, None],
    "scheduler": ["diffusers", "PNDMScheduler"],
    "text_encoder": ["transformers", "CLIPTextModel"],
    "tokenizer": ["transformers", "CLIPTokenizer"],
    "unet": ["diffusers", "UNet2DConditionModel"],
    "vae": ["diffusers", "AutoencoderKL"],
}
UNET = {
    "_class_name": "UNet2DConditionModel",
    "_diffusers_version": "0.42.1",
    "sample_size": 8,
    "in_channels": 4,
    "out_channels": 4,
    "block_out_channels": [8, 16],
    "layers_per_block": 1,
    "cross_attention_dim": 16,
    "attention_head_dim": 2,
    "norm_num_groups": 4,
    "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
}
VAE = {
    "_class_name": "AutoencoderKL",
    "_diffusers_version": "0.42.1",
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "block_out_channels": [8, 16],
    "layers_per_block": 1,
    "norm_num_groups": 4,
    "sample_size": 16,
    "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D"],
    "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"],
}
TEXT_ENCODER = {
    "architectures": ["CLIPTextModel"],
    "model_type": "clip_text_model",
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_attention_heads": 2,
    "num_hidden_layers": 2,
    "max_position_embeddings": 77,
    "vocab_size": 64,
    "projection_dim": 16,
    "torch_dtype": "float32",
}
SCHEDULER = {
    "_class_name": "PNDMScheduler",
    "_diffusers_version": "0.42.1",
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000,
    "skip_prk_steps": True,
}


def _weights(path: Path, shapes: dict[str, tuple[int, ...]], seed: int) -> None:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(
        {name: rng.standard_normal(shape).astype(np.float32) for name, shape in shapes.items()},
        str(path),
    )


def _json(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2))


# Tensors named and shaped as the real components' are (a few per component: `fit` sums what
# the headers hold, the scan reads them).
UNET_TENSORS = {
    "conv_in.weight": (8, 4, 3, 3),
    "conv_in.bias": (8,),
    "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight": (8, 16),
    "mid_block.resnets.0.conv1.weight": (16, 16, 3, 3),
    "conv_out.weight": (4, 8, 3, 3),
}
VAE_TENSORS = {
    "encoder.conv_in.weight": (8, 3, 3, 3),
    "decoder.conv_in.weight": (16, 4, 3, 3),
    "decoder.conv_out.weight": (3, 8, 3, 3),
    "quant_conv.weight": (8, 8, 1, 1),
}
TEXT_ENCODER_TENSORS = {
    "text_model.embeddings.token_embedding.weight": (64, 16),
    "text_model.embeddings.position_embedding.weight": (77, 16),
    "text_model.encoder.layers.0.mlp.fc1.weight": (32, 16),
    "text_model.final_layer_norm.weight": (16,),
}


def diffusers_pipeline(folder: Path, model_index: dict[str, Any] | None = None) -> Path:
    """A Stable Diffusion 1.x-shaped pipeline folder with tiny random weights."""
    _json(folder / "model_index.json", model_index if model_index is not None else MODEL_INDEX)
    _json(folder / "unet" / "config.json", UNET)
    _json(folder / "vae" / "config.json", VAE)
    _json(folder / "text_encoder" / "config.json", TEXT_ENCODER)
    _json(folder / "scheduler" / "scheduler_config.json", SCHEDULER)
    _weights(folder / "unet" / "diffusion_pytorch_model.safetensors", UNET_TENSORS, 1)
    _weights(folder / "vae" / "diffusion_pytorch_model.safetensors", VAE_TENSORS, 2)
    _weights(folder / "text_encoder" / "model.safetensors", TEXT_ENCODER_TENSORS, 3)
    tokenizer = folder / "tokenizer"
    vocab = {
        "<|startoftext|>": 0,
        "<|endoftext|>": 1,
        # Every letter alone and word-final, and the one merge's result: a consistent BPE.
        **{f"{c}": i + 2 for i, c in enumerate("abcdefgh")},
        **{f"{c}</w>": i + 10 for i, c in enumerate("abcdefgh")},
        "ab</w>": 18,
    }
    _json(tokenizer / "vocab.json", vocab)
    (tokenizer / "merges.txt").write_text("#version: 0.2\na b</w>\n")
    _json(
        tokenizer / "special_tokens_map.json",
        {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>"},
    )
    _json(
        tokenizer / "tokenizer_config.json",
        {"tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "do_lower_case": True},
    )
    return folder


PIPER_CONFIG = {
    "audio": {"sample_rate": 16000, "quality": "x_low"},
    "espeak": {"voice": "en-us"},
    "inference": {"noise_scale": 0.667, "length_scale": 1, "noise_w": 0.8},
    "phoneme_type": "espeak",
    "phoneme_map": {},
    "phoneme_id_map": {"_": [0], "^": [1], "$": [2], " ": [3], "a": [14], "b": [15]},
    "num_symbols": 16,
    "num_speakers": 1,
    "speaker_id_map": {},
    "piper_version": "1.0.0",
    "language": {"code": "en_US"},
    "dataset": "tiny",
}


def piper_voice(folder: Path) -> Path:
    """A Piper-shaped voice: `<voice>.onnx` (a tiny graph with Piper's inputs and a weight
    initializer), `<voice>.onnx.json`, and the run-time side artefacts a sherpa-onnx export ships
    (tokens.txt, espeak-ng-data/ with binary phoneme tables)."""
    from onnx import TensorProto, helper, numpy_helper, save

    folder.mkdir(parents=True, exist_ok=True)
    weight = numpy_helper.from_array(
        np.random.default_rng(4).standard_normal((16, 8)).astype(np.float32), "emb.weight"
    )
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["emb.weight", "input"], ["embedded"]),
            helper.make_node("ReduceMean", ["embedded"], ["output"], keepdims=0),
        ],
        "piper-tiny",
        [
            helper.make_tensor_value_info("input", TensorProto.INT64, [1, None]),
            helper.make_tensor_value_info("input_lengths", TensorProto.INT64, [1]),
            helper.make_tensor_value_info("scales", TensorProto.FLOAT, [3]),
        ],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, None)],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    save(model, str(folder / "en_US-tiny-x_low.onnx"))
    _json(folder / "en_US-tiny-x_low.onnx.json", PIPER_CONFIG)
    (folder / "tokens.txt").write_text("_ 0\n^ 1\n$ 2\n  3\na 14\nb 15\n")
    espeak = folder / "espeak-ng-data"
    (espeak / "voices" / "!v").mkdir(parents=True)
    rng = np.random.default_rng(5)
    for name in ("phontab", "phonindex", "phondata", "intonations", "en_dict"):
        (espeak / name).write_bytes(rng.bytes(512))
    (espeak / "lang" / "gmw").mkdir(parents=True)
    (espeak / "lang" / "gmw" / "en-US").write_text("name English (America)\nlanguage en-us 2\n")
    (espeak / "voices" / "!v" / "Alex").write_text("language variant\nname Alex\n")
    return folder
