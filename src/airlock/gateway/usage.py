"""Usage per key (requests, tokens, latency) in the registry database.

Rows are written by one background thread in small batches, so a request never waits on a
database write (SQLite serializes writers; a busy one would otherwise add latency)."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from airlock.registry.gateway_tables import ApiKey, UsageRecord

_FLUSH_EVERY_S = 0.5


@dataclass(frozen=True)
class Usage:
    key_id: int | None
    model: str
    endpoint: str
    status: int
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float


@dataclass(frozen=True)
class UsageSummary:
    key: str
    model: str
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    mean_latency_ms: float


class UsageRecorder:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._queue: queue.Queue[Usage | None] = queue.Queue()
        self._thread = threading.Thread(target=self._write_loop, name="usage", daemon=True)
        self._thread.start()

    def record(self, usage: Usage) -> None:
        self._queue.put(usage)

    def close(self) -> None:
        """Write what is queued, then stop."""
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _write_loop(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            batch: list[Usage] = []
            # Gather for a while after the first row: one commit (one fsync) per flush, not
            # one per request.
            deadline = time.monotonic() + _FLUSH_EVERY_S
            while item is not None:
                batch.append(item)
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
            stop = item is None
            if batch:
                self._write(batch)

    def _write(self, batch: list[Usage]) -> None:
        now = datetime.now(UTC)
        with Session(self._engine) as session, session.begin():
            session.add_all(UsageRecord(**vars(u), created_at=now) for u in batch)


def summarize(engine: Engine, since: datetime | None = None) -> list[UsageSummary]:
    """Totals per key and model, busiest first."""
    errors = func.sum((UsageRecord.status >= 400).cast(UsageRecord.status.type))
    query = (
        select(
            func.coalesce(ApiKey.name, "(no key)"),
            UsageRecord.model,
            func.count(),
            errors,
            func.sum(UsageRecord.prompt_tokens),
            func.sum(UsageRecord.completion_tokens),
            func.avg(UsageRecord.latency_ms),
        )
        .select_from(UsageRecord)
        .outerjoin(ApiKey, ApiKey.id == UsageRecord.key_id)
        .group_by(ApiKey.name, UsageRecord.model)
        .order_by(func.count().desc())
    )
    if since is not None:
        query = query.where(UsageRecord.created_at >= since)
    with Session(engine) as session:
        return [
            UsageSummary(
                str(k), str(m), int(n), int(e or 0), int(p or 0), int(c or 0), float(a or 0)
            )
            for k, m, n, e, p, c, a in session.execute(query)
        ]
