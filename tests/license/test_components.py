"""Code and weights under different licenses in one folder: each component is reported, and the
weights' license decides the model's answer; a single LICENSE still covers everything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.license.conftest import reference_text, write_model

from airlock.findings import Severity
from airlock.license import assess_path
from airlock.license.files import classify
from airlock.report.license.json_doc import render_license_json
from airlock.report.license.text import render_license_text

CORPUS = Path(__file__).parent / "corpus"


def _files(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def _parts(root: Path) -> dict[str, tuple[tuple[str, ...], str]]:
    return {c.component: (c.license_ids, c.commercial_use) for c in assess_path(root).components}


@pytest.mark.parametrize(
    ("name", "component"),
    [("LICENSE-CODE", "code"), ("LICENSE_CODE.md", "code"), ("LICENSE.code", "code"),
     ("CODE_LICENSE", "code"), ("LICENSE-MODEL", "weights"), ("LICENSE_MODEL", "weights"),
     ("LICENSE.weights", "weights"), ("LICENSE_WEIGHTS", "weights"), ("MODEL_LICENSE", "weights"),
     ("WEIGHTS_LICENSE.txt", "weights"), ("LICENSE", "unspecified"), ("LICENSE.md", "unspecified"),
     ("LICENSE.txt", "unspecified"), ("COPYING", "unspecified")],
)  # fmt: skip
def test_file_names(name: str, component: str) -> None:
    found = classify(name)
    assert found is not None and found.source == "license file" and found.component == component


def test_policies_and_notices_are_not_licenses() -> None:
    names = ("USE_POLICY.md", "ACCEPTABLE_USE_POLICY.txt", "NOTICE")
    found = [classify(name) for name in names]
    assert [f.source if f else None for f in found] == ["use policy", "use policy", "notice file"]
    assert classify("README.md") is None and classify("licenses.json") is None


def test_deepseek_v2_code_mit_weights_deepseek(tmp_path: Path) -> None:
    # DeepSeek-V2 / V3 layout: the card points at the model license; LICENSE-CODE is MIT.
    root = _files(tmp_path / "DeepSeek-V2", {
        "README.md": "---\nlicense: other\nlicense_name: deepseek\nlicense_link: LICENSE\n---\n",
        "LICENSE-CODE": (CORPUS / "deepseek-coder.LICENSE-CODE").read_text("utf-8"),
        "LICENSE-MODEL": (CORPUS / "deepseek-v3.LICENSE-MODEL").read_text("utf-8"),
    })  # fmt: skip
    result = assess_path(root)
    # The model's answer is the weights': DeepSeek License, Attachment A use restrictions
    # (paragraph 5) bind downstream users; MIT's "without restriction" covers the code only.
    assert (result.license_id, result.confidence) == ("deepseek", "high")
    assert any("Attachment A" in r for r in result.restrictions)
    assert _parts(root) == {"weights": (("deepseek",), "yes"), "code": (("mit",), "yes")}
    assert not {"AIR804", "AIR806"} & {f.rule_id for f in result.findings}
    weights = next(c for c in result.components if c.component == "weights")
    assert set(weights.files) == {f"{root}/LICENSE-MODEL", f"{root}/README.md"}


def test_chatglm_plain_license_is_the_codes(tmp_path: Path) -> None:
    # ChatGLM3-6B: LICENSE is the code's MIT; MODEL_LICENSE holds the weights ("Users who wish to
    # use the models for commercial purposes must register"), a license Airlock does not know.
    root = _files(tmp_path / "chatglm3-6b", {
        "README.md": "---\nlanguage: [zh, en]\ntags: [glm, chatglm]\n---\n# ChatGLM3-6B\n",
        "LICENSE": (CORPUS / "chatglm3.LICENSE").read_text("utf-8"),
        "MODEL_LICENSE": (CORPUS / "chatglm3.MODEL_LICENSE").read_text("utf-8"),
    })  # fmt: skip
    result = assess_path(root)
    assert (result.license_id, result.commercial_use) == ("unknown", "unknown")  # never MIT's yes
    assert "AIR802" in {f.rule_id for f in result.findings}
    assert _parts(root) == {"weights": (("unknown",), "unknown"), "code": (("mit",), "yes")}
    code = next(c for c in result.sources if c.file.endswith("/LICENSE"))
    assert (code.component, code.role) == ("code", "code")


def test_falcon_like_single_license_covers_everything(tmp_path: Path) -> None:
    # Falcon-40B/180B layout: one LICENSE.txt beside ACCEPTABLE_USE_POLICY.txt. One license
    # applies to code and weights alike, as before: no per-component split.
    root = _files(tmp_path / "falcon-40b", {
        "README.md": "---\nlicense: apache-2.0\n---\n# Falcon\n",
        "LICENSE.txt": reference_text("apache-2.0"),
        "ACCEPTABLE_USE_POLICY.txt": "You agree not to use the Model for any unlawful purpose.\n",
    })  # fmt: skip
    result = assess_path(root)
    assert (result.license_id, result.commercial_use, result.confidence) == (
        "apache-2.0",
        "yes",
        "high",
    )
    assert result.components == ()
    assert {c.component for c in result.sources} == {"weights", "unspecified"}


@pytest.mark.parametrize(
    ("code", "weights"),
    [("LICENSE", "LICENSE_MODEL"), ("LICENSE.code", "LICENSE.weights"),
     ("LICENSE-CODE", "LICENSE-MODEL"), ("LICENSE", "WEIGHTS_LICENSE"),
     ("CODE_LICENSE", "LICENSE_WEIGHTS")],
)  # fmt: skip
def test_weights_license_decides(tmp_path: Path, code: str, weights: str) -> None:
    # Code under Apache-2.0 (section 2 grants use for any purpose), weights under CC BY-NC 4.0
    # (section 2(a)(1): NonCommercial purposes only): the model may not be used commercially.
    root = _files(tmp_path / "model", {
        code: reference_text("apache-2.0"), weights: reference_text("cc-by-nc-4.0")})  # fmt: skip
    result = assess_path(root)
    assert (result.license_id, result.commercial_use) == ("cc-by-nc-4.0", "no")
    assert _parts(root) == {"weights": (("cc-by-nc-4.0",), "no"), "code": (("apache-2.0",), "yes")}
    assert "AIR804" not in {f.rule_id for f in result.findings}


def test_card_declares_the_models_license(tmp_path: Path) -> None:
    # Only the code has a license file; the card's `license: llama3.1` is the weights'.
    root = write_model(tmp_path / "m", "license: llama3.1")
    _files(root, {"LICENSE-CODE": reference_text("mit")})
    result = assess_path(root)
    assert (result.license_id, result.commercial_use) == ("llama3.1", "conditional")
    assert _parts(root) == {"weights": (("llama3.1",), "conditional"), "code": (("mit",), "yes")}


def test_card_and_weights_license_disagree(tmp_path: Path) -> None:
    # The card says MIT, LICENSE-MODEL is Llama 3.1: both are the weights', so they conflict.
    root = write_model(tmp_path / "m", "license: mit")
    _files(
        root, {"LICENSE-MODEL": reference_text("llama3.1"), "LICENSE-CODE": reference_text("mit")}
    )
    result = assess_path(root)
    assert "AIR804" in {f.rule_id for f in result.findings}
    assert result.commercial_use == "conditional"  # Llama 3.1 section 2: the 700M-user threshold
    ids, commercial = _parts(root)["weights"]
    assert (set(ids), commercial) == ({"mit", "llama3.1"}, "conditional")


def test_plain_license_beside_both_still_binds(tmp_path: Path) -> None:
    # LICENSE-CODE and LICENSE-MODEL are both there: the plain LICENSE is not obviously the
    # code's, so it binds the model too (fail closed).
    root = _files(tmp_path / "m", {
        "LICENSE": reference_text("cc-by-nc-4.0"), "LICENSE-CODE": reference_text("mit"),
        "LICENSE-MODEL": reference_text("apache-2.0")})  # fmt: skip
    result = assess_path(root)
    assert result.commercial_use == "no"
    assert set(_parts(root)) == {"weights", "unspecified", "code"}


def test_code_license_alone_leaves_the_weights_unlicensed(tmp_path: Path) -> None:
    root = _files(tmp_path / "m", {"LICENSE-CODE": reference_text("mit")})
    result = assess_path(root)
    assert result.commercial_use == "unknown"
    assert [f.rule_id for f in result.findings] == ["AIR801"]


def test_reports_say_the_component(tmp_path: Path) -> None:
    files = {"LICENSE": "apache-2.0", "LICENSE_MODEL": "cc-by-nc-4.0"}
    root = _files(tmp_path / "m", {name: reference_text(text) for name, text in files.items()})
    result = assess_path(root)
    document = json.loads(render_license_json(result, Severity.HIGH))
    parts = [
        (c["component"], c["license_ids"], c["commercial_use"]) for c in document["components"]
    ]
    assert parts == [("weights", ["cc-by-nc-4.0"], "no"), ("code", ["apache-2.0"], "yes")]
    sources = document["license"]["sources"]
    covers = {(s["file"].rsplit("/", 1)[-1], s["component"]) for s in sources}
    assert covers == {("LICENSE", "code"), ("LICENSE_MODEL", "weights")}
    text = render_license_text(result, Severity.HIGH, width=None)
    assert "Components (the weights' license decides the answer above)" in text
    assert "code: Apache License 2.0 [apache-2.0]; commercial use: allowed" in text
    assert "license file " + str(root / "LICENSE") + " (code)" in text


def test_single_license_json_has_no_components(model_dir: Path) -> None:
    write_model(model_dir, "license: mit", reference_text("mit"))
    document = json.loads(render_license_json(assess_path(model_dir), Severity.HIGH))
    assert document["components"] == []
    assert {(s["source"], s["component"]) for s in document["license"]["sources"]} == {
        ("model card", "weights"), ("license file", "unspecified")}  # fmt: skip
