"""The `airlock license` terminal report: the answer legal teams ask for first, then the duties,
restrictions, sources and findings."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from airlock.findings import Severity
from airlock.license import LicenseAssessment
from airlock.license.lineage import Ancestor
from airlock.report.console import rendered, string_console

_COMMERCIAL = {
    "yes": ("Commercial use: allowed", "bold green"),
    "conditional": ("Commercial use: allowed, with conditions", "bold yellow"),
    "no": ("Commercial use: NOT allowed", "bold red"),
    "unknown": ("Commercial use: unknown (treat as not allowed)", "bold red"),
}
_SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "bold yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def render_license_text(
    result: LicenseAssessment, fail_on: Severity, *, color: bool = False, width: int | None = 100
) -> str:
    console, buffer = string_console(color=color, width=width)
    console.print(Text(f"License: {result.name} [{result.license_id}]", style="bold"))
    console.print(f"Confidence: {result.confidence}")
    if result.snapshot:
        console.print(Text(f"Source: {result.snapshot}", style="dim"))
    label, style = _COMMERCIAL[result.commercial_use]
    console.print(Text(label, style=style))
    if result.components:
        console.print(
            Text("\nComponents (the weights' license decides the answer above)", style="bold")
        )
        for part in result.components:
            said = _COMMERCIAL[part.commercial_use][0].lower()
            ids = ", ".join(part.license_ids)
            files = ", ".join(part.files)
            console.print(Text(f"  - {part.component}: {part.name} [{ids}]; {said} ({files})"))
    _section(console, "Conditions", result.conditions)
    _section(console, "Obligations", result.obligations)
    _section(console, "Restrictions", result.restrictions)
    sources = [
        f"{c.source} {c.file}{_covers(c.component)}: {c.value} -> "
        f"{', '.join(c.applies) or 'unresolved'} "
        f"({c.confidence}{'; ' + c.match.describe() if c.match else ''})"
        for c in result.sources
    ]
    _section(console, "Sources", sources or ["none found"])
    _section(console, "Lineage (declared base models)", [_ancestor(a) for a in result.lineage])
    openness = result.openness
    mof = f"class {openness.mof_class}" if openness.mof_class else "no class"
    console.print(Text("\nOpenness (Model Openness Framework)", style="bold"))
    console.print(f"  supports {mof}; components: {', '.join(openness.present) or 'none'}")
    if openness.missing:
        console.print(f"  missing for the next class: {', '.join(openness.missing)}")
    if result.findings:
        console.print(Text("\nFindings", style="bold"))
        for finding in sorted(result.findings, key=lambda f: f.severity, reverse=True):
            line = Text("  ")
            line.append(f"{finding.severity.label.upper():8}", _SEVERITY_STYLE[finding.severity])
            line.append(f" {finding.rule_id} {finding.message}")
            console.print(line)
    failed = any(f.severity >= fail_on for f in result.findings)
    verdict = f"findings at or above {fail_on.label}" if failed else "nothing at or above"
    console.print(Text(f"\n{verdict}{'' if failed else ' ' + fail_on.label}", style="dim"))
    return rendered(buffer)


def _covers(component: str) -> str:
    return f" ({component})" if component != "unspecified" and component else ""


def _section(console: Console, title: str, items: tuple[str, ...] | list[str]) -> None:
    if not items:
        return
    console.print(Text(f"\n{title}", style="bold"))
    for item in items:
        console.print(f"  - {item}")


def _ancestor(ancestor: Ancestor) -> str:
    licenses = ", ".join(ancestor.license_ids) or "license unknown"
    likely = ", likely" if ancestor.certainty == "likely" else ""
    relation = f"{ancestor.relation}{likely}"
    return f"{ancestor.repo} ({relation}): {licenses}; declared in {ancestor.declared_in}"
