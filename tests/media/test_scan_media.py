"""Vetting image and speech model folders: diffusers pipelines (model_index.json and every
component's config judged like `auto_map`), Piper voices with their side artefacts, Kokoro
voice pickles."""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import pytest

from airlock.api import vet
from airlock.findings import Finding, Severity
from airlock.policy.evaluate import Decision
from airlock.provenance.manifest import build_manifest
from airlock.scan.scanner import Scanner
from media_folders import MODEL_INDEX, diffusers_pipeline, piper_voice


def findings(folder: Path) -> list[Finding]:
    return Scanner().scan_paths([folder], jobs=1).findings


def of(found: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in found if f.rule_id == rule_id]


def test_a_stable_diffusion_folder_scans_clean_and_every_component_is_read(tmp_path: Path) -> None:
    folder = diffusers_pipeline(tmp_path / "sd")
    report = Scanner().scan_paths([folder], jobs=1)
    assert report.findings == []
    kinds = {Path(f.path).relative_to(folder).as_posix(): f.kind for f in report.files}
    assert kinds["unet/diffusion_pytorch_model.safetensors"] == "safetensors"
    assert kinds["vae/diffusion_pytorch_model.safetensors"] == "safetensors"
    assert kinds["text_encoder/model.safetensors"] == "safetensors"
    assert kinds["model_index.json"] == kinds["scheduler/scheduler_config.json"] == "json"
    assert "tokenizer/vocab.json" in kinds


def test_the_sd_1x_safety_checker_from_a_pipeline_submodule_is_no_finding(tmp_path: Path) -> None:
    index = {**MODEL_INDEX, "safety_checker": ["stable_diffusion", "StableDiffusionSafetyChecker"]}
    assert findings(diffusers_pipeline(tmp_path / "sd", index)) == []


def test_a_clean_pipeline_is_admitted_by_the_default_policy(tmp_path: Path) -> None:
    folder = diffusers_pipeline(tmp_path / "sd")
    (folder / "README.md").write_text("---\nlicense: creativeml-openrail-m\n---\n# tiny\n")
    result = vet(folder)
    # CreativeML OpenRAIL-M's use-based restrictions are conditions, never a refusal.
    assert result.verdict.decision is Decision.ADMIT_WITH_CONDITIONS, result.verdict.reasons
    assert "Attachment A" in " ".join(result.verdict.conditions)


def test_a_custom_pipeline_class_is_custom_code_and_vet_refuses(tmp_path: Path) -> None:
    index = {**MODEL_INDEX, "_class_name": ["pipeline", "MyPipeline"]}
    folder = diffusers_pipeline(tmp_path / "sd", index)
    (folder / "pipeline.py").write_text("from diffusers import DiffusionPipeline\n")
    (folder / "README.md").write_text("---\nlicense: creativeml-openrail-m\n---\n")
    custom = of(findings(folder), "AIR711")
    assert [f.evidence for f in custom] == ["_class_name: [pipeline, MyPipeline]"]
    assert custom[0].severity is Severity.HIGH and custom[0].file.endswith("model_index.json")
    result = vet(folder)
    assert result.verdict.decision is Decision.REFUSE
    assert "AIR711" in {r.rule_id for r in result.verdict.reasons}


def test_a_custom_pipeline_file_that_is_not_there_is_missing_code(tmp_path: Path) -> None:
    index = {**MODEL_INDEX, "_class_name": ["pipeline", "MyPipeline"]}
    found = findings(diffusers_pipeline(tmp_path / "sd", index))
    assert [f.rule_id for f in found] == ["AIR711", "AIR713"]


def test_a_pipeline_class_diffusers_does_not_export_needs_custom_code(tmp_path: Path) -> None:
    index = {**MODEL_INDEX, "_class_name": "LongPromptWeightingPipeline"}
    found = findings(diffusers_pipeline(tmp_path / "sd", index))
    assert [f.rule_id for f in found] == ["AIR713"]
    assert "LongPromptWeightingPipeline" in found[0].message


@pytest.mark.parametrize(
    ("value", "rule_id"),
    [("lpw_stable_diffusion", "AIR712"), ("someone/their-pipeline", "AIR712")],
)
def test_a_custom_pipeline_key_fetches_code(tmp_path: Path, value: str, rule_id: str) -> None:
    found = findings(diffusers_pipeline(tmp_path / "sd", {**MODEL_INDEX, "custom_pipeline": value}))
    assert [f.rule_id for f in found] == [rule_id]
    assert found[0].evidence == f"custom_pipeline: {value}"


def test_a_component_from_its_own_module_file_is_custom_code(tmp_path: Path) -> None:
    index = {**MODEL_INDEX, "unet": ["my_unet", "MyUNet"]}
    folder = diffusers_pipeline(tmp_path / "sd", index)
    (folder / "unet" / "my_unet.py").write_text("import torch\n")
    custom = of(findings(folder), "AIR711")
    assert [f.evidence for f in custom] == ["unet: [my_unet, MyUNet]"]
    assert "`unet/my_unet.py`" in custom[0].message


