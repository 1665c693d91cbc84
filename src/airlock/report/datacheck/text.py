"""`airlock data check` as text for people: the inputs, the findings with their first
examples (duplicate and leak pairs among them), then the distributions and the verdict.
Record contents are never printed: personal data and secrets appear as their kind and length."""

from __future__ import annotations

from airlock.datacheck.lengths import LengthSummary
from airlock.datacheck.report import DataReport
from airlock.findings import Finding, Severity
from airlock.rules import rule

_INDENT = "  "


def render_data_text(report: DataReport, fail_on: Severity) -> str:
    lines = [f"airlock data check: {report.records:,} records checked", "", "Inputs"]
    width = max((len(i.path) for i in report.inputs), default=0)
    for item in report.inputs:
        side = "  (--against)" if item.side == "against" else ""
        lines.append(
            f"{_INDENT}{item.path:<{width}}  {item.format:<28}{item.records:>12,} records{side}"
        )
    lines += ["", f"Findings (exit 1 at {fail_on.label} or above)"]
    if not report.findings:
        lines.append(f"{_INDENT}none")
    for found in report.findings:
        kinds = ", ".join(f"{kind} {count:,}" for kind, count in found.kinds if kind)
        name = f"{found.rule_id} {rule(found.rule_id).name}"
        counted = f"{found.count:,}{f' ({kinds})' if kinds else ''}"
        lines.append(f"{_INDENT}{found.severity.label.upper():<8} {name}: {counted}")
        lines += [f"{_INDENT * 3}{_example(f)}" for f in found.examples]
        if found.count > len(found.examples):
            lines.append(f"{_INDENT * 3}... and {found.count - len(found.examples):,} more")
    near = f"similarity >= {report.near_threshold:.2f}"
    lines += ["", "Duplicates (records that repeat an earlier one; pairs among the findings)"]
    lines.append(f"{_INDENT}exact: {report.exact_duplicates.records:,}")
    lines.append(f"{_INDENT}near ({near}): {report.near_duplicates.records:,}")
    if report.leaked is not None and report.near_leaked is not None:
        lines += ["", "Leakage (records also in the --against data)"]
        lines.append(f"{_INDENT}exact: {report.leaked.records:,}")
        lines.append(f"{_INDENT}near ({near}): {report.near_leaked.records:,}")
    lines += ["", "Lengths"]
    lines += [_length_line(group, s) for group, s in report.lengths] or [f"{_INDENT}no records"]
    if report.token_limit is not None:
        limit = report.token_limit
        lines += ["", f"Tokens ({limit.model}: {limit.limit:,} tokens, from {limit.source})"]
        lines += [_length_line(group, s) for group, s in report.tokens]
    if report.labels is not None:
        labels = report.labels
        lines += ["", f"Labels ({labels.records:,} records with a label)"]
        if labels.too_many:
            lines.append(
                f"{_INDENT}over {labels.distinct - 1:,} distinct values: not a label field"
            )
        else:
            lines += [
                f"{_INDENT}{name:<20} {count:>12,}  {count / labels.records:6.1%}"
                for name, count in labels.counts
            ]
    total = sum(count for _, count in report.scripts)
    if total:
        lines += ["", "Writing systems (by the letters of each record; not languages)"]
        lines += [
            f"{_INDENT}{name:<20} {count:>12,}  {count / total:6.1%}"
            for name, count in report.scripts
        ]
    lines += ["", _verdict(report, fail_on)]
    return "\n".join(lines) + "\n"


def _example(finding: Finding) -> str:
    where = finding.location.describe()
    place = f"{finding.file} {where}" if where else finding.file
    evidence = f" {finding.evidence}" if finding.evidence else ""
    return f"{place}: {finding.message}{evidence}"


def _length_line(group: str, s: LengthSummary) -> str:
    return (
        f"{_INDENT}{group:<10} {s.unit}: min {s.minimum:,}, median {s.median:,}, p90 {s.p90:,}, "
        f"p99 {s.p99:,}, max {s.maximum:,}, mean {s.mean:,.1f}"
    )


def _verdict(report: DataReport, fail_on: Severity) -> str:
    failing = sum(f.count for f in report.findings if f.severity >= fail_on)
    if failing:
        return f"FAILED: {failing:,} findings at {fail_on.label} or above"
    return f"passed: no finding at {fail_on.label} or above"
