"""The terminal report: a verdict first, then what was found per file and what to do about it."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from airlock.findings import Finding, Severity
from airlock.report.advice import ADVICE
from airlock.report.console import rendered, string_console
from airlock.report.scan.summary import Summary, summarize
from airlock.rules import RULES
from airlock.scan.results import FileResult, ScanReport

_BADGE_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "bold yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
# Evidence can be a whole decoded payload; the JSON report keeps it in full.
_MAX_EVIDENCE = 400
_SKIPPED_EXAMPLES = 3


def render_text(
    report: ScanReport, fail_on: Severity, *, color: bool = False, width: int | None = 100
) -> str:
    """Render for people; `color` only when the output is a terminal, so CI logs stay plain."""
    console, buffer = string_console(color=color, width=width)
    summary = summarize(report, fail_on)
    console.print(_headline(summary))
    for snapshot in report.snapshots:
        console.print(Text(f"Source: {_printable(snapshot.describe())}", style="dim"))
    console.print(_verdict(summary))
    flagged = sorted(
        (r for r in report.files if r.findings),
        key=lambda r: (-max(f.severity for f in r.findings), r.path),
    )
    for result in flagged:
        console.print()
        console.print(_file_block(result))
    tail = _tail(report, flagged)
    if tail:
        console.print()
        console.print(*tail, sep="\n")
    return rendered(buffer)


def _headline(summary: Summary) -> Text:
    text = Text.assemble(
        "Scanned ", (_count(summary.files, "file"), "bold"), f", {summary.inspected} inspected: "
    )
    counts = [f"{n} {severity.label}" for severity, n in summary.by_severity.items() if n]
    text.append(f"{', '.join(counts)}." if counts else "no findings.")
    return text


def _verdict(summary: Summary) -> Text:
    threshold = summary.fail_on.label
    if summary.failed:
        return Text.assemble(("Verdict: FAIL", "bold red"), f" (findings at or above {threshold})")
    if summary.nothing_scanned:
        return Text.assemble(
            ("Verdict: NOTHING SCANNED", "bold yellow"),
            " (none of these files is in a model format Airlock reads)",
        )
    return Text.assemble(("Verdict: PASS", "bold green"), f" (nothing at or above {threshold})")


def _file_block(result: FileResult) -> RenderableType:
    findings = sorted(
        result.findings, key=lambda f: (-f.severity, f.location.offset or 0, f.rule_id)
    )
    worst = findings[0].severity
    header = Text.assemble(
        (_printable(result.path), "bold"), (f"  ({result.kind}, {_size(result.size)})", "dim")
    )
    advice = Text.assemble(("What to do: ", "bold"), ADVICE[worst])
    return Group(
        header,
        *(Padding(_finding_grid(f), (0, 0, 0, 2), expand=False) for f in findings),
        Padding(advice, (0, 0, 0, 2), expand=False),
    )


def _finding_grid(finding: Finding) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=10, no_wrap=True)
    grid.add_column(ratio=1)
    rule = RULES.get(finding.rule_id)
    title = Text.assemble((finding.rule_id, "bold"), f" {rule.name}" if rule else "")
    badge = Text(finding.severity.name, style=_BADGE_STYLE[finding.severity])
    grid.add_row(badge, title)
    grid.add_row("", Text(_printable(finding.message)))
    where = _printable(finding.location.describe()) or "the whole file"
    grid.add_row("", Text.assemble(("where: ", "dim"), where))
    if finding.evidence:
        grid.add_row("", Text.assemble(("evidence: ", "dim"), _evidence(finding.evidence)))
    return grid


def _tail(report: ScanReport, flagged: list[FileResult]) -> list[Text]:
    """Clean and skipped files, counted rather than listed: a model folder can hold thousands."""
    lines: list[Text] = []
    clean = sum(1 for r in report.files if r.inspected and not r.findings)
    if clean:
        noun = "other inspected file" if flagged else "inspected file"
        lines.append(Text(f"{_count(clean, noun)} had no findings."))
    skipped = [r.path for r in report.files if not r.inspected and not r.findings]
    if skipped:
        examples = ", ".join(_printable(p) for p in skipped[:_SKIPPED_EXAMPLES])
        more = ", ..." if len(skipped) > _SKIPPED_EXAMPLES else ""
        lines.append(
            Text(
                f"Not inspected: {_count(len(skipped), 'file')} not in a model format "
                f"({examples}{more}).",
                style="dim",
            )
        )
    return lines


def _evidence(evidence: str) -> str:
    shown = _printable(evidence)
    if len(shown) <= _MAX_EVIDENCE:
        return shown
    rest = len(shown) - _MAX_EVIDENCE
    return f"{shown[:_MAX_EVIDENCE]}... ({rest} more characters in --format json)"


def _printable(text: str) -> str:
    """Escape control and invisible characters: names and evidence come from the scanned file,
    and must not drive the terminal (ANSI escapes) or disguise themselves (bidi overrides)."""
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB"):
        if size < 1024:
            return _count(n, "byte") if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
