"""The registry as the gateway's catalog: the newest admitted version of each name."""

from __future__ import annotations

import time
from pathlib import Path

from airlock.gateway.catalog import AdmittedModel
from airlock.registry.store import Record, Registry

# A short cache: a request needs no database round trip, and a new admit shows within seconds
# (at once on every replica when they share Redis: gateway/changes.py calls `forget`).
CACHE_S = 2.0


class RegistryCatalog:
    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._cached: dict[str, AdmittedModel] = {}
        self._fetched = float("-inf")

    def get(self, name: str) -> AdmittedModel | None:
        return self._models().get(name)

    def names(self) -> list[str]:
        return sorted(n for n, m in self._models().items() if m.not_servable is None)

    def forget(self) -> None:
        self._fetched = float("-inf")

    def _models(self) -> dict[str, AdmittedModel]:
        if time.monotonic() - self._fetched > CACHE_S:
            self._cached = {r.name: admitted_model(r) for r in self._registry.latest()}
            self._fetched = time.monotonic()
        return self._cached


def admitted_model(record: Record) -> AdmittedModel:
    """A registry version as the gateway (and `airlock eval`) loads it."""
    files = record.files
    return AdmittedModel(
        record.name,
        Path(record.source),
        files,
        record.version,
        record.manifest_digest,
        _not_servable(record),
        suspended=record.suspended_at is not None,
        engine_options=tuple(sorted(record.engine_options.items())),
    )


def _not_servable(record: Record) -> str | None:
    if record.suspended_at is not None:
        when = record.suspended_at.strftime("%Y-%m-%d %H:%M UTC")
        return f"suspended since {when}: {record.suspended_reason}"
    return None if record.engine else record.engine_reason
