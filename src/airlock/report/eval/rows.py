"""The `airlock eval` report's content, once for every format: the header, one row per metric
and candidate, one row per candidate with its costs, and the notes."""

from __future__ import annotations

from dataclasses import dataclass

from airlock.eval.result import CandidateResult, EvalResult, MetricValue

_UNITS = {
    "retrieval": "queries",
    "rerank": "items",
    "generation": "items",
    "transcription": "clips",
}


@dataclass(frozen=True)
class MetricRow:
    metric: str  # "" on the rows after a metric's first
    candidate: str
    value: str
    interval: str
    verdict: str  # "best", "worse (p=0.003)", "not significantly worse (p=0.41)"
    best: bool
    worse: bool


def headline(result: EvalResult) -> str:
    unit = _UNITS.get(result.task, "items")
    data = result.dataset
    return (
        f"airlock eval: {data.name} ({result.task}), {result.evaluated:,} of {data.items:,} "
        f"{unit}, data sha256 {data.sha256[:12]}"
    )


def interrupted(result: EvalResult) -> str | None:
    if result.complete:
        return None
    return (
        f"Interrupted: the numbers cover the {result.evaluated:,} items every candidate finished, "
        f"not the whole data set ({result.dataset.items:,})."
    )


def metric_rows(result: EvalResult) -> list[MetricRow]:
    rows = []
    for metric in result.metrics:
        for i, candidate in enumerate(result.candidates):
            m = candidate.metrics[metric]
            rows.append(
                MetricRow(
                    metric if i == 0 else "",
                    candidate.name,
                    number(m.value),
                    "" if m.ci95 is None else f"{m.ci95[0]:.3f} - {m.ci95[1]:.3f}",
                    verdict(m),
                    m.best,
                    m.worse_than_best,
                )
            )
    return rows


def verdict(m: MetricValue) -> str:
    if m.value is None:
        return "no item to score"
    if m.best:
        return "best"
    p = "" if m.p_value is None else f" (p={m.p_value:.3g})"
    return f"worse{p}" if m.worse_than_best else f"not significantly worse{p}"


def number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def source(candidate: CandidateResult) -> str:
    if candidate.model is not None:
        return (
            f"{candidate.model.name} v{candidate.model.version} ({candidate.model.revision[:19]})"
        )
    return candidate.endpoint or "-"


def cost_row(candidate: CandidateResult) -> list[str]:
    latency = candidate.latency_ms
    rate = candidate.items_per_s
    return [
        candidate.name,
        candidate.kind,
        source(candidate),
        "-" if latency is None else f"{latency[0]:,.0f}",
        "-" if latency is None else f"{latency[1]:,.0f}",
        "-" if rate is None else f"{rate:,.1f}",
        f"{candidate.tokens[0]:,} / {candidate.tokens[1]:,}",
        f"{candidate.failed:,}",
    ]


COST_HEADER = [
    "candidate",
    "kind",
    "model / endpoint",
    "p50 ms",
    "p95 ms",
    "items/s",
    "tokens in / out",
    "failed",
]
METRIC_HEADER = ["metric", "candidate", "value", "95% CI", "vs best"]


def notes(result: EvalResult) -> list[str]:
    lower = [m for m in result.metrics if m in ("wer", "cer")]
    out = [
        '95% CI: percentile bootstrap over items. "worse": a paired permutation test against '
        "the best candidate finds the difference significant (p < 0.05).",
        "p50/p95: time per request (an embedding request is one batch of texts); items/s: "
        "items over the time the candidate spent on them.",
    ]
    if lower:
        out.append(f"Lower is better for {', '.join(lower)}; higher for the rest.")
    for candidate in result.candidates:
        if candidate.first_failure:
            out.append(
                f"{candidate.name}: {candidate.failed:,} failed (scored as empty answers); "
                f"first: {candidate.first_failure}"
            )
    if result.judge is not None and result.judge.failed:
        out.append(
            f"judge {result.judge.name}: {result.judge.failed:,} ratings unreadable "
            "(counted as the lowest)"
        )
    return out
