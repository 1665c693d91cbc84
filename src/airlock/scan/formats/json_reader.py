"""JSON files (configs, tokenizer configs, Keras model configs): parsed once, then each
registered analyzer that recognises the document inspects it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from airlock.findings import Finding
from airlock.scan.context import Blob, Kind, Reader, ScanContext, too_large

# Model configs are small; a multi-megabyte JSON is still parsed, a gigabyte one is not.
MAX_JSON_BYTES = 64 * 1024 * 1024


_INSTANTIATED = re.compile(rb"_target_|class_path")


def _as_yaml(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    from airlock.scan.formats.yaml_reader import YamlReader  # only for these rare files

    # A file that is not YAML either is loaded by no instantiator: its AIR632 is noise.
    yield from (f for f in YamlReader().scan(blob, ctx) if f.rule_id != "AIR632")


class JsonAnalyzer(Protocol):
    def applies(self, document: Any, blob: Blob) -> bool:
        """Whether this document is one this analyzer understands (decided from content)."""
        ...

    def analyze(self, document: Any, blob: Blob, ctx: ScanContext) -> Iterator[Finding]: ...


class JsonReader(Reader):
    kinds = (Kind.JSON,)

    def __init__(self, analyzers: Sequence[JsonAnalyzer] = ()) -> None:
        self.analyzers = tuple(analyzers)

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        if len(blob.data) > MAX_JSON_BYTES:
            yield too_large(ctx, blob, "JSON", MAX_JSON_BYTES)
            return
        try:
            document = json.loads(bytes(blob.data).decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            # Not every .json-looking text is JSON; only analyzers' formats need to parse. But
            # config instantiators read JSON with a YAML parser (`OmegaConf.load`), which also
            # takes trailing commas, comments and single quotes: such a file is read as YAML.
            if _INSTANTIATED.search(blob.data):
                yield from _as_yaml(blob, ctx)
            return
        for analyzer in self.analyzers:
            if analyzer.applies(document, blob):
                yield from analyzer.analyze(document, blob, ctx)
