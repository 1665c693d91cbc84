"""The ML-BOM validates against CycloneDX 1.6 and carries hashes, licenses, purl and model card."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from tests.provenance.conftest import REVISION, make_cache

from airlock.provenance.bom import InvalidBom, build_bom, validate
from airlock.provenance.modelcard import limitations


def model_component(text: str) -> dict[str, Any]:
    (component,) = json.loads(text)["components"]
    assert component["type"] == "machine-learning-model"
    return dict(component)


def test_folder_bom(model: Path) -> None:
    built = build_bom(model)
    document = json.loads(built.json)
    assert document["specVersion"] == "1.6" and document["bomFormat"] == "CycloneDX"
    component = model_component(built.json)
    assert component["name"] == "tiny" and "purl" not in component
    hashes = {c["name"]: c["hashes"][0] for c in component["components"]}
    data = (model / "model.safetensors").read_bytes()
    assert hashes["model.safetensors"] == {
        "alg": "SHA-256",
        "content": hashlib.sha256(data).hexdigest(),
    }
    assert set(hashes) == {f.path for f in built.manifest.files}
    assert component["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    card = component["modelCard"]
    assert card["modelParameters"] == {
        "task": "text-generation",
        "architectureFamily": "llama",
        "modelArchitecture": "LlamaForCausalLM",
        "datasets": [
            {"type": "dataset", "name": "acme/web-text"},
            {"type": "dataset", "name": "acme/code"},
        ],
    }
    assert card["considerations"] == {
        "technicalLimitations": ["It makes things up.", "English only."]
    }


def test_cache_snapshot_has_purl_with_revision(tmp_path: Path) -> None:
    component = model_component(build_bom(make_cache(tmp_path)).json)
    assert component["purl"] == f"pkg:huggingface/acme/tiny@{REVISION}"
    assert (component["group"], component["name"], component["version"]) == (
        "acme",
        "tiny",
        REVISION,
    )


def test_model_without_card_or_license(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "weights.gguf").write_bytes(b"GGUF")
    component = model_component(build_bom(tmp_path / "m").json)
    assert "modelCard" not in component and "licenses" not in component


def test_invalid_bom_raises(model: Path) -> None:
    document = json.loads(build_bom(model).json)
    document["components"][0]["modelCard"] = {"modelParameters": {"task": 7}}
    with pytest.raises(InvalidBom, match=r"not valid CycloneDX 1\.6"):
        validate(json.dumps(document))


def test_limitations_paragraphs_and_nested_headings() -> None:
    text = (
        "# M\n## Bias, Risks, and Limitations\n\nIt is biased.\nVery.\n\n"
        "### More\nAlso slow.\n## Use\nx"
    )
    assert limitations(text) == ("It is biased. Very.", "Also slow.")
    assert limitations("# M\nno section") == ()
