"""What the template walk's parts share: the findings they make (`Hit`), the names that stand
for Jinja objects and hidden variables, and the `Walker` protocol through which the call and
filter judges (template_calls, template_filters) ask the walk to evaluate, bind and report."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from jinja2 import nodes

from airlock.findings import Severity
from airlock.scan.analyzers.template_allowlist import JinjaAllowlist
from airlock.scan.analyzers.template_values import Value

# `__name__`: a letter inside, so `________` (a text rule) is not one.
DUNDER = re.compile(r"__(?=\w*[A-Za-z])\w+__")
MAX_RANGE = 100_000  # Jinja's sandbox cap; a bigger range() is a memory bomb elsewhere
SHOWN_NAME = 60
# Objects a template may read any member of: a namespace's members are the values stored in it.
NAMESPACE = "namespace"
STORED = "(namespace members)"  # the env key holding them; no Jinja name can clash
CALLER_ARGS = "(caller arguments)"  # what macros pass to `caller(...)`
LOOP_ARGS = "(recursive loop arguments)"  # what `loop(...)` is given in a recursive for
LOOP_ITEMS = "(loop items)"  # everything any for loop iterates over
# Free names that are Jinja/Flask objects rather than conversation data.
OBJECT_NAMES = {"self": "`self`", "caller": "`caller`", "varargs": "varargs", "kwargs": "kwargs",
                 "request": "`request`", "config": "`config`", "url_for": "`url_for`",
                 "g": "`g`", "get_flashed_messages": "`get_flashed_messages`"}  # fmt: skip
STRING_FILTERS: dict[str, Callable[[str], object]] = {
    "lower": str.lower, "upper": str.upper, "title": str.title, "capitalize": str.capitalize,
    "trim": str.strip, "string": str, "reverse": lambda s: s[::-1], "e": str, "escape": str,
    "safe": str, "list": list, "first": lambda s: s[0], "last": lambda s: s[-1],
}  # fmt: skip


@dataclass(frozen=True)
class Hit:
    rule_id: str
    severity: Severity
    reason: str
    subject: str  # one issue per rule and subject
    line: int


class Walker(Protocol):
    """The walk as its judges see it."""

    allow: JinjaAllowlist
    env: dict[str, Value]
    macros: dict[str, nodes.Macro]
    outputs: dict[str, Value]

    def expr(self, node: nodes.Node) -> Value: ...
    def hit(self, rule_id: str, severity: Severity, reason: str, subject: str) -> None: ...
    def bind(self, name: str, value: Value) -> None: ...
    def name_risk(self, name: str, what: str, *, member: bool) -> bool: ...
    def member(self, base: Value, key: Value, how: str, called: bool) -> Value: ...
    def object_use(self, base: Value, what: str) -> None: ...
    def free_name(self, name: str) -> Value: ...
    def output_of(self, body: list[nodes.Node]) -> Value: ...
