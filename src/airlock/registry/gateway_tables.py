"""The gateway's tables: API keys (stored as sha256 hashes) and per-request usage.
Changes go through `migrations/versions/` like every registry table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from airlock.registry.models import Base


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in listings; the key is never stored
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    models: Mapped[list[str] | None] = mapped_column(JSON)  # None: every admitted model
    rpm: Mapped[int | None] = mapped_column(Integer)  # None: no rate limit
    tpm: Mapped[int | None] = mapped_column(Integer)  # tokens per minute; None: no limit
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Who holds it (gateway/auth.py ROLES): "app" calls the API only; people sign in to the
    # console as admin, reviewer or requester.
    role: Mapped[str] = mapped_column(String(16), default="app", server_default="app")


class UsageRecord(Base):
    __tablename__ = "usage_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), index=True
    )
    model: Mapped[str] = mapped_column(String(200))
    endpoint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # The gateway's journal entry (gateway/usage_journal.py): a replayed entry is never counted
    # twice. None for rows written before migration 0004.
    entry_id: Mapped[str | None] = mapped_column(String(32), index=True, unique=True)
