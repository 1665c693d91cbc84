"""Admit, list, show and remove model versions. Each write is one transaction: an admit that
fails part way (a crash, a lost connection) leaves nothing behind."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from airlock.dossier.model import Dossier
from airlock.engine_choice import EngineChoice
from airlock.policy.evaluate import Verdict
from airlock.policy.model import Policy
from airlock.provenance.manifest import FileDigest
from airlock.registry import audit, repo_ids
from airlock.registry.db import Location, RegistryError, locate, make_engine
from airlock.registry.migrate import migrate
from airlock.registry.models import ModelFile, ModelVersion
from airlock.registry.names import check as check_name
from airlock.registry.record import Record, iso, record_of
from airlock.ruleset import ruleset_digest

# Concurrent admits of one name race for the next version number; the loser retries.
_ADMIT_ATTEMPTS = 8


__all__ = ["Record", "Registry", "RegistryError"]


class Registry:
    def __init__(self, url: str | None = None) -> None:
        """Open (and migrate) the registry; RegistryError says which database and why not."""
        self.location = locate(url)
        self.engine = _open(self.location)

    def close(self) -> None:
        self.engine.dispose()

    def admit(
        self,
        name: str,
        dossier: Dossier,
        verdict: Verdict,
        policy: Policy,
        engine: EngineChoice,
        force_reason: str | None = None,
        actor: str | None = None,
        repo_id: str | None = None,
    ) -> tuple[Record, bool]:
        """Record a model version; (record, False) when these exact bytes are already there.
        Raises names.NameRefused for a name that breaks the rule or looks like another, or a
        `repo_id` that is invalid or belongs to another name. Without `repo_id` the version
        keeps the repo id of the name's newest version, if it has one (a new version of a
        mirrored model stays mirrored under the same id)."""
        if repo_id is not None and (why := repo_ids.problem(repo_id)) is not None:
            raise repo_ids.RepoIdRefused(why)
        for _ in range(_ADMIT_ATTEMPTS):
            try:
                with Session(self.engine) as session, session.begin():
                    check_name(name, session.scalars(select(ModelVersion.name).distinct()))
                    chosen = repo_id or _current_repo_id(session, name)
                    if chosen is not None:
                        _check_repo_owner(session, chosen, name)
                    existing = session.scalar(
                        select(ModelVersion).where(
                            ModelVersion.name == name,
                            ModelVersion.manifest_digest == dossier.provenance.digest,
                        )
                    )
                    if existing is not None:
                        if existing.suspended_at is not None:
                            _reinstate(session, existing, verdict, policy, force_reason, actor)
                        if chosen is not None and existing.repo_id is None:
                            _mirror_existing(session, existing, chosen, actor)
                        return record_of(existing), False
                    latest = session.scalar(
                        select(ModelVersion)
                        .where(ModelVersion.name == name)
                        .order_by(ModelVersion.version.desc())
                        .limit(1)
                    )
                    number = 1 if latest is None else latest.version + 1
                    row = _row(name, number, dossier, verdict, policy, force_reason)
                    row.engine, row.engine_reason = engine.engine, engine.reason
                    if chosen is not None:
                        row.repo_id = chosen
                        row.revision = repo_ids.revision_of(row.manifest_digest)
                    # A new version of a name runs as the previous one was configured to (the
                    # GPUs it needs rarely change with its weights); `configure` changes that.
                    row.engine_options = dict(latest.engine_options) if latest else {}
                    session.add(row)
                    session.flush()
                    _add_files(session, row, dossier.provenance.files)
                    audit.write(
                        session,
                        audit.ADMIT,
                        f"{name} v{row.version}",
                        actor=actor,
                        reason=force_reason,
                        details={
                            "decision": row.decision,
                            "forced": row.forced,
                            "manifest_digest": row.manifest_digest,
                            "source": row.source,
                            "engine": row.engine,
                            "engine_reason": row.engine_reason,
                            "repo_id": row.repo_id,
                            "revision": row.revision,
                        },
                    )
                    record = record_of(row)
                return record, True
            except IntegrityError:
                continue  # another admit took this version number (or these bytes): look again
        raise RegistryError(f"could not admit {name!r}: too many concurrent admits")

    def suspend(
        self,
        name: str,
        version: int,
        reason: str,
        *,
        policy: Policy,
        actor: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> bool:
        """Suspend one version (the gateway stops serving it), recorded in the audit log;
        False when it is gone or already suspended."""
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            row = session.scalar(
                select(ModelVersion).where(
                    ModelVersion.name == name,
                    ModelVersion.version == version,
                    ModelVersion.suspended_at.is_(None),
                )
            )
            if row is None:
                return False
            row.suspended_at, row.suspended_reason = now, reason
            _vetted(row, now, policy)
            audit.write(
                session,
                audit.SUSPEND,
                f"{name} v{version}",
                actor=actor,
                reason=reason,
                details={
                    "manifest_digest": row.manifest_digest,
                    "policy": {"name": policy.name, "digest": policy.digest},
                    "ruleset_digest": row.vetted_ruleset_digest,
                    **(details or {}),
                },
            )
        return True

    def record_verification(self, record: Record, problems: list[str]) -> None:
        """What `airlock models verify` found for one version (the console's drift column)."""
        with Session(self.engine) as session, session.begin():
            audit.write(
                session,
                audit.VERIFY,
                f"{record.name} v{record.version}",
                actor=None,
                details={"drifted": bool(problems), "problems": problems[:20]},
            )

    def mark_vetted(self, name: str, version: int, policy: Policy) -> None:
        """Record that a version still passes under `policy` and today's rule set."""
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(ModelVersion)
                .where(ModelVersion.name == name, ModelVersion.version == version)
                .values(
                    vetted_at=now,
                    vetted_policy_digest=policy.digest,
                    vetted_ruleset_digest=ruleset_digest(),
                )
            )

    def by_repo(self, repo_id: str) -> list[Record]:
        """The versions mirrored under `repo_id`, oldest first (mirror/lookup.py picks one)."""
        query = select(ModelVersion).where(ModelVersion.repo_id == repo_id)
        with Session(self.engine) as session:
            return [record_of(row) for row in session.scalars(query.order_by(ModelVersion.version))]

    def names(self) -> list[str]:
        """Every name with an admitted version."""
        with Session(self.engine) as session:
            return list(session.scalars(select(ModelVersion.name).distinct()))

    def versions(self, name: str | None = None) -> list[Record]:
        query = select(ModelVersion).order_by(ModelVersion.name, ModelVersion.version)
        if name is not None:
            query = query.where(ModelVersion.name == name)
        with Session(self.engine) as session:
            return [record_of(row) for row in session.scalars(query)]

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

    def configure(
        self,
        name: str,
        options: dict[str, Any],
        unset: tuple[str, ...] = (),
        *,
        actor: str | None = None,
    ) -> Record | None:
        """Set `options` and drop `unset` on the newest version of `name` (values already
        checked by engine_options), audited; None when the name has no version."""
        with Session(self.engine) as session, session.begin():
            row = session.scalar(
                select(ModelVersion)
                .where(ModelVersion.name == name)
                .order_by(ModelVersion.version.desc())
                .limit(1)
            )
            if row is None:
                return None
            before = dict(row.engine_options or {})
            after = {k: v for k, v in {**before, **options}.items() if k not in unset}
            row.engine_options = after
            audit.write(
                session,
                audit.CONFIGURE,
                f"{name} v{row.version}",
                actor=actor,
                details={"engine_options": {"before": before, "after": after}},
            )
            session.flush()
            return record_of(row)

    def remove(
        self, name: str, version: int | None, *, reason: str, actor: str | None = None
    ) -> int:
        """Delete a name's versions (or one of them), recorded with `reason` in the audit log;
        returns how many were deleted."""
        query = select(ModelVersion.id, ModelVersion.version, ModelVersion.manifest_digest)
        query = query.where(ModelVersion.name == name).order_by(ModelVersion.version)
        if version is not None:
            query = query.where(ModelVersion.version == version)
        with Session(self.engine) as session, session.begin():
            rows = session.execute(query).all()
            if not rows:
                return 0
            ids = [row.id for row in rows]
            session.execute(delete(ModelFile).where(ModelFile.model_version_id.in_(ids)))
            session.execute(delete(ModelVersion).where(ModelVersion.id.in_(ids)))
            audit.write(
                session,
                audit.REMOVE,
                name if version is None else f"{name} v{version}",
                actor=actor,
                reason=reason,
                details={"versions": {str(r.version): r.manifest_digest for r in rows}},
            )
        return len(rows)


