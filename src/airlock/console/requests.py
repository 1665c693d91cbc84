"""People's requests for models: asked for, vetted in the background, then admitted (with the
reviewer's conditions, if any) or refused with a written reason. Each step is one transaction
with its audit entry; the admission itself goes through Registry.admit as `airlock admit` does.

Who may do what is checked here, not only in the pages: the admin API and the pages share it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from airlock.api import vet
from airlock.artifact import ArtifactError
from airlock.console import roles
from airlock.console.sessions import Person
from airlock.dossier.model import Dossier
from airlock.engine_choice import choose_engine
from airlock.gateway.changes import notify
from airlock.policy.evaluate import Decision, evaluate
from airlock.policy.model import Policy
from airlock.provenance.errors import ProvenanceError
from airlock.registry import audit, names
from airlock.registry.console_tables import ModelRequest
from airlock.registry.store import Registry

QUEUED = "queued"
VETTING = "vetting"
VETTED = "vetted"  # waiting for a reviewer
FAILED = "failed"  # could not be vetted: `error` says why
ADMITTED = "admitted"
REFUSED = "refused"
STATUSES = (QUEUED, VETTING, VETTED, FAILED, ADMITTED, REFUSED)
OPEN = (QUEUED, VETTING)

ADMIT = "admit"
ADMIT_WITH_CONDITIONS = "admit_with_conditions"
REFUSE = "refuse"
ACTIONS = (ADMIT, ADMIT_WITH_CONDITIONS, REFUSE)


class RequestError(Exception):
    """A request or decision that cannot be made; `status` is the HTTP answer (400 bad input,
    403 not allowed, 404 no such request, 409 not in a state for it)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RequestView:
    id: int
    name: str
    source: str
    note: str
    requested_by: str
    status: str
    progress: str
    error: str | None
    dossier: dict[str, Any] | None
    decision: str | None
    policy_digest: str | None
    decided_by: str | None
    decision_reason: str | None
    reviewer_conditions: tuple[str, ...]
    model_version: int | None
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in vars(self).items() if k != "dossier"}
        data["reviewer_conditions"] = list(self.reviewer_conditions)
        data["created_at"] = self.created_at.isoformat(timespec="seconds")
        data["updated_at"] = self.updated_at.isoformat(timespec="seconds")
        return data


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _view(row: ModelRequest) -> RequestView:
    return RequestView(
        row.id,
        row.name,
        row.source,
        row.note,
        row.requested_by,
        row.status,
        row.progress,
        row.error,
        row.dossier,
        row.decision,
        row.policy_digest,
        row.decided_by,
        row.decision_reason,
        tuple(row.reviewer_conditions or ()),
        row.model_version,
        _utc(row.created_at),
        _utc(row.updated_at),
    )


