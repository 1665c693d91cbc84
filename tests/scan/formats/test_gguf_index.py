"""GGUF index: array lengths are counted without keeping long arrays, and asked-for vocabulary
entries are found by id while the vocabulary is walked (files from the real writer, gguf-py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gguf import GGUFWriter

from airlock.headers.gguf_index import VOCABULARY, read_index


def write(path: Path, tokens: list[str]) -> Path:
    writer = GGUFWriter(str(path), "llama")
    writer.add_token_list(tokens)
    writer.add_array("tokenizer.ggml.scores", [0.0] * len(tokens))
    writer.add_tensor("weight", np.ones((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_vocabulary_length_and_token_ids(tmp_path: Path) -> None:
    tokens = [f"t{i}" for i in range(5000)] + ["<|im_start|>", "<|im_end|>", "t7"]
    path = write(tmp_path / "m.gguf", tokens)
    index = read_index(path, ["<|im_end|>", "t7", "<absent>"])
    assert index.lengths[VOCABULARY] == 5003
    assert index.lengths["tokenizer.ggml.scores"] == 5003
    # The first occurrence counts; what the vocabulary lacks is simply not there.
    assert index.token_ids == {"<|im_end|>": 5001, "t7": 7}
    # Long arrays are still only counted, and the tensors still follow the metadata.
    assert "tokenizer.ggml.scores" not in index.metadata
    assert [t.name for t in index.tensors] == ["weight"]


def test_no_tokens_asked_leaves_the_vocabulary_unread(tmp_path: Path) -> None:
    index = read_index(write(tmp_path / "m.gguf", ["<s>", "</s>"]))
    assert index.token_ids == {}
    assert index.lengths[VOCABULARY] == 2
