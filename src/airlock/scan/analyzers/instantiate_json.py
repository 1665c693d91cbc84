"""JSON configs that a config instantiator reads (`OmegaConf.load` parses JSON as YAML; Hydra
and jsonargparse accept JSON): `_target_` / `class_path` values judged as in YAML configs
(`analyzers.instantiate_targets`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from airlock.findings import Finding, Severity
from airlock.scan.analyzers.instantiate_targets import (
    INSTANTIATE_KEYS,
    dangerous_string,
    embedded_target,
    eval_resolver,
    is_true,
    judge_instantiate,
)
from airlock.scan.context import Blob, ScanContext

_MAX_SHOWN = 16  # distinct targets reported one by one, per severity
_MAX_LISTED = 12


class InstantiateJsonAnalyzer:
    """A JsonAnalyzer for documents that name something to instantiate."""

    def __init__(self, trusted: Iterable[str] = ()) -> None:
        # Exact config targets the organization's policy trusts (its own classes).
        self.trusted = frozenset(trusted)

    def applies(self, document: Any, blob: Blob) -> bool:
        return any(
            key in INSTANTIATE_KEYS or (isinstance(value, str) and _builds_node(value))
            for key, value in _pairs(document)
        )

    def analyze(self, document: Any, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        flagged: dict[Severity, set[str]] = {}
        allowed: list[str] = []
        others: dict[tuple[str, str], Severity] = {}  # (rule, text) -> severity
        for key, value in _pairs(document):
            if not isinstance(value, str):
                continue
            embedded = None if key in INSTANTIATE_KEYS else embedded_target(value, self.trusted)
            if key in INSTANTIATE_KEYS or embedded is not None:
                judged = embedded or judge_instantiate(key, value, self.trusted)
                if not judged.why:
                    if judged.target not in allowed:
                        allowed.append(judged.target)
                    continue
                shown = flagged.setdefault(judged.severity, set())
                if judged.target in shown or len(shown) >= _MAX_SHOWN:
                    continue
                shown.add(judged.target)
                yield ctx.finding(
                    judged.rule,
                    blob,
                    blob.location,
                    f"`{key}: {judged.target[:200]}`: a config instantiator (Hydra's "
                    f"`instantiate`, LightningCLI) calls `{judged.target[:200]}`, which "
                    f"{judged.why}.",
                    f"{key}: {judged.target[:200]}",
                    judged.severity,
                )
            elif key == "trust_remote_code" and is_true(value):
                others[("AIR636", key)] = Severity.HIGH
            elif dangerous_string(value) is not None and len(others) < _MAX_SHOWN:
                others[("AIR638", value.strip())] = Severity.HIGH
            if (severity := eval_resolver(value)) is not None and len(others) < _MAX_SHOWN:
                others[("AIR637", value[:200])] = severity
        yield from _other_findings(others, blob, ctx)
        if allowed:
            listed = ", ".join(t[:120] for t in allowed[:_MAX_LISTED])
            if len(allowed) > _MAX_LISTED:
                listed += f" and {len(allowed) - _MAX_LISTED} more"
            yield ctx.finding(
                "AIR633",
                blob,
                blob.location,
                "A config instantiator (Hydra's `instantiate` for `_target_`, LightningCLI for "
                f"`class_path`) imports and calls what this config names: {listed}. All are on "
                "the list of what ordinary configs instantiate.",
                listed,
            )


_MESSAGES = {
    "AIR636": "`trust_remote_code: true` in a config that is instantiated: the model it loads "
    "runs Python code from its repository, which this config does not contain.",
    "AIR637": "An `${{eval:...}}`-style interpolation (`{}`): applications that register "
    "Python's `eval` as an OmegaConf resolver run this text as Python when the config is resolved.",
    "AIR638": "The value `{}` names a dangerous callable; in a config that is instantiated, such "
    "a string becomes that callable (jsonargparse's `Callable` parameters, "
    "`hydra.utils.get_method`).",
}


def _other_findings(
    others: dict[tuple[str, str], Severity], blob: Blob, ctx: ScanContext
) -> Iterator[Finding]:
    for (rule, text), severity in others.items():
        message = _MESSAGES[rule].format(text[:200])
        yield ctx.finding(rule, blob, blob.location, message, text[:200], severity)


def _builds_node(value: str) -> bool:
    return "${" in value and any(key in value for key in INSTANTIATE_KEYS)


def _pairs(document: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) of every mapping in the document, iteratively (no recursion)."""
    stack: list[Any] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                yield str(key), value
                if isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(item for item in node if isinstance(item, (dict, list)))
