"""Standalone Jinja chat templates (`chat_template.jinja`, `*.j2`), which transformers and
llama.cpp read next to the model and render."""

from __future__ import annotations

from collections.abc import Iterator

from airlock.findings import Finding
from airlock.scan.analyzers.chat_template import MAX_TEMPLATE_BYTES, oversized, template_findings
from airlock.scan.context import Blob, Kind, Reader, ScanContext


class TemplateReader(Reader):
    kinds = (Kind.TEMPLATE,)

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        label = f"`{blob.name}`"
        if len(blob.data) > MAX_TEMPLATE_BYTES:
            yield oversized(len(blob.data), label, blob, blob.location, ctx)
            return
        source = bytes(blob.data).decode("utf-8", "replace")
        yield from template_findings(source, label, blob, blob.location, ctx)
