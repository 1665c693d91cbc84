"""`airlock pull` from a second Airlock acting as the upstream hub (and, for a hub that lies
about its hashes, a tiny fake one)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from airlock.registry.store import Record, Registry

from .conftest import Server, airlock


def _pull(home: Path, upstream_url: str, token: str, *args: str) -> tuple[int, str]:
    done = airlock(home, "pull", *args, "--endpoint", upstream_url, env={"HF_TOKEN": token})
    return done.returncode, done.stderr


def _versions(home: Path) -> list[Record]:
    registry = Registry(f"sqlite:///{home / 'airlock.db'}")
    try:
        return registry.versions()
    finally:
        registry.close()


def _upstream_record(upstream: Server, name: str) -> Record:
    registry = Registry(f"sqlite:///{upstream.home / 'airlock.db'}")
    try:
        record = registry.get(name)
        assert record is not None
        return record
    finally:
        registry.close()


def test_a_good_pull_is_checked_vetted_and_admitted(upstream: Server, tmp_path: Path) -> None:
    code, err = _pull(
        tmp_path, upstream.url, upstream.key, "org/tiny-bert", "--admit", "--name", "tb"
    )
    assert code == 0, err
    (record,) = _versions(tmp_path)
    original = _upstream_record(upstream, "tiny-bert")
    assert record.name == "tb" and record.repo_id == "org/tiny-bert"
    assert record.files == original.files
    # The same bytes get the same revision on every Airlock: caches stay valid across mirrors.
    assert record.revision == original.revision
    assert Path(record.source).is_relative_to(tmp_path / "pulled")
    assert not list((tmp_path / "quarantine").rglob("*.safetensors"))


def test_an_interrupted_download_resumes_with_a_range(upstream: Server, tmp_path: Path) -> None:
    original = _upstream_record(upstream, "minilm")
    commit = str(original.revision)
    weights = Path(original.source) / "model.safetensors"
    partial = tmp_path / "quarantine" / "org--minilm" / commit / "partial"
    partial.mkdir(parents=True)
    half = weights.stat().st_size // 2
    (partial / "model.safetensors.incomplete").write_bytes(weights.read_bytes()[:half])
    code, err = _pull(tmp_path, upstream.url, upstream.key, "org/minilm", "--admit", "--name", "m")
    assert code == 0, err
    (record,) = _versions(tmp_path)
    assert record.files == original.files
    served = [
        line
        for line in upstream.log.read_text().splitlines()
        if f"{commit}/model.safetensors" in line
    ]
    assert any(" 206 " in line for line in served)  # only the missing half was asked for


def test_a_repository_that_fails_vetting_stays_quarantined(
    upstream: Server, tmp_path: Path
) -> None:
    code, err = _pull(tmp_path, upstream.url, upstream.key, "org/pickled", "--admit", "--name", "p")
    assert code == 1 and "Not admitted" in err
    assert _versions(tmp_path) == []
    (quarantined,) = (tmp_path / "quarantine" / "org--pickled").iterdir()
    assert (quarantined / "files" / "pytorch_model.bin").is_file()
    report = json.loads((quarantined / "vet-report.json").read_text())
    assert report["verdict"]["decision"] == "refuse"


class _LyingHub(BaseHTTPRequestHandler):
    """Lists config.json with the sha256 of one content and serves another of the same size."""

    listed = b'{"model_type": "bert"}'
    served = b'{"model_type": "evil"}'
    commit = "1" * 40

    def do_GET(self) -> None:
        if self.path.startswith("/api/models/"):
            sibling = {
                "rfilename": "config.json",
                "size": len(self.listed),
                "blobId": "0" * 40,
                "lfs": {
                    "sha256": hashlib.sha256(self.listed).hexdigest(),
                    "size": len(self.listed),
                    "pointerSize": 130,
                },
            }
            body = json.dumps(
                {"id": "org/liar", "sha": self.commit, "siblings": [sibling]}
            ).encode()
        else:
            body = self.served
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def lying_hub() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LyingHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_file_that_does_not_match_the_hub_is_refused(lying_hub: str, tmp_path: Path) -> None:
    assert httpx.get(f"{lying_hub}/org/liar/resolve/x/config.json").content == _LyingHub.served
    code, err = _pull(tmp_path, lying_hub, "", "org/liar", "--admit", "--name", "liar")
    assert code == 1 and "config.json" in err and "sha256" in err and "nothing admitted" in err
    assert _versions(tmp_path) == []
    assert not list((tmp_path / "quarantine").rglob("config.json*"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["org/a/b"], "REPO_ID"),
        (["org/a", "--admit"], "--admit and --name"),
        (["org/a", "--name", "x"], "--admit and --name"),
        (["org/a", "--admit", "--name", "bad name"], "--name"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    done = airlock(tmp_path, "pull", *args)
    assert done.returncode == 2 and message in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
