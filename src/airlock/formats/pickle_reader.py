"""Raw pickle files, including several streams back to back and legacy PyTorch checkpoints."""

from __future__ import annotations

from collections.abc import Iterator

from airlock.findings import Finding
from airlock.formats.detect import HEAD_BYTES
from airlock.formats.interface import Blob, Kind, Reader, ScanContext
from airlock.formats.pickle.analysis import PickleAnalysis
from airlock.formats.pickle.interpreter import Interpreter, StreamResult
from airlock.formats.pickle.opcodes import PickleLimitError, looks_like_pickle
from airlock.formats.pickle.policy import GlobalsPolicy

# torch.save's legacy format: five pickles (magic number, protocol, system info, the object,
# storage keys) and then raw storage bytes that are never unpickled.
LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_TORCH_PICKLES = 5
MAX_STREAMS = 10_000


class PickleReader(Reader):
    kinds = (Kind.PICKLE,)

    def __init__(self, policy: GlobalsPolicy | None = None) -> None:
        self.policy = policy or GlobalsPolicy.default()

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        analysis = PickleAnalysis(blob, ctx, self.policy)
        interpreter = Interpreter(blob.data, analysis)
        yield from scan_streams(blob, ctx, interpreter)
        yield from analysis.finish()


def scan_streams(blob: Blob, ctx: ScanContext, interpreter: Interpreter) -> Iterator[Finding]:
    """Interpret every stream in the blob; a stream that breaks is a finding (fail closed)."""
    data = blob.data
    pos, index, limit = 0, 0, MAX_STREAMS
    while pos < len(data) and index < limit:
        result = interpreter.run(pos)
        if index == 0 and result.complete and result.result == LEGACY_TORCH_MAGIC:
            limit = LEGACY_TORCH_PICKLES
        if not result.complete:
            yield _broken(blob, ctx, result, index)
            return
        index += 1
        pos = result.end
        if (
            index < limit
            and pos < len(data)
            and not looks_like_pickle(data[pos : pos + HEAD_BYTES])
        ):
            if limit != LEGACY_TORCH_PICKLES:
                yield ctx.finding(
                    "AIR107",
                    blob,
                    blob.location.at(pos),
                    f"{len(data) - pos} bytes follow the end of the pickle data and are not "
                    "another pickle; they were not inspected.",
                )
            return
    if index >= MAX_STREAMS:
        yield ctx.finding(
            "AIR003", blob, blob.location.at(pos), f"More than {MAX_STREAMS} pickle streams."
        )


def _broken(blob: Blob, ctx: ScanContext, result: StreamResult, index: int) -> Finding:
    error = result.error
    reason = error.reason if error is not None else "stream ended early"
    offset = error.offset if error is not None else result.end
    if isinstance(error, PickleLimitError):
        return ctx.finding(
            "AIR003",
            blob,
            blob.location.at(offset),
            f"Pickle stream {index + 1} exceeds a safety limit ({reason}); the rest of it was "
            "not inspected.",
            reason,
        )
    if index == 0 and offset == 0:
        return ctx.finding(
            "AIR001",
            blob,
            blob.location.at(0),
            "The file looks like a pickle but cannot be parsed, so it could not be inspected.",
            reason,
        )
    return ctx.finding(
        "AIR106",
        blob,
        blob.location.at(offset),
        f"Pickle stream {index + 1} breaks at byte {offset} ({reason}). A loader runs every "
        "instruction before the break, and scanners that stop at errors miss what comes "
        "after; the rest of the file could not be inspected.",
        reason,
    )
