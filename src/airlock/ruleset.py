"""The rule-set digest: which rules, allowlists and license knowledge a verdict was made under.

A policy has its own digest (the policy file's bytes); this one covers what Airlock itself knows:
the rule table (ids and severities) and every knowledge file vetting reads. Two Airlocks with the
same digest judge the same files the same way under the same policy (as far as data decides it),
so a version vetted under another digest is due for `airlock revet`.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from airlock.rules import RULES

# Knowledge files that never change a verdict: the policy (it has its own digest), prices, the
# eval and data-check knowledge and the API field list. Everything else under airlock/data counts,
# so a new knowledge file is in the digest unless it is named here (fail closed: a needless
# re-vet costs time, a missed one serves a model under rules nobody checked it against).
_NOT_VETTING = frozenset(
    {
        "policy",
        "datacheck",
        "prices.toml",
        "eval_judge.toml",
        "eval_metrics.toml",
        "openai_request_fields.toml",
        "dossier.schema.json",
        "__init__.py",
        "__pycache__",
    }
)


@cache
def ruleset_digest() -> str:
    """ "sha256:<hex>" over the rule table and the vetting knowledge files (path and bytes)."""
    digest = hashlib.sha256()
    for rule in sorted(RULES.values(), key=lambda r: r.id):
        digest.update(f"rule {rule.id} {rule.default_severity.label}\n".encode())
    for path, data in _files(resources.files("airlock.data"), ""):
        digest.update(f"file {path} {len(data)}\n".encode())
        digest.update(data)
    return "sha256:" + digest.hexdigest()


def _files(folder: Traversable, prefix: str) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name in _NOT_VETTING:
            continue
        if entry.is_dir():
            found.extend(_files(entry, f"{prefix}{entry.name}/"))
        else:
            found.append((prefix + entry.name, entry.read_bytes()))
    return found
