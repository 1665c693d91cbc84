"""`airlock fit` on image pipelines and speech models: every component's weights from the
headers, activations from the configs' shapes, the dossier sized."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from airlock.api import vet
from airlock.fit.estimate import FitRequest, estimate
from airlock.fit.media import allowances, size_media
from airlock.report.fit.json_doc import fit_dict
from media_folders import (
    TEXT_ENCODER_TENSORS,
    UNET,
    UNET_TENSORS,
    VAE_TENSORS,
    diffusers_pipeline,
    piper_voice,
)

ROOT = Path(__file__).resolve().parents[2]


def elements(shapes: dict[str, tuple[int, ...]]) -> int:
    return sum(math.prod(shape) for shape in shapes.values())


def test_every_component_of_a_pipeline_is_counted_from_its_headers(tmp_path: Path) -> None:
    media = size_media(diffusers_pipeline(tmp_path / "sd"))
    assert media is not None and media.kind == "diffusion"
    parts = {part.name: part for part in media.components}
    assert set(parts) == {"scheduler", "text_encoder", "tokenizer", "unet", "vae"}
    assert parts["unet"].parameters == elements(UNET_TENSORS)
    assert parts["vae"].parameters == elements(VAE_TENSORS)
    assert parts["text_encoder"].parameters == elements(TEXT_ENCODER_TENSORS)
    assert parts["unet"].weight_bytes == 4 * elements(UNET_TENSORS)  # float32
    assert parts["scheduler"].weight_bytes == parts["tokenizer"].weight_bytes == 0
    assert media.weights_bytes == 4 * (
        elements(UNET_TENSORS) + elements(VAE_TENSORS) + elements(TEXT_ENCODER_TENSORS)
    )
    assert media.total_bytes == media.weights_bytes + media.activation_bytes + media.runtime_bytes


def test_activations_follow_the_resolution_from_the_configs_shapes(tmp_path: Path) -> None:
    folder = diffusers_pipeline(tmp_path / "sd")
    default = size_media(folder)
    assert default is not None
    # The VAE halves twice less than its levels: 2 levels -> a factor of 2; sample_size 8 -> 16 px.
    assert default.setting == "16x16, batch 1"
    allowed = allowances()
    tokens = 8 * 8
    unet = (
        allowed.guidance_batch
        * tokens
        * UNET["block_out_channels"][0]
        * 4
        * allowed.denoiser_live_maps
        + allowed.guidance_batch * UNET["attention_head_dim"] * tokens**2 * 4
    )
    assert default.activations["unet"] == unet
    bigger = size_media(folder, resolution=64, batch=2)
    assert bigger is not None and bigger.setting == "64x64, batch 2"
    # 16x the latent tokens, twice the batch: attention scores grow with tokens squared.
    assert bigger.activations["unet"] > 2 * 16 * default.activations["unet"]
    assert bigger.activations["vae"] > 2 * 16 * default.activations["vae"]
    assert bigger.weights_bytes == default.weights_bytes


def test_the_fp16_copies_diffusers_does_not_load_are_not_counted(tmp_path: Path) -> None:
    folder = diffusers_pipeline(tmp_path / "sd")
    unet = folder / "unet"
    (unet / "diffusion_pytorch_model.fp16.safetensors").write_bytes(
        (unet / "diffusion_pytorch_model.safetensors").read_bytes()
    )
    media = size_media(folder)
    assert media is not None
    part = next(p for p in media.components if p.name == "unet")
    assert part.files == ("unet/diffusion_pytorch_model.safetensors",)


def test_the_fit_report_and_the_dossier_carry_the_components(tmp_path: Path) -> None:
    folder = diffusers_pipeline(tmp_path / "sd")
    report = estimate(folder, FitRequest(gpu="l4"))
    document = fit_dict(report)
    assert document["media"]["family"] == "StableDiffusionPipeline"
    assert [c["name"] for c in document["media"]["components"]][-2:] == ["unet", "vae"]
    assert report.media is not None and document["total_bytes"] == report.media.total_bytes
    assert report.fits[0].best.fits
    (folder / "README.md").write_text("---\nlicense: creativeml-openrail-m\n---\n")
    dossier = vet(folder).dossier
    assert dossier.fit.sized and dossier.fit.detail == "StableDiffusionPipeline, diffusion"
    assert dossier.fit.parameters == sum(
        elements(t) for t in (UNET_TENSORS, VAE_TENSORS, TEXT_ENCODER_TENSORS)
    )


def test_a_piper_voice_is_its_onnx_weights_and_one_requests_audio(tmp_path: Path) -> None:
    folder = piper_voice(tmp_path / "voice")
    media = size_media(folder)
    assert media is not None and (media.kind, media.family) == ("speech", "piper")
    assert media.weights_bytes == (folder / "en_US-tiny-x_low.onnx").stat().st_size
    allowed = allowances()
    samples = allowed.seconds * 16000  # the .onnx.json's audio.sample_rate
    assert media.activations == {
        "vocoder": samples * allowed.vocoder_channels * 4 * allowed.vocoder_live_maps
    }
    report = estimate(folder, FitRequest(gpu="t4"))
    assert report.total_bytes == media.total_bytes
    assert [o.plan.quant for o in report.fits[0].options] == ["stored"]  # no dtype to name


def test_kokoro_voices_are_counted_with_the_model(tmp_path: Path) -> None:
    folder = tmp_path / "kokoro"
    (folder / "voices").mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"istftnet": {}, "n_token": 178}))
    (folder / "kokoro-v1_0.onnx").write_bytes(b"\0" * 1000)
    (folder / "voices" / "af_heart.pt").write_bytes(b"\0" * 300)
    media = size_media(folder)
    assert media is not None and media.family == "kokoro"
    assert {p.name: p.weight_bytes for p in media.components} == {"model": 1000, "voices": 300}
    assert media.setting.endswith("24,000 Hz")


def test_other_folders_are_not_media(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    assert size_media(tmp_path) is None


def test_the_cli_sizes_a_pipeline_at_a_resolution(tmp_path: Path) -> None:
    folder = diffusers_pipeline(tmp_path / "sd")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "airlock", "fit", str(folder), "--format", "json"]
    done = subprocess.run([*command, "--resolution", "32"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["media"]["setting"] == "32x32, batch 1"
    bad = subprocess.run([*command, "--resolution", "33"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "multiple of the VAE's factor 2" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize("broken", ["{", "[]"])
def test_an_unreadable_model_index_is_an_input_error(tmp_path: Path, broken: str) -> None:
    folder = diffusers_pipeline(tmp_path / "sd")
    (folder / "model_index.json").write_text(broken)
    with pytest.raises(ValueError, match=r"model_index\.json"):
        size_media(folder)


def test_a_transformers_vits_voice_is_counted_from_its_headers(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    config = {
        "model_type": "vits",
        "sampling_rate": 16000,
        "upsample_initial_channel": 64,
        "upsample_rates": [4, 4],
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    shapes = {"text_encoder.embed_tokens.weight": (40, 16), "decoder.conv_pre.weight": (64, 16, 7)}
    save_file({name: np.zeros(shape, np.float32) for name, shape in shapes.items()},
              str(tmp_path / "model.safetensors"))  # fmt: skip
    media = size_media(tmp_path)
    assert media is not None and media.family == "vits"
    assert media.parameters == elements(shapes) and media.components[0].exact
    allowed = allowances()
    # 64 channels halved by each of the two upsamplers: 16 at the audio rate.
    assert (
        media.activations["vocoder"] == allowed.seconds * 16000 * 16 * 4 * allowed.vocoder_live_maps
    )


def test_a_pipeline_in_the_hugging_face_cache_is_sized_from_its_snapshot(tmp_path: Path) -> None:
    repo = tmp_path / "models--someone--tiny-sd"
    diffusers_pipeline(repo / "snapshots" / "0123abcd")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    media = size_media(repo)
    assert media is not None and media.kind == "diffusion"
    assert media.parameters == sum(
        elements(t) for t in (UNET_TENSORS, VAE_TENSORS, TEXT_ENCODER_TENSORS)
    )
