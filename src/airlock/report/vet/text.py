"""The `airlock vet` text report: the verdict first, in words a non-expert can act on."""

from __future__ import annotations

import textwrap

from airlock.report.vet.summary import VetSummary, digest_label

WIDTH = 100


def render_vet_text(summary: VetSummary, width: int | None = WIDTH) -> str:
    """`width` None: no line is wrapped (a file or a pipe, where a broken path is useless)."""
    lines = [f"Airlock verdict for {summary.source}: {summary.headline}", summary.meaning, ""]
    if summary.reasons:
        lines += ["Why it was refused:", *_bullets(summary.reasons, width), ""]
    if summary.conditions:
        title = "Duties that would apply if admitted:" if summary.reasons else "Conditions:"
        lines += [title, *_bullets(summary.conditions, width), ""]
    lines.append("What was checked:")
    column = max(len(topic) for topic, _ in summary.facts)
    for topic, fact in summary.facts:
        lines += _wrap(fact, width, f"  {topic:<{column}}  ", " " * (column + 4))
    if summary.evals:
        lines += [
            "",
            "Eval results recorded for these exact files:",
            *_bullets(summary.evals, width),
        ]
    if summary.findings:
        lines += ["", "Findings:"]
        for f in summary.findings:
            item = f"{f.severity.label.upper()} {f.rule_id} {f.file}: {f.message}"
            lines += _bullets([f"{item} (evidence {digest_label(f)})"], width)
    if summary.waived:
        waived_title = "Waived by your policy (accepted, not counted):"
        lines += ["", waived_title, *_bullets(summary.waived, width)]
    if summary.warnings:
        lines += ["", "Waiver warnings:", *_bullets(summary.warnings, width)]
    lines += ["", f"Policy: {summary.policy}"]
    return "\n".join(lines) + "\n"


def _bullets(items: tuple[str, ...] | list[str], width: int | None) -> list[str]:
    out: list[str] = []
    for item in items:
        out += _wrap(item, width, "  - ", "    ")
    return out


def _wrap(text: str, width: int | None, first: str, rest: str) -> list[str]:
    # Lines break between words only: a path or a digest is never cut, even when it is longer
    # than the line (hyphens inside model names are not break points either).
    if width is None:
        return [first + " ".join(text.splitlines())]
    return textwrap.wrap(
        text,
        width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )
