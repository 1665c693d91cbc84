"""Usage per key (requests, tokens, latency) in the registry database.

A row is journaled as its request finishes (usage_journal.py: one append, which survives the
gateway being killed) and written to the database by one background thread in batches, so a
request never waits on a database write (SQLite serializes writers; a busy one would otherwise
add latency). Journals of gateways that stopped are replayed when a recorder starts, and every
few seconds by the recorders that run: replicas sharing a journal folder (one machine, or a
shared volume) write a killed replica's rows without waiting for it to restart."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from airlock.gateway.usage_journal import Entry, Journal, replay
from airlock.home import ensure_home
from airlock.registry.gateway_tables import ApiKey, UsageRecord

LOGGER = logging.getLogger(__name__)
_FLUSH_EVERY_S = 0.5
_RETRY_S = 2.0  # after a failed database write; the rows wait in the journal
ADOPT_EVERY_S = 5.0  # how often a running recorder replays the journals of dead gateways


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


def journal_folder(engine: Engine) -> Path:
    """Where the journals for `engine`'s database live: one folder per database, so that an
    entry is replayed into the database it was meant for."""
    where = engine.url.render_as_string(hide_password=True)
    return ensure_home() / "usage-journal" / hashlib.sha256(where.encode()).hexdigest()[:16]


class UsageRecorder:
    def __init__(self, engine: Engine, journal: Path | None = None) -> None:
        self._engine = engine
        self._folder = journal_folder(engine) if journal is None else journal
        self._journal = self._open_journal(self._folder)
        self._adopted = time.monotonic()
        self._ready = threading.Condition()
        self._pending: list[Entry] = []  # journaled, not yet in the database
        self._closing = False
        self._thread = threading.Thread(target=self._write_loop, name="usage", daemon=True)
        self._thread.start()

    def _open_journal(self, folder: Path) -> Journal | None:
        """Replay what stopped gateways left, then start this one's journal; without one (a
        folder that cannot be written) rows still reach the database, but a kill loses the
        last half second of them."""
        try:
            replay(folder, self._write)
        except (SQLAlchemyError, OSError) as exc:
            LOGGER.warning("usage journal: not replayed now, kept for the next start: %s", exc)
        try:
            return Journal(folder)
        except OSError as exc:
            LOGGER.warning("usage journal: cannot write in %s (%s)", folder, exc.strerror or exc)
            return None

    def record(self, usage: Usage) -> None:
        entry = Entry.new({**vars(usage), "created_at": datetime.now(UTC).isoformat()})
        with self._ready:
            self._on_journal(lambda journal: journal.append(entry))
            self._pending.append(entry)
            if len(self._pending) == 1:
                # Only the first row of a batch wakes the writer (it then gathers for a while):
                # a wake-up per request would cost each request a thread switch.
                self._ready.notify()

    def close(self) -> None:
        """Write what is pending, then stop."""
        with self._ready:
            self._closing = True
            self._ready.notify()
        self._thread.join(timeout=10)

    def _on_journal(self, action: Callable[[Journal], None]) -> None:
        """A journal that fails (a full disk) costs durability, never a request or a row."""
        if self._journal is None:
            return
        try:
            action(self._journal)
        except OSError as exc:
            LOGGER.warning("usage journal: %s", exc.strerror or exc)

    def _write_loop(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: self._pending or self._closing, ADOPT_EVERY_S)
                # Gather for a while after the first row: one commit per flush, not per request.
                self._ready.wait_for(lambda: self._closing, timeout=_FLUSH_EVERY_S)
                batch, closing = list(self._pending), self._closing
            if time.monotonic() - self._adopted >= ADOPT_EVERY_S:
                self._adopt()
            if not batch:
                if not closing:
                    continue
                self._on_journal(lambda journal: journal.close(remove=True))
                return
            try:
                self._write(batch)
            except SQLAlchemyError as exc:
                LOGGER.warning("usage rows wait in the journal: the database said %s", exc)
                if closing:  # the next start replays them
                    self._on_journal(lambda journal: journal.close(remove=False))
                    return
                time.sleep(_RETRY_S)
                continue
            with self._ready:
                del self._pending[: len(batch)]
                self._on_journal(lambda journal: journal.keep(self._pending))

    def _adopt(self) -> None:
        """Replay the journals of gateways that died since (their lock is free)."""
        self._adopted = time.monotonic()
        try:
            replay(self._folder, self._write)
        except (SQLAlchemyError, OSError) as exc:
            LOGGER.warning("usage journal: a dead gateway's rows wait for the next try: %s", exc)

    def _write(self, entries: list[Entry]) -> None:
        """Insert the entries the database does not have yet (a replay may find some there)."""
        ids = [entry.id for entry in entries]
        with Session(self._engine) as session, session.begin():
            known = set(
                session.scalars(select(UsageRecord.entry_id).where(UsageRecord.entry_id.in_(ids)))
            )
            session.add_all(_record(entry) for entry in entries if entry.id not in known)


def _record(entry: Entry) -> UsageRecord:
    row = dict(entry.row)
    row["created_at"] = datetime.fromisoformat(row["created_at"])
    return UsageRecord(**row, entry_id=entry.id)


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
