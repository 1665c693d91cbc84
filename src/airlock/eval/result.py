"""The result of one evaluation: one type, one JSON form (`--format json`, and what the registry
records). Version 1 of the document; docs/eval.md describes every key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1
TASKS = ("retrieval", "rerank", "generation", "transcription")
KINDS = ("admitted", "endpoint")


@dataclass(frozen=True)
class MetricValue:
    value: float | None  # None: no evaluated item had what the metric needs
    ci95: tuple[float, float] | None
    best: bool
    worse_than_best: bool
    p_value: float | None  # paired test against the best candidate; None for the best


@dataclass(frozen=True)
class ModelRef:
    name: str
    revision: str  # the admitted version's manifest digest: names exactly its bytes
    version: int  # the registry's version number of that name


@dataclass(frozen=True)
class CandidateResult:
    name: str
    kind: str  # "admitted" or "endpoint"
    model: ModelRef | None
    endpoint: str | None
    metrics: Mapping[str, MetricValue]
    latency_ms: tuple[float, float] | None  # (p50, p95) per request; None: none finished
    items_per_s: float | None
    tokens: tuple[int, int]  # (prompt, completion)
    items: int  # items evaluated (all candidates evaluate the same ones)
    failed: int  # of those, items the candidate gave no answer for (scored as empty)
    first_failure: str | None = None  # where and why the first one failed


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    path: str
    sha256: str
    bytes: int
    items: int  # in the data set (more than evaluated when the run was interrupted)


@dataclass(frozen=True)
class JudgeInfo:
    name: str
    prompt: str  # the template every answer was rated with
    failed: int = 0  # ratings the judge gave no readable score for (counted as the lowest)


@dataclass(frozen=True)
class EvalResult:
    task: str
    dataset: DatasetInfo
    metrics: tuple[str, ...]
    candidates: tuple[CandidateResult, ...]
    complete: bool  # False: interrupted, the metrics cover the items that finished
    airlock_version: str
    judge: JudgeInfo | None = None
    statistics: Mapping[str, Any] = field(default_factory=dict)

    @property
    def evaluated(self) -> int:
        return self.candidates[0].items if self.candidates else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "airlock_version": self.airlock_version,
            "task": self.task,
            "complete": self.complete,
            "dataset": vars(self.dataset).copy(),
            "metrics": list(self.metrics),
            "candidates": [_candidate_dict(c) for c in self.candidates],
            "judge": None if self.judge is None else vars(self.judge).copy(),
            "statistics": dict(self.statistics),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvalResult:
        """Raises ValueError naming the first key that is missing or of the wrong type."""
        if _get(data, "schema_version", int) != SCHEMA_VERSION:
            raise ValueError(f"schema_version: expected {SCHEMA_VERSION}")
        task = _get(data, "task", str)
        if task not in TASKS:
            raise ValueError(f"task: expected one of {', '.join(TASKS)}")
        dataset = _get(data, "dataset", dict)
        metrics = tuple(_strings(data, "metrics"))
        judge = data.get("judge")
        return cls(
            task=task,
            dataset=DatasetInfo(
                _get(dataset, "name", str),
                _get(dataset, "path", str),
                _get(dataset, "sha256", str),
                _get(dataset, "bytes", int),
                _get(dataset, "items", int),
            ),
            metrics=metrics,
            candidates=tuple(_candidate(c, metrics) for c in _get(data, "candidates", list)),
            complete=_get(data, "complete", bool),
            airlock_version=_get(data, "airlock_version", str),
            judge=None
            if judge is None
            else JudgeInfo(
                _get(judge, "name", str), _get(judge, "prompt", str), _get(judge, "failed", int)
            ),
            statistics=dict(data.get("statistics") or {}),
        )


def _candidate_dict(c: CandidateResult) -> dict[str, Any]:
    model = c.model
    return {
        "name": c.name,
        "kind": c.kind,
        "model": None
        if model is None
        else {"name": model.name, "revision": model.revision, "version": model.version},
        "endpoint": c.endpoint,
        "metrics": {
            name: {
                "value": m.value,
                "ci95": None if m.ci95 is None else list(m.ci95),
                "best": m.best,
                "worse_than_best": m.worse_than_best,
                "p_value": m.p_value,
            }
            for name, m in c.metrics.items()
        },
        "latency_ms": None
        if c.latency_ms is None
        else {"p50": c.latency_ms[0], "p95": c.latency_ms[1]},
        "items_per_s": c.items_per_s,
        "tokens": {"prompt": c.tokens[0], "completion": c.tokens[1]},
        "items": c.items,
        "failed": c.failed,
        "first_failure": c.first_failure,
    }


def _candidate(data: Any, metrics: tuple[str, ...]) -> CandidateResult:
    if not isinstance(data, dict):
        raise ValueError("candidates: expected objects")
    kind = _get(data, "kind", str)
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {', '.join(KINDS)}")
    model = data.get("model")
    values = _get(data, "metrics", dict)
    missing = [name for name in metrics if name not in values]
    if missing:
        raise ValueError(f"metrics: {data.get('name')!r} lacks {', '.join(missing)}")
    latency = data.get("latency_ms")
    tokens = _get(data, "tokens", dict)
    return CandidateResult(
        name=_get(data, "name", str),
        kind=kind,
        model=None
        if model is None
        else ModelRef(
            _get(model, "name", str), _get(model, "revision", str), _get(model, "version", int)
        ),
        endpoint=_optional(data, "endpoint", str),
        metrics={name: _metric(values[name]) for name in metrics},
        latency_ms=None if latency is None else (_number(latency, "p50"), _number(latency, "p95")),
        items_per_s=None if data.get("items_per_s") is None else _number(data, "items_per_s"),
        tokens=(_get(tokens, "prompt", int), _get(tokens, "completion", int)),
        items=_get(data, "items", int),
        failed=_get(data, "failed", int),
        first_failure=_optional(data, "first_failure", str),
    )


def _metric(data: Any) -> MetricValue:
    if not isinstance(data, dict):
        raise ValueError("metrics: expected objects")
    ci = data.get("ci95")
    if ci is not None and not (
        isinstance(ci, list) and len(ci) == 2 and all(_is_number(x) for x in ci)
    ):
        raise ValueError("ci95: expected [low, high]")
    return MetricValue(
        value=None if data.get("value") is None else _number(data, "value"),
        ci95=None if ci is None else (float(ci[0]), float(ci[1])),
        best=_get(data, "best", bool),
        worse_than_best=_get(data, "worse_than_best", bool),
        p_value=None if data.get("p_value") is None else _number(data, "p_value"),
    )


def _get(data: Any, key: str, kind: type) -> Any:
    if not isinstance(data, dict) or key not in data:
        raise ValueError(f"{key}: missing")
    value = data[key]
    # bool is an int in Python: a count given as true is still wrong.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{key}: expected {kind.__name__}")
    return value


def _optional(data: Mapping[str, Any], key: str, kind: type) -> Any:
    return None if data.get(key) is None else _get(data, key, kind)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(data: Any, key: str) -> float:
    if not isinstance(data, dict) or not _is_number(data.get(key)):
        raise ValueError(f"{key}: expected a number")
    return float(data[key])


def _strings(data: Mapping[str, Any], key: str) -> list[str]:
    values = _get(data, key, list)
    if not all(isinstance(v, str) for v in values):
        raise ValueError(f"{key}: expected strings")
    return list(values)
