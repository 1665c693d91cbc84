"""Chat templates inside JSON: tokenizer_config.json and chat_template.json (transformers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from airlock.findings import Finding
from airlock.scan.analyzers.chat_template import template_findings
from airlock.scan.context import Blob, ScanContext


class ChatTemplateJsonAnalyzer:
    """`chat_template` in tokenizer_config.json / chat_template.json: a string, or a list of
    {"name", "template"}; other keys naming `chat_template` are checked too."""

    def applies(self, document: Any, blob: Blob) -> bool:
        return isinstance(document, dict) and any(is_template_key(key) for key in document)

    def analyze(self, document: Any, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        for key, value in document.items():
            if not is_template_key(key):
                continue
            if isinstance(value, str):
                yield from template_findings(value, f"`{key}`", blob, blob.location, ctx)
            elif isinstance(value, list):
                for index, entry in enumerate(value):
                    template = entry.get("template") if isinstance(entry, dict) else None
                    if isinstance(template, str):
                        name = entry.get("name", index)
                        label = f"`{key}` `{str(name)[:80]}`"
                        yield from template_findings(template, label, blob, blob.location, ctx)


def is_template_key(key: str) -> bool:
    """Keys whose string value is rendered as a chat template: transformers' `chat_template`
    (and `*_chat_template`), Axolotl's `chat_template_jinja`, and the like."""
    return "chat_template" in key.lower()
