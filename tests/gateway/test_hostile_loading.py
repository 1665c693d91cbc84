"""Loading under hostile files and loaders, over HTTP: a named pipe in a file's place, a loader
that hangs or raises, a tampered model asked for again and again, a failed load beside a
working model, and the copies a killed gateway left behind. The engine is scripted (the
manager's loader seam), driven by the `engine.json` in the verified copy it is given."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from airlock.gateway import loads, registry_catalog
from airlock.gateway.catalog import AdmittedModel
from airlock.gateway.config import GatewayConfig
from airlock.gateway.loading import CopyTimeout, verified_copy
from airlock.gateway.scratch import Scratch
from airlock.provenance.manifest import FileDigest

from .conftest import Live, admit, serve
from .scripted_engine import CLOSED, LOADED, make, scripted

LOAD_TIMEOUT_S = 1.5
SLOW_LOAD_S = 6.0
BUDGET = 1000  # bytes of weights: one 600-byte model at a time


@pytest.fixture(scope="module")
def root(airlock_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(scope="module")
def live(root: Path) -> Iterator[Live]:
    for name, weights, script in [
        ("h-fifo", 10, {}),
        ("h-slow", 10, {"sleep": SLOW_LOAD_S}),
        ("h-crash", 10, {"raise": "unexpected token"}),
        ("h-refused", 10, {"engine_error": "this model's tokenizer has no EOS token"}),
        ("h-tamper", 10, {"reply": "admitted"}),
        ("h-good", 600, {"reply": "good"}),
        ("h-spoilt", 600, {"reply": "spoilt"}),
    ]:
        admit(make(root, name, weights, **script), name)
    config = GatewayConfig(
        load_timeout_s=LOAD_TIMEOUT_S, memory_budget_bytes=BUDGET, scratch_dir=root / "scratch"
    )
    yield from serve(config, loader=scripted)


def chat(live: Live, model: str) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": f"Bearer {live.key(f'k-{time.monotonic_ns()}')}"}
    return httpx.post(f"{live.url}/chat/completions", json=body, headers=headers, timeout=60)


def copies(root: Path) -> list[Path]:
    """The private copies now in the scratch root (every gateway's)."""
    return sorted((root / "scratch").glob("proc-*/model-*"))


def test_a_named_pipe_in_place_of_a_file_is_refused_at_once(live: Live, root: Path) -> None:
    script = root / "h-fifo" / "engine.json"
    script.unlink()
    os.mkfifo(script)  # no writer: a blocking open would never return
    response = chat(live, "h-fifo")
    assert response.status_code == 503
    assert response.json()["error"] == {
        "message": "model 'h-fifo': engine.json is no longer a regular file (it is a named "
        "pipe); refusing to load it",
        "type": "model_load_error",
        "param": None,
        "code": "model_integrity_mismatch",
    }
    assert copies(root) == []


def test_a_load_past_the_timeout_is_refused_and_cleaned_up_later(live: Live, root: Path) -> None:
    started = time.monotonic()
    response = chat(live, "h-slow")
    assert time.monotonic() - started < SLOW_LOAD_S - 1  # answered at the timeout, not the end
    assert response.status_code == 503
    assert response.json()["error"] == {
        "message": "model 'h-slow' did not load within the load timeout (1.5 s); retry later",
        "type": "model_load_error",
        "param": None,
        "code": "model_load_timeout",
    }
    (given,) = LOADED["h-slow"]
    assert given in copies(root)  # still there: the loader thread still reads it
    deadline = time.monotonic() + SLOW_LOAD_S + 20
    while given.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not given.exists() and given in CLOSED  # its engine closed, its copy removed


def test_an_unexpected_loader_exception_is_a_clear_503_without_paths(
    live: Live, root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        responses = [chat(live, "h-crash") for _ in range(3)]
    for response in responses:
        assert response.status_code == 503
        assert response.json()["error"] == {
            "message": "model 'h-crash' cannot be loaded: its engine raised RuntimeError "
            "(details in the server log)",
            "type": "model_load_error",
            "param": None,
            "code": "model_load_failed",
        }
        assert "/" not in response.text  # no private copy's path, no temp folder
    (given,) = LOADED["h-crash"]  # loaded once; refused twice from memory
    assert not given.exists()  # the copy went with the failure
    # The whole story is in the server log: the copy's path, the exception and its traceback.
    assert str(given) in caplog.text and "unexpected token" in caplog.text


def test_our_own_engine_errors_keep_their_words(live: Live) -> None:
    response = chat(live, "h-refused")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "model_load_failed"
    assert error["message"] == (
        "model 'h-refused' cannot be loaded: this model's tokenizer has no EOS token"
    )


def test_a_tampered_model_is_refused_from_a_stat_until_it_changes(
    live: Live, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied: list[str] = []

    def counting(model: AdmittedModel, *args: object) -> object:
        copied.append(model.name)
        return verified_copy(model, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(loads, "verified_copy", counting)
    script = root / "h-tamper" / "engine.json"
    script.write_text(json.dumps({"reply": "changed after admission"}))
    for _ in range(4):
        response = chat(live, "h-tamper")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "model_integrity_mismatch"
    assert copied == ["h-tamper"]  # read and copied once, not once per request

    script.write_text(json.dumps({"reply": "changed after admission"}))  # rewritten: new ctime
    assert chat(live, "h-tamper").status_code == 503
    assert copied == ["h-tamper"] * 2

    monkeypatch.setattr(registry_catalog, "CACHE_S", 0.0)
    admit(root / "h-tamper", "h-tamper")  # the change approved: a new admitted version
    response = chat(live, "h-tamper")
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "changed after admission"


def test_a_refused_load_unloads_nothing(live: Live, root: Path) -> None:
    assert chat(live, "h-good").status_code == 200
    (root / "h-spoilt" / "model.safetensors").write_bytes(b"\1" * 600)
    assert chat(live, "h-spoilt").status_code == 503  # would need h-good's room
    headers = {"Authorization": f"Bearer {live.key('k-health')}"}
    health = httpx.get(f"{live.url.removesuffix('/v1')}/health", headers=headers).json()
    assert "h-good" in health["loaded"]


def test_a_copy_past_its_deadline_stops_and_is_removed(tmp_path: Path) -> None:
    folder = make(tmp_path, "m", weights=100)
    data = (folder / "model.safetensors").read_bytes()
    entry = FileDigest("model.safetensors", len(data), hashlib.sha256(data).hexdigest())
    model = AdmittedModel("m", folder, (entry,))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.raises(CopyTimeout):
        verified_copy(model, scratch, deadline=time.monotonic() - 1)
    assert list(scratch.iterdir()) == []


def test_copies_left_by_a_killed_gateway_are_removed_at_start(tmp_path: Path) -> None:
    """Gateways start at once, each sweeping the scratch root as it makes its folder: none
    removes another live one's. One is killed with SIGKILL: the next gateway to start removes
    its copies, and only its copies."""
    root = tmp_path / "copies"
    holder = (
        "import sys, time; from pathlib import Path; from airlock.gateway.scratch import Scratch\n"
        "s = Scratch(Path(sys.argv[1])); (s.folder / 'model-x').mkdir()\n"
        "print(s.folder, flush=True); time.sleep(120)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-c", holder, str(root)]
    gateways = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) for _ in range(6)
    ]
    try:
        folders = [Path(g.stdout.readline().strip()) for g in gateways]  # type: ignore[union-attr]
        assert all(f.name.startswith("proc-") for f in folders)  # every gateway got going
        assert all((f / "model-x").is_dir() for f in folders)  # and none swept another's
        gateways[0].send_signal(signal.SIGKILL)
        gateways[0].wait(timeout=30)
        scratch = Scratch(root)
        assert scratch.swept == 1
        assert not folders[0].exists()
        assert all((f / "model-x").is_dir() for f in folders[1:])
        mine = scratch.folder
        scratch.close()
        assert not mine.exists()
    finally:
        for gateway in gateways:
            gateway.kill()
            gateway.wait(timeout=30)
