"""Managed engines: Airlock starts the engine process on the verified private copy, relays to it,
restarts it when it crashes, stops it when the model is removed or the gateway stops.

The engine here is tests/gateway/fake_engine.py installed as `vllm` on PATH: it records its
command line and environment, so the test checks what a real `vllm serve` would be given. The
real CPU engine (llama.cpp) is tested end to end in test_llama_cpp_engine.py."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest

from airlock.cli import main
from airlock.gateway.config import GatewayConfig, ManagedEngine, Upstream
from airlock.gateway.errors import UpstreamError

from .conftest import Live, admit, free_port, serve

FAKE = Path(__file__).with_name("fake_engine.py")


def make_folder_model(folder: Path, seed: int = 0) -> Path:
    """A model folder as vLLM takes it: config.json and safetensors weights."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True)
    (folder / "config.json").write_text(
        json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama"})
    )
    weights = np.random.default_rng(seed).standard_normal((8, 8)).astype(np.float32)
    save_file({"w": weights}, str(folder / "model.safetensors"))
    return folder


@pytest.fixture(scope="module")
def fake_vllm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`vllm` on PATH is the fake engine; yields the file it records its starts in."""
    bin_dir = tmp_path_factory.mktemp("bin")
    script = bin_dir / "vllm"
    script.write_text(
        f"#!{sys.executable}\nimport runpy\nrunpy.run_path({str(FAKE)!r}, run_name='__main__')\n"
    )
    script.chmod(0o755)
    record = bin_dir / "starts.jsonl"
    saved = {k: os.environ.get(k) for k in ("PATH", "FAKE_ENGINE_RECORD", "AIRLOCK_SECRET_TEST")}
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    os.environ["FAKE_ENGINE_RECORD"] = str(record)
    os.environ["AIRLOCK_SECRET_TEST"] = "must-not-reach-the-engine"
    yield record
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def starts(record: Path) -> list[dict[str, object]]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines()]


def wait_for(condition: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def chat(api: openai.OpenAI, model: str, text: str, system: str = "s") -> str:
    answer = api.chat.completions.create(
        model=model,
        messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
    )
    return answer.choices[0].message.content or ""


def answering(api: openai.OpenAI, model: str) -> bool:
    try:
        chat(api, model, "ping")
    except (openai.APIStatusError, openai.APIConnectionError):
        return False
    return True


def replicas_answering(api: openai.OpenAI, model: str = "big") -> int:
    """How many engine processes answered 8 conversations (0 if a request failed)."""
    try:
        return len({chat(api, model, str(i)) for i in range(8)})
    except (openai.APIStatusError, openai.APIConnectionError):
        return 0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped) counts as gone.
    status = Path(f"/proc/{pid}/stat")
    return not status.exists() or status.read_text().split(") ")[1][0] != "Z"


@pytest.fixture(scope="module")
def admitted(airlock_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("managed-models")
    folders = {
        "big": make_folder_model(root / "big"),
        "tampered": make_folder_model(root / "tampered", seed=1),
        "gone": make_folder_model(root / "gone", seed=2),
        "no-gguf": make_folder_model(root / "no-gguf", seed=3),
    }
    for name, folder in folders.items():
        admit(folder, name)
    code = main(
        [
            "models",
            "configure",
            "big",
            "--engine-option",
            "tensor_parallel_size=1",
            "--engine-option",
            "max_model_len=64",
            "--engine-option",
            "dtype=float32",
            "--engine-option",
            "gpu_memory_utilization=0.5",
        ]
    )
    assert code == 0
    # Changed after admission: its engine must never start.
    (folders["tampered"] / "model.safetensors").write_bytes(b"\0" * 64)
    return folders


@pytest.fixture(scope="module")
def plain_engine() -> Iterator[str]:
    """An engine Airlock did not start (an --upstream): its base URL; its key is "plain-key"."""
    port = free_port()
    env = {**os.environ, "VLLM_API_KEY": "plain-key", "FAKE_ENGINE_RECORD": ""}
    args = [sys.executable, str(FAKE), "--port", str(port), "--served-model-name", "pair"]
    process = subprocess.Popen(args, env=env)
    url = f"http://127.0.0.1:{port}/v1"
    headers = {"Authorization": "Bearer plain-key"}

    def up() -> bool:
        try:
            return httpx.get(f"{url}/models", headers=headers).is_success
        except httpx.HTTPError:
            return False

    wait_for(up, "the plain engine")
    yield url
    process.terminate()
    process.wait(30)


@pytest.fixture(scope="module")
def managed(admitted: dict[str, Path], fake_vllm: Path, plain_engine: str) -> Iterator[Live]:
    engines = (
        ManagedEngine("big", "vllm", replicas=2),
        ManagedEngine("tampered", "vllm"),
        ManagedEngine("gone", "vllm"),
        ManagedEngine("no-gguf", "llama.cpp"),  # a folder model: llama.cpp cannot serve it
    )
    dead = f"http://127.0.0.1:{free_port()}/v1"
    upstreams = (
        Upstream("plain", dead),
        Upstream("pair", dead, "plain-key"),  # one name, two URLs: one of them down
        Upstream("pair", plain_engine, "plain-key"),
    )
    yield from serve(GatewayConfig(engines=engines, upstreams=upstreams))


@pytest.fixture(scope="module")
def api(managed: Live) -> openai.OpenAI:
    client = openai.OpenAI(base_url=managed.url, api_key=managed.key("managed-app"), max_retries=0)
    wait_for(lambda: answering(client, "big"), "the managed engine to answer")
    wait_for(lambda: replicas_answering(client) == 2, "both replicas")
    return client


def test_engine_runs_on_the_verified_copy_with_the_recorded_options(
    api: openai.OpenAI, admitted: dict[str, Path], fake_vllm: Path
) -> None:
    started = [s for s in starts(fake_vllm) if "big" in s["argv"]]  # type: ignore[operator]
    assert len(started) == 2
    for start in started:
        argv: list[str] = start["argv"]  # type: ignore[assignment]
        assert argv[1] == "serve"
        copy = Path(argv[2])
        # The copy, not the admitted source: a private folder holding the admitted bytes.
        assert copy != admitted["big"] and admitted["big"] not in copy.parents
        assert copy.stat().st_mode & 0o777 == 0o700
        source = (admitted["big"] / "model.safetensors").read_bytes()
        copied = (copy / "model.safetensors").read_bytes()
        assert hashlib.sha256(copied).digest() == hashlib.sha256(source).digest()
        options = dict(zip(argv[3::2], argv[4::2], strict=False))
        assert options["--host"] == "127.0.0.1"
        assert options["--served-model-name"] == "big"
        assert options["--tensor-parallel-size"] == "1"
        assert options["--max-model-len"] == "64"
        assert options["--dtype"] == "float32"
        assert options["--gpu-memory-utilization"] == "0.5"
        assert "--trust-remote-code" not in argv
        env: dict[str, str] = start["env"]  # type: ignore[assignment]
        assert len(env["VLLM_API_KEY"]) >= 32
        assert env["HF_HUB_OFFLINE"] == "1"
        assert not [k for k in env if k.startswith("AIRLOCK_")]
    keys = {s["env"]["VLLM_API_KEY"] for s in started}  # type: ignore[index]
    assert len(keys) == 2  # one key per process


def test_engine_refuses_requests_without_its_key(api: openai.OpenAI, fake_vllm: Path) -> None:
    start = next(s for s in starts(fake_vllm) if "big" in s["argv"])  # type: ignore[operator]
    argv: list[str] = start["argv"]  # type: ignore[assignment]
    port = argv[argv.index("--port") + 1]
    answer = httpx.get(f"http://127.0.0.1:{port}/v1/models")
    assert answer.status_code == 401


def test_models_report_integrity(api: openai.OpenAI) -> None:
    cards = {m.id: m.model_dump() for m in api.models.list().data}
    assert cards["big"]["integrity"].startswith("enforced by Airlock")
    assert cards["big"]["served_by"] == "vllm"
    assert cards["plain"]["integrity"].startswith("integrity not enforced by Airlock")
    assert cards["plain"]["served_by"] == "upstream"


def test_conversation_sticks_to_one_replica(api: openai.OpenAI) -> None:
    """Each turn resends the conversation so far: every turn goes to the same engine."""
    messages: list[dict[str, str]] = [{"role": "system", "content": "a long shared preamble"}]
    answers = set()
    for turn in range(6):
        messages.append({"role": "user", "content": f"turn {turn}"})
        answer = api.chat.completions.create(model="big", messages=messages)  # type: ignore[arg-type]
        text = answer.choices[0].message.content or ""
        answers.add(text)
        messages.append({"role": "assistant", "content": text})
    assert len(answers) == 1
    spread = {chat(api, "big", "hi", system=f"conversation {i}") for i in range(12)}
    assert len(spread) == 2  # other conversations go to the other replica too


def test_a_down_upstream_is_routed_around(api: openai.OpenAI) -> None:
    answers = {chat(api, "pair", "hi", system=f"conversation {i}") for i in range(10)}
    assert len(answers) == 1 and "model pair" in answers.pop()
    with pytest.raises(openai.APIStatusError) as down:
        chat(api, "plain", "hi")
    assert down.value.status_code == 502  # its one URL is down


def test_tampered_model_never_starts(api: openai.OpenAI, fake_vllm: Path) -> None:
    with pytest.raises(openai.APIStatusError) as refused:
        chat(api, "tampered", "hello")
    assert refused.value.status_code == 503
    assert "does not match its admitted hash" in refused.value.message
    assert not [s for s in starts(fake_vllm) if "tampered" in s["argv"]]  # type: ignore[operator]


def test_restored_files_start_the_engine(
    api: openai.OpenAI, admitted: dict[str, Path], tmp_path: Path
) -> None:
    """A refusal lasts while the files stay as they are: the admitted bytes put back (the same
    seed makes the same weights) are verified again, and the engine starts."""
    original = make_folder_model(tmp_path / "again", seed=1) / "model.safetensors"
    (admitted["tampered"] / "model.safetensors").write_bytes(original.read_bytes())
    wait_for(lambda: answering(api, "tampered"), "the engine of the restored model")


def test_an_engine_that_cannot_start_says_why(api: openai.OpenAI) -> None:
    def refused() -> str:
        try:
            chat(api, "no-gguf", "hello")
        except openai.APIStatusError as exc:
            assert exc.status_code == 503
            return exc.message
        raise AssertionError("served without an engine")

    wait_for(lambda: "exactly one .gguf file" in refused(), "the start to be refused")
    assert "airlock-model-copies" not in refused()  # no private path shown


def test_crashed_engine_restarts(api: openai.OpenAI, fake_vllm: Path) -> None:
    before = len(starts(fake_vllm))
    with pytest.raises(openai.APIStatusError):
        chat(api, "big", "crash", system="the crashing one")
    wait_for(lambda: len(starts(fake_vllm)) > before, "the engine to be restarted")
    wait_for(lambda: replicas_answering(api) == 2, "both replicas")


def test_removed_model_stops_its_engine(api: openai.OpenAI, fake_vllm: Path) -> None:
    wait_for(lambda: answering(api, "gone"), "the engine of 'gone'")
    pid = next(s["pid"] for s in starts(fake_vllm) if "gone" in s["argv"])  # type: ignore[operator]
    assert main(["models", "remove", "gone", "--reason", "test"]) == 0
    wait_for(lambda: not alive(pid), "the engine to stop")  # type: ignore[arg-type]
    with pytest.raises(openai.NotFoundError):
        chat(api, "gone", "hello")
    assert "gone" not in {m.id for m in api.models.list().data}


def test_gateway_stop_stops_engines(
    admitted: dict[str, Path], fake_vllm: Path, api: openai.OpenAI
) -> None:
    """A second gateway with its own engine: stopping it leaves no engine process behind."""
    gateway = serve(GatewayConfig(engines=(ManagedEngine("big", "vllm"),)))
    live = next(gateway)
    client = openai.OpenAI(base_url=live.url, api_key=live.key("managed-second"), max_retries=0)
    wait_for(lambda: answering(client, "big"), "the second gateway's engine")
    pid = int(chat(client, "big", "who").split()[1])
    next(gateway, None)  # stops the gateway
    wait_for(lambda: not alive(pid), "the engine to stop with its gateway")


def test_a_backend_marked_down_is_probed_back() -> None:
    """A backend refused a connection (down); once it answers its model list, probes bring it
    back and requests reach it again."""
    import asyncio

    from airlock.gateway.upstream import UpstreamClient

    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"

    async def scenario() -> None:
        client = UpstreamClient((Upstream("solo", url, "solo-key"),))
        backend = client.route("solo").router.backends[0]  # type: ignore[union-attr]
        body = {"model": "solo", "messages": [{"role": "user", "content": "hi"}]}
        try:
            with pytest.raises(UpstreamError):
                await client.post("solo", "/chat/completions", body)
            assert not backend.up
            env = {**os.environ, "VLLM_API_KEY": "solo-key", "FAKE_ENGINE_RECORD": ""}
            args = [sys.executable, str(FAKE), "--port", str(port), "--served-model-name", "solo"]
            engine = subprocess.Popen(args, env=env)
            try:
                client.start_probes(every_s=0.05)  # probes each down backend every probe_s
                deadline = time.monotonic() + 60
                while not backend.up:
                    assert time.monotonic() < deadline, "never probed back"
                    await asyncio.sleep(0.05)
                answer = await client.post("solo", "/chat/completions", body)
                assert answer.status_code == 200
            finally:
                engine.terminate()
                engine.wait(30)
        finally:
            await client.close()

    asyncio.run(scenario())
