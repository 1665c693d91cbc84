"""What the gateway adds in front of one fast upstream: 1 vs 3 `airlock serve` replicas against
calling the upstream directly, in the same run.

    PYTHONPATH=src .venv/bin/python benchmarks/replicas.py [--requests 2000] [--concurrency 32]

The upstream is tests/replicas/fake_openai.py (a fixed chat completion over keep-alive
HTTP/1.1: it stands for a vLLM server and costs next to nothing). The replicas share a new
PostgreSQL database on 127.0.0.1:5432 (dropped at the end) and the Redis at AIRLOCK_REDIS_URL
(default redis://127.0.0.1:6379/0, keys under a random prefix), as in docs/replicas.md. The
client spreads requests over the replicas round robin, as a load balancer would.

Reported, per target: latency p50/p99 of requests sent one at a time (what one request pays) and
the median added over the direct call; requests per second with `--concurrency` requests in
flight. Two keys: one with a requests-per-minute limit (each request runs the Redis script) and
one without (no Redis round trip). The goal (issue 21): under about 3 ms median added, LiteLLM's
published figure. Client, replicas and upstream share this machine's cores: on a small machine
the throughput is the machine's, not the gateway's alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the replica helpers the tests use

from replicas.cluster import Cluster, postgres_database  # noqa: E402

BODY = {"model": "fake", "messages": [{"role": "user", "content": "hi"}]}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def latencies(urls: list[str], headers: dict[str, str], n: int) -> list[float]:
    """Seconds per request, sent one at a time (after a warm-up)."""
    found = []
    async with httpx.AsyncClient(timeout=30) as client:
        for i in range(n + 50):
            started = time.perf_counter()
            answer = await client.post(
                f"{urls[i % len(urls)]}/chat/completions", json=BODY, headers=headers
            )
            elapsed = time.perf_counter() - started
            assert answer.status_code == 200, answer.text
            if i >= 50:
                found.append(elapsed)
    return found


async def throughput(urls: list[str], headers: dict[str, str], n: int, concurrency: int) -> float:
    """Requests per second with `concurrency` in flight."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        counter = iter(range(n))

        async def worker() -> None:
            for i in counter:
                answer = await client.post(
                    f"{urls[i % len(urls)]}/chat/completions", json=BODY, headers=headers
                )
                assert answer.status_code == 200, answer.text

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per throughput run")
    parser.add_argument("--latency-requests", type=int, default=500, help="per latency run")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    redis_url = os.environ.get("AIRLOCK_REDIS_URL", "redis://127.0.0.1:6379/0")
    with postgres_database() as database, tempfile.TemporaryDirectory() as home:
        from airlock.gateway.auth import KeyStore
        from airlock.registry.store import Registry

        registry = Registry(database)
        keys = KeyStore(registry.engine)
        limited = {"Authorization": f"Bearer {keys.create('limited', None, 1_000_000)[0]}"}
        free = {"Authorization": f"Bearer {keys.create('free', None, None)[0]}"}
        cluster = Cluster(database, redis_url, Path(home))
        try:
            cluster.start_upstream()
            replicas = [cluster.start_replica("--log-format", "json")[0] for _ in range(3)]
            targets = {
                "upstream directly": [cluster.upstream_url],
                "1 replica": replicas[:1],
                "3 replicas": replicas,
            }
            rows = []
            for name, urls in targets.items():
                for key_name, headers in (("rpm limit", limited), ("no limit", free)):
                    if name == "upstream directly" and key_name == "no limit":
                        continue
                    seconds = asyncio.run(latencies(urls, headers, args.latency_requests))
                    rate = asyncio.run(throughput(urls, headers, args.requests, args.concurrency))
                    label = name if name == "upstream directly" else f"{name}, {key_name}"
                    rows.append((label, seconds, rate))
        finally:
            cluster.close()
            registry.close()
    direct = statistics.median(rows[0][1])
    print(f"{'target':<28} {'p50 ms':>8} {'p99 ms':>8} {'added p50':>10} {'req/s':>8}")
    for label, seconds, rate in rows:
        p50, p99 = percentile(seconds, 0.5) * 1000, percentile(seconds, 0.99) * 1000
        added = (statistics.median(seconds) - direct) * 1000
        print(f"{label:<28} {p50:>8.2f} {p99:>8.2f} {added:>9.2f}  {rate:>8.0f}")
    print(f"cores: {os.cpu_count()}; concurrency {args.concurrency}; goal: < 3 ms added (p50)")


if __name__ == "__main__":
    main()
