"""Manifests: digests equal hashlib's, deterministic order, links handled as the scanner does."""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path

import pytest
from tests.provenance.conftest import REVISION, make_cache

from airlock.provenance import manifest as manifest_module
from airlock.provenance.errors import ProvenanceError
from airlock.provenance.manifest import build_manifest, model_root, sha256_file


def test_digests_equal_hashlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifest_module, "CHUNK_SIZE", 1000)  # many chunks, a partial last one
    rng = random.Random(7)
    expected = {}
    for index in range(12):
        name = f"d{index % 3}/n{index % 2}/f{index}.bin"
        data = rng.randbytes(rng.choice([0, 1, 999, 1000, 1001, 25_000]))
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
        expected[name] = (len(data), hashlib.sha256(data).hexdigest())
    manifest = build_manifest(tmp_path, jobs=4)
    assert {f.path: (f.size, f.sha256) for f in manifest.files} == expected
    assert [f.path for f in manifest.files] == sorted(expected)
    assert manifest.total_bytes == sum(size for size, _ in expected.values())


def test_links_inside_followed_links_out_reported(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"w" * 10)
    (model / "alias.bin").symlink_to("weights.bin")
    (tmp_path / "secret").write_text("outside")
    (model / "escape").symlink_to(tmp_path / "secret")
    manifest = build_manifest(model)
    assert [f.path for f in manifest.files] == ["alias.bin", "weights.bin"]
    assert manifest.files[0].sha256 == hashlib.sha256(b"w" * 10).hexdigest()
    assert manifest.links_out == ("escape",)


def test_single_file_and_progress(tmp_path: Path) -> None:
    file = tmp_path / "model.gguf"
    file.write_bytes(os.urandom(3 * 1024 * 1024 + 5))
    seen: list[int] = []
    started: list[tuple[int, int]] = []
    manifest = build_manifest(
        file, on_start=lambda n, b: started.append((n, b)), on_bytes=seen.append
    )
    (entry,) = manifest.files
    assert entry.path == "model.gguf" and entry.sha256 == sha256_file(file)
    assert started == [(1, entry.size)] and sum(seen) == entry.size


def test_json_has_schema_version(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"")
    document = json.loads(build_manifest(tmp_path).to_json())
    assert document["schema_version"] == 1 and document["algorithm"] == "sha256"
    assert document["files"] == [
        {"path": "a", "size": 0, "sha256": hashlib.sha256(b"").hexdigest()}
    ]


def test_cache_repository_resolves_to_current_snapshot(tmp_path: Path) -> None:
    repo = make_cache(tmp_path)
    assert model_root(repo) == repo / "snapshots" / REVISION
    names = [f.path for f in build_manifest(repo).files]
    assert f"snapshots/{REVISION}/config.json" in names


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ProvenanceError, match="no such file"):
        build_manifest(tmp_path / "nope")
