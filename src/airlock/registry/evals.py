"""Eval results in the registry: record what one `airlock eval` run measured for its admitted
candidates, and read back the results for a model's exact files.

The input is the run's JSON document (`airlock eval --format json`, schema_version 1). Only
admitted candidates are recorded: their `model.revision` must be the manifest digest of a
version in this registry, so a result always names the exact bytes that were evaluated. An
endpoint candidate is not a model in the registry (its bytes are unknown and may change under
the same URL), so nothing a policy could rely on can be recorded for it: it is skipped, and
`Recorded.skipped` says so. A run is recorded whole or not at all (one transaction), with one
audit log entry per model.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from airlock.dossier.evals import EvalDataset, RecordedEval, in_order
from airlock.registry import audit
from airlock.registry.models import EvalResult, ModelVersion

if TYPE_CHECKING:
    from airlock.registry.store import Registry

SCHEMA_VERSION = 1
TASKS = ("retrieval", "rerank", "generation", "transcription")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MAX_NAME = 200  # the width of the name columns
_MAX_METRIC = 64


class EvalRecordError(ValueError):
    """The run cannot be recorded; the message is one line naming what is wrong."""


@dataclass(frozen=True)
class Recorded:
    results: tuple[RecordedEval, ...]
    skipped: tuple[str, ...]  # a sentence for each candidate or metric not recorded, and why


def record(registry: Registry, document: Mapping[str, Any], actor: str | None = None) -> Recorded:
    """Record the admitted candidates' metrics; EvalRecordError (nothing recorded) for a
    document that breaks the schema or names a version this registry does not hold."""
    run = _Run.read(document)
    at = datetime.now(UTC)
    run_id = uuid.uuid4().hex
    by = actor or audit.os_user()
    results: list[RecordedEval] = []
    skipped: list[str] = []
    with Session(registry.engine) as session, session.begin():
        for candidate in run.candidates:
            if candidate.model is None:
                skipped.append(
                    f"{candidate.name} is an endpoint, not a model in the registry: its "
                    "results are shown, not recorded"
                )
                continue
            name, digest = candidate.model
            version = _version(session, name, digest, candidate.name)
            rows = []
            for metric, (value, ci95) in candidate.metrics.items():
                if value is None:
                    skipped.append(f"{candidate.name} {metric}: no value, not recorded")
                    continue
                rows.append(
                    EvalResult(
                        run=run_id,
                        model_name=name,
                        model_version=version,
                        manifest_digest=digest,
                        dataset_name=run.dataset.name,
                        dataset_sha256=run.dataset.sha256,
                        dataset_bytes=run.dataset.bytes,
                        dataset_items=run.dataset.items,
                        task=run.task,
                        metric=metric,
                        value=value,
                        ci_low=ci95[0] if ci95 else None,
                        ci_high=ci95[1] if ci95 else None,
                        items=candidate.items,
                        failed=candidate.failed,
                        airlock_version=run.airlock_version,
                        created_at=at,
                        recorded_by=by,
                    )
                )
            if not rows:
                continue
            session.add_all(rows)
            audit.write(
                session,
                audit.EVAL_RECORD,
                f"{name} v{version}",
                actor=by,
                details={
                    "run": run_id,
                    "manifest_digest": digest,
                    "dataset": vars(run.dataset),
                    "task": run.task,
                    "metrics": {row.metric: row.value for row in rows},
                    "airlock_version": run.airlock_version,
                },
            )
            results += [_result(row) for row in rows]
    return Recorded(in_order(results), tuple(skipped))


def for_files(registry: Registry, manifest_digest: str) -> tuple[RecordedEval, ...]:
    """Every result recorded for these exact files (under any name), by dataset and metric,
    newest first."""
    query = (
        select(EvalResult)
        .where(EvalResult.manifest_digest == manifest_digest)
        .order_by(EvalResult.created_at.desc(), EvalResult.id.desc())
    )
    with Session(registry.engine) as session:
        return in_order([_result(row) for row in session.scalars(query)])


def _version(session: Session, name: str, digest: str, candidate: str) -> int:
    version = session.scalar(
        select(ModelVersion.version).where(
            ModelVersion.name == name, ModelVersion.manifest_digest == digest
        )
    )
    if version is None:
        raise EvalRecordError(
            f"candidate {candidate!r}: no version of {name!r} with the files {digest[:19]}... "
            "is admitted in this registry, so its results cannot be recorded (nothing was)"
        )
    return version


def _result(row: EvalResult) -> RecordedEval:
    at = row.created_at
    # SQLite keeps no time zone (every time written is UTC); PostgreSQL answers in its own.
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    ci95 = (row.ci_low, row.ci_high) if row.ci_low is not None and row.ci_high is not None else None
    return RecordedEval(
        model=row.model_name,
        version=row.model_version,
        manifest_digest=row.manifest_digest,
        dataset=EvalDataset(
            row.dataset_name, row.dataset_sha256, row.dataset_bytes, row.dataset_items
        ),
        task=row.task,
        metric=row.metric,
        value=row.value,
        ci95=ci95,
        items=row.items,
        failed=row.failed,
        airlock_version=row.airlock_version,
        recorded_at=at.isoformat(timespec="microseconds"),
        recorded_by=row.recorded_by,
        run=row.run,
    )


# Reading the document: every field checked, and an error names it by its path.

Metric = tuple[float | None, tuple[float, float] | None]  # value (None: none), 95% CI


@dataclass(frozen=True)
class _Candidate:
    name: str
    model: tuple[str, str] | None  # (name, manifest digest); None: an endpoint
    metrics: dict[str, Metric]
    items: int
    failed: int


@dataclass(frozen=True)
class _Run:
    airlock_version: str
    task: str
    dataset: EvalDataset
    candidates: tuple[_Candidate, ...]

    @classmethod
    def read(cls, document: Mapping[str, Any]) -> _Run:
        doc = _Object(document, "")
        version = doc.whole("schema_version")
        if version != SCHEMA_VERSION:
            raise EvalRecordError(
                f"the eval document has schema_version {version}; this Airlock records "
                f"{SCHEMA_VERSION}"
            )
        task = doc.text("task")
        if task not in TASKS:
            raise EvalRecordError(f"`task` must be one of {', '.join(TASKS)}, not {task!r}")
        data = doc.object("dataset")
        sha256 = data.text("sha256").lower()
        if not _SHA256.fullmatch(sha256):
            raise EvalRecordError(f"`dataset.sha256` must be 64 hex digits, not {sha256!r}")
        dataset = EvalDataset(
            data.text("name", _MAX_NAME), sha256, data.whole("bytes"), data.whole("items")
        )
        candidates = tuple(_candidate(c) for c in doc.objects("candidates"))
        return cls(doc.text("airlock_version", 64), task, dataset, candidates)


def _candidate(item: _Object) -> _Candidate:
    name = item.text("name")
    kind = item.text("kind")
    if kind not in ("admitted", "endpoint"):
        raise EvalRecordError(f"`{item.at('kind')}` must be admitted or endpoint, not {kind!r}")
    model = None
    if kind == "admitted":
        found = item.object("model")
        digest = found.text("revision")
        if not _DIGEST.fullmatch(digest):
            raise EvalRecordError(
                f"`{found.at('revision')}` must be the admitted version's manifest digest "
                f"(sha256:<64 hex>), not {digest!r}"
            )
        model = (found.text("name", _MAX_NAME), digest)
    metrics: dict[str, Metric] = {}
    for metric, value in item.object("metrics").entries():
        key = metric.strip().lower()
        if not key or len(key) > _MAX_METRIC or key in metrics:
            raise EvalRecordError(f"`{item.at('metrics')}` has a bad metric name: {metric!r}")
        metrics[key] = _metric(value)
    return _Candidate(name, model, metrics, item.whole("items"), item.whole("failed"))


def _metric(entry: _Object) -> Metric:
    value, ci95 = entry.get("value"), entry.get("ci95")
    if value is not None and _float(value) is None:
        raise EvalRecordError(f"`{entry.at('value')}` must be a number or null, not {value!r}")
    bounds = [_float(b) for b in ci95] if isinstance(ci95, list) and len(ci95) == 2 else []
    if ci95 is not None and (not bounds or None in bounds):
        raise EvalRecordError(f"`{entry.at('ci95')}` must be [low, high] or null, not {ci95!r}")
    # NaN is no measurement: neither a value a policy could compare nor a bound.
    measured = _float(value)
    if measured is None or not math.isfinite(measured):
        return None, None
    low, high = bounds or (None, None)
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return measured, None
    if low > high:
        raise EvalRecordError(f"`{entry.at('ci95')}` must be [low, high], not {ci95!r}")
    return measured, (low, high)


def _float(value: object) -> float | None:
    """A JSON number as a float; None for anything else (true and false included)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


