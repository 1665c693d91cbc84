"""The audit log: every change to the registry (admit, remove, keys, eval results), who
made it and why. Callers write an entry in the same session (transaction) as the change."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from airlock.registry.audit_actions import (
    ACTIONS,
    ADMIT,
    CONFIGURE,
    EVAL_RECORD,
    KEY_CREATE,
    KEY_REVOKE,
    REINSTATE,
    REMOVE,
    REQUEST_ADMIT,
    REQUEST_CREATE,
    REQUEST_REFUSE,
    SUSPEND,
    VERIFY,
)
from airlock.registry.models import AuditEntry

__all__ = [
    "ACTIONS",
    "ADMIT",
    "CONFIGURE",
    "EVAL_RECORD",
    "KEY_CREATE",
    "KEY_REVOKE",
    "REINSTATE",
    "REMOVE",
    "REQUEST_ADMIT",
    "REQUEST_CREATE",
    "REQUEST_REFUSE",
    "SUSPEND",
    "VERIFY",
    "Entry",
    "latest",
    "os_user",
    "read",
    "write",
]


@dataclass(frozen=True)
class Entry:
    at: datetime
    actor: str
    action: str
    subject: str
    reason: str | None
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {**vars(self), "at": self.at.isoformat(timespec="seconds")}


def os_user() -> str:
    """Who runs this process, as the OS knows them; `--actor` names someone else."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return "unknown"


def write(
    session: Session,
    action: str,
    subject: str,
    *,
    actor: str | None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            at=datetime.now(UTC),
            actor=actor or os_user(),
            action=action,
            subject=subject,
            reason=reason,
            details=details or {},
        )
    )


def read(engine: Engine, since: datetime | None = None, action: str | None = None) -> list[Entry]:
    """Entries oldest first, from `since` on, of one `action` when given."""
    query = select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    with Session(engine) as session:
        return [_entry(row) for row in session.scalars(query)]


def latest(engine: Engine, action: str, subject: str) -> Entry | None:
    """The newest entry of `action` about `subject` (`name vN`), or None."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.action == action, AuditEntry.subject == subject)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(1)
    )
    with Session(engine) as session:
        row = session.scalar(query)
        return None if row is None else _entry(row)


def _entry(row: AuditEntry) -> Entry:
    at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=UTC)  # SQLite: UTC
    return Entry(at, row.actor, row.action, row.subject, row.reason, dict(row.details))
