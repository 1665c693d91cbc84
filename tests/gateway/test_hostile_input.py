"""One tenant's bad input never fails another's request: text no model can take is a 400 naming
its field before it joins a batch, a batch that fails is re-run request by request, an unexpected
exception is a JSON 500, every error is counted, and a prompt of megabytes is refused after
tokenizing its beginning only."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import httpx
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from airlock.gateway.config import GatewayConfig
from airlock.gateway.engines.interface import Capability, Embeddings, Engine
from airlock.gateway.engines.token_budget import head_tokens
from airlock.registry.gateway_tables import ApiKey, UsageRecord

from .conftest import Live, admit, serve

SURROGATE = "bad \ud800 text"  # json.dumps writes it as the escape "\ud800", as a client may
HUGE = "hello world " * 160_000  # 1.92 MB: 480,000 tokens for the tiny Llama (512)
_serial = itertools.count()


@pytest.fixture(scope="module")
def live(models: dict[str, Path]) -> Iterator[Live]:
    yield from serve(GatewayConfig(request_timeout_s=60))  # the default 2 MiB body limit


def post(live: Live, path: str, body: dict[str, Any], key: str | None) -> httpx.Response:
    """The JSON written by hand: the openai client would refuse to encode a lone surrogate."""
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode("ascii")
    return httpx.post(f"{live.url}{path}", content=data, headers=headers, timeout=120)


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json", response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def test_a_lone_surrogate_fails_only_its_own_request(live: Live) -> None:
    """31 good requests from one key and a bad one from another, all at once."""
    good, bad = live.key("tenant-a"), live.key("tenant-b")

    def call(i: int) -> httpx.Response:
        if i == 13:
            return post(live, "/embeddings", {"model": "minilm", "input": ["ok", SURROGATE]}, bad)
        return post(live, "/embeddings", {"model": "minilm", "input": f"sentence {i}"}, good)

    with ThreadPoolExecutor(32) as pool:
        responses = list(pool.map(call, range(32)))
    statuses = [r.status_code for r in responses]
    assert statuses == [400 if i == 13 else 200 for i in range(32)], statuses
    error = error_of(responses[13])
    assert (error["code"], error["param"]) == ("invalid_text", "input[1]")
    assert "character 4 is a lone UTF-16 surrogate (U+D800)" in error["message"]
    assert all(len(r.json()["data"][0]["embedding"]) == 384 for r in responses if r.is_success)


CHAT = [{"role": "user", "content": "hi"}]


def _chat(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "llama", "messages": list(messages), **fields}


def _user(content: Any, **fields: Any) -> dict[str, Any]:
    return {"role": "user", "content": content, **fields}


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/embeddings", {"model": "minilm", "input": SURROGATE}, "input"),
        ("/embeddings", {"model": "minilm", "input": ["a", "b", "c", SURROGATE]}, "input[3]"),
        ("/rerank", {"model": "rerank", "query": SURROGATE, "documents": ["a"]}, "query"),
        ("/rerank", {"model": "rerank", "query": "q", "documents": ["a", "b", SURROGATE]},
         "documents[2]"),
        ("/rerank", {"model": "rerank", "query": "q", "documents": [{"text": SURROGATE}]},
         "documents[0].text"),
        ("/chat/completions", _chat(_user(SURROGATE)), "messages[0].content"),
        ("/chat/completions", _chat(_user("hi"), _user([{"type": "text", "text": SURROGATE}])),
         "messages[1].content[0].text"),
        ("/chat/completions", _chat(_user("hi", name=SURROGATE)), "messages[0].name"),
        ("/chat/completions", _chat(_user("hi"), stop=["x", SURROGATE], stream=True), "stop[1]"),
        ("/completions", {"model": "llama", "prompt": SURROGATE}, "prompt"),
        ("/completions", {"model": "llama", "prompt": [SURROGATE]}, "prompt[0]"),
        ("/completions", {"model": "llama", "prompt": "hi", "metadata": {SURROGATE: "x"}},
         f"metadata.{SURROGATE}"),
    ],
)  # fmt: skip
def test_a_lone_surrogate_anywhere_is_a_400_naming_its_field(
    live: Live, path: str, body: dict[str, Any], param: str
) -> None:
    response = post(live, path, body, live.key(f"surrogate-{next(_serial)}"))
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_text"
    # The answer is valid UTF-8 JSON: a quoted lone surrogate is written as its escape.
    assert error["param"] == param.encode("utf-8", "backslashreplace").decode()


def test_a_model_name_with_a_lone_surrogate_is_a_json_400(live: Live) -> None:
    response = post(live, "/embeddings", {"model": SURROGATE, "input": "x"}, live.key("name"))
    assert response.status_code == 400
    assert error_of(response)["param"] == "model"


ORDINARY = [
    "NUL \x00 and other controls \x01\x1b\x7f",
    "emoji \U0001f600\U0001f44d\U0001f3fd and a pair written as escapes: \ud83d\ude00",
    "CJK 日本語の文章と中文句子",
    "RTL עברית ومرحبا بالعالم",
    "noncharacters \ufffe\uffff, BOM \ufeff, combining e\u0301, zero-width \u200b\u200d",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_unicode_is_served(live: Live, text: str) -> None:
    key = live.key(f"unicode-{ORDINARY.index(text)}")
    calls = [
        ("/embeddings", {"model": "minilm", "input": [text, "plain"]}),
        ("/rerank", {"model": "rerank", "query": text, "documents": [text, "plain"]}),
        ("/completions", {"model": "llama", "prompt": text, "max_tokens": 1, "echo": True}),
        ("/chat/completions", _chat(_user(text), max_tokens=1)),
    ]
    for path, body in calls:
        response = post(live, path, body, key)
        assert response.status_code == 200, (path, response.text)
    assert response.json()["choices"][0]["message"]["role"] == "assistant"


def test_a_body_that_is_not_utf8_is_a_json_400(live: Live) -> None:
    key = live.key("not-utf8")
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    data = b'{"model": "minilm", "input": "caf\xe9"}'  # Latin-1, not UTF-8
    response = httpx.post(f"{live.url}/embeddings", content=data, headers=headers)
    assert response.status_code == 400
    assert error_of(response)["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("path", "body", "limit", "param"),
    [
        ("/completions", {"model": "llama", "prompt": HUGE, "max_tokens": 2}, 512, "prompt"),
        ("/chat/completions", _chat(_user(HUGE)), 512, "messages"),
        ("/chat/completions", _chat(_user(HUGE), stream=True), 512, "messages"),
        ("/embeddings", {"model": "minilm", "input": ["short", HUGE]}, 256, "input"),
        ("/rerank", {"model": "rerank", "query": "hi", "documents": ["short", HUGE]}, 512,
         "documents"),
    ],
)  # fmt: skip
def test_a_prompt_of_megabytes_is_refused_from_its_beginning(
    live: Live, path: str, body: dict[str, Any], limit: int, param: str
) -> None:
    key = live.key(f"huge-{next(_serial)}")
    post(live, path, {**body, **_small(body)}, key)  # the model loaded: time the refusal only
    started = time.perf_counter()
    response = post(live, path, body, key)
    elapsed = time.perf_counter() - started
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["param"]) == ("context_length_exceeded", param)
    message = error["message"]
    assert message.startswith(f"This model's maximum context length is {limit} tokens; ")
    # "at least": counted from the text's beginning, not all of its 1.9 MB.
    counted = int(message.split("at least ")[1].split(" tokens")[0].replace(",", ""))
    assert limit < counted < 10 * limit, message
    assert elapsed < 10, elapsed  # tokenizing it all took 1-2 s of a model thread before


def _small(body: dict[str, Any]) -> dict[str, Any]:
    if "prompt" in body:
        return {"prompt": "hi"}
    if "messages" in body:
        return {"messages": CHAT, "max_tokens": 1, "stream": False}
    if "input" in body:
        return {"input": "hi"}
    return {"documents": ["hi"]}


def test_head_tokens_counts_only_the_beginning_cut_between_words() -> None:
    seen: list[str] = []

    def count(parts: list[str]) -> int:
        seen.extend(parts)
        return sum(len(p.split()) for p in parts)

    # A budget of 10 tokens: 88 characters (8 per token) at most are counted.
    assert head_tokens(count, ["word " * 17], 10) is None and not seen  # short: counted whole
    assert head_tokens(count, ["word " * 1000], 10) == 17  # 84 characters: 17 whole words
    assert seen == ["word " * 16 + "word"]
    assert head_tokens(count, ["longword" * 100], 10) is None  # no space: one "word", fits
    assert head_tokens(count, ["q", "doc " * 100], 10) == 1 + 22  # each part's beginning


# A scripted embeddings engine: one input makes it raise as an engine bug would.


class Faulty(Engine):
    capabilities = frozenset({Capability.EMBEDDINGS})
    batches: ClassVar[list[list[str]]] = []  # what each call was given, in order

    def __init__(self, folder: Path) -> None:
        pass

    def embed(self, texts: list[str]) -> Embeddings:
        Faulty.batches.append(texts)
        time.sleep(0.3)  # requests that arrive meanwhile make up the next batch
        if "explode" in texts:
            raise RuntimeError("engine bug reading /tmp/airlock-private-copy/model.safetensors")
        return Embeddings(np.ones((len(texts), 4), dtype=np.float32), [1] * len(texts))

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def faulty(airlock_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("faulty") / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"\0" * 64)
    # What admission needs to record an engine; the scripted loader replaces it.
    (folder / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
    admit(folder, "f-embed")
    config = GatewayConfig(model_workers=1, batch_max_wait_s=0.05)
    yield from serve(config, loader=Faulty)


def test_an_engine_exception_fails_only_its_own_request_in_a_batch(faulty: Live) -> None:
    good, bad = faulty.key("batch-good"), faulty.key("batch-bad")
    Faulty.batches.clear()

    def call(i: int) -> httpx.Response:
        time.sleep(0 if i == 0 else 0.05)  # the first runs alone; the others queue behind it
        text, key = ("explode", bad) if i == 5 else (f"sentence {i}", good)
        return post(faulty, "/embeddings", {"model": "f-embed", "input": text}, key)

    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(call, range(12)))
    assert [r.status_code for r in responses] == [500 if i == 5 else 200 for i in range(12)]
    shared = [b for b in Faulty.batches if "explode" in b and len(b) > 1]
    assert shared, Faulty.batches  # the bad input did share a batch with good ones
    assert Faulty.batches.count(["explode"]) == 1  # then each request of it ran alone
    assert error_of(responses[5])["code"] == "internal_error"


def test_an_unexpected_exception_is_a_json_500_counted_in_usage_and_metrics(
    faulty: Live,
) -> None:
    key = faulty.key("boom")
    response = post(faulty, "/embeddings", {"model": "f-embed", "input": "explode"}, key)
    assert response.status_code == 500
    error = error_of(response)
    assert error == {
        "message": "The server had an error while processing your request; it is logged under "
        f"request id {response.headers['x-request-id']}.",
        "type": "server_error",
        "param": None,
        "code": "internal_error",
    }
    assert "/tmp" not in response.text and "Traceback" not in response.text
    assert usage_rows(faulty, "boom", 1) == [("f-embed", "embeddings", 500)]
    assert 'endpoint="embeddings",model="f-embed",status="500"' in metrics(faulty, key)


def test_every_error_is_counted_in_usage_and_metrics(live: Live) -> None:
    key = live.key("counted", models=["minilm", "llama"])
    bad_text = post(live, "/embeddings", {"model": "minilm", "input": SURROGATE}, key)
    bad_schema = post(live, "/chat/completions", _chat(_user("hi"), temperature=5), key)
    unknown = post(live, "/embeddings", {"model": "made-up-name", "input": "x"}, key)
    refused = post(live, "/rerank", {"model": "rerank", "query": "q", "documents": ["d"]}, key)
    no_key = post(live, "/embeddings", {"model": "minilm", "input": "x"}, None)
    statuses = [r.status_code for r in (bad_text, bad_schema, unknown, refused, no_key)]
    assert statuses == [400, 400, 404, 404, 401]  # a model the key may not use: as unknown
    # Before `begin` (a schema error, an unknown model) as after it; made-up names and models
    # the key may not use are not named; a request without a valid key has no usage row.
    assert sorted(usage_rows(live, "counted", 4)) == [
        ("", "embeddings", 404),
        ("", "rerank", 404),
        ("llama", "chat", 400),
        ("minilm", "embeddings", 400),
    ]
    text = metrics(live, live.key("counted-reader"))
    for labels in (
        'endpoint="embeddings",model="minilm",status="400"',
        'endpoint="chat",model="llama",status="400"',
        'endpoint="embeddings",model="",status="404"',
        'endpoint="rerank",model="",status="404"',
        'endpoint="embeddings",model="",status="401"',
    ):
        assert f"airlock_requests_total{{{labels}}}" in text, labels
    assert "made-up-name" not in text


def test_bodies_refused_before_the_key_check_are_charged_to_the_key(live: Live) -> None:
    # FastAPI reads and parses the body before the route's key check runs: a body that does
    # not parse, or one declared larger than the limit, is still counted against its key.
    key = live.key("charged", models=["minilm"])
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    broken = httpx.post(f"{live.url}/embeddings", content=b'{"model": ', headers=headers)
    big = b'{"model": "minilm", "input": "' + b"x" * (3 << 20) + b'"}'
    try:
        oversized: int | str = httpx.post(
            f"{live.url}/embeddings", content=big, headers=headers, timeout=60
        ).status_code
    except httpx.TransportError:
        oversized = "closed before the answer was read"  # the server need not read it all
    assert broken.status_code == 400
    assert oversized in (413, "closed before the answer was read")
    assert sorted(usage_rows(live, "charged", 2)) == [
        ("", "embeddings", 400),
        ("", "embeddings", 413),
    ]


def usage_rows(live: Live, key_name: str, expected: int) -> list[tuple[str, str, int]]:
    """The key's usage rows (model, endpoint, status), once `expected` are written."""
    query = (
        select(UsageRecord.model, UsageRecord.endpoint, UsageRecord.status)
        .join(ApiKey, ApiKey.id == UsageRecord.key_id)
        .where(ApiKey.name == key_name)
    )
    deadline = time.monotonic() + 10
    while True:
        with Session(live.registry.engine) as session:
            rows = [(m, e, s) for m, e, s in session.execute(query)]
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def metrics(live: Live, key: str) -> str:
    base = live.url.removesuffix("/v1")
    return httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {key}"}).text
