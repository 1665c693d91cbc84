"""The console's tables: people's requests for models, and sign-in sessions. Changes go
through `migrations/versions/` like every registry table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from airlock.registry.models import Base


class ModelRequest(Base):
    """Someone asks for a model: vetted in the background, then admitted or refused by a
    reviewer. The dossier is kept so the decision is taken on what was vetted."""

    __tablename__ = "model_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))  # the name apps will use once admitted
    source: Mapped[str] = mapped_column(Text)  # a folder on the server or a Hugging Face repo id
    note: Mapped[str] = mapped_column(Text)  # what it is for, in the requester's words
    requested_by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), index=True)  # requests.STATUSES
    progress: Mapped[str] = mapped_column(Text)  # what the vetting is doing, for the page
    error: Mapped[str | None] = mapped_column(Text)  # why vetting could not finish
    dossier: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    decision: Mapped[str | None] = mapped_column(String(32))  # the policy's verdict
    policy_digest: Mapped[str | None] = mapped_column(String(80))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    reviewer_conditions: Mapped[list[str]] = mapped_column(JSON, default=list)
    model_version: Mapped[int | None] = mapped_column(Integer)  # set once admitted
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConsoleSession(Base):
    """A signed-in person: the cookie holds a random token, the table its sha256 (a stolen
    database opens no session) and the session's CSRF token. Deleting the row signs out;
    revoking the key ends every session of it."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
