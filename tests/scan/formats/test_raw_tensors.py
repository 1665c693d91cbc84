"""Raw tensor side files (data/raw_tensors.toml): sherpa-onnx's Kokoro `voices.bin`,
recognised by name once no other format matched, its length checked against the records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from airlock.findings import Severity
from airlock.policy.fields import kind
from airlock.scan.scanner import Scanner


def test_sherpa_onnx_raw_voices_are_recognised_as_data(tmp_path: Path) -> None:
    folder = tmp_path / "kokoro-en-v0_19"
    folder.mkdir()
    voices = np.random.default_rng(6).standard_normal((3, 511, 1, 256)).astype(np.float32)
    (folder / "voices.bin").write_bytes(voices.tobytes())
    report = Scanner().scan_paths([folder], jobs=1)
    assert report.findings == []
    assert [(f.kind, f.inspected) for f in report.files] == [("raw-tensors", True)]


def test_a_voices_bin_of_the_wrong_length_is_not_passed_as_data(tmp_path: Path) -> None:
    folder = tmp_path / "kokoro"
    folder.mkdir()
    (folder / "voices.bin").write_bytes(b"\x01\x02" * 1000)
    found = Scanner().scan_paths([folder], jobs=1).findings
    assert [(f.rule_id, f.severity) for f in found] == [("AIR001", Severity.HIGH)]
    assert "(510, 1, 256)" in found[0].message


def test_a_pickle_named_voices_bin_is_read_as_a_pickle(tmp_path: Path) -> None:
    import pickle

    (tmp_path / "voices.bin").write_bytes(pickle.dumps({"af": [0.0] * 4}, protocol=2))
    report = Scanner().scan_paths([tmp_path], jobs=1)
    assert report.files[0].kind == "pickle"


@pytest.mark.parametrize("records", [1, 53])
def test_both_record_shapes_and_counts_are_accepted(tmp_path: Path, records: int) -> None:
    voices = np.zeros((records, 510, 1, 256), np.float32)
    (tmp_path / "voices.bin").write_bytes(voices.tobytes())
    assert Scanner().scan_paths([tmp_path], jobs=1).findings == []


def test_the_policy_can_refuse_the_kind() -> None:
    import yaml

    assert kind(yaml.compose("raw-tensors")) == "raw-tensors"