def _open(location: Location) -> Engine:
    """An engine on a reachable database at the newest schema, or RegistryError naming it."""
    from alembic.util.exc import CommandError

    where = location.describe()
    try:
        engine = make_engine(location.url)
    except ArgumentError:
        raise RegistryError(
            f"{where} is not a database URL (e.g. postgresql+psycopg://user@host/db)"
        ) from None
    except ImportError as exc:  # the URL names a driver that is not installed
        raise RegistryError(
            f"{where} needs the database driver {exc.name or exc}, which is not installed "
            "(PostgreSQL: pip install 'airlock[postgres]')"
        ) from None
    try:
        migrate(engine)
    except OperationalError as exc:
        engine.dispose()
        detail = str(exc.orig or exc).strip().splitlines()[0]
        raise RegistryError(f"{where} cannot be opened: {detail}") from None
    except CommandError as exc:  # a revision this Airlock does not know: a newer schema
        engine.dispose()
        raise RegistryError(
            f"{where} has a schema this Airlock does not know ({exc}): upgrade Airlock"
        ) from None
    except SQLAlchemyError as exc:
        engine.dispose()
        detail = str(exc).strip().splitlines()[0]
        raise RegistryError(f"{where} cannot be used: {detail}") from None
    return engine


def _row(
    name: str,
    version: int,
    dossier: Dossier,
    verdict: Verdict,
    policy: Policy,
    force_reason: str | None,
) -> ModelVersion:
    now = datetime.now(UTC)
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
        created_at=now,
        vetted_at=now,
        vetted_policy_digest=policy.digest,
        vetted_ruleset_digest=ruleset_digest(),
    )


