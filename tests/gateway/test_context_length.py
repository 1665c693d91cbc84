"""A request longer than the model's context is a 400 `context_length_exceeded` that says both
numbers, decided after tokenizing and before any model work (chat, completions, embeddings,
rerank), streamed or not."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from transformers import AutoTokenizer

from .conftest import Live
from .test_request_fields import said

LONG = "hello world " * 300  # well over the tiny Llama's 512 positions


@pytest.fixture(scope="module")
def api(gateway: Live) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url, api_key=gateway.key("context"), max_retries=0)


def _tokens(folder: Path, messages: Any = None, prompt: str | None = None) -> int:
    tokenizer: Any = AutoTokenizer.from_pretrained(str(folder))
    if messages is not None:
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        return len(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids)
    return len(tokenizer(prompt)["input_ids"])


def _refused(error: pytest.ExceptionInfo[openai.APIStatusError], param: str) -> str:
    assert error.value.status_code == 400
    assert error.value.code == "context_length_exceeded"
    assert error.value.param == param
    return said(error)


@pytest.mark.parametrize("stream", [False, True])
def test_chat_messages_too_long(api: openai.OpenAI, models: dict[str, Path], stream: bool) -> None:
    messages: Any = [{"role": "user", "content": LONG}]
    prompt = _tokens(models["llama"], messages=messages)
    assert prompt > 512
    with pytest.raises(openai.BadRequestError) as error:
        api.chat.completions.create(model="llama", messages=messages, max_tokens=34, stream=stream)
    assert _refused(error, "messages") == (
        f"This model's maximum context length is 512 tokens; your request has "
        f"{prompt + 34:,} tokens ({prompt:,} in the messages, 34 requested for completion)."
    )


def test_chat_completion_budget_too_long(api: openai.OpenAI, models: dict[str, Path]) -> None:
    messages: Any = [{"role": "user", "content": "hello world"}]
    prompt = _tokens(models["llama"], messages=messages)
    with pytest.raises(openai.BadRequestError) as error:
        api.chat.completions.create(model="llama", messages=messages, max_tokens=600)
    assert _refused(error, "messages") == (
        f"This model's maximum context length is 512 tokens; your request has "
        f"{prompt + 600:,} tokens ({prompt:,} in the messages, 600 requested for completion)."
    )


def test_default_max_tokens_fits_what_the_context_leaves(
    api: openai.OpenAI, models: dict[str, Path]
) -> None:
    """No max_tokens: the gateway's default (256) shrinks to the room left, not a 400."""
    text = "hello world " * 150
    prompt = _tokens(models["llama"], prompt=text)
    assert 256 < prompt < 500, prompt  # the default would not fit
    result = api.completions.create(model="llama", prompt=text, temperature=0)
    assert result.usage is not None
    assert result.usage.prompt_tokens == prompt
    assert result.usage.completion_tokens <= 512 - prompt


def test_completions_prompt_too_long(api: openai.OpenAI, models: dict[str, Path]) -> None:
    prompt = _tokens(models["llama"], prompt=LONG)
    with pytest.raises(openai.BadRequestError) as error:
        api.completions.create(model="llama", prompt=LONG)
    assert _refused(error, "prompt") == (
        f"This model's maximum context length is 512 tokens; your request has "
        f"{prompt + 1:,} tokens ({prompt:,} in the prompt, at least 1 needed for the completion)."
    )


def test_embedding_input_too_long(api: openai.OpenAI, models: dict[str, Path]) -> None:
    long = "word " * 300
    whole = _tokens(models["minilm"], prompt=long)
    with pytest.raises(openai.BadRequestError) as error:
        api.embeddings.create(model="minilm", input=["short", long])
    assert _refused(error, "input") == (
        f"This model's maximum context length is 256 tokens; "
        f"input 1 of your request has {whole:,} tokens."
    )
    exact = "word " * 254  # 254 words and [CLS] [SEP]: exactly the limit, served
    assert _tokens(models["minilm"], prompt=exact) == 256
    assert len(api.embeddings.create(model="minilm", input=exact).data) == 1


def test_too_long_input_fails_only_its_own_request(gateway: Live) -> None:
    """Requests batched together: the one too long is refused, the others are served."""
    headers = {"Authorization": f"Bearer {gateway.key('context-batch')}"}

    def call(i: int) -> httpx.Response:
        text = "word " * 400 if i == 3 else f"sentence {i}"
        body = {"model": "minilm", "input": [text]}
        return httpx.post(f"{gateway.url}/embeddings", json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(8) as pool:
        statuses = [r.status_code for r in pool.map(call, range(8))]
    assert statuses == [200, 200, 200, 400, 200, 200, 200, 200]


def test_rerank_pair_too_long(gateway: Live, models: dict[str, Path]) -> None:
    tokenizer: Any = AutoTokenizer.from_pretrained(str(models["rerank"]))
    query, long = "quick fox", "the quick brown fox " * 200
    whole = len(tokenizer(query, long)["input_ids"])
    headers = {"Authorization": f"Bearer {gateway.key('context-rerank')}"}
    body = {"model": "rerank", "query": query, "documents": ["the lazy dog", long]}
    response = httpx.post(f"{gateway.url}/rerank", json=body, headers=headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("context_length_exceeded", "documents")
    assert error["message"] == (
        f"This model's maximum context length is 512 tokens; "
        f"the query with document 1 has {whole:,} tokens."
    )
