"""A version `airlock revet` suspended: the gateway refuses it with 403 `model_suspended` (the
official client raises PermissionDeniedError), with the reason and how to appeal; /v1/models
leaves it out; a re-admission of the same files serves it again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from tests.revet.conftest import DENY_APACHE, model, policy

from airlock.cli import main
from airlock.gateway import registry_catalog
from airlock.gateway.catalog import (
    AdmittedModel,
    ModelNotServable,
    ModelSuspended,
    StaticCatalog,
    refusal,
)
from airlock.gateway.config import GatewayConfig

from . import scripted_engine
from .conftest import Live, serve


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AIRLOCK_DATABASE_URL", raising=False)
    # Every request reads the registry: a suspension shows at the next request, not in 2 s.
    monkeypatch.setattr(registry_catalog, "CACHE_S", 0.0)
    for name in ("chat", "other"):
        assert main(["admit", str(model(tmp_path / name, f"hi from {name}")), "--name", name]) == 0
    yield from serve(GatewayConfig(), loader=scripted_engine.scripted)


def ask(client: openai.OpenAI, name: str) -> str | None:
    answer = client.chat.completions.create(
        model=name, messages=[{"role": "user", "content": "hi"}]
    )
    return answer.choices[0].message.content


def test_suspended_model_is_refused_with_the_reason_until_readmitted(
    live: Live, tmp_path: Path
) -> None:
    client = openai.OpenAI(base_url=live.url, api_key=live.key("app"), max_retries=0)
    assert ask(client, "chat") == "hi from chat"
    deny = policy(tmp_path, "no-apache", DENY_APACHE)
    assert main(["revet", "chat", "--policy", str(deny)]) == 1

    with pytest.raises(openai.PermissionDeniedError) as refused:
        ask(client, "chat")
    assert refused.value.status_code == 403
    body = refused.value.body
    assert isinstance(body, dict)
    assert body["code"] == "model_suspended" and body["param"] == "model"
    message = body["message"]
    assert message.startswith("The model 'chat' (version 1) is suspended since ")
    assert "policy 'no-apache' now refuses it" in message  # the reason
    assert "re-admits its files" in message  # how to appeal
    with pytest.raises(openai.PermissionDeniedError, match="is suspended since"):
        client.embeddings.create(model="chat", input="hi")
    with pytest.raises(openai.PermissionDeniedError):
        client.models.retrieve("chat")
    assert [m.id for m in client.models.list()] == ["other"]
    assert ask(client, "other") == "hi from other"  # the others are served as before

    assert main(["admit", str(tmp_path / "chat"), "--name", "chat"]) == 0  # lifts it
    assert ask(client, "chat") == "hi from chat"
    assert [m.id for m in client.models.list()] == ["chat", "other"]


def test_a_key_not_allowed_the_model_learns_nothing_of_the_suspension(
    live: Live, tmp_path: Path
) -> None:
    assert main(["revet", "chat", "--policy", str(policy(tmp_path, "x", DENY_APACHE))]) == 1
    client = openai.OpenAI(base_url=live.url, api_key=live.key("o", ["other"]), max_retries=0)
    with pytest.raises(openai.NotFoundError) as error:
        ask(client, "chat")
    assert "suspended" not in str(error.value)


def test_refusal_is_the_one_decision(tmp_path: Path) -> None:
    suspended = AdmittedModel(
        "m", tmp_path, (), 3, not_servable="suspended since X: Y", suspended=True
    )
    no_engine = AdmittedModel("n", tmp_path, (), 1, not_servable="no config.json")
    assert isinstance(refusal(suspended), ModelSuspended)
    assert isinstance(refusal(suspended, needs_engine=False), ModelSuspended)
    assert isinstance(refusal(no_engine), ModelNotServable)
    assert refusal(no_engine, needs_engine=False) is None
    assert refusal(AdmittedModel("ok", tmp_path, ())) is None
    catalog = StaticCatalog([suspended, no_engine, AdmittedModel("ok", tmp_path, ())])
    assert catalog.names() == ["ok"]
