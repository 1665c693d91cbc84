"""`airlock fit` reads headers only: it must not load the scan's readers or jinja2 (the GGUF
index shares its parser with the scan through `airlock.headers`, not through the scan reader)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gguf
import numpy as np
from fit_helpers import LLAMA_31_8B, write_sparse_checkpoint

# What sizing a model has no use for: template parsing and the scan (readers, analyzers).
_ABSENT = ("jinja2", "airlock.scan")


def _write_gguf(path: Path) -> Path:
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(1)
    writer.add_embedding_length(64)
    writer.add_feed_forward_length(128)
    writer.add_head_count(4)
    writer.add_head_count_kv(2)
    writer.add_context_length(2048)
    writer.add_chat_template("{{ messages[0]['content'] }}")
    writer.add_tensor("token_embd.weight", np.ones((32, 64), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _loaded_while_fitting(path: Path) -> tuple[int, list[str]]:
    program = (
        "import json, sys\nfrom airlock.cli import main\n"
        f"code = main(['fit', {str(path)!r}, '--format', 'json'])\n"
        f"loaded = sorted(m for m in {_ABSENT!r} if m in sys.modules)\n"
        "print(json.dumps([code, loaded]), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    code, loaded = json.loads(done.stderr.strip().splitlines()[-1])
    return code, loaded


def test_fit_on_a_gguf_file_loads_no_scan_reader_or_jinja2(tmp_path: Path) -> None:
    code, loaded = _loaded_while_fitting(_write_gguf(tmp_path / "tiny.gguf"))
    assert code == 0
    assert loaded == []


def test_fit_on_safetensors_loads_no_scan_reader_or_jinja2(tmp_path: Path) -> None:
    write_sparse_checkpoint(tmp_path, LLAMA_31_8B, shards=2)
    code, loaded = _loaded_while_fitting(tmp_path)
    assert code == 0
    assert loaded == []
