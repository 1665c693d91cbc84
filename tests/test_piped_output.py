"""Text reports written to a file or a pipe are never wrapped: a path stays on one line, whole,
so it can be searched for, copied and parsed (pytest's captured stdout is not a terminal)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from tests.license.conftest import reference_text, write_model

from airlock.cli import main

# A pickle that calls os.system: every report names its file.
PAYLOAD = b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R."


def _deep(tmp_path: Path) -> Path:
    """A model folder whose path is far wider than any terminal, with hyphens rich or textwrap
    would break at."""
    folder = tmp_path
    for part in range(4):
        folder = folder / (f"a-rather-long-folder-name-for-model-downloads-{part}-" + "x" * 20)
    folder.mkdir(parents=True)
    assert len(str(folder)) > 300
    return folder


def test_scan_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _deep(tmp_path)
    (folder / "pytorch_model.bin").write_bytes(PAYLOAD)
    assert main(["scan", str(folder)]) == 1
    out = capsys.readouterr().out
    assert f"\n{folder}/pytorch_model.bin  (pickle, 23 bytes)\n" in out  # the file's header line


def test_scan_report_to_a_file(tmp_path: Path) -> None:
    folder = _deep(tmp_path)
    (folder / "pytorch_model.bin").write_bytes(PAYLOAD)
    report = tmp_path / "report.txt"
    assert main(["scan", str(folder), "-o", str(report)]) == 1
    assert f"{folder}/pytorch_model.bin" in report.read_text("utf-8")


def test_license_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_model(_deep(tmp_path), "license: mit", reference_text("mit"))
    assert main(["license", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"{folder}/LICENSE" in out and f"{folder}/README.md" in out


def test_vet_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _deep(tmp_path)
    (folder / "pytorch_model.bin").write_bytes(PAYLOAD)
    assert main(["vet", str(folder)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"Airlock verdict for {folder}: REFUSE\n")
    assert f"CRITICAL AIR101 {folder}/pytorch_model.bin: " in out  # the findings line, whole
    assert f"not sized ({folder}: " in out


def test_fit_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _deep(tmp_path)
    config = {"model_type": "bert", "hidden_size": 8, "num_hidden_layers": 1,
              "num_attention_heads": 2, "intermediate_size": 16, "vocab_size": 32}  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    code = main(["fit", str(folder)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert str(folder) in out


def test_terminal_output_still_wraps() -> None:
    from airlock.report.console import rendered, string_console

    console, buffer = string_console(color=False, width=40)
    console.print("word " * 20)
    assert max(len(line) for line in rendered(buffer).splitlines()) <= 40
