"""Licenses of image and speech models: a fine-tune of Stable Diffusion carries the base
model's use-based restrictions (CreativeML OpenRAIL-M / Open RAIL++-M, paragraph 5 and
Attachment A) to its users; MMS voices stay non-commercial; Kokoro is Apache-2.0."""

from __future__ import annotations

from pathlib import Path

import pytest

from airlock.license import assess_path, base_models
from media_folders import diffusers_pipeline


@pytest.mark.parametrize(
    ("repo", "license_id"),
    [
        ("runwayml/stable-diffusion-v1-5", "creativeml-openrail-m"),
        ("stable-diffusion-v1-5/stable-diffusion-v1-5", "creativeml-openrail-m"),
        ("CompVis/stable-diffusion-v1-4", "creativeml-openrail-m"),
        ("stabilityai/stable-diffusion-2-1", "openrail++"),
        ("stabilityai/stable-diffusion-xl-refiner-1.0", "openrail++"),
        ("stabilityai/stable-diffusion-3.5-large", "stabilityai-ai-community"),
        ("hexgrad/Kokoro-82M", "apache-2.0"),
        ("facebook/mms-tts-eng", "cc-by-nc-4.0"),
    ],
)
def test_base_models_of_image_and_speech_families(repo: str, license_id: str) -> None:
    row = base_models.lookup(repo)
    assert row is not None and row.licenses == (license_id,)


def test_a_fine_tune_of_sd15_passes_the_use_restrictions_on(tmp_path: Path) -> None:
    folder = diffusers_pipeline(tmp_path / "sd")
    (folder / "README.md").write_text(
        "---\nlicense: creativeml-openrail-m\nbase_model: runwayml/stable-diffusion-v1-5\n"
        "tags: [stable-diffusion, text-to-image]\n---\n# A fine-tune\n"
    )
    result = assess_path(folder)
    assert result.license_id == "creativeml-openrail-m"
    assert result.commercial_use == "yes"
    # Paragraph 5: the use-based restrictions go into every agreement that passes the model on.
    assert any("paragraph 5" in o and "enforceable" in o for o in result.obligations)
    assert any("Attachment A" in r for r in result.restrictions)
    (ancestor,) = result.lineage
    assert ancestor.license_ids == ("creativeml-openrail-m",)


def test_a_voice_fine_tuned_from_mms_stays_non_commercial(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(
        "---\nlicense: apache-2.0\nbase_model: facebook/mms-tts-eng\n---\n# my voice\n"
    )
    result = assess_path(tmp_path)
    assert result.commercial_use == "no"
