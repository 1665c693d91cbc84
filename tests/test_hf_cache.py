"""Hugging Face cache layout: links into blobs/ are followed, repo and revision reported."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from airlock.cli import main
from airlock.scan.scanner import Scanner

REVISION = "0123456789abcdef0123456789abcdef01234567"
PAYLOAD = b"\x80\x02cbuiltins\nexec\nX\x0b\x00\x00\x00print('hi')\x85R."


def make_cache(root: Path, files: dict[str, bytes]) -> Path:
    """models--acme--tiny with one snapshot whose files are links into blobs/."""
    repo = root / "models--acme--tiny"
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(REVISION)
    snapshot = repo / "snapshots" / REVISION
    snapshot.mkdir(parents=True)
    for index, (name, data) in enumerate(files.items()):
        blob = repo / "blobs" / f"blob{index}"
        blob.write_bytes(data)
        link = snapshot / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(Path("../" * (name.count("/") + 2)) / "blobs" / blob.name)
    return repo


def test_snapshot_links_are_followed_and_scanned(tmp_path: Path) -> None:
    repo = make_cache(tmp_path, {"pytorch_model.bin": PAYLOAD, "config.json": b"{}"})
    report = Scanner().scan_paths([repo / "snapshots" / REVISION])
    rules = {f.rule_id for f in report.findings}
    assert "AIR101" in rules and "AIR203" not in rules
    (snapshot,) = report.snapshots
    assert (snapshot.repo_id, snapshot.revision, snapshot.refs) == (
        "acme/tiny",
        REVISION,
        ("main",),
    )


def test_repo_folder_scans_every_snapshot(tmp_path: Path) -> None:
    repo = make_cache(tmp_path, {"model.pkl": pickle.dumps({"w": [1.0, 2.0]})})
    report = Scanner().scan_paths([repo])
    assert [r.inspected for r in report.files] == [True]
    assert report.findings == []
    assert report.snapshots[0].repo_type == "model"


def test_link_out_of_the_cache_repository_is_not_followed(tmp_path: Path) -> None:
    repo = make_cache(tmp_path, {"config.json": b"{}"})
    outside = tmp_path / "secret.pkl"
    outside.write_bytes(PAYLOAD)
    (repo / "snapshots" / REVISION / "evil.bin").symlink_to(outside)
    report = Scanner().scan_paths([repo / "snapshots" / REVISION])
    rules = [f.rule_id for f in report.findings]
    assert rules == ["AIR203"]


def test_json_report_names_repo_and_revision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_cache(tmp_path, {"model.pkl": pickle.dumps([1, 2, 3])})
    assert main(["scan", str(repo / "snapshots" / REVISION), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    (entry,) = document["huggingface"]
    assert entry["repo_id"] == "acme/tiny" and entry["revision"] == REVISION
    assert entry["refs"] == ["main"]


def test_text_report_names_the_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_cache(tmp_path, {"model.pkl": pickle.dumps([1, 2, 3])})
    main(["scan", str(repo / "snapshots" / REVISION)])
    assert f"Hugging Face model acme/tiny @ {REVISION} (main)" in capsys.readouterr().out
