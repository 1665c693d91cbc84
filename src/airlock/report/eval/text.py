"""The `airlock eval` report for a terminal, a file or a CI log: two tables (metrics, costs)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from airlock.eval.result import EvalResult
from airlock.report.console import rendered, string_console
from airlock.report.eval.rows import (
    COST_HEADER,
    METRIC_HEADER,
    cost_row,
    headline,
    interrupted,
    metric_rows,
    notes,
)


def render_eval_text(result: EvalResult, *, color: bool = False, width: int | None = None) -> str:
    console, buffer = string_console(color=color, width=width)
    console.print(Text(headline(result), style="bold"))
    warning = interrupted(result)
    if warning:
        console.print(Text(warning, style="bold yellow"))
    console.print()
    metrics = _table(METRIC_HEADER, right=(2,))
    for row in metric_rows(result):
        style = "green" if row.best else "red" if row.worse else ""
        metrics.add_row(
            row.metric, row.candidate, row.value, row.interval, Text(row.verdict, style)
        )
    console.print(metrics)
    console.print()
    costs = _table(COST_HEADER, right=(3, 4, 5, 6, 7))
    for candidate in result.candidates:
        costs.add_row(*cost_row(candidate))
    console.print(costs)
    console.print()
    for note in notes(result):
        console.print(note)
    if result.judge is not None:
        console.print()
        console.print(f"Judge: {result.judge.name}, prompt:")
        console.print(Text(result.judge.prompt), markup=False)
    return rendered(buffer)


def _table(header: list[str], *, right: tuple[int, ...]) -> Table:
    table = Table(box=None, expand=False, show_edge=False, pad_edge=False, header_style="bold")
    for i, title in enumerate(header):
        table.add_column(title, justify="right" if i in right else "left", no_wrap=i < 2)
    return table
