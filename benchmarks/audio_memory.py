"""Peak memory of `airlock serve` while it transcribes big low-sample-rate WAV uploads.

    PYTHONPATH=src .venv/bin/python benchmarks/audio_memory.py [--uploads 1] [--rate 8000]
        [--width 1] [--megabytes 24.9]

A tiny random Whisper (tests/gateway/tiny_models.py) is admitted into a throwaway registry and
served by `airlock serve` in its own process (the Airlock on PYTHONPATH). `--uploads` WAV files
of `--megabytes` MiB each (default 24.9, so that the upload stays within the 25 MiB limit; mono,
`--width` bytes per sample, `--rate` Hz: 25 MiB of 8-bit 8 kHz is 55 minutes) are posted at
once. The gateway's resident memory is read from /proc before the uploads (model loaded) and
its peak (VmHWM) after they are answered. The model is tiny on
purpose: what grows is the audio pipeline, not the weights.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


def big_wav(megabytes: float, rate: int, width: int) -> bytes:
    frames = int(megabytes * MIB) // width
    t = np.arange(frames) / rate
    tone = 0.3 * np.sin(2 * np.pi * 440.0 * t)
    pcm = (tone * 127 + 128).astype(np.uint8) if width == 1 else (tone * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(pcm.tobytes())
    return buffer.getvalue()


def memory_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no {field} for process {pid}")


def start_gateway(home: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    sys.path.insert(0, str(ROOT))
    from tests.gateway import tiny_models

    env = {**os.environ, "AIRLOCK_HOME": str(home), "AIRLOCK_DATABASE_URL": ""}
    airlock = [sys.executable, "-m", "airlock"]
    folder = tiny_models.make_whisper(home / "whisper", home / "work")
    subprocess.run(
        [*airlock, "admit", str(folder), "--name", "whisper", "--force", "--reason", "benchmark"],
        env=env,
        check=True,
        capture_output=True,
    )
    key = subprocess.run(
        [*airlock, "keys", "create", "--name", "bench"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[0]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [*airlock, "serve", "--port", str(port), "--timeout", "1h"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return server, f"{base}/v1", key
        except httpx.TransportError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the gateway did not start")


def transcribe(url: str, key: str, data: bytes) -> tuple[int, float]:
    start = time.perf_counter()
    response = httpx.post(
        f"{url}/audio/transcriptions",
        headers={"Authorization": f"Bearer {key}"},
        data={"model": "whisper"},
        files={"file": ("big.wav", data, "audio/wav")},
        timeout=3600,
    )
    return response.status_code, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uploads", type=int, default=1)
    parser.add_argument("--rate", type=int, default=8000)
    parser.add_argument("--width", type=int, choices=(1, 2), default=1)
    parser.add_argument("--megabytes", type=float, default=24.9)
    args = parser.parse_args()
    data = big_wav(args.megabytes, args.rate, args.width)
    minutes = (len(data) - 44) / args.width / args.rate / 60
    with tempfile.TemporaryDirectory() as home:
        server, url, key = start_gateway(Path(home))
        try:
            assert transcribe(url, key, big_wav(0.01, args.rate, args.width))[0] == 200  # load
            before = memory_mib(server.pid, "VmRSS")
            with ThreadPoolExecutor(args.uploads) as pool:
                results = list(pool.map(lambda _: transcribe(url, key, data), range(args.uploads)))
            peak = memory_mib(server.pid, "VmHWM")
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        f"{args.uploads} upload(s) of {len(data) / MIB:.1f} MiB: {args.width * 8}-bit mono "
        f"{args.rate} Hz WAV, {minutes:.1f} min each"
    )
    print(f"statuses {sorted(s for s, _ in results)}, slowest {max(t for _, t in results):.1f} s")
    print(f"gateway RSS before {before:.0f} MiB, peak {peak:.0f} MiB (+{peak - before:.0f} MiB)")


if __name__ == "__main__":
    main()
