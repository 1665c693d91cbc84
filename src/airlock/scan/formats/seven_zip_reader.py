"""7z archives: Airlock cannot open them, so their content stays uninspected (nullifAI packed
PyTorch files with 7z to get past scanners)."""

from __future__ import annotations

from collections.abc import Iterator

from airlock.findings import Finding
from airlock.scan.context import Blob, Kind, Reader, ScanContext


class SevenZipReader(Reader):
    kinds = (Kind.SEVEN_ZIP,)

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        message = (
            "This is a 7z archive. Airlock cannot open 7z archives, so its content could not "
            "be inspected; extract it and scan the extracted files."
        )
        yield ctx.finding("AIR002", blob, blob.location, message)
