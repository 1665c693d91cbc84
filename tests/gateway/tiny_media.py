"""Tiny image and speech models made on the spot (random weights, configs written here): a
Stable Diffusion pipeline (UNet, VAE, CLIP text encoder and a CLIP tokenizer whose vocabulary is
written here) and a VITS text-to-speech model with a character vocabulary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

# The tiny pipeline's native image side: UNet sample_size 16 times the VAE's scale factor 2.
IMAGE_SIDE = 32
SPEECH_RATE = 16000  # the tiny VITS's sampling rate
_LETTERS = "abcdefghijklmnopqrstuvwxyz '.,!?-"


def make_diffusion(folder: Path) -> Path:
    """A StableDiffusionPipeline saved as diffusers saves one: model_index.json and a folder of
    safetensors and configs per component (no safety checker)."""
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16),
        layers_per_block=1,
        sample_size=IMAGE_SIDE // 2,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16,
        attention_head_dim=4,
        norm_num_groups=4,
    )
    vae = AutoencoderKL(
        block_out_channels=(8, 16),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=4,
        sample_size=IMAGE_SIDE,
    )
    text = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            hidden_size=16,
            intermediate_size=32,
            num_attention_heads=2,
            num_hidden_layers=2,
            vocab_size=600,
            max_position_embeddings=77,
        )
    )
    work = folder.parent / f"{folder.name}-tokenizer"
    work.mkdir(parents=True, exist_ok=True)
    # CLIP's byte-level vocabulary: each byte's character, alone and ending a word; no merges.
    chars = _byte_characters()
    vocab = ["<|startoftext|>", "<|endoftext|>", *chars, *(c + "</w>" for c in chars)]
    (work / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (work / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(
        str(work / "vocab.json"),
        str(work / "merges.txt"),
        pad_token="<|endoftext|>",
        model_max_length=77,
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    pipeline = StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(str(folder), safe_serialization=True)
    return folder


def make_vits(folder: Path, *, full_size: bool = False) -> Path:
    """A single-speaker VITS (MMS-TTS layout: config.json, model.safetensors, a character
    vocab.json and tokenizer_config.json) with random weights; `full_size`: VitsConfig's
    defaults, the MMS-TTS architecture (36M parameters), for benchmarks."""
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    torch.manual_seed(0)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {c: i for i, c in enumerate(["<pad>", *_LETTERS])}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = VitsTokenizer(
        str(folder / "vocab.json"),
        pad_token="<pad>",
        unk_token="<pad>",
        add_blank=True,
        phonemize=False,
    )
    tokenizer.save_pretrained(str(folder))
    sizes = {} if full_size else _TINY_VITS
    config = VitsConfig(vocab_size=len(vocab), sampling_rate=SPEECH_RATE, **sizes)
    VitsModel(config).save_pretrained(str(folder), safe_serialization=True)
    return folder


_TINY_VITS: dict[str, Any] = dict(
    hidden_size=16,
    num_hidden_layers=2,
    num_attention_heads=2,
    ffn_dim=32,
    flow_size=16,
    spectrogram_bins=16,
    prior_encoder_num_flows=2,
    prior_encoder_num_wavenet_layers=1,
    posterior_encoder_num_wavenet_layers=1,
    duration_predictor_filter_channels=16,
    duration_predictor_num_flows=2,
    upsample_initial_channel=16,
    upsample_rates=[8, 8],
    upsample_kernel_sizes=[16, 16],
    resblock_kernel_sizes=[3],
    resblock_dilation_sizes=[[1, 3]],
)


def _byte_characters() -> list[str]:
    """GPT-2's (and CLIP's) printable stand-in character for each of the 256 bytes."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    extra = iter(range(256, 512))
    return [chr(b) if b in printable else chr(next(extra)) for b in range(256)]
