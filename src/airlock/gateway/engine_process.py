"""One engine process: started in a session of its own (so stopping it reaches the workers it
spawns, as vLLM does), told to die with the gateway (Linux: PR_SET_PDEATHSIG), its output in a
log file beside the copies, healthy once its model list answers with its key, stopped with
SIGTERM and then SIGKILL.

Why a loopback TCP port plus a key, and not a Unix socket: neither vLLM nor llama.cpp's
servers speak HTTP over a Unix socket in every version Airlock supports, and the TCP port on
127.0.0.1 is unreachable from other machines. Other local users can connect to it, so the
engine requires a random key that only Airlock holds: it goes in the engine's environment
(readable only by its own user, /proc/PID/environ), never on its command line (readable by all).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx

from airlock.gateway.engine_command import Command, EngineStartError

STOP_GRACE_S = 10.0
_LOG_TAIL_BYTES = 2000
_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A port free on 127.0.0.1 now (the engine binds it a moment later; if another process
    takes it first, the engine fails to start and is restarted on another)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class EngineProcess:
    def __init__(self, label: str, command: Command, base_url: str, api_key: str, log: Path):
        self.label = label
        self.command = command
        self.base_url = base_url
        self.api_key = api_key
        self.log = log
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def start(self) -> None:
        with open(self.log, "ab") as output:
            try:
                self._process = await asyncio.create_subprocess_exec(
                    *self.command.argv,
                    env=self.command.env,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_die_with_parent(),
                )
            except OSError as exc:
                raise EngineStartError(
                    f"{self.label}: cannot run {self.command.argv[0]}: {exc.strerror or exc}"
                ) from None

    async def wait_healthy(self, client: httpx.AsyncClient, timeout_s: float) -> None:
        """Returns once the engine lists its model; raises EngineStartError if it exits first
        or is not up within `timeout_s`."""
        process = self._require()
        headers = {"Authorization": f"Bearer {self.api_key}"}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        pause = 0.1
        while loop.time() < deadline:
            if process.returncode is not None:
                raise EngineStartError(
                    f"{self.label} exited with code {process.returncode} while starting; "
                    f"its log ends: {self.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                answer = await client.get(f"{self.base_url}/models", headers=headers, timeout=5.0)
                if answer.is_success:
                    return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(process.wait()), pause)
            pause = min(pause * 2, 1.0)
        raise EngineStartError(f"{self.label} was not up within {timeout_s:g} s")

    async def wait(self) -> int:
        """The exit code, once the process ends."""
        return await self._require().wait()

    async def stop(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE_S)
        except TimeoutError:
            _signal_group(process.pid, signal.SIGKILL)
            await process.wait()

    def log_tail(self) -> str:
        try:
            with open(self.log, "rb") as handle:
                handle.seek(max(0, handle.seek(0, os.SEEK_END) - _LOG_TAIL_BYTES))
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            return "(no log)"
        return " | ".join(line.strip() for line in text.splitlines()[-5:] if line.strip())

    def _require(self) -> asyncio.subprocess.Process:
        if self._process is None:
            raise EngineStartError(f"{self.label} was not started")
        return self._process


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)  # the session leader's pid is its group's id


def _die_with_parent() -> Callable[[], None] | None:
    """Run in the child before exec: SIGTERM when the gateway dies (kill -9 included), so an
    engine never outlives the gateway that owns its copy. Linux only; elsewhere nothing."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return arm
