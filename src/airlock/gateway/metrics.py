"""Prometheus metrics, in a registry per app (no process-wide state, so tests can run several
gateways in one process)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector


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

    def render(self, sees: Callable[[str], bool] | None = None) -> bytes:
        """Every series, or with `sees` only the series of the models it accepts: series without
        a model (latency per endpoint, models loaded) add up other models' traffic, so they go
        too."""
        return generate_latest(self.registry if sees is None else _Scoped(self.registry, sees))


class _Scoped(Collector):
    def __init__(self, registry: CollectorRegistry, sees: Callable[[str], bool]) -> None:
        self._registry = registry
        self._sees = sees

    def collect(self) -> Iterable[Metric]:
        for family in self._registry.collect():
            kept = [
                s for s in family.samples if "model" in s.labels and self._sees(s.labels["model"])
            ]
            if kept:
                scoped = Metric(family.name, family.documentation, family.type, family.unit)
                scoped.samples = kept
                yield scoped
