"""Jinja chat templates (GGUF metadata, tokenizer_config.json, chat_template.jinja): parsed into
Jinja's syntax tree, never rendered, and searched for the ways templates escape a sandbox or,
rendered without one (CVE-2024-34359), run commands."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser

from airlock.findings import Finding, Location, Severity
from airlock.scan.analyzers.template_walk import walk
from airlock.scan.analyzers.template_walker import DUNDER
from airlock.scan.context import Blob, ScanContext

MAX_TEMPLATE_BYTES = 1_000_000


class _Generation(Extension):
    """transformers' `{% generation %}` block tag, parsed (never run) so such templates parse."""

    tags = {"generation"}  # noqa: RUF012 - the type Jinja declares

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.Scope(body, lineno=lineno)


# Parsing only: this environment never renders anything, so it needs no sandbox.
# `do` too: a renderer with that extension runs `{% do ... %}`, so such templates are judged.
_PARSER = jinja2.Environment(extensions=["jinja2.ext.loopcontrols", "jinja2.ext.do", _Generation])


@dataclass(frozen=True)
class Issue:
    rule_id: str
    severity: Severity
    reason: str
    line: int


def analyze(source: str) -> list[Issue]:
    """What in `source` an unsandboxed render could use to run code, worst first."""
    try:
        tree = _PARSER.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        return [Issue("AIR503", Severity.MEDIUM, exc.message or "syntax error", exc.lineno)]
    except RecursionError:
        return [Issue("AIR503", Severity.MEDIUM, "nested too deeply to parse", 1)]
    try:
        hits = walk(tree)
    except RecursionError:  # parsed, but too deep for the walk: not judged, so not passed
        return [Issue("AIR504", Severity.HIGH, "expressions nested too deeply to judge", 1)]
    return [Issue(hit.rule_id, hit.severity, hit.reason, hit.line) for hit in hits]


_MESSAGES = {
    ("AIR501", Severity.CRITICAL): "reaches Python internals ({}). Rendered outside a sandbox, "
    "as llama-cpp-python did before its CVE-2024-34359 fix, such a template runs code.",
    ("AIR502", Severity.HIGH): "uses what chat templates never need ({}): the makings of a "
    "sandbox escape or command execution.",
    ("AIR502", Severity.MEDIUM): "refers to {}; harmless alone, but only sandbox escapes or "
    "resource exhaustion need it.",
    ("AIR507", Severity.CRITICAL): "reaches the operating system or Python's code execution "
    "({}). Rendered outside a sandbox, as llama-cpp-python did before its CVE-2024-34359 fix, "
    "such a template runs commands.",
    ("AIR504", Severity.HIGH): "uses Jinja that published chat templates do not use ({}). "
    "A renderer with a custom environment may define such names, and Jinja's own `cycler`, "
    "`joiner` and `lipsum` lead to Python's globals: do not render it outside a sandbox.",
    ("AIR505", Severity.HIGH): "looks members up by names it builds while rendering ({}), so "
    "what it reaches cannot be read from the file: the way scanners are evaded on the way to "
    "`__globals__`. Do not render it outside a sandbox.",
    ("AIR506", Severity.HIGH): "uses members or methods of Jinja's or Python's objects that "
    "chat templates do not use ({}): the steps of a sandbox escape. Do not render it "
    "outside a sandbox.",
}
_SHOWN = 6


def template_findings(
    source: str,
    label: str,
    blob: Blob,
    location: Location,
    ctx: ScanContext,
    noun: str = "Chat template",
) -> Iterator[Finding]:
    """Findings for the template `source`, found in `blob` at `location` and called `label`
    (after `noun`): one per rule and severity, listing what was found."""
    if len(source) > MAX_TEMPLATE_BYTES:
        yield oversized(len(source), label, blob, location, ctx, noun)
        return
    issues = analyze(source)
    lines = source.splitlines()
    if issues and issues[0].rule_id == "AIR503":
        yield ctx.finding(
            "AIR503",
            blob,
            location,
            f"{noun} {label} does not parse ({issues[0].reason}); it was searched as "
            "text only. This Jinja version would refuse to render it; another engine or "
            "version might not.",
            _evidence(lines, issues[0].line),
        )
        issues = _text_search(lines)  # what the syntax tree could not show
    groups: dict[tuple[str, Severity], list[Issue]] = {}
    for issue in issues:
        groups.setdefault((issue.rule_id, issue.severity), []).append(issue)
    for (rule_id, severity), group in groups.items():
        listed = ", ".join(issue.reason for issue in group[:_SHOWN])
        if len(group) > _SHOWN:
            listed += f" and {len(group) - _SHOWN} more"
        yield ctx.finding(
            rule_id,
            blob,
            location,
            f"{noun} {label} " + _MESSAGES[rule_id, severity].format(listed),
            _evidence(lines, group[0].line),
            severity,
        )


def _evidence(lines: list[str], line: int) -> str:
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return f"line {line}: {text[:200]}"


def oversized(
    size: int,
    label: str,
    blob: Blob,
    location: Location,
    ctx: ScanContext,
    noun: str = "Chat template",
) -> Finding:
    return ctx.finding(
        "AIR003",
        blob,
        location,
        f"{noun} {label} is {size} characters long, over the {MAX_TEMPLATE_BYTES} "
        "Airlock inspects (real ones are a few thousand); it was not inspected.",
    )


def _text_search(lines: list[str]) -> list[Issue]:
    issues: dict[str, Issue] = {}
    for number, line in enumerate(lines, 1):
        for name in DUNDER.findall(line):
            reason = f"`{name[:60]}` in its text"
            issues.setdefault(reason, Issue("AIR501", Severity.CRITICAL, reason, number))
    return list(issues.values())
