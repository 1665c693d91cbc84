"""Every metric by its stable name (the keys of `--format json` and of the registry): which
task it belongs to, which item field it needs, which way is better, and the defaults."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from airlock.eval.datasets.interface import Task
from airlock.eval.errors import EvalError
from airlock.eval.metrics.ir import KINDS, parse_ir

JUDGE = "judge"


@dataclass(frozen=True)
class TextMetric:
    name: str
    needs: str  # the item field it scores against ("judge": the --judge option)


GENERATION = (
    TextMetric("exact_match", "reference"),
    TextMetric("exact_match_normalized", "reference"),
    TextMetric("token_f1", "reference"),
    TextMetric("contains", "reference"),
    TextMetric("accuracy", "choices"),
    TextMetric("regex", "pattern"),
    TextMetric("json_valid", "schema"),
    TextMetric("schema_valid", "schema"),
    TextMetric(JUDGE, JUDGE),
)
TRANSCRIPTION = ("wer", "cer")
LOWER_IS_BETTER = frozenset(TRANSCRIPTION)
_DEFAULT_IR = {
    Task.RETRIEVAL: ("ndcg@10", "mrr@10", "recall@10", "recall@100", "map@100"),
    Task.RERANK: ("ndcg@10", "mrr@10", "map@100"),
}


def higher_is_better(name: str) -> bool:
    return name not in LOWER_IS_BETTER


def choose_metrics(
    task: Task, fields: Iterable[str], requested: Sequence[str], *, judge: bool
) -> list[str]:
    """The metrics to report: `requested` checked against the task and the data (EvalError
    naming what is wrong), or the task's defaults where none were asked for."""
    present = set(fields) | ({JUDGE} if judge else set())
    available = _available(task, present)
    if not requested:
        if task in _DEFAULT_IR:
            return list(_DEFAULT_IR[task])
        if not available:
            raise EvalError(
                "no metric applies to these items: give them a reference, choices and an "
                "answer, a schema or a pattern, or rate them with --judge"
            )
        return available
    chosen: list[str] = []
    for name in requested:
        if task in _DEFAULT_IR:
            if parse_ir(name) is None:
                raise EvalError(_unknown(name, task, [f"{kind}@K" for kind in KINDS]))
        elif name not in available:
            raise EvalError(_unknown(name, task, available, _needs(name)))
        if name not in chosen:
            chosen.append(name)
    return chosen


def _available(task: Task, present: set[str]) -> list[str]:
    if task is Task.GENERATION:
        return [m.name for m in GENERATION if m.needs in present]
    if task is Task.TRANSCRIPTION:
        return list(TRANSCRIPTION)
    return []


def _needs(name: str) -> str:
    needed = next((m.needs for m in GENERATION if m.name == name), None)
    if needed == JUDGE:
        return "; judge needs --judge"
    if needed is not None:
        return f"; {name} needs items with a {needed!r} field"
    return ""


def _unknown(name: str, task: Task, available: Sequence[str], why: str = "") -> str:
    from airlock.suggest import did_you_mean

    every = [m.name for m in GENERATION] + list(TRANSCRIPTION) + list(available)
    hint = "" if name in every else did_you_mean(name, every)
    return (
        f"metric {name!r} does not apply to {task.value} data{why}{hint} "
        f"(available: {', '.join(available) or 'none'})"
    )
