"""The `airlock vet` report as Markdown, for pull requests, tickets and wikis."""

from __future__ import annotations

from airlock.report.vet.summary import VetSummary, digest_label


def render_vet_markdown(summary: VetSummary) -> str:
    lines = [f"# Airlock verdict: {summary.headline}", "", f"`{_code(summary.source)}`", ""]
    lines += [f"**{summary.meaning}**", ""]
    if summary.reasons:
        lines += ["## Why it was refused", "", *(f"- {_text(r)}" for r in summary.reasons), ""]
    if summary.conditions:
        lines += ["## Conditions", "", *(f"- {_text(c)}" for c in summary.conditions), ""]
    lines += ["## What was checked", "", "| | |", "|---|---|"]
    lines += [f"| {topic} | {_text(fact)} |" for topic, fact in summary.facts]
    if summary.evals:
        lines += ["", "## Recorded eval results", "", *(f"- {_text(e)}" for e in summary.evals)]
    if summary.findings:
        lines += ["", "## Findings", "", "| severity | rule | file | what | evidence |"]
        lines.append("|---|---|---|---|---|")
        lines += [
            f"| {f.severity.label} | {f.rule_id} | `{_code(f.file)}` | {_text(f.message)} "
            f"| `{digest_label(f)}` |"
            for f in summary.findings
        ]
    if summary.waived:
        lines += ["", "## Waived by your policy", "", *(f"- {_text(w)}" for w in summary.waived)]
    if summary.warnings:
        lines += ["", "## Waiver warnings", "", *(f"- {_text(w)}" for w in summary.warnings)]
    lines += ["", f"Policy: {_text(summary.policy)}"]
    return "\n".join(lines) + "\n"


def _text(text: str) -> str:
    """Table- and markup-safe: file names and messages come from the model's publisher."""
    escaped = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
    return " ".join(escaped.split())


def _code(text: str) -> str:
    return " ".join(text.replace("`", "'").replace("|", "\\|").split())
