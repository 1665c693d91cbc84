"""`airlock eval --format json` documents, written in the tests (schema_version 1)."""

from __future__ import annotations

import hashlib
from typing import Any

# A small retrieval set, as `airlock eval` would describe the file it read.
DATA = b'{"query": "reset password", "positives": ["Open Settings, then Security."]}\n'
DATA_SHA256 = hashlib.sha256(DATA).hexdigest()


def candidate(
    name: str, digest: str, metrics: dict[str, float | None], *, ci: float | None = 0.05
) -> dict[str, Any]:
    """An admitted model's entry: `digest` is the admitted version's manifest digest."""
    return {
        "name": name,
        "kind": "admitted",
        "model": {"name": name, "revision": digest},
        "endpoint": None,
        "metrics": {
            metric: {
                "value": value,
                "ci95": [value - ci, value + ci] if value is not None and ci else None,
                "best": True,
                "worse_than_best": False,
                "p_value": None,
            }
            for metric, value in metrics.items()
        },
        "latency_ms": {"p50": 3.0, "p95": 5.0},
        "items_per_s": 300.0,
        "tokens": {"prompt": 0, "completion": 0},
        "items": 40,
        "failed": 0,
    }


def endpoint(name: str, metrics: dict[str, float]) -> dict[str, Any]:
    entry = candidate(name, "unused", metrics)
    return {**entry, "kind": "endpoint", "model": None, "endpoint": "http://127.0.0.1:9/v1"}


def document(
    *candidates: dict[str, Any], dataset: str = "support-faq", sha256: str = DATA_SHA256
) -> dict[str, Any]:
    metrics = sorted({m for c in candidates for m in c["metrics"]})
    return {
        "schema_version": 1,
        "airlock_version": "0.1.0",
        "task": "retrieval",
        "dataset": {
            "name": dataset,
            "path": f"/data/{dataset}.jsonl",
            "sha256": sha256,
            "bytes": len(DATA),
            "items": 40,
        },
        "metrics": metrics,
        "candidates": list(candidates),
    }
