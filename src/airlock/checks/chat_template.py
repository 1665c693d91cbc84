"""Jinja chat templates (GGUF metadata, tokenizer_config.json, chat_template.jinja): parsed into
Jinja's syntax tree, never rendered, and searched for the ways templates escape a sandbox or,
rendered without one (CVE-2024-34359), run commands."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser

from airlock.checks.template_strings import StringFolder, pieces
from airlock.findings import Finding, Location, Severity
from airlock.formats.interface import Blob, ScanContext

MAX_TEMPLATE_BYTES = 1_000_000
# Jinja's sandbox caps range() at this many items; a bigger one is a memory bomb elsewhere.
MAX_RANGE = 100_000
_DUNDER = re.compile(r"__\w+__")
# Free names that only an escape needs: Python builtins and modules (not Jinja globals).
DANGEROUS_NAMES = frozenset(
    {
        "os", "sys", "subprocess", "builtins", "importlib", "eval", "exec", "execfile",
        "compile", "open", "getattr", "setattr", "delattr", "globals", "locals", "vars", "chr",
        "input", "breakpoint", "socket", "shutil", "pty",
    }
)  # fmt: skip
# Attributes and keys that reach modules, processes or frames.
DANGEROUS_MEMBERS = frozenset(
    {
        "os", "sys", "subprocess", "builtins", "popen", "eval", "exec", "environ", "modules",
        "import_module", "getenv", "check_output", "spawnv", "f_globals", "f_back", "gi_frame",
        "cr_frame", "func_globals", "mro",
    }
)  # fmt: skip
CALLED_MEMBERS = frozenset({"system", "spawnl", "spawnv", "execl", "execv", "startfile"})
# Jinja's and Flask's globals whose `__init__.__globals__` is the classic way out; harmless alone
# but never needed by a chat template (`namespace` and `range` are, so they are not listed).
GADGET_NAMES = frozenset(
    {"cycler", "joiner", "lipsum", "self", "request", "config", "url_for", "get_flashed_messages"}
)
_LOADS = (nodes.Import, nodes.FromImport, nodes.Include, nodes.Extends)


class _Generation(Extension):
    """transformers' `{% generation %}` block tag, parsed (never run) so such templates parse."""

    tags = {"generation"}  # noqa: RUF012 - the type Jinja declares

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.Scope(body, lineno=lineno)


# Parsing only: this environment never renders anything, so it needs no sandbox.
_PARSER = jinja2.Environment(extensions=["jinja2.ext.loopcontrols", _Generation])


@dataclass(frozen=True)
class Issue:
    rule_id: str
    severity: Severity
    reason: str
    line: int


_Hit = tuple[str, Severity, str, str]  # rule, severity, reason, subject (one issue per subject)


def analyze(source: str) -> list[Issue]:
    """What in `source` a sandbox escape or command execution needs, worst first."""
    try:
        tree = _PARSER.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        return [Issue("AIR503", Severity.MEDIUM, exc.message or "syntax error", exc.lineno)]
    except RecursionError:
        return [Issue("AIR503", Severity.MEDIUM, "nested too deeply to parse", 1)]
    found: list[nodes.Node] = []
    stack: list[nodes.Node] = [tree]
    while stack:  # iterative, so a deeply nested expression cannot exhaust the stack
        node = stack.pop()
        found.append(node)
        stack.extend(node.iter_child_nodes())
    bound = {n.name for n in found if isinstance(n, nodes.Name) and n.ctx != "load"}
    folder = StringFolder(
        {
            n.target.name: n.node
            for n in found
            if isinstance(n, nodes.Assign) and isinstance(n.target, nodes.Name)
        }
    )
    issues: dict[tuple[str, str], Issue] = {}
    for node in sorted(found, key=lambda n: n.lineno or 0):
        for rule_id, severity, reason, subject in _check(node, bound, folder):
            issues.setdefault(
                (rule_id, subject), Issue(rule_id, severity, reason, node.lineno or 1)
            )
    return sorted(issues.values(), key=lambda issue: -issue.severity)