def _vetted(row: ModelVersion, at: datetime, policy: Policy) -> None:
    row.vetted_at, row.vetted_policy_digest = at, policy.digest
    row.vetted_ruleset_digest = ruleset_digest()


def _reinstate(
    session: Session,
    row: ModelVersion,
    verdict: Verdict,
    policy: Policy,
    force_reason: str | None,
    actor: str | None,
) -> None:
    """A re-admission of a suspended version's bytes: the new verdict replaces the admission's
    (a forced one included, so its reasons are what later revets compare against), the
    suspension is lifted, and the audit entry keeps what was replaced."""
    details = {
        "suspended_at": iso(row.suspended_at),
        "suspended_reason": row.suspended_reason,
        "previous": {"decision": row.decision, "policy_digest": row.policy_digest},
        "decision": verdict.decision.value,
        "forced": force_reason is not None,
        "manifest_digest": row.manifest_digest,
    }
    row.decision = verdict.decision.value
    row.reasons = [{"rule": r.rule, "message": r.message} for r in verdict.reasons]
    row.conditions = list(verdict.conditions)
    row.policy_name, row.policy_digest = policy.name, policy.digest
    row.forced, row.force_reason = force_reason is not None, force_reason
    row.suspended_at, row.suspended_reason = None, None
    _vetted(row, datetime.now(UTC), policy)
    why = force_reason or "re-admitted: the policy admits these files again"
    audit.write(
        session,
        audit.REINSTATE,
        f"{row.name} v{row.version}",
        actor=actor,
        reason=why,
        details=details,
    )


def _mirror_existing(session: Session, row: ModelVersion, repo_id: str, actor: str | None) -> None:
    """A version admitted without a repo id (or before there were any) gets one when the same
    bytes are admitted again with one: the only way to mirror it without new bytes."""
    row.repo_id, row.revision = repo_id, repo_ids.revision_of(row.manifest_digest)
    details = {"repo_id": repo_id, "revision": row.revision}
    audit.write(session, audit.ADMIT, f"{row.name} v{row.version}", actor=actor, details=details)


def _current_repo_id(session: Session, name: str) -> str | None:
    query = select(ModelVersion.repo_id).where(ModelVersion.name == name)
    return session.scalar(query.order_by(ModelVersion.version.desc()).limit(1))


def _check_repo_owner(session: Session, repo_id: str, name: str) -> None:
    """A repo id names one model: `main` must mean one thing."""
    query = select(ModelVersion.name).where(
        ModelVersion.repo_id == repo_id, ModelVersion.name != name
    )
    other = session.scalar(query.limit(1))
    if other is not None:
        raise repo_ids.RepoIdRefused(
            f"repo id {repo_id!a} is already the mirror's id of {other!a}; choose another, "
            f"or admit a new version of {other!a}"
        )


def _add_files(session: Session, row: ModelVersion, files: tuple[FileDigest, ...]) -> None:
    session.add_all(
        ModelFile(model_version_id=row.id, path=f.path, size=f.size, sha256=f.sha256) for f in files
    )
    session.flush()
