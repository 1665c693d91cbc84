"""The `airlock vet` text report: the verdict first, in words a non-expert can act on."""

from __future__ import annotations

import textwrap

from airlock.report.vet_summary import VetSummary, digest_label

WIDTH = 100


def render_vet_text(summary: VetSummary) -> str:
    lines = [f"Airlock verdict for {summary.source}: {summary.headline}", summary.meaning, ""]
    if summary.reasons:
        lines += ["Why it was refused:", *_bullets(summary.reasons), ""]
    if summary.conditions:
        title = "Duties that would apply if admitted:" if summary.reasons else "Conditions:"
        lines += [title, *_bullets(summary.conditions), ""]
    lines.append("What was checked:")
    width = max(len(topic) for topic, _ in summary.facts)
    for topic, fact in summary.facts:
        lines += textwrap.wrap(
            fact, WIDTH, initial_indent=f"  {topic:<{width}}  ", subsequent_indent=" " * (width + 4)
        )
    if summary.findings:
        lines += ["", "Findings:"]
        for f in summary.findings:
            line = f"{f.severity.label.upper()} {f.rule_id} {f.file}: {f.message}"
            lines += _bullets([f"{line} (evidence {digest_label(f)})"])
    if summary.waived:
        lines += ["", "Waived by your policy (accepted, not counted):", *_bullets(summary.waived)]
    if summary.warnings:
        lines += ["", "Waiver warnings:", *_bullets(summary.warnings)]
    lines += ["", f"Policy: {summary.policy}"]
    return "\n".join(lines) + "\n"


def _bullets(items: tuple[str, ...] | list[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        out += textwrap.wrap(item, WIDTH, initial_indent="  - ", subsequent_indent="    ")
    return out
