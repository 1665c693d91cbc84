"""A model admitted without an engine that serves it: not in /v1/models, and a request for it is
a 400 that says why (not a 503 after a failed load), through the official client."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from tests.registry.conftest import servable_model
from tests.vet.conftest import CLEAN

from airlock.cli import main
from airlock.gateway.catalog import AdmittedModel, ModelNotServable, StaticCatalog
from airlock.gateway.config import GatewayConfig
from airlock.gateway.lifecycle import ModelManager

from .conftest import Live, admit, serve

WHY = "no config.json, so no engine knows what the weights are"


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AIRLOCK_DATABASE_URL", raising=False)
    admit(CLEAN, "bare")  # a pickle and a README
    admit(servable_model(tmp_path / "llm"), "llm")
    yield from serve(GatewayConfig())


def test_unservable_model_is_not_listed_and_says_why(live: Live) -> None:
    client = openai.OpenAI(base_url=live.url, api_key=live.key("app"), max_retries=0)
    assert [m.id for m in client.models.list()] == ["llm"]
    with pytest.raises(openai.BadRequestError, match=f"cannot be served: {WHY}"):
        client.models.retrieve("bare")
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("never-admitted")
    with pytest.raises(openai.BadRequestError) as error:
        client.chat.completions.create(model="bare", messages=[{"role": "user", "content": "hi"}])
    assert error.value.status_code == 400
    body = error.value.body
    assert isinstance(body, dict)
    assert body["code"] == "model_not_servable" and body["param"] == "model"
    assert body["message"] == f"The model 'bare' is admitted but cannot be served: {WHY}"
    with pytest.raises(openai.BadRequestError, match="cannot be served"):
        client.embeddings.create(model="bare", input="hi")


def test_a_key_not_allowed_the_model_learns_nothing_more(live: Live) -> None:
    client = openai.OpenAI(base_url=live.url, api_key=live.key("other", ["llm"]), max_retries=0)
    with pytest.raises(openai.NotFoundError) as error:
        client.embeddings.create(model="bare", input="hi")
    assert WHY not in str(error.value) and error.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError) as not_found:
        client.models.retrieve("bare")
    assert WHY not in str(not_found.value)


def test_catalog_and_manager(tmp_path: Path) -> None:
    bare = AdmittedModel("bare", tmp_path, (), not_servable=WHY)
    catalog = StaticCatalog([bare, AdmittedModel("llm", tmp_path, ())])
    assert catalog.names() == ["llm"] and catalog.get("bare") == bare
    manager = ModelManager(catalog, GatewayConfig(), lambda _: pytest.fail("must not load"))

    async def request() -> None:
        async with manager.use("bare"):
            pass

    with pytest.raises(ModelNotServable, match=WHY):
        asyncio.run(request())


def test_serve_says_which_models_it_will_not_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AIRLOCK_DATABASE_URL", raising=False)
    admit(CLEAN, "bare")
    admit(servable_model(tmp_path / "llm"), "llm")
    capsys.readouterr()
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    assert main(["serve", "--port", "9124"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "airlock: serving 1 admitted model(s) on http://127.0.0.1:9124/v1: llm" in lines
    assert lines[-1] == f"airlock: not serving bare: {WHY}"
