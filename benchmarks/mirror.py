"""`snapshot_download` of a 1 GiB model from the Airlock mirror, against a plain static file
server on the same files, in the same run (goal: the mirror at >= 0.8x the static server).

    PYTHONPATH=src .venv/bin/python benchmarks/mirror.py [--gib 1] [--rounds 3]

The model is one safetensors file of random bytes (plus a config and a card), admitted with
`airlock admit --repo-id bench/big` into a scratch AIRLOCK_HOME. Two servers run as
subprocesses on 127.0.0.1:

- `airlock serve`: the mirror, with an API key, hashing every byte it serves against the
  admitted manifest (large files streamed with the last chunk held back, serving.py);
- the baseline: Starlette's StaticFiles on uvicorn over the same folder, with the two JSON
  documents snapshot_download asks for and the X-Repo-Commit header it requires (without
  them it refuses the server) - no checks, no auth: what a plain file server does.

Each round downloads the model once from each (alternating who goes first) into a fresh
cache folder, with huggingface_hub's own snapshot_download in this process; the best of the
rounds is compared (the machine is shared: the best is the least disturbed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = "bench/big"
CHUNK = 16 * 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=1.0, help="model size in GiB (default 1)")
    parser.add_argument("--rounds", type=int, default=3, help="downloads per server (default 3)")
    parser.add_argument(
        "--static", nargs=3, metavar=("FOLDER", "PORT", "REVISION"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.static:
        serve_static(Path(args.static[0]), int(args.static[1]), args.static[2])
        return
    work = Path(tempfile.mkdtemp(prefix="airlock-bench-mirror-"))
    try:
        run(work, int(args.gib * 1024**3), args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, size: int, rounds: int) -> None:
    model = make_model(work / "model", size)
    env = {**os.environ, "AIRLOCK_HOME": str(work / "home"), "PYTHONPATH": _src()}
    env.pop("AIRLOCK_DATABASE_URL", None)
    started = time.perf_counter()
    _airlock(
        env,
        "admit",
        str(model),
        "--name",
        "big",
        "--repo-id",
        REPO,
        "--force",
        "--reason",
        "benchmark",
    )
    print(f"admitted {size / 1024**3:.2f} GiB in {time.perf_counter() - started:.1f} s")
    key = next(
        line
        for line in _airlock(env, "keys", "create", "--name", "bench").splitlines()
        if line.startswith("ak-")
    )
    revision = _revision(env)
    mirror_port, static_port = _free_port(), _free_port()
    servers = [
        subprocess.Popen(
            [sys.executable, "-m", "airlock", "serve", "--port", str(mirror_port)],
            env=env,
            stderr=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [sys.executable, __file__, "--static", str(model), str(static_port), revision],
            stderr=subprocess.DEVNULL,
        ),
    ]
    try:
        endpoints = {
            "mirror": f"http://127.0.0.1:{mirror_port}",
            "static": f"http://127.0.0.1:{static_port}",
        }
        for url in endpoints.values():
            _wait(url)
        best: dict[str, float] = {}
        for round_ in range(rounds):
            order = list(endpoints) if round_ % 2 == 0 else list(reversed(endpoints))
            for which in order:
                seconds = download(endpoints[which], key, work / "cache", size)
                best[which] = min(best.get(which, float("inf")), seconds)
                print(
                    f"round {round_ + 1}: {which:6s} "
                    f"{size / seconds / 1024**2:8.1f} MiB/s ({seconds:.2f} s)"
                )
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    mirror, static = size / best["mirror"], size / best["static"]
    print(f"best: mirror {mirror / 1024**2:.1f} MiB/s, static {static / 1024**2:.1f} MiB/s")
    print(f"ratio mirror/static: {mirror / static:.2f}x (goal >= 0.8x)")


def download(endpoint: str, key: str, cache: Path, size: int) -> float:
    from huggingface_hub import snapshot_download

    shutil.rmtree(cache, ignore_errors=True)
    started = time.perf_counter()
    folder = snapshot_download(REPO, endpoint=endpoint, token=key, cache_dir=cache)
    seconds = time.perf_counter() - started
    got = (Path(folder) / "model.safetensors").stat().st_size
    assert got >= size, f"{endpoint}: {got} bytes"
    shutil.rmtree(cache, ignore_errors=True)
    return seconds


def make_model(folder: Path, size: int) -> Path:
    """A valid safetensors file with one uint8 tensor of `size` random bytes."""
    folder.mkdir(parents=True)
    header = json.dumps(
        {"weight": {"dtype": "U8", "shape": [size], "data_offsets": [0, size]}}
    ).encode()
    header += b" " * (-len(header) % 8)
    with (folder / "model.safetensors").open("wb") as out:
        out.write(struct.pack("<Q", len(header)) + header)
        left = size
        while left:
            out.write(os.urandom(min(CHUNK, left)))
            left -= min(CHUNK, left)
    (folder / "config.json").write_text('{"model_type": "bert"}')
    (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\nrandom bytes\n")
    return folder


def serve_static(folder: Path, port: int, revision: str) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    files = sorted(p for p in folder.rglob("*") if p.is_file())
    listing = [
        {
            "type": "file",
            "oid": "0" * 40,
            "size": p.stat().st_size,
            "path": p.relative_to(folder).as_posix(),
        }
        for p in files
    ]
    info = {"id": REPO, "sha": revision, "siblings": [{"rfilename": e["path"]} for e in listing]}

    async def model_info(_: object) -> JSONResponse:
        return JSONResponse(info)

    async def tree(_: object) -> JSONResponse:
        return JSONResponse(listing)

    def commit_header(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            async def send_with(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [
                        *message["headers"],
                        (b"x-repo-commit", revision.encode()),
                    ]
                await send(message)

            await app(scope, receive, send_with)

        return wrapped

    app = Starlette(
        routes=[
            Route(f"/api/models/{REPO}/revision/main", model_info),
            Route(f"/api/models/{REPO}/tree/{revision}", tree),
            Mount(f"/{REPO}/resolve/{revision}", app=StaticFiles(directory=folder)),
        ]
    )
    uvicorn.run(commit_header(app), host="127.0.0.1", port=port, log_level="warning")


def _airlock(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "airlock", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"airlock {args[0]} failed: {done.stderr.strip()}")
    return done.stdout


def _revision(env: dict[str, str]) -> str:
    sys.path.insert(0, _src())
    os.environ["AIRLOCK_HOME"] = env["AIRLOCK_HOME"]
    from airlock.registry.store import Registry

    registry = Registry()
    try:
        record = registry.get("big")
        assert record is not None and record.revision is not None
        return record.revision
    finally:
        registry.close()


def _src() -> str:
    return os.path.abspath(os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] or "src")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not start")


if __name__ == "__main__":
    main()
