"""Hugging Face configs that point at custom code: `auto_map` / `custom_pipelines` entries, code
in other repositories, module files missing from the folder, `trust_remote_code` settings; and
whole model folders scanned the way a user would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from modeling_samples import CONFIGURATION_TINY, MODELING_TINY

from airlock.findings import Finding, Location, Severity
from airlock.scan.analyzers.auto_map import AutoMapAnalyzer
from airlock.scan.context import Blob
from airlock.scan.scanner import Scanner
from stub_context import StubContext

AUTO_MAP = {
    "AutoConfig": "configuration_tiny.TinyConfig",
    "AutoModel": "modeling_tiny.TinyModel",
    "AutoModelForCausalLM": "modeling_tiny.TinyForCausalLM",
}


def config(**extra: Any) -> dict[str, Any]:
    return {"architectures": ["TinyModel"], "model_type": "tiny", "hidden_size": 8, **extra}


def scan(folder: Path, documents: dict[str, Any], files: tuple[str, ...] = ()) -> list[Finding]:
    folder.mkdir(exist_ok=True)
    for name, document in documents.items():
        (folder / name).write_text(json.dumps(document, indent=2))
    for name in files:
        (folder / name).write_text("import torch\n")
    return Scanner().scan_paths([folder]).findings


def of(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule_id]


def test_local_references_with_their_files(tmp_path: Path) -> None:
    files = ("configuration_tiny.py", "modeling_tiny.py")
    findings = scan(tmp_path, {"config.json": config(auto_map=AUTO_MAP)}, files)
    entries = of(findings, "AIR711")
    assert [f.evidence for f in entries] == [f"auto_map.{k}: {v}" for k, v in AUTO_MAP.items()]
    assert all(f.severity is Severity.HIGH for f in entries)
    assert "`modeling_tiny.py`" in entries[1].message
    assert of(findings, "AIR713") == [] and of(findings, "AIR712") == []


def test_missing_module_files(tmp_path: Path) -> None:
    findings = scan(tmp_path, {"config.json": config(auto_map=AUTO_MAP)}, ("modeling_tiny.py",))
    missing = of(findings, "AIR713")
    # One per missing module, not per class that names it.
    assert [f.evidence for f in missing] == ["auto_map.AutoConfig: configuration_tiny.TinyConfig"]
    assert missing[0].severity is Severity.HIGH
    assert "not in the folder" in missing[0].message


def test_remote_references(tmp_path: Path) -> None:
    auto_map = {"AutoModel": "other-org/other-repo--modeling_x.XModel"}
    findings = scan(tmp_path, {"config.json": config(auto_map=auto_map)})
    (remote,) = of(findings, "AIR712")
    assert remote.severity is Severity.HIGH
    assert "`other-org/other-repo`" in remote.message and "not in this folder" in remote.message
    assert of(findings, "AIR711") == [] and of(findings, "AIR713") == []


def test_tokenizer_config_list_form(tmp_path: Path) -> None:
    tokenizer = {
        "tokenizer_class": "TinyTokenizer",
        "auto_map": {"AutoTokenizer": ["tokenization_tiny.TinyTokenizer", None]},
    }
    findings = scan(tmp_path, {"tokenizer_config.json": tokenizer}, ("tokenization_tiny.py",))
    assert [f.evidence for f in of(findings, "AIR711")] == [
        "auto_map.AutoTokenizer: tokenization_tiny.TinyTokenizer"
    ]
    assert of(findings, "AIR713") == []


def test_custom_pipelines_and_settings(tmp_path: Path) -> None:
    pipelines = {"text-classification": {"impl": "pipeline_tiny.TinyPipeline", "pt": []}}
    document = config(custom_pipelines=pipelines, trust_remote_code=True, code_revision="abc123")
    findings = scan(tmp_path, {"config.json": document})
    assert [f.evidence for f in of(findings, "AIR711")] == [
        "custom_pipelines.text-classification: pipeline_tiny.TinyPipeline"
    ]
    assert len(of(findings, "AIR713")) == 1
    assert [(f.severity, f.evidence) for f in of(findings, "AIR714")] == [
        (Severity.MEDIUM, "trust_remote_code: true"),
        (Severity.INFO, "code_revision: abc123"),
    ]


def test_plain_configs_are_quiet(tmp_path: Path) -> None:
    documents = {
        "config.json": config(trust_remote_code=False),
        "preprocessor_config.json": {"do_resize": True, "auto_map": None},
        "generation_config.json": {"max_length": 20},
    }
    assert scan(tmp_path, documents) == []


def test_no_file_check_inside_archives() -> None:
    blob = Blob(b"", "model.zip", Location(members=("config.json",)), "config.json")
    document = config(auto_map={"AutoModel": "modeling_gone.GoneModel"})

    analyzer = AutoMapAnalyzer()
    assert analyzer.applies(document, blob)
    found = [f.rule_id for f in analyzer.analyze(document, blob, StubContext())]
    assert found == ["AIR711"]


def test_hugging_face_folder_with_custom_code(tmp_path: Path) -> None:
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    np = pytest.importorskip("numpy")
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "modeling_tiny.py").write_text(MODELING_TINY)
    (folder / "configuration_tiny.py").write_text(CONFIGURATION_TINY)
    auto_map = {k: v for k, v in AUTO_MAP.items() if k != "AutoModelForCausalLM"}
    (folder / "config.json").write_text(json.dumps(config(auto_map=auto_map)))
    weights = {"embed.weight": np.zeros((99, 8), dtype=np.float32)}
    safetensors_numpy.save_file(weights, str(folder / "model.safetensors"))
    report = Scanner().scan_paths([folder])
    got = sorted((Path(f.file).name, f.rule_id, f.severity) for f in report.findings)
    assert got == [
        ("config.json", "AIR711", Severity.HIGH),
        ("config.json", "AIR711", Severity.HIGH),
        ("configuration_tiny.py", "AIR701", Severity.INFO),
        ("modeling_tiny.py", "AIR701", Severity.INFO),
    ]
    assert report.inspected == 4


def test_saved_transformers_model_is_clean(tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("torch")
    config = transformers.BertConfig(
        vocab_size=99,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=8,
    )
    transformers.BertModel(config).save_pretrained(tmp_path / "bert")
    report = Scanner().scan_paths([tmp_path / "bert"])
    assert report.inspected >= 2
    assert [f for f in report.findings if f.severity >= Severity.MEDIUM] == []
