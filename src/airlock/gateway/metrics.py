"""Prometheus metrics, in a registry per app (no process-wide state, so tests can run several
gateways in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "airlock_requests",
            "Requests served",
            ["endpoint", "model", "status"],
            registry=self.registry,
        )
        self.tokens = Counter(
            "airlock_tokens", "Tokens processed", ["model", "kind"], registry=self.registry
        )
        self.latency = Histogram(
            "airlock_request_seconds", "Request latency", ["endpoint"], registry=self.registry
        )
        self.loaded = Gauge("airlock_models_loaded", "Models in memory", registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