class Requests:
    """The request store and its background vetting (one model at a time: vetting reads every
    byte, and the gateway's requests share the CPU)."""

    def __init__(self, registry: Registry, policy: Policy, roots: tuple[Path, ...]) -> None:
        self._registry = registry
        self._engine = registry.engine
        self.policy = policy
        self.roots = tuple(r.resolve() for r in roots)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="airlock-vet")
        self._lock = threading.Lock()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def resume(self) -> None:
        """Vet again what a stopped gateway left queued or half vetted."""
        with Session(self._engine) as session:
            ids = list(
                session.scalars(select(ModelRequest.id).where(ModelRequest.status.in_(OPEN)))
            )
        for request_id in ids:
            self._pool.submit(self._vet, request_id)

    def create(self, person: Person, name: str, source: str, note: str) -> RequestView:
        roles.require(person, roles.REQUEST)
        name, source, note = name.strip(), source.strip(), note.strip()
        if (problem := names.problem(name)) is not None:
            raise RequestError(f"Model name: {problem}.")
        try:
            names.check(name, self._registry.names())
        except names.NameRefused as exc:
            raise RequestError(f"Model name: {exc}.") from None
        self.locate(source)  # refused now, not after the request is queued
        now = datetime.now(UTC)
        with Session(self._engine) as session, session.begin():
            row = ModelRequest(
                name=name,
                source=source,
                note=note,
                requested_by=person.name,
                status=QUEUED,
                progress="Waiting for its turn to be vetted.",
                reviewer_conditions=[],
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            audit.write(
                session,
                audit.REQUEST_CREATE,
                name,
                actor=person.name,
                reason=note or None,
                details={"request": row.id, "source": source},
            )
            view = _view(row)
        self._pool.submit(self._vet, view.id)
        return view

    def locate(self, source: str) -> Path:
        """The folder `source` names: under one of the roots the server allows, or a Hugging
        Face repo id already in this server's cache (nothing is downloaded). Raises
        RequestError saying why not."""
        if not source:
            raise RequestError("Say where the model is: a folder on the server or a repo id.")
        if source.startswith("/") or source.startswith("."):
            path = Path(source).resolve()
            if not any(path == root or root in path.parents for root in self.roots):
                allowed = ", ".join(str(r) for r in self.roots) or "none (ask an admin)"
                raise RequestError(
                    f"{source} is not under a folder this server accepts requests from: {allowed}."
                )
            if not path.exists():
                raise RequestError(f"{source} does not exist on the server.")
            return path
        return _cached_repo(source)

    def all(self) -> list[RequestView]:
        with Session(self._engine) as session:
            query = select(ModelRequest).order_by(ModelRequest.id.desc())
            return [_view(r) for r in session.scalars(query)]

    def get(self, request_id: int) -> RequestView:
        with Session(self._engine) as session:
            row = session.get(ModelRequest, request_id)
            if row is None:
                raise RequestError(f"No request {request_id}.", 404)
            return _view(row)

    def decide(
        self,
        person: Person,
        request_id: int,
        action: str,
        reason: str,
        conditions: list[str],
    ) -> RequestView:
        """Admit, admit with the reviewer's conditions, or refuse. The verdict is evaluated
        again, by the policy the server runs now, on the dossier that was vetted."""
        roles.require(person, roles.DECIDE)
        reason = reason.strip()
        conditions = [c.strip() for c in conditions if c.strip()]
        if action not in ACTIONS:
            raise RequestError(f"Unknown decision {action!r}: one of {', '.join(ACTIONS)}.")
        if action == REFUSE and not reason:
            raise RequestError("Refusing needs a written reason: the requester reads it.")
        if action == ADMIT_WITH_CONDITIONS and not conditions:
            raise RequestError("Admitting with conditions needs at least one condition.")
        with self._lock:  # two reviewers deciding at once: the second finds it decided
            request = self.get(request_id)
            if request.status != VETTED:
                raise RequestError(
                    f"Request {request_id} is {request.status}: only a vetted request is decided.",
                    409,
                )
            if request.requested_by == person.name:
                raise RequestError(
                    "You asked for this model: another reviewer decides (four eyes).", 403
                )
            if action == REFUSE:
                return self._close(request, person, REFUSED, reason, [], None)
            assert request.dossier is not None  # vetted requests keep their dossier
            dossier = Dossier.from_dict(request.dossier)
            verdict = evaluate(dossier, self.policy)
            forced = None
            if verdict.decision is Decision.REFUSE:
                if not roles.allowed(person, roles.OVERRIDE):
                    raise RequestError(
                        "The policy refuses this model: only an admin may admit it anyway, "
                        "with a written reason.",
                        403,
                    )
                if not reason:
                    raise RequestError("Admitting a model the policy refuses needs a reason.")
                forced = reason
            if conditions:
                decision = verdict.decision
                if decision is Decision.ADMIT:
                    decision = Decision.ADMIT_WITH_CONDITIONS
                verdict = replace(
                    verdict, decision=decision, conditions=(*verdict.conditions, *conditions)
                )
            files = [f.path for f in dossier.provenance.files]
            engine = choose_engine(Path(dossier.source), files)
            try:
                record, _ = self._registry.admit(
                    request.name,
                    dossier,
                    verdict,
                    self.policy,
                    engine,
                    force_reason=forced,
                    actor=person.name,
                )
            except names.NameRefused as exc:
                raise RequestError(f"Model name: {exc}.", 409) from None
            notify("model-admitted", record.name)  # replicas sharing Redis list it at once
            return self._close(request, person, ADMITTED, reason, conditions, record.version)

    def _close(
        self,
        request: RequestView,
        person: Person,
        status: str,
        reason: str,
        conditions: list[str],
        version: int | None,
    ) -> RequestView:
        action = audit.REQUEST_ADMIT if status == ADMITTED else audit.REQUEST_REFUSE
        with Session(self._engine) as session, session.begin():
            row = session.get(ModelRequest, request.id)
            assert row is not None
            row.status = status
            row.decided_by = person.name
            row.decision_reason = reason or None
            row.reviewer_conditions = conditions
            row.model_version = version
            row.policy_digest = self.policy.digest
            row.updated_at = datetime.now(UTC)
            row.progress = "Admitted." if status == ADMITTED else "Refused."
            audit.write(
                session,
                action,
                request.name if version is None else f"{request.name} v{version}",
                actor=person.name,
                reason=reason or None,
                details={
                    "request": request.id,
                    "policy": self.policy.name,
                    "policy_digest": self.policy.digest,
                    "verdict": request.decision,
                    "conditions": conditions,
                    "requested_by": request.requested_by,
                },
            )
            session.flush()
            return _view(row)

    def _update(self, request_id: int, **values: Any) -> None:
        with Session(self._engine) as session, session.begin():
            row = session.get(ModelRequest, request_id)
            if row is None:
                return
            for field, value in values.items():
                setattr(row, field, value)
            row.updated_at = datetime.now(UTC)

    def _vet(self, request_id: int) -> None:
        request = self.get(request_id)
        self._update(
            request_id,
            status=VETTING,
            progress="Vetting: scanning every file without loading it, reading the license, "
            "sizing the model and hashing its files.",
        )
        try:
            path = self.locate(request.source)
            vetted = vet(path, self.policy, jobs=1)
        except (RequestError, ArtifactError, ProvenanceError, OSError) as exc:
            self._update(request_id, status=FAILED, error=str(exc), progress="Not vetted.")
            return
        except Exception as exc:  # a crash is shown on the request, not lost
            message = f"vetting failed unexpectedly: {type(exc).__name__}: {exc}"
            self._update(request_id, status=FAILED, error=message, progress="Not vetted.")
            return
        self._update(
            request_id,
            status=VETTED,
            dossier=vetted.dossier.to_dict(),
            decision=vetted.verdict.decision.value,
            policy_digest=vetted.policy.digest,
            progress="Vetted: waiting for a reviewer.",
        )


def _cached_repo(repo_id: str) -> Path:
    """The newest cached snapshot of a Hugging Face repo id; nothing is downloaded."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except HFValidationError:
        raise RequestError(
            f"{repo_id!r} is neither a folder path (starting with /) nor a repo id like org/name."
        ) from None
    except (LocalEntryNotFoundError, OSError):
        raise RequestError(
            f"{repo_id} is not in this server's Hugging Face cache: an admin downloads it first "
            "(nothing is fetched from the internet here)."
        ) from None