def test_a_component_from_another_library_is_custom_code(tmp_path: Path) -> None:
    index: dict[str, Any] = {**MODEL_INDEX, "vae": ["mylab.models", "FancyVAE"]}
    found = findings(diffusers_pipeline(tmp_path / "sd", index))
    assert [(f.rule_id, f.evidence) for f in found] == [("AIR713", "vae: [mylab.models, FancyVAE]")]


def test_a_component_naming_a_dangerous_callable_is_critical(tmp_path: Path) -> None:
    index = {**MODEL_INDEX, "vae": ["os", "system"]}
    found = findings(diffusers_pipeline(tmp_path / "sd", index))
    assert [(f.rule_id, f.severity) for f in found] == [("AIR711", Severity.CRITICAL)]


def test_a_component_config_with_an_unknown_class_beside_code_is_custom_code(
    tmp_path: Path,
) -> None:
    folder = diffusers_pipeline(tmp_path / "sd")
    config = json.loads((folder / "unet" / "config.json").read_text())
    (folder / "unet" / "config.json").write_text(json.dumps({**config, "_class_name": "MyUNet"}))
    (folder / "unet" / "modeling_my_unet.py").write_text("import torch\n")
    found = findings(folder)
    custom = [(f.rule_id, Path(f.file).name) for f in found if f.rule_id == "AIR711"]
    assert custom == [("AIR711", "config.json")]
    assert "modeling_my_unet.py" in of(found, "AIR711")[0].message


def test_a_piper_voice_scans_clean_and_is_hashed_with_its_side_artefacts(tmp_path: Path) -> None:
    folder = piper_voice(tmp_path / "voice")
    report = Scanner().scan_paths([folder], jobs=1)
    assert report.findings == []
    kinds = {Path(f.path).relative_to(folder).as_posix(): f.kind for f in report.files}
    assert kinds["en_US-tiny-x_low.onnx"] == "onnx"
    assert kinds["en_US-tiny-x_low.onnx.json"] == "json"
    hashed = {entry.path for entry in build_manifest(folder).files}
    assert hashed == set(kinds)
    assert {"tokens.txt", "espeak-ng-data/phondata", "espeak-ng-data/voices/!v/Alex"} <= hashed


class _Canary:
    """Unpickling would call `exec` with a string that only defines a name: it never fires,
    and it is never unpickled here (the scan reads opcodes)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, ("canary_payload_never_runs = 1",))


def test_a_malicious_kokoro_voice_pt_is_caught(tmp_path: Path) -> None:
    folder = tmp_path / "kokoro"
    (folder / "voices").mkdir(parents=True)
    # torch.save's zip layout: archive/data.pkl (the pickle) + archive/version.
    with zipfile.ZipFile(folder / "voices" / "af_heart.pt", "w") as archive:
        archive.writestr("af_heart/data.pkl", pickle.dumps(_Canary(), protocol=2))
        archive.writestr("af_heart/version", "3\n")
    found = findings(folder)
    critical = [f for f in found if f.severity is Severity.CRITICAL]
    assert critical and all(f.file.endswith("voices/af_heart.pt") for f in critical)
    assert any("exec" in f.evidence or "exec" in f.message for f in critical)


def test_kokoro_voices_saved_by_torch_and_numpy_are_data(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    import numpy as np

    folder = tmp_path / "kokoro"
    (folder / "voices").mkdir(parents=True)
    torch.save(torch.zeros(4, 1, 8), folder / "voices" / "af_heart.pt")
    np.savez(folder / "voices.bin", af_heart=np.zeros((4, 1, 8), np.float32))
    (folder / "voices.bin").write_bytes((folder / "voices.bin.npz").read_bytes())
    (folder / "voices.bin.npz").unlink()
    assert findings(folder) == []


def test_the_class_lists_match_the_installed_diffusers_and_transformers() -> None:
    """Classes a newer release adds would read as custom code: after upgrading either package,
    re-run tools/generate_diffusers_classes.py."""
    diffusers = pytest.importorskip("diffusers")
    transformers = pytest.importorskip("transformers")
    from airlock.diffusers_classes import known_classes

    listed = known_classes()
    assert (listed.diffusers_version, listed.transformers_version) == (
        diffusers.__version__,
        transformers.__version__,
    )


def test_a_component_config_naming_a_pipeline_submodule_class_is_no_finding(
    tmp_path: Path,
) -> None:
    index = {**MODEL_INDEX, "watermarker": ["deepfloyd_if", "IFWatermarker"]}
    folder = diffusers_pipeline(tmp_path / "if", index)
    (folder / "watermarker").mkdir()
    (folder / "watermarker" / "config.json").write_text(
        json.dumps({"_class_name": "IFWatermarker", "_diffusers_version": "0.42.1"})
    )
    assert findings(folder) == []