def _check(node: nodes.Node, bound: set[str], folder: StringFolder) -> Iterator[_Hit]:
    if isinstance(node, nodes.Name) and node.ctx == "load" and node.name not in bound:
        yield from _name(node.name)
    elif isinstance(node, nodes.Getattr):
        yield from _member(node.attr, "attribute", private=True)
    elif isinstance(node, nodes.Getitem):
        yield from _lookup(node.arg, "key", folder, private=False)
    elif isinstance(node, nodes.Filter) and node.name == "attr" and node.args:
        yield from _lookup(node.args[0], "attribute (|attr)", folder, private=True)
    elif isinstance(node, nodes.Call):
        yield from _call(node, folder)
    elif isinstance(node, nodes.Const) and isinstance(node.value, str):
        for name in _DUNDER.findall(node.value)[:3]:
            yield "AIR501", Severity.CRITICAL, f"`{name}` in a string", name
    elif isinstance(node, _LOADS):
        tag = f"{{% {type(node).__name__.lower()} %}}"
        yield "AIR502", Severity.HIGH, f"{tag}, which loads another template", tag
    if isinstance(node, nodes.Expr) and not isinstance(node, (nodes.Const, nodes.Name)):
        built = folder.fold(node)
        match = _DUNDER.search(built or "")
        if match:
            yield "AIR501", Severity.CRITICAL, f"`{match[0]}` built from pieces", match[0]


def _name(name: str) -> Iterator[_Hit]:
    if _DUNDER.fullmatch(name):
        yield "AIR501", Severity.CRITICAL, f"the name `{name}`", name
    elif name in DANGEROUS_NAMES:
        yield "AIR502", Severity.HIGH, f"the Python name `{name}`", name
    elif name in GADGET_NAMES:
        yield "AIR502", Severity.MEDIUM, f"`{name}`", name


def _member(name: str, what: str, private: bool) -> Iterator[_Hit]:
    shown = name[:60]
    if _DUNDER.search(name):
        yield "AIR501", Severity.CRITICAL, f"{what} `{shown}`", _DUNDER.findall(name)[0]
    elif private and name.startswith("_"):
        yield "AIR502", Severity.HIGH, f"private {what} `{shown}`", name
    elif name in DANGEROUS_MEMBERS:
        yield "AIR502", Severity.HIGH, f"{what} `{name}`", name


def _lookup(key: nodes.Expr, what: str, folder: StringFolder, private: bool) -> Iterator[_Hit]:
    """A member looked up by a string: known, built from known pieces, or computed."""
    name = folder.fold(key)
    if name is not None:
        yield from _member(name, what, private)
    elif "__" in "".join(pieces(key)):
        reason = f"an {what} name built from pieces that include `__`"
        yield "AIR502", Severity.HIGH, reason, reason
    elif private:  # a name known only while rendering: how scanners are evaded
        reason = f"an {what} name computed while rendering"
        yield "AIR502", Severity.HIGH, reason, reason


def _call(node: nodes.Call, folder: StringFolder) -> Iterator[_Hit]:
    callee = node.node
    if isinstance(callee, nodes.Getattr) and callee.attr in CALLED_MEMBERS:
        yield "AIR502", Severity.HIGH, f"a call to `.{callee.attr}()`", callee.attr
    if isinstance(callee, nodes.Name) and callee.name == "getattr" and len(node.args) > 1:
        yield from _lookup(node.args[1], "attribute (getattr)", folder, private=True)
    if isinstance(callee, nodes.Name) and callee.name == "range":
        sizes = [arg.value for arg in node.args if isinstance(arg, nodes.Const)]
        if any(isinstance(size, int) and abs(size) > MAX_RANGE for size in sizes):
            reason = f"a range over {MAX_RANGE} items (memory exhaustion outside a sandbox)"
            yield "AIR502", Severity.MEDIUM, reason, "range"


_MESSAGES = {
    Severity.CRITICAL: "reaches Python internals ({}). Rendered outside a sandbox, as "
    "llama-cpp-python did before its CVE-2024-34359 fix, such a template runs code.",
    Severity.HIGH: "uses what chat templates never need ({}): the makings of a sandbox "
    "escape or command execution.",
    Severity.MEDIUM: "refers to {}; harmless alone, but only sandbox escapes or "
    "resource exhaustion need it.",
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
            f"{noun} {label} " + _MESSAGES[severity].format(listed),
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
        for name in _DUNDER.findall(line):
            reason = f"`{name[:60]}` in its text"
            issues.setdefault(reason, Issue("AIR501", Severity.CRITICAL, reason, number))
    return list(issues.values())
