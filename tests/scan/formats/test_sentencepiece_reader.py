"""SentencePiece models (`tokenizer.model`): recognised by structure, no finding when real,
AIR001 when the bytes only start like one."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from proto_builders import bfield, vfield

from airlock.artifact import ArtifactFile
from airlock.scan.context import Kind
from airlock.scan.formats.detect import detect
from airlock.scan.scanner import Scanner


def piece(text: str, score: float, kind: int = 1) -> bytes:
    score_field = b"\x15" + struct.pack("<f", score)  # field 2, fixed32
    return bfield(1, bfield(1, text) + score_field + vfield(3, kind))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real tokenizer.model, trained here with the sentencepiece library."""
    import sentencepiece

    folder = tmp_path_factory.mktemp("spm")
    corpus = folder / "corpus.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog\nhello airlock\n" * 200)
    sentencepiece.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(folder / "tokenizer"), vocab_size=30, minloglevel=2
    )
    return folder / "tokenizer.model"


def scan(path: Path) -> list[str]:
    result = Scanner().scan_file(ArtifactFile(path, path.name))
    return [f.rule_id for f in result.findings]


def test_real_model_is_recognised_and_clean(trained: Path) -> None:
    assert detect(trained.read_bytes()[:4096], "tokenizer.model") is Kind.SENTENCEPIECE
    assert scan(trained) == []


def test_hand_built_model_with_extensions_is_clean(tmp_path: Path) -> None:
    data = piece("<unk>", 0.0, 2) + piece("▁the", -1.5) + bfield(2, vfield(3, 8000))
    data += bfield(200, b"an extension")  # ModelProto reserves 200 and up
    path = tmp_path / "spiece.model"
    path.write_bytes(data)
    assert scan(path) == []


def test_bytes_that_only_start_like_one_are_air001(tmp_path: Path, trained: Path) -> None:
    real = trained.read_bytes()
    truncated = tmp_path / "truncated.model"
    truncated.write_bytes(real[: len(real) // 2 + 3])
    foreign = tmp_path / "foreign.model"
    foreign.write_bytes(piece("<unk>", 0.0) + vfield(9, 1) + b"\x80\x02cos\nsystem\n")
    assert scan(truncated) == ["AIR001"]
    assert scan(foreign) == ["AIR001"]


def test_other_protobufs_are_not_taken_for_one() -> None:
    node = bfield(1, bfield(1, "a") + bfield(2, "Const"))  # a GraphDef's first node
    assert detect(node, "graph.pb") is not Kind.SENTENCEPIECE
    no_score = bfield(1, bfield(1, "x") + vfield(3, 1))
    assert detect(no_score, "tokenizer.model") is not Kind.SENTENCEPIECE
    pickled = b"\x80\x04\x95" + bytes(20)
    assert detect(pickled, "tokenizer.model") is Kind.PICKLE
