"""`airlock serve` itself mounts the console (the other tests mount it on an app they build):
the process says where it is, and a person's key signs in to it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .conftest import free_port
from .http_client import signed_in

SRC = Path(__file__).resolve().parents[2] / "src"


def test_airlock_serve_serves_the_console(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AIRLOCK_HOME": str(tmp_path / "home"),
        "AIRLOCK_DATABASE_URL": "",
        "PYTHONPATH": str(SRC),
        "OMP_NUM_THREADS": "1",
    }
    made = subprocess.run(
        [sys.executable, "-m", "airlock", "keys", "create", "--name", "ada", "--role", "admin"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = made.stdout.splitlines()[0]
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airlock",
            "serve",
            "--port",
            str(port),
            "--request-root",
            str(tmp_path),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        lines = []
        deadline = time.monotonic() + 120
        while not any("console on" in line for line in lines):
            assert time.monotonic() < deadline and server.poll() is None, "".join(lines)
            lines.append(server.stdout.readline())
        assert f"airlock: console on http://127.0.0.1:{port}/\n" in lines
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(base + "/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.get(base + "/").headers["location"] == "/sign-in"
        client = signed_in(base, key)
        assert "Admitted models" in client.get("/models").text
    finally:
        server.terminate()
        server.wait(timeout=30)
