"""A throwaway gateway for benchmarks/images.py and speech.py: a model admitted into a temporary
registry and `python -m airlock serve` in its own process (this checkout's code: PYTHONPATH is
kept), with one API key."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def _airlock(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "airlock", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@contextmanager
def gateway(folder: Path, name: str, home: Path, threads: int = 1) -> Iterator[tuple[str, str]]:
    """(base URL with /v1, API key) of a gateway serving `folder` as `name`."""
    path = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "AIRLOCK_HOME": str(home), "AIRLOCK_DATABASE_URL": "", "PYTHONPATH": path}
    # --force: random weights with no license or card are refused by the default policy.
    _airlock(env, "admit", str(folder), "--name", name, "--force", "--reason", "benchmark")
    key = _airlock(env, "keys", "create", "--name", "bench").split()[0]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "airlock", "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--torch-threads", str(threads)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise SystemExit("the gateway did not start")
        yield f"{base}/v1", key
    finally:
        server.terminate()
        server.wait(timeout=30)
