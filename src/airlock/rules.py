"""Stable rule ids: every finding names one, and each has a docs entry in docs/rules.md."""

from __future__ import annotations

from dataclasses import dataclass

from airlock.findings import Severity


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    default_severity: Severity
    summary: str
    cwe: int | None = None


_RULES = (
    Rule("AIR001", "unparseable-file", Severity.HIGH,
         "A file in a model format could not be parsed, so it could not be inspected; "
         "loaders may still load it.", 20),
    Rule("AIR002", "uninspectable-container", Severity.HIGH,
         "A container Airlock cannot open (encrypted, or an unsupported archive format) "
         "could hide a payload.", None),
    Rule("AIR003", "resource-limit", Severity.HIGH,
         "The file exceeds a safety limit (size, nesting, decompression ratio); "
         "the rest of it was not inspected.", 400),
    Rule("AIR004", "unrecognized-model-file", Severity.HIGH,
         "A file named like a model file whose content matches no known format.", 20),
    Rule("AIR101", "pickle-dangerous-callable", Severity.CRITICAL,
         "Loading this pickle imports or calls a function that can run commands, "
         "execute code, touch files or the network.", 502),
    Rule("AIR102", "pickle-unknown-global", Severity.HIGH,
         "Loading this pickle imports something that is not on the allowlist of what "
         "ordinary checkpoints need (high when it is called with arguments, medium when it "
         "is only referenced or instantiated empty).", 502),
    Rule("AIR103", "pickle-dynamic-call", Severity.HIGH,
         "Loading this pickle calls or imports a value computed while loading, a "
         "common way to hide a payload.", 502),
    Rule("AIR104", "pickle-attribute-overwrite", Severity.CRITICAL,
         "Loading this pickle overwrites attributes of a module or class, which can "
         "change how other code behaves.", 502),
    Rule("AIR105", "pickle-extension-code", Severity.HIGH,
         "The pickle refers to an extension-registry code; what it resolves to depends "
         "on the loading process and cannot be checked.", 502),
    Rule("AIR106", "pickle-broken-stream", Severity.HIGH,
         "The pickle stream breaks before its end; loaders run everything before the "
         "break, so this is a known way to evade scanners.", 20),
    Rule("AIR107", "pickle-trailing-data", Severity.LOW,
         "Bytes follow the end of the pickle stream that are not another pickle.", None),
    Rule("AIR108", "nested-payload", Severity.INFO,
         "Serialized bytes inside the file are handed to a deserializer when it loads; "
         "they were decoded and scanned as well.", None),
    Rule("AIR201", "archive-tampered", Severity.MEDIUM,
         "The archive's headers disagree with each other (names, flags, checksums); "
         "strict readers reject it but lenient loaders such as PyTorch still load it.", 345),
    Rule("AIR202", "archive-path-traversal", Severity.HIGH,
         "An archive member's path escapes the extraction folder.", 22),
    Rule("AIR203", "archive-link", Severity.MEDIUM,
         "An archive member is a link, which can point outside the extraction folder.", 59),
    Rule("AIR109", "embedded-pickle", Severity.MEDIUM,
         "A pickle is stored inside a data field (raw, base64 or hex). It does not run when "
         "this file loads, but runs if an application later deserializes that field; it was "
         "decoded and scanned.", 502),
    Rule("AIR301", "numpy-object-array", Severity.INFO,
         "A NumPy array of Python objects is stored as a pickle; it was scanned.", None),
    Rule("AIR900", "not-a-model-file", Severity.INFO,
         "The file is not in a model format and was not inspected.", None),
)  # fmt: skip

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]
