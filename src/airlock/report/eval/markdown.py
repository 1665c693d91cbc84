"""The `airlock eval` report as Markdown (a pull request, a wiki page)."""

from __future__ import annotations

from airlock.eval.result import EvalResult
from airlock.report.eval.rows import (
    COST_HEADER,
    METRIC_HEADER,
    cost_row,
    headline,
    interrupted,
    metric_rows,
    notes,
)


def render_eval_markdown(result: EvalResult) -> str:
    lines = [f"# {_cell(headline(result))}", ""]
    warning = interrupted(result)
    if warning:
        lines += [f"> **{warning}**", ""]
    lines += _table(METRIC_HEADER)
    for row in metric_rows(result):
        cells = [_cell(c) for c in (row.metric, row.candidate, row.value, row.interval)]
        mark = f"**{_cell(row.verdict)}**" if row.best or row.worse else _cell(row.verdict)
        lines.append(_joined([*cells, mark]))
    lines += ["", *_table(COST_HEADER)]
    lines += [_row(cost_row(candidate)) for candidate in result.candidates]
    lines += ["", *(f"- {_cell(note)}" for note in notes(result))]
    if result.judge is not None:
        lines += ["", f"Judge: `{result.judge.name}`, prompt:", "", "```text"]
        lines += [result.judge.prompt.replace("```", "'''"), "```"]
    return "\n".join(lines) + "\n"


def _table(header: list[str]) -> list[str]:
    return [_row(header), "|" + "---|" * len(header)]


def _row(cells: list[str]) -> str:
    return _joined([_cell(c) for c in cells])


def _joined(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _cell(text: str) -> str:
    """Names and messages come from the data and the servers: nothing in them may break a
    table or render as Markdown."""
    escaped = "".join("\\" + ch if ch in "\\`*_{}[]<>()#+!|" else ch for ch in text)
    return " ".join(escaped.split())
