"""One admitted model version as the rest of Airlock reads it (`Record`, with its one JSON
form), made from its registry row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from airlock.provenance.manifest import FileDigest
from airlock.registry.models import ModelVersion


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
    engine: str | None  # None: not servable, `engine_reason` says why
    engine_reason: str
    created_at: datetime
    files: tuple[FileDigest, ...]
    # Set by `airlock revet` when the version no longer passes; None: not suspended.
    suspended_at: datetime | None = None
    suspended_reason: str | None = None
    # The last vet (admission or revet): when, and under which policy and rule set.
    vetted_at: datetime | None = None
    vetted_policy_digest: str | None = None
    vetted_ruleset_digest: str | None = None
    repo_id: str | None = None  # the mirror's id for it (None: not mirrored)
    revision: str | None = None  # the mirror's commit-like revision (repo_ids.revision_of)
    # Options for the engine process Airlock starts for it (engine_options.py); {}: defaults.
    engine_options: dict[str, Any] = field(default_factory=dict)

    @property
    def serving(self) -> str:
        """How the gateway would serve it, in words for a listing."""
        if self.suspended_reason is not None:
            return f"SUSPENDED: {self.suspended_reason}"
        return f"engine {self.engine}" if self.engine else f"not servable: {self.engine_reason}"

    def vetted_under(self, policy_digest: str, rules_digest: str) -> bool:
        """Whether its last vet applied this policy and this rule set (else a revet is due)."""
        return (self.vetted_policy_digest, self.vetted_ruleset_digest) == (
            policy_digest,
            rules_digest,
        )

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
            "engine": self.engine,
            "engine_reason": self.engine_reason,
            "engine_options": self.engine_options,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "suspended": self.suspended_reason is not None,
            "suspended_at": iso(self.suspended_at),
            "suspended_reason": self.suspended_reason,
            "last_vet": {
                "at": iso(self.vetted_at),
                "policy_digest": self.vetted_policy_digest,
                "ruleset_digest": self.vetted_ruleset_digest,
            },
            "repo_id": self.repo_id,
            "revision": self.revision,
            "files": [vars(f) for f in self.files],
            "dossier": self.dossier,
        }


def iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat(timespec="seconds")


def utc(at: datetime | None) -> datetime | None:
    # SQLite keeps no time zone; every time written is UTC.
    return at if at is None or at.tzinfo is not None else at.replace(tzinfo=UTC)


def record_of(row: ModelVersion) -> Record:
    """The registry row as the rest of Airlock reads it."""
    created = row.created_at
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
        engine=row.engine,
        engine_reason=row.engine_reason,
        created_at=created,
        files=tuple(FileDigest(f.path, f.size, f.sha256) for f in row.files),
        suspended_at=utc(row.suspended_at),
        suspended_reason=row.suspended_reason,
        vetted_at=utc(row.vetted_at),
        vetted_policy_digest=row.vetted_policy_digest,
        vetted_ruleset_digest=row.vetted_ruleset_digest,
        repo_id=row.repo_id,
        revision=row.revision,
        engine_options=dict(row.engine_options or {}),
    )
