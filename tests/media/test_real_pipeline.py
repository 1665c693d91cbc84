"""A pipeline saved by diffusers itself (`save_pretrained`, the format's real writer): the scan
finds nothing, and `fit` counts each component exactly as PyTorch does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airlock.fit.media import size_media
from airlock.scan.scanner import Scanner
from media_folders import SCHEDULER, TEXT_ENCODER, UNET, VAE, diffusers_pipeline


def _arguments(config: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in config.items() if not key.startswith("_")}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    pytest.importorskip("diffusers")
    import torch
    from diffusers import (
        AutoencoderKL,
        PNDMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("pipeline")
    files = diffusers_pipeline(root / "written")  # for its tokenizer files
    text = {k: v for k, v in TEXT_ENCODER.items() if k not in ("architectures", "model_type")}
    text.pop("torch_dtype")
    parts = {
        "unet": UNet2DConditionModel(**_arguments(UNET)),
        "vae": AutoencoderKL(**_arguments(VAE)),
        "text_encoder": CLIPTextModel(CLIPTextConfig(**text)),
    }
    pipeline = StableDiffusionPipeline(
        **parts,
        tokenizer=CLIPTokenizer.from_pretrained(files / "tokenizer"),
        scheduler=PNDMScheduler(**_arguments(SCHEDULER)),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(root / "saved")
    counts = {name: sum(p.numel() for p in part.parameters()) for name, part in parts.items()}
    return root / "saved", counts


def test_a_saved_pipeline_scans_clean(saved: tuple[Path, dict[str, int]]) -> None:
    folder, _ = saved
    report = Scanner().scan_paths([folder], jobs=1)
    assert report.findings == []
    assert sum(1 for f in report.files if f.kind == "safetensors") == 3


def test_fit_counts_each_saved_component_as_pytorch_does(
    saved: tuple[Path, dict[str, int]],
) -> None:
    folder, counts = saved
    media = size_media(folder)
    assert media is not None
    found = {part.name: part.parameters for part in media.components if part.parameters}
    assert found == counts
