"""Gateway replicas as users run them: `python -m airlock serve` processes on 127.0.0.1 over one
PostgreSQL database (made for the test, dropped after) and Redis, in front of the fake upstream
(fake_openai.py). Shared by the replica tests and benchmarks/replicas.py."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

import airlock

POSTGRES_ADMIN_URL = os.environ.get(
    "AIRLOCK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SHARED_REDIS_URL = os.environ.get("AIRLOCK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SOURCE = str(Path(airlock.__file__).resolve().parents[1])  # these sources, not an install
FAKE = str(Path(__file__).with_name("fake_openai.py"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    url: str, process: subprocess.Popen[bytes], log: Path | None = None, seconds: float = 120
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = log.read_text(errors="replace") if log is not None else ""
            raise AssertionError(f"{process.args!r} exited:\n{err}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new database on the machine's PostgreSQL (skips the test when there is none)."""
    import pytest
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(
        POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    name = f"airlock_replicas_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        pytest.skip(f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable: {exc}".splitlines()[0])
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


class RedisServer:
    """A Redis of the test's own on a free port, that the test may stop and start again."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._folder = folder
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            import pytest

            pytest.skip("redis-server is not installed")
        self._folder.mkdir(parents=True, exist_ok=True)
        options = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        options += ["--appendonly", "no", "--dir", str(self._folder)]
        self._process = subprocess.Popen([binary, *options], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


@dataclass
class Cluster:
    database_url: str
    redis_url: str | None
    home: Path
    prefix: str = field(default_factory=lambda: f"airlock-test-{uuid.uuid4().hex[:8]}:")
    upstream_url: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        env = {**os.environ, "PYTHONPATH": SOURCE, "AIRLOCK_HOME": str(self.home)}
        env["AIRLOCK_DATABASE_URL"] = self.database_url
        env.pop("AIRLOCK_REDIS_URL", None)
        if self.redis_url is not None:
            env["AIRLOCK_REDIS_URL"] = self.redis_url
            env["AIRLOCK_REDIS_PREFIX"] = self.prefix
        return {**env, **extra}

    def start_upstream(self) -> None:
        port = free_port()
        fake = subprocess.Popen([sys.executable, FAKE, str(port)], stdout=subprocess.DEVNULL)
        self.processes.append(fake)
        self.upstream_url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("the fake upstream did not start")

    def start_replica(self, *options: str, **env: str) -> tuple[str, subprocess.Popen[bytes]]:
        """One `airlock serve` serving `fake` (and `limited`) from the fake upstream; its base
        URL (with /v1) once /health/live answers."""
        port = free_port()
        argv = ["serve", "--port", str(port), "--upstream", f"fake={self.upstream_url}"]
        argv += ["--upstream", f"limited={self.upstream_url}", *options]
        # The access log goes to a file: a pipe nobody reads would stop the server when full.
        self.home.mkdir(parents=True, exist_ok=True)
        log = self.home / f"serve-{port}.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "airlock", *argv],
                env=self.env(**env),
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        self.processes.append(process)
        wait_until(f"http://127.0.0.1:{port}/health/live", process, log)
        return f"http://127.0.0.1:{port}/v1", process

    def close(self) -> None:
        for process in reversed(self.processes):
            stop(process)
        if self.redis_url is not None:
            import redis

            client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=1)
            try:
                for key in client.scan_iter(match=self.prefix + "*"):
                    client.delete(key)
            except redis.RedisError:
                pass  # a Redis the test stopped holds nothing of ours any more
            finally:
                client.close()
