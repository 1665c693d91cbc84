"""Where the license comes from: card, texts, SPDX expressions, GGUF metadata, the HF cache;
and what happens when they disagree or say nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.license.conftest import reference_text, write_gguf, write_model

from airlock.license import assess_path


def _rules(path: Path) -> set[str]:
    return {f.rule_id for f in assess_path(path).findings}


def test_card_and_license_text_disagree(model_dir: Path) -> None:
    write_model(model_dir, "license: apache-2.0", reference_text("llama3.1"))
    result = assess_path(model_dir)
    conflict = [f for f in result.findings if f.rule_id == "AIR804"]
    assert conflict and conflict[0].severity.label == "high"
    assert result.confidence == "low"
    # Both bind until settled: Llama's conditions are not dropped in favour of Apache.
    assert {t.id for t in result.terms} == {"apache-2.0", "llama3.1"}
    assert result.commercial_use == "conditional"


def test_missing_license_is_unknown_and_high(model_dir: Path) -> None:
    write_model(model_dir, "language: en")
    result = assess_path(model_dir)
    assert (result.license_id, result.commercial_use, result.confidence) == (
        "unknown", "unknown", "none")  # fmt: skip
    assert [(f.rule_id, f.severity.label) for f in result.findings] == [("AIR801", "high")]


def test_empty_folder_is_missing(model_dir: Path) -> None:
    model_dir.mkdir()
    assert _rules(model_dir) == {"AIR801"}


def test_unknown_id_is_never_permissive(model_dir: Path) -> None:
    write_model(model_dir, "license: some-custom-license")
    result = assess_path(model_dir)
    assert result.commercial_use == "unknown"
    assert "AIR802" in _rules(model_dir)


def test_other_without_resolvable_name(model_dir: Path) -> None:
    write_model(model_dir, "license: other\nlicense_name: acme-model-license")
    result = assess_path(model_dir)
    assert result.commercial_use == "unknown"
    assert [f.rule_id for f in result.findings] == ["AIR803"]


def test_unrecognized_license_text(model_dir: Path) -> None:
    write_model(model_dir, None, "You may use this model only on Tuesdays, for good. " * 10)
    assert "AIR802" in _rules(model_dir)


@pytest.mark.parametrize(
    ("expression", "commercial", "applies"),
    [("apache-2.0 OR mit", "yes", {"mit"}),
     ("cc-by-nc-4.0 OR apache-2.0", "yes", {"apache-2.0"}),
     ("apache-2.0 AND cc-by-nc-4.0", "no", {"apache-2.0", "cc-by-nc-4.0"})],
)  # fmt: skip
def test_spdx_expression(
    model_dir: Path, expression: str, commercial: str, applies: set[str]
) -> None:
    write_model(model_dir, f"license: {expression}")
    result = assess_path(model_dir)
    assert result.license_id == expression
    assert result.commercial_use == commercial
    assert {t.id for t in result.terms} == applies


def test_license_file_inside_expression_agrees(model_dir: Path) -> None:
    write_model(model_dir, "license: apache-2.0 OR mit", reference_text("mit"))
    assert "AIR804" not in _rules(model_dir)


def test_bad_yaml_front_matter_is_missing_with_reason(model_dir: Path) -> None:
    write_model(model_dir, "license: [apache-2.0\nbroken: {")
    result = assess_path(model_dir)
    assert [f.rule_id for f in result.findings] == ["AIR801"]
    assert "not valid YAML" in result.findings[0].message


def _gguf(path: Path, license_id: str) -> Path:
    return write_gguf(path, license_id)


def test_gguf_general_license(tmp_path: Path) -> None:
    result = assess_path(_gguf(tmp_path / "model.gguf", "llama3.2"))
    assert (result.license_id, result.commercial_use) == ("llama3.2", "conditional")
    assert result.sources[0].source == "gguf metadata"
    assert "model weights" in result.openness.present


def test_gguf_disagrees_with_card(model_dir: Path) -> None:
    write_model(model_dir, "license: mit")
    _gguf(model_dir / "model.gguf", "cc-by-nc-4.0")
    result = assess_path(model_dir)
    assert "AIR804" in {f.rule_id for f in result.findings}
    assert result.commercial_use == "no"


def test_hf_cache_repository(tmp_path: Path) -> None:
    repo = tmp_path / "hub" / "models--meta-llama--Llama-3.3-70B-Instruct"
    blobs, old, new = repo / "blobs", repo / "snapshots" / "aaa", repo / "snapshots" / "bbb"
    blobs.mkdir(parents=True)
    (blobs / "card").write_text("---\nlicense: llama3.3\n---\n", encoding="utf-8")
    (blobs / "text").write_text(reference_text("llama3.3"), encoding="utf-8")
    (blobs / "oldcard").write_text("---\nlicense: mit\n---\n", encoding="utf-8")
    for snapshot in (old, new):
        snapshot.mkdir(parents=True)
    (new / "README.md").symlink_to(blobs / "card")
    (new / "LICENSE").symlink_to(blobs / "text")
    (old / "README.md").symlink_to(blobs / "oldcard")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("bbb", encoding="utf-8")
    result = assess_path(repo)
    assert (result.license_id, result.confidence) == ("llama3.3", "high")
    assert "meta-llama/Llama-3.3-70B-Instruct" in result.snapshot


def test_code_license_does_not_conflict(model_dir: Path) -> None:
    write_model(model_dir, "license: other\nlicense_name: deepseek", reference_text("deepseek"))
    (model_dir / "LICENSE-CODE").write_text(reference_text("mit"), encoding="utf-8")
    result = assess_path(model_dir)
    assert result.license_id == "deepseek"
    assert "AIR804" not in {f.rule_id for f in result.findings}


def test_openness_classes(model_dir: Path) -> None:
    card = "license: apache-2.0\ndatasets: [org/data]\nmodel-index: [{name: m}]"
    write_model(model_dir, card, reference_text("apache-2.0"))
    readme = model_dir / "README.md"
    readme.write_text(readme.read_text() + "\nSee https://arxiv.org/abs/2403.13784\n")
    for name in ("config.json", "model.safetensors"):
        (model_dir / name).write_bytes(b"{}")
    assert assess_path(model_dir).openness.mof_class == "III"
    for name in ("infer.py", "train.py", "eval.py"):
        (model_dir / name).write_text("print()\n")
    assert assess_path(model_dir).openness.mof_class == "II"
    write_model(model_dir, "license: llama3.1\ndatasets: [org/data]\nmodel-index: [{name: m}]")
    llama = assess_path(model_dir).openness
    assert llama.mof_class == "" and any("open license" in m for m in llama.missing)


def test_card_license_list_binds_all(model_dir: Path) -> None:
    write_model(model_dir, "license:\n  - mit\n  - cc-by-nc-4.0")
    result = assess_path(model_dir)
    assert {t.id for t in result.terms} == {"mit", "cc-by-nc-4.0"}
    assert result.commercial_use == "no"
    assert "AIR804" not in {f.rule_id for f in result.findings}


def test_gguf_other_with_unknown_name_is_unknown_not_a_card_finding(tmp_path: Path) -> None:
    result = assess_path(write_gguf(tmp_path / "m.gguf", "other", name="acme-model-license"))
    assert result.commercial_use == "unknown"
    assert [f.rule_id for f in result.findings] == ["AIR802"]
    assert "gguf metadata" in result.findings[0].message


def test_gguf_license_id_wins_over_its_name(tmp_path: Path) -> None:
    # llama.cpp's converter writes the card's `license` into general.license; a name beside a
    # real id only repeats it.
    gguf = write_gguf(tmp_path / "m.gguf", "llama3.1", name="Llama 3.1 Community License")
    assert assess_path(gguf).license_id == "llama3.1"
