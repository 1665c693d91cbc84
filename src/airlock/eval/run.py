"""One evaluation from start to result: open and check the data, choose the metrics, load the
candidates, run the task's runner, and turn what finished into an EvalResult. Ctrl-C during the
run keeps the batches that finished (the result says it is not complete); before any item
finished it propagates."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from airlock import __version__
from airlock.eval import stats
from airlock.eval.candidates.interface import Candidate
from airlock.eval.datasets.detect import open_dataset
from airlock.eval.datasets.fingerprint import fingerprint
from airlock.eval.datasets.interface import DataSet, ItemSet, RetrievalSet, Task
from airlock.eval.errors import EvalError
from airlock.eval.judge import Judge
from airlock.eval.metrics.catalog import choose_metrics, higher_is_better
from airlock.eval.metrics.ir import IrMetric, parse_ir
from airlock.eval.result import (
    CandidateResult,
    DatasetInfo,
    EvalResult,
    JudgeInfo,
    MetricValue,
)
from airlock.eval.runners.board import Board, NoProgress, Progress


@dataclass(frozen=True)
class Plan:
    """What to evaluate and how; the candidates are built by the caller (candidates.choose)."""

    data: Path
    candidates: Sequence[Candidate]
    metrics: Sequence[str] = ()
    name: str | None = None
    split: str | None = None
    judge: Judge | None = None
    batch_size: int = 64
    max_tokens: int = 256
    progress: Progress = field(default_factory=NoProgress)


def check(plan: Plan) -> tuple[DataSet, list[str]]:
    """The data set, every record checked, and the metrics to report; EvalError (DataError for
    the data) before anything is loaded."""
    if not plan.candidates:
        raise EvalError("nothing to evaluate: name candidates with --model or --endpoint")
    dataset = open_dataset(plan.data, name=plan.name, split=plan.split)
    for candidate in plan.candidates:
        why = candidate.refuses(dataset.task)
        if why is not None:
            raise EvalError(why)
    if plan.judge is not None:
        if dataset.task is not Task.GENERATION:
            raise EvalError("--judge rates generated answers: it applies to generation data only")
        why = plan.judge.candidate.refuses(Task.GENERATION)
        if why is not None:
            raise EvalError(f"judge: {why}")
    metrics = choose_metrics(
        dataset.task, dataset.fields, list(plan.metrics), judge=plan.judge is not None
    )
    return dataset, metrics


def evaluate(plan: Plan) -> EvalResult:
    dataset, metrics = check(plan)
    digest = fingerprint(plan.data, dataset.files)
    board = Board(len(plan.candidates), metrics)
    complete = True
    with ExitStack() as stack:
        for candidate in [*plan.candidates, *([plan.judge.candidate] if plan.judge else [])]:
            stack.callback(candidate.close)
            candidate.open()
        try:
            _run(dataset, plan, metrics, board)
        except KeyboardInterrupt:
            if board.items == 0:
                raise
            complete = False
    info = DatasetInfo(dataset.name, str(plan.data), digest.sha256, digest.bytes, dataset.count)
    return _result(dataset.task, info, metrics, plan, board, complete)


def _run(dataset: DataSet, plan: Plan, metrics: list[str], board: Board) -> None:
    from airlock.eval.runners import generation, rerank, retrieval, transcription

    if isinstance(dataset, RetrievalSet):
        ir = _ir(metrics)
        retrieval.run_retrieval(dataset, plan.candidates, ir, board, plan.batch_size, plan.progress)
        return
    assert isinstance(dataset, ItemSet)
    if dataset.task is Task.RERANK:
        rerank.run_rerank(dataset, plan.candidates, _ir(metrics), board, plan.progress)
    elif dataset.task is Task.GENERATION:
        generation.run_generation(
            dataset, plan.candidates, metrics, board, plan.max_tokens, plan.judge, plan.progress
        )
    else:
        transcription.run_transcription(dataset, plan.candidates, metrics, board, plan.progress)


def _ir(metrics: list[str]) -> list[IrMetric]:
    parsed = [parse_ir(name) for name in metrics]
    return [m for m in parsed if m is not None]


def _result(
    task: Task,
    dataset: DatasetInfo,
    metrics: list[str],
    plan: Plan,
    board: Board,
    complete: bool,
) -> EvalResult:
    per_metric = {}
    for name in metrics:
        num, den = board.scores(name)
        per_metric[name] = stats.analyse(num, den, higher_is_better=higher_is_better(name))
    candidates = []
    for c, candidate in enumerate(plan.candidates):
        usage = board.usage(c)
        busy = sum(usage.latencies_s)
        latency = None
        if usage.latencies_s:
            p50, p95 = np.percentile(np.array(usage.latencies_s) * 1000, [50, 95])
            latency = (float(p50), float(p95))
        values = {
            name: MetricValue(s.value, s.ci95, s.best, s.worse_than_best, s.p_value)
            for name, s in ((name, per_metric[name][c]) for name in metrics)
        }
        candidates.append(
            CandidateResult(
                name=candidate.name,
                kind=candidate.kind,
                model=candidate.model,
                endpoint=candidate.endpoint,
                metrics=values,
                latency_ms=latency,
                items_per_s=board.items / busy if busy > 0 else None,
                tokens=(usage.prompt_tokens, usage.completion_tokens),
                items=board.items,
                failed=usage.failed,
                first_failure=usage.first_failure,
            )
        )
    judge = None
    if plan.judge is not None:
        judge = JudgeInfo(plan.judge.candidate.name, plan.judge.prompt, plan.judge.usage.failed)
    return EvalResult(
        task=task.value,
        dataset=dataset,
        metrics=tuple(metrics),
        candidates=tuple(candidates),
        complete=complete,
        airlock_version=__version__,
        judge=judge,
        statistics={
            "ci95": f"percentile bootstrap over items, {stats.RESAMPLES} resamples",
            "test": "paired permutation test (sign flips) against the best candidate, two-sided",
            "alpha": stats.ALPHA,
            "seed": stats.SEED,
        },
    )
