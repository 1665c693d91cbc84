"""The `airlock eval` report as one self-contained HTML file: inline CSS, the chart as inline
SVG (a bar per candidate and metric, its 95% interval as a whisker), no scripts, no links out,
every value escaped (names and messages come from the data and the servers)."""

from __future__ import annotations

from html import escape

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

_CSS = """
body{font:16px/1.5 system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;
color:#1f2328}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #d0d7de;padding:.3rem .6rem;
text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.best{color:#1a7f37;font-weight:600}.worse{color:#cf222e;font-weight:600}
.warn{border-left:.5rem solid #9a6700;background:#fff8c5;padding:.5rem 1rem}
pre{background:#f6f8fa;padding:1rem;white-space:pre-wrap}figure{margin:1rem 0}
svg text{font:12px system-ui,sans-serif;fill:#1f2328}
"""
_COLORS = {"best": "#1a7f37", "worse": "#cf222e", "other": "#57606a"}
_BAR_WIDTH = 360
_ROW = 22
_LABEL = 170


def render_eval_html(result: EvalResult) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(headline(result))}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{escape(headline(result))}</h1>",
    ]
    warning = interrupted(result)
    if warning:
        parts.append(f'<p class="warn">{escape(warning)}</p>')
    parts += ["<h2>Scores</h2>", *(_chart(result, metric) for metric in result.metrics)]
    parts.append(_header(METRIC_HEADER))
    for row in metric_rows(result):
        kind = "best" if row.best else "worse" if row.worse else ""
        parts.append(
            f"<tr><td>{escape(row.metric)}</td><td>{escape(row.candidate)}</td>"
            f'<td class="n">{escape(row.value)}</td><td class="n">{escape(row.interval)}</td>'
            f'<td class="{kind}">{escape(row.verdict)}</td></tr>'
        )
    parts += ["</table>", "<h2>Cost</h2>", _header(COST_HEADER)]
    for candidate in result.candidates:
        cells = cost_row(candidate)
        parts.append(
            "<tr>"
            + "".join(
                f"<td{' class=n' if i >= 3 else ''}>{escape(c)}</td>" for i, c in enumerate(cells)
            )
            + "</tr>"
        )
    parts += ["</table>", "<ul>", *(f"<li>{escape(n)}</li>" for n in notes(result)), "</ul>"]
    if result.judge is not None:
        parts += [
            f"<h2>Judge: {escape(result.judge.name)}</h2>",
            f"<pre>{escape(result.judge.prompt)}</pre>",
        ]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _header(titles: list[str]) -> str:
    return "<table><tr>" + "".join(f"<th>{escape(t)}</th>" for t in titles) + "</tr>"


def _chart(result: EvalResult, metric: str) -> str:
    """Horizontal bars on one scale per metric (0 to at least 1), whiskers for the interval."""
    values = [c.metrics[metric] for c in result.candidates]
    top = max([1.0, *(v.ci95[1] for v in values if v.ci95), *(v.value or 0 for v in values)])
    height = _ROW * len(values) + 8
    width = _LABEL + _BAR_WIDTH + 70
    out = [
        f"<figure><figcaption>{escape(metric)}</figcaption>",
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(metric)} by candidate">',
    ]
    for i, (candidate, value) in enumerate(zip(result.candidates, values, strict=True)):
        y = 4 + i * _ROW
        kind = "best" if value.best else "worse" if value.worse_than_best else "other"
        length = 0.0 if value.value is None else _BAR_WIDTH * value.value / top
        out.append(f'<text x="0" y="{y + 14}">{escape(candidate.name[:28])}</text>')
        out.append(
            f'<rect x="{_LABEL}" y="{y + 3}" width="{length:.1f}" height="{_ROW - 8}" '
            f'fill="{_COLORS[kind]}"/>'
        )
        if value.ci95 is not None:
            low, high = (_LABEL + _BAR_WIDTH * v / top for v in value.ci95)
            mid = y + _ROW / 2
            out.append(
                f'<path d="M{low:.1f} {mid - 5}v10M{low:.1f} {mid}H{high:.1f}M{high:.1f} '
                f'{mid - 5}v10" stroke="#1f2328" fill="none"/>'
            )
        label = "-" if value.value is None else f"{value.value:.3f}"
        out.append(f'<text x="{_LABEL + _BAR_WIDTH + 8}" y="{y + 14}">{label}</text>')
    out.append("</svg></figure>")
    return "".join(out)
