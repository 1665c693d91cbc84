"""The gateway's settings: one frozen object handed to create_app, no module-level state."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

GIB = 1024**3


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True)
class Upstream:
    """An OpenAI-compatible server (vLLM, Ollama, llama.cpp, TGI) that serves `name` at `url`."""

    name: str
    url: str  # base URL including /v1, e.g. http://10.0.0.5:8000/v1
    api_key: str | None = None


@dataclass(frozen=True)
class ModelLimit:
    """Requests and tokens per minute for one model, whichever key calls it (None: no limit)."""

    model: str
    rpm: int | None = None
    tpm: int | None = None


@dataclass(frozen=True)
class SharedState:
    """Redis, which every replica shares (gateway/limits.py, gateway/changes.py): rate-limit
    buckets under `prefix`, and the channel that tells replicas of revocations and removals."""

    url: str
    prefix: str = "airlock:"
    # When Redis does not answer: "closed" refuses requests that have a rate limit (503),
    # "open" enforces limits in each replica alone (N replicas then let N times a limit through).
    failure: Literal["open", "closed"] = "closed"


@dataclass(frozen=True)
class ManagedEngine:
    """An admitted model served by engine processes Airlock starts on its verified copy
    (gateway/managed.py): `kind` is an engine of data/managed_engines.toml, or "auto"."""

    name: str
    kind: str = "auto"
    replicas: int = 1


@dataclass(frozen=True)
class GatewayConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    auth_required: bool = True
    memory_budget_bytes: int = 8 * GIB
    torch_threads: int = 1  # 1 per worker was 5-15x faster than 2 on busy 2-core machines
    max_request_bytes: int = 2 * 1024 * 1024
    max_audio_bytes: int = 25 * 1024 * 1024  # the OpenAI API's own limit
    # A 25 MiB upload of compressed audio can decode to many hours of samples (6 kbit/s opus:
    # 9 h; FLAC silence: far more): decoding stops past this (413). Two hours are 460 MB of
    # 16 kHz float32 samples and 240 Whisper windows, already more than a request should hold.
    max_audio_seconds: float = 2 * 60 * 60
    # Uploads and decoding state that all audio requests together may hold at once
    # (gateway/audio_budget.py): 256 MiB holds six 25 MiB uploads; the next one is a 429.
    audio_budget_bytes: int = 256 * 1024 * 1024
    # Slow or idle clients (gateway/connections.py, bodies.py): a request's headers must be
    # complete within header_timeout_s of the connection (or of the previous response), its
    # body within body_timeout_s of its headers (408); connections beyond the caps, per client
    # address (an IPv6 /64) and in all, are answered 429/503 and closed.
    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0  # 25 MiB in 60 s needs 3.5 Mbit/s
    max_connections: int = 1000
    max_connections_per_client: int = 100
    # Images waiting or being made, all image requests together (gateway/image_queue.py).
    max_queued_images: int = 8
    max_inputs: int = 2048  # items per embeddings/rerank request
    max_tokens_limit: int = 4096
    queue_size: int = 64  # waiting requests per model before 429
    request_timeout_s: float = 120.0
    # Verifying a model's copy and starting its engine (loads.py); ample for tens of GB on disk.
    load_timeout_s: float = 600.0
    scratch_dir: Path | None = None  # private copies' root (None: scratch.default_root())
    batch_max_size: int = 64
    # A short wait lets concurrent requests share one forward pass (benchmarks/README.md:
    # 2 ms gave 0.91x in-process throughput at concurrency 4 and 2.2x at 16; 0 gave 0.79x/2.1x).
    batch_max_wait_s: float = 0.002
    # Batches of one model that may run at once, each on its own thread with `torch_threads`
    # threads: one per core keeps every core busy without oversubscribing them.
    model_workers: int = field(default_factory=_cores)
    # float32 matrix multiplies on weights prepacked for oneDNN (engines/cpu_kernels.py):
    # 1.8-2.1x faster forward passes on CPU, outputs unchanged (checked at load).
    prepack_kernels: bool = True
    upstreams: tuple[Upstream, ...] = field(default_factory=tuple)
    engines: tuple[ManagedEngine, ...] = field(default_factory=tuple)
    log_format: Literal["text", "json"] = "text"  # the access log (gateway/access_log.py)
    model_limits: tuple[ModelLimit, ...] = field(default_factory=tuple)
    shared: SharedState | None = None  # None: limits and caches in this process only
