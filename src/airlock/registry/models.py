"""The registry's tables. Changing them means a new migration in `migrations/versions/`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class ModelVersion(Base):
    __tablename__ = "model_versions"
    # One row per admitted content: a name's versions count up, and the same bytes admitted
    # twice under one name are one version.
    __table_args__ = (
        UniqueConstraint("name", "version", name="uq_model_versions_name_version"),
        UniqueConstraint("name", "manifest_digest", name="uq_model_versions_name_digest"),
        UniqueConstraint("repo_id", "revision", name="uq_model_versions_repo_revision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int]
    source: Mapped[str] = mapped_column(Text)
    manifest_digest: Mapped[str] = mapped_column(String(80))
    decision: Mapped[str] = mapped_column(String(32))
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    conditions: Mapped[list[str]] = mapped_column(JSON)
    dossier: Mapped[dict[str, Any]] = mapped_column(JSON)
    policy_name: Mapped[str] = mapped_column(String(200))
    policy_digest: Mapped[str] = mapped_column(String(80))
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    force_reason: Mapped[str | None] = mapped_column(Text)
    # The engine `airlock serve` would load it with (engine_choice.py); None: no engine
    # serves it, and `engine_reason` says why.
    engine: Mapped[str | None] = mapped_column(String(64))
    engine_reason: Mapped[str] = mapped_column(Text, default="")
    # How the engine process `airlock serve --engine` starts for it is run (engine_options.py):
    # set by `airlock models configure`, carried to the name's next admitted version.
    engine_options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Set by `airlock revet` when the version no longer passes (the gateway then refuses it);
    # cleared by a re-admission of the same bytes. Nothing is deleted either way.
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    suspended_reason: Mapped[str | None] = mapped_column(Text)
    # The last vet (admission or revet): when, and under which policy and rule set
    # (ruleset.py); a version vetted under other digests is due for a revet.
    vetted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    vetted_policy_digest: Mapped[str | None] = mapped_column(String(80))
    vetted_ruleset_digest: Mapped[str | None] = mapped_column(String(80))
    # The mirror's Hugging Face style id (`org/name`) and commit-like revision (repo_ids.py);
    # None: not served by the mirror. One repo id belongs to one name.
    repo_id: Mapped[str | None] = mapped_column(String(200), index=True)
    revision: Mapped[str | None] = mapped_column(String(40))
    files: Mapped[list[ModelFile]] = relationship(
        back_populates="model_version",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ModelFile.path",
    )


class ModelFile(Base):
    __tablename__ = "model_files"
    __table_args__ = (UniqueConstraint("model_version_id", "path", name="uq_model_files_path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[ModelVersion] = relationship(back_populates="files")


class AuditEntry(Base):
    """One change to the registry: who made it, when, what, to what, and why. Written in the
    transaction of the change itself, so there is never a change without its entry."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class EvalResult(Base):
    """One metric of one recorded `airlock eval` run, for the exact files of an admitted version.

    Keyed by the manifest digest, not by a row of `model_versions`: a result is a fact about
    those bytes, so changed files (a new digest) never inherit it, and the same files admitted
    under another name do. Removing a version keeps its results, as the audit log keeps its
    admission."""

    __tablename__ = "eval_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    run: Mapped[str] = mapped_column(String(32), index=True)
    model_name: Mapped[str] = mapped_column(String(200), index=True)
    model_version: Mapped[int]
    manifest_digest: Mapped[str] = mapped_column(String(80), index=True)
    dataset_name: Mapped[str] = mapped_column(String(200))
    dataset_sha256: Mapped[str] = mapped_column(String(64))
    dataset_bytes: Mapped[int] = mapped_column(BigInteger)
    dataset_items: Mapped[int] = mapped_column(BigInteger)
    task: Mapped[str] = mapped_column(String(32))
    metric: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    items: Mapped[int] = mapped_column(BigInteger)
    failed: Mapped[int] = mapped_column(BigInteger)
    airlock_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(200))
