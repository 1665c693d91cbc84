"""Which engine serves a model, decided from config files only (what `airlock admit` records)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from airlock import engine_choice as choice
from airlock.engine_choice import choose_engine

ROOT = Path(__file__).resolve().parents[2]


def _folder(tmp_path: Path, files: dict[str, str | dict[str, object]]) -> Path:
    folder = tmp_path / "model"
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return folder


@pytest.mark.parametrize(
    ("files", "engine"),
    [
        ({"config.json": {"architectures": ["LlamaForCausalLM"]}, "model.safetensors": ""},
         choice.CAUSAL_LM),
        ({"config.json": {"architectures": ["BertForSequenceClassification"]},
          "model.safetensors.index.json": "{}"}, choice.RERANK),
        ({"config.json": {"model_type": "whisper"}, "pytorch_model.bin": ""},
         choice.TRANSCRIPTION),
        ({"config.json": {"architectures": ["BertModel"]}, "modules.json": "[]",
          "0_Transformer/model.safetensors": ""}, choice.EMBEDDINGS),
    ],
)  # fmt: skip
def test_servable_models_get_their_engine(
    tmp_path: Path, files: dict[str, str | dict[str, object]], engine: str
) -> None:
    chosen = choose_engine(_folder(tmp_path, files))
    assert chosen.engine == engine and chosen.servable


@pytest.mark.parametrize(
    ("files", "why"),
    [
        ({"model.pkl": "x"}, "no config.json, so no engine knows what the weights are"),
        ({"model.pt": "x", "README.md": "x"}, "no config.json"),
        ({"model.safetensors": ""}, "no config.json"),
        ({"config.json": "[1, 2]", "model.safetensors": ""}, "config.json is not a JSON object"),
        ({"config.json": "{not json", "model.safetensors": ""}, "config.json is not a JSON object"),
        ({"config.json": {"architectures": ["ResNetForImageClassification"]},
          "model.safetensors": ""}, "no engine serves architectures: ResNetForImageClassification"),
        ({"config.json": {}, "model.safetensors": ""}, "no engine serves architectures: none"),
        ({"config.json": {"architectures": ["LlamaForCausalLM"]}, "model.pt": ""},
         "no weights file the engine loads (model.safetensors or pytorch_model.bin)"),
    ],
)  # fmt: skip
def test_unservable_models_say_why(
    tmp_path: Path, files: dict[str, str | dict[str, object]], why: str
) -> None:
    chosen = choose_engine(_folder(tmp_path, files))
    assert chosen.engine is None and not chosen.servable
    assert why in chosen.reason


def test_only_the_manifest_counts(tmp_path: Path) -> None:
    """A weights file that appeared after admission does not make the admitted model servable."""
    files = {"config.json": {"architectures": ["LlamaForCausalLM"]}, "model.safetensors": ""}
    folder = _folder(tmp_path, files)
    assert choose_engine(folder, ["config.json"]).engine is None
    assert choose_engine(folder, ["config.json", "model.safetensors"]).engine == choice.CAUSAL_LM


def test_a_single_file_is_not_servable(tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"")
    assert "a single file" in choose_engine(weights).reason


def test_choosing_imports_nothing_heavy() -> None:
    """Admission runs the choice: it must not import torch, transformers or numpy."""
    code = (
        "import sys; import airlock.engine_choice; "
        "print(sorted(m for m in ('torch', 'transformers', 'numpy', 'sentence_transformers') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "src")},
    ).stdout
    assert out.strip() == "[]"
