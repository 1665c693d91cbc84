"""An eval result as the registry records it: one metric of one run of `airlock eval`, for the
exact files of one admitted model version (its manifest digest), on one dataset's exact bytes.

The dossier carries the results recorded for the files it describes; `airlock models show`
lists them; the policy's `quality` section requires them. One JSON form for all three.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EvalDataset:
    name: str  # as `airlock eval` named it
    sha256: str  # of the data's bytes (hex): which exact data was judged on
    bytes: int
    items: int


@dataclass(frozen=True)
class RecordedEval:
    model: str  # the name the evaluated version was admitted under
    version: int  # that name's version number when the result was recorded
    manifest_digest: str  # the exact files evaluated ("sha256:..."): results follow the bytes
    dataset: EvalDataset
    task: str  # retrieval | rerank | generation | transcription
    metric: str  # e.g. "ndcg@10" (data/eval_metrics.toml)
    value: float
    ci95: tuple[float, float] | None  # the 95% bootstrap confidence interval, when computed
    items: int  # items the model was scored on
    failed: int  # items that failed (errors, timeouts)
    airlock_version: str  # the Airlock that computed it
    recorded_at: str  # ISO 8601, UTC
    recorded_by: str
    run: str  # one id per recorded run: the results of one `airlock eval` share it

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": {
                "name": self.model,
                "version": self.version,
                "manifest_digest": self.manifest_digest,
            },
            "dataset": vars(self.dataset),
            "task": self.task,
            "metric": self.metric,
            "value": self.value,
            "ci95": list(self.ci95) if self.ci95 is not None else None,
            "items": self.items,
            "failed": self.failed,
            "airlock_version": self.airlock_version,
            "recorded_at": self.recorded_at,
            "recorded_by": self.recorded_by,
            "run": self.run,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecordedEval:
        model, ci95 = data["model"], data["ci95"]
        return cls(
            model=model["name"],
            version=model["version"],
            manifest_digest=model["manifest_digest"],
            dataset=EvalDataset(**data["dataset"]),
            task=data["task"],
            metric=data["metric"],
            value=data["value"],
            ci95=(ci95[0], ci95[1]) if ci95 is not None else None,
            items=data["items"],
            failed=data["failed"],
            airlock_version=data["airlock_version"],
            recorded_at=data["recorded_at"],
            recorded_by=data["recorded_by"],
            run=data["run"],
        )


def in_order(results: list[RecordedEval]) -> tuple[RecordedEval, ...]:
    """By dataset and metric, newest first within each: how every report lists them."""
    newest_first = sorted(results, key=lambda r: r.recorded_at, reverse=True)
    return tuple(sorted(newest_first, key=lambda r: (r.dataset.name, r.metric)))
