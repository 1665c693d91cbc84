"""The `airlock vet` report as one self-contained HTML file: inline CSS, no scripts, no links
out, every value escaped (file names and messages come from the model's publisher)."""

from __future__ import annotations

from html import escape

from airlock.policy.evaluate import Decision
from airlock.report.vet.summary import VetSummary, digest_label
from airlock.rules import RULES

_COLOR = {
    Decision.ADMIT: "#1a7f37",
    Decision.ADMIT_WITH_CONDITIONS: "#9a6700",
    Decision.REFUSE: "#cf222e",
}
_CSS = """
body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1f2328}
.verdict{border-left:.5rem solid var(--c);padding:.5rem 1rem;background:#f6f8fa}
.verdict h1{margin:0;color:var(--c)}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #d0d7de;padding:.3rem .5rem;
text-align:left;vertical-align:top}code{font-size:.9em;word-break:break-all}
footer{color:#59636e;font-size:.9em;margin-top:2rem}
"""


def render_vet_html(summary: VetSummary) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Airlock verdict: {escape(summary.headline)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f'<section class="verdict" style="--c:{_COLOR[summary.decision]}">',
        f"<h1>{escape(summary.headline)}</h1>",
        f"<p><code>{escape(summary.source)}</code></p>",
        f"<p><strong>{escape(summary.meaning)}</strong></p></section>",
    ]
    if summary.reasons:
        parts += ["<h2>Why it was refused</h2>", _list(summary.reasons)]
    if summary.conditions:
        parts += ["<h2>Conditions</h2>", _list(summary.conditions)]
    parts += ["<h2>What was checked</h2>", "<table>"]
    parts += [f"<tr><th>{escape(t)}</th><td>{escape(f)}</td></tr>" for t, f in summary.facts]
    parts.append("</table>")
    if summary.evals:
        parts += ["<h2>Recorded eval results</h2>", _list(summary.evals)]
    if summary.findings:
        parts += [
            "<h2>Findings</h2>",
            "<table><tr><th>severity</th><th>rule</th><th>file</th><th>what</th>"
            "<th>evidence</th></tr>",
        ]
        parts += [
            f"<tr><td>{f.severity.label}</td><td>{_rule_cell(f.rule_id)}</td>"
            f"<td><code>{escape(f.file)}</code></td><td>{escape(f.message)}</td>"
            f"<td><code>{digest_label(f)}</code></td></tr>"
            for f in summary.findings
        ]
        parts.append("</table>")
    if summary.waived:
        parts += ["<h2>Waived by your policy</h2>", _list(summary.waived)]
    if summary.warnings:
        parts += ["<h2>Waiver warnings</h2>", _list(summary.warnings)]
    parts += [f"<footer>Policy: {escape(summary.policy)}</footer>", "</body></html>"]
    return "\n".join(parts) + "\n"


def _rule_cell(rule_id: str) -> str:
    """The rule id, linked to its documentation where the organization serves docs/."""
    known = RULES.get(rule_id)
    url = known.doc_url if known is not None else None
    if url is None:
        return escape(rule_id)
    return f'<a href="{escape(url)}">{escape(rule_id)}</a>'


def _list(items: tuple[str, ...]) -> str:
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>"
