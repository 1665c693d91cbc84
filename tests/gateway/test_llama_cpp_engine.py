"""The CPU engine end to end: a tiny GGUF chat model made here, admitted, served by the real
llama.cpp server (llama-cpp-python) that Airlock starts on the verified copy, called through the
official openai client."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from airlock.cli import main
from airlock.gateway.config import GatewayConfig, ManagedEngine

from .conftest import Live, admit, serve
from .test_managed_engines import answering, wait_for
from .tiny_gguf import make_gguf_chat

pytest.importorskip(
    "llama_cpp.server.app",
    reason="llama-cpp-python[server] is not installed (the `llama-cpp` extra; it compiles "
    "llama.cpp: docs/engines.md)",
)

NAME = "tiny-chat"


def engine_argv() -> list[str]:
    """The command line of the llama.cpp server this test process's gateway started."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(") ", 1)[1].split()[1])
            words = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        argv = [w.decode() for w in words if w]
        if parent == os.getpid() and "llama_cpp.server" in argv:
            return argv
    raise AssertionError("no llama.cpp server started by this gateway")


@pytest.fixture(scope="module")
def model(airlock_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gguf-chat")
    make_gguf_chat(folder / "tiny-chat.gguf")
    admit(folder, NAME)
    args = ["models", "configure", NAME, "--engine-option", "max_model_len=256"]
    assert main([*args, "--engine-option", "threads=1"]) == 0
    return folder


@pytest.fixture(scope="module")
def live(model: Path) -> Iterator[Live]:
    yield from serve(GatewayConfig(engines=(ManagedEngine(NAME),)))


@pytest.fixture(scope="module")
def api(live: Live) -> openai.OpenAI:
    client = openai.OpenAI(base_url=live.url, api_key=live.key("llama-cpp-app"), max_retries=0)
    wait_for(lambda: answering(client, NAME), "the llama.cpp engine", timeout=120)
    return client


def test_chat_through_the_llama_cpp_engine(api: openai.OpenAI) -> None:
    answer = api.chat.completions.create(
        model=NAME,
        messages=[{"role": "user", "content": "hello world"}],
        max_tokens=8,
        temperature=0,
    )
    assert answer.model == NAME
    assert isinstance(answer.choices[0].message.content, str)
    assert answer.choices[0].finish_reason in ("length", "stop")
    assert answer.usage is not None and answer.usage.prompt_tokens > 0
    assert 0 < answer.usage.completion_tokens <= 8


def test_streamed_chat_through_the_llama_cpp_engine(api: openai.OpenAI) -> None:
    stream = api.chat.completions.create(
        model=NAME,
        messages=[{"role": "user", "content": "the model"}],
        max_tokens=6,
        temperature=0,
        stream=True,
    )
    chunks = list(stream)
    assert chunks and chunks[-1].choices[0].finish_reason in ("length", "stop")


def test_engine_loads_the_verified_copy(api: openai.OpenAI, model: Path) -> None:
    argv = engine_argv()
    loaded = Path(argv[argv.index("--model") + 1])
    assert model not in loaded.parents
    assert loaded.parent.stat().st_mode & 0o777 == 0o700
    admitted = (model / "tiny-chat.gguf").read_bytes()
    assert hashlib.sha256(loaded.read_bytes()).digest() == hashlib.sha256(admitted).digest()
    assert argv[argv.index("--n_ctx") + 1] == "256"
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    card = next(m for m in api.models.list().data if m.id == NAME).model_dump()
    assert card["served_by"] == "llama.cpp"
    assert card["integrity"].startswith("enforced by Airlock")
