"""Admit, list, show and remove model versions. Each write is one transaction: an admit that
fails part way (a crash, a lost connection) leaves nothing behind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from airlock.dossier.model import Dossier, ManifestFile
from airlock.policy.evaluate import Verdict
from airlock.policy.model import Policy
from airlock.registry.db import database_url, make_engine
from airlock.registry.migrate import migrate
from airlock.registry.models import ModelFile, ModelVersion

# Concurrent admits of one name race for the next version number; the loser retries.
_ADMIT_ATTEMPTS = 8


class RegistryError(Exception):
    """The registry cannot be opened or written."""


@dataclass(frozen=True)
class Record:
    name: str
    version: int
    source: str
    manifest_digest: str
    decision: str
    reasons: tuple[dict[str, str], ...]
    conditions: tuple[str, ...]
    dossier: dict[str, Any]
    policy_name: str
    policy_digest: str
    forced: bool
    force_reason: str | None
    created_at: datetime
    files: tuple[ManifestFile, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "manifest_digest": self.manifest_digest,
            "decision": self.decision,
            "reasons": list(self.reasons),
            "conditions": list(self.conditions),
            "policy": {"name": self.policy_name, "digest": self.policy_digest},
            "forced": self.forced,
            "force_reason": self.force_reason,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "files": [vars(f) for f in self.files],
            "dossier": self.dossier,
        }


class Registry:
    def __init__(self, url: str | None = None) -> None:
        self.engine = make_engine(url or database_url())
        migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def admit(
        self,
        name: str,
        dossier: Dossier,
        verdict: Verdict,
        policy: Policy,
        force_reason: str | None = None,
    ) -> tuple[Record, bool]:
        """Record a model version; (record, False) when these exact bytes are already there."""
        for _ in range(_ADMIT_ATTEMPTS):
            try:
                with Session(self.engine) as session, session.begin():
                    existing = session.scalar(
                        select(ModelVersion).where(
                            ModelVersion.name == name,
                            ModelVersion.manifest_digest == dossier.provenance.digest,
                        )
                    )
                    if existing is not None:
                        return _record(existing), False
                    latest = session.scalar(
                        select(func.max(ModelVersion.version)).where(ModelVersion.name == name)
                    )
                    row = _row(name, (latest or 0) + 1, dossier, verdict, policy, force_reason)
                    session.add(row)
                    session.flush()
                    _add_files(session, row, dossier.provenance.files)
                    record = _record(row)
                return record, True
            except IntegrityError:
                continue  # another admit took this version number (or these bytes): look again
        raise RegistryError(f"could not admit {name!r}: too many concurrent admits")

    def versions(self, name: str | None = None) -> list[Record]:
        query = select(ModelVersion).order_by(ModelVersion.name, ModelVersion.version)
        if name is not None:
            query = query.where(ModelVersion.name == name)
        with Session(self.engine) as session:
            return [_record(row) for row in session.scalars(query)]

    def latest(self, name: str | None = None) -> list[Record]:
        """The newest version of each name (or of `name`)."""
        newest: dict[str, Record] = {}
        for record in self.versions(name):
            newest[record.name] = record
        return list(newest.values())

    def get(self, name: str, version: int | None = None) -> Record | None:
        found = self.versions(name)
        if version is None:
            return found[-1] if found else None
        return next((r for r in found if r.version == version), None)

    def remove(self, name: str, version: int | None = None) -> int:
        """Delete a name's versions (or one of them); returns how many were deleted."""
        query = select(ModelVersion.id).where(ModelVersion.name == name)
        if version is not None:
            query = query.where(ModelVersion.version == version)
        with Session(self.engine) as session, session.begin():
            ids = list(session.scalars(query))
            session.execute(delete(ModelFile).where(ModelFile.model_version_id.in_(ids)))
            session.execute(delete(ModelVersion).where(ModelVersion.id.in_(ids)))
        return len(ids)


def _row(
    name: str,
    version: int,
    dossier: Dossier,
    verdict: Verdict,
    policy: Policy,
    force_reason: str | None,
) -> ModelVersion:
    return ModelVersion(
        name=name,
        version=version,
        source=str(Path(dossier.source).resolve()),
        manifest_digest=dossier.provenance.digest,
        decision=verdict.decision.value,
        reasons=[{"rule": r.rule, "message": r.message} for r in verdict.reasons],
        conditions=list(verdict.conditions),
        dossier=dossier.to_dict(),
        policy_name=policy.name,
        policy_digest=policy.digest,
        forced=force_reason is not None,
        force_reason=force_reason,
        created_at=datetime.now(UTC),
    )


def _add_files(session: Session, row: ModelVersion, files: tuple[ManifestFile, ...]) -> None:
    session.add_all(
        ModelFile(model_version_id=row.id, path=f.path, size=f.size, sha256=f.sha256) for f in files
    )
    session.flush()


def _record(row: ModelVersion) -> Record:
    created = row.created_at
    # SQLite keeps no time zone; every time written is UTC.
    created = created if created.tzinfo is not None else created.replace(tzinfo=UTC)
    return Record(
        name=row.name,
        version=row.version,
        source=row.source,
        manifest_digest=row.manifest_digest,
        decision=row.decision,
        reasons=tuple(row.reasons),
        conditions=tuple(row.conditions),
        dossier=row.dossier,
        policy_name=row.policy_name,
        policy_digest=row.policy_digest,
        forced=row.forced,
        force_reason=row.force_reason,
        created_at=created,
        files=tuple(ManifestFile(f.path, f.size, f.sha256) for f in row.files),
    )