class _Object:
    """A JSON object of the document, with `path` naming it in errors ("" for the document)."""

    def __init__(self, value: object, path: str) -> None:
        if not isinstance(value, Mapping):
            raise EvalRecordError(f"`{path}` must be an object" if path else _NOT_AN_OBJECT)
        self.value: Mapping[str, Any] = value
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str) -> object:
        return self.value.get(key)

    def _need(self, key: str) -> object:
        if key not in self.value:
            raise EvalRecordError(f"the eval document has no `{self.at(key)}`")
        return self.value[key]

    def text(self, key: str, longest: int = _MAX_NAME) -> str:
        value = self._need(key)
        if not isinstance(value, str) or not value.strip() or len(value) > longest:
            raise EvalRecordError(
                f"`{self.at(key)}` must be text of 1 to {longest} characters, not {value!r}"
            )
        return value.strip()

    def whole(self, key: str) -> int:
        value = self._need(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise EvalRecordError(f"`{self.at(key)}` must be a whole number, not {value!r}")
        return value

    def object(self, key: str) -> _Object:
        return _Object(self._need(key), self.at(key))

    def objects(self, key: str) -> list[_Object]:
        value = self._need(key)
        if not isinstance(value, list):
            raise EvalRecordError(f"`{self.at(key)}` must be a list")
        return [_Object(item, f"{self.at(key)}[{i}]") for i, item in enumerate(value)]

    def entries(self) -> list[tuple[str, _Object]]:
        return [(str(k), _Object(v, self.at(str(k)))) for k, v in self.value.items()]


_NOT_AN_OBJECT = "the eval document must be a JSON object (`airlock eval --format json`)"
