"""The playground in the browser: embeddings similarity, streamed chat and rerank, called as the
signed-in person (the calls show on the usage page under their key), never with their key in
the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.gateway import tiny_models

from airlock.cli import main

from .conftest import Site, minilm_folder
from .test_browser import browser, shot, sign_in  # noqa: F401 - the browser fixture

TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def admitted(site: Site, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("playground-models")
    made = {
        "pg-minilm": minilm_folder(),
        "pg-llama": tiny_models.make_llama(root / "llama"),
        "pg-rerank": tiny_models.make_cross_encoder(root / "rerank"),
        "pg-whisper": tiny_models.make_whisper(root / "whisper", root / "whisper-work"),
    }
    for name, folder in made.items():
        assert main(["admit", str(folder), "--name", name, "--force", "--reason", "test"]) == 0


def _choose(page: Any, model: str) -> None:
    page.goto(page.url.split("/playground")[0] + "/playground")
    page.select_option("#pg-model", model)


def test_playground_calls_as_the_signed_in_person(
    browser: Any,  # noqa: F811 - the fixture imported above
    site: Site,
    admitted: None,
) -> None:
    page = sign_in(browser, site, "reviewer")
    page.goto(site.url + "/playground")
    assert site.keys["reviewer"] not in page.content()  # the key never reaches the page

    page.select_option("#pg-model", "pg-minilm")
    page.click("#pg-similarity")
    page.wait_for_selector("#pg-output:has-text('Cosine similarity')", timeout=TIMEOUT_MS)
    similarity = float(page.inner_text("#pg-output").split(":")[1].split("(")[0])
    assert 0.3 < similarity <= 1.0  # two ways to say "I cannot log in" are close
    shot(page, "15-playground-embeddings")

    page.select_option("#pg-model", "pg-llama")
    page.click("#pg-chat")
    # (wait_for_function would evaluate a string: the page's CSP forbids it, rightly)
    page.wait_for_selector("#pg-output:not(:empty)", timeout=TIMEOUT_MS)
    assert not page.inner_text("#pg-output").startswith("Error")
    shot(page, "16-playground-chat")

    page.select_option("#pg-model", "pg-rerank")
    page.click("#pg-rerank")
    page.wait_for_selector("#pg-output:has-text('1. ')", timeout=TIMEOUT_MS)
    assert len(page.inner_text("#pg-output").splitlines()) == 3
    shot(page, "17-playground-rerank")

    page.select_option("#pg-model", "pg-whisper")
    page.set_input_files(
        "#pg-audio", files=[{"name": "hello.wav", "mimeType": "audio/wav", "buffer": wav()}]
    )
    page.click("#pg-transcribe")
    page.wait_for_selector("#pg-output:not(:empty)", timeout=TIMEOUT_MS)
    assert not page.inner_text("#pg-output").startswith("Error")
    shot(page, "18-playground-transcription")

    wanted = {"pg-minilm", "pg-llama", "pg-rerank", "pg-whisper"}
    bearer = {"Authorization": f"Bearer {site.keys['admin']}"}
    for _ in range(40):
        rows = httpx.get(site.url + "/admin/api/usage", headers=bearer).json()
        mine = {r["model"] for r in rows if r["key"] == "reviewer-rita"}
        if wanted <= mine:
            break
        page.wait_for_timeout(250)
    assert wanted <= mine


def wav(seconds: float = 1.0, rate: int = 16000) -> bytes:
    """A second of a 440 Hz tone: what the tiny Whisper transcribes does not matter here, only
    that the upload reaches it and the answer comes back."""
    import io
    import math
    import struct
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        samples = (
            int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(seconds * rate))
        )
        writer.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return buffer.getvalue()


def test_playground_token_needs_the_session_csrf_token(site: Site) -> None:
    from .http_client import signed_in

    client = signed_in(site.url, site.keys["requester"])
    assert client.post("/playground/token").status_code == 403
    assert httpx.post(site.url + "/playground/token").status_code == 401


def test_a_playground_token_stops_with_its_key(site: Site, tmp_path: Path) -> None:
    from .http_client import csrf_of, signed_in

    bearer = {"Authorization": f"Bearer {site.keys['admin']}"}
    made = httpx.post(
        site.url + "/admin/api/keys",
        json={"name": "short-lived", "role": "requester"},
        headers=bearer,
    ).json()
    client = signed_in(site.url, made["key"])
    csrf = csrf_of(client.get("/models").text)
    token = client.post("/playground/token", headers={"X-CSRF-Token": csrf}).json()["token"]
    models = httpx.get(site.api + "/models", headers={"Authorization": f"Bearer {token}"})
    assert models.status_code == 200
    httpx.post(site.url + "/admin/api/keys/short-lived/revoke", json={}, headers=bearer)
    refused = httpx.get(site.api + "/models", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
