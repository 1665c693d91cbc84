"""Raw pickle files, including several streams back to back and legacy PyTorch checkpoints."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from airlock.findings import Finding
from airlock.scan.context import Blob, Kind, Reader, ScanContext
from airlock.scan.formats.detect import HEAD_BYTES
from airlock.scan.formats.pickle.analysis import PickleAnalysis
from airlock.scan.formats.pickle.interpreter import Interpreter
from airlock.scan.formats.pickle.listener import Listener, StreamResult
from airlock.scan.formats.pickle.opcodes import (
    PickleDecodeError,
    PickleLimitError,
    decode_raw,
    looks_like_pickle,
)
from airlock.scan.formats.pickle.torch_legacy import TarMemberLayout
from airlock.scan.formats.pickle.values import Call, Global
from airlock.scan.names.pickle_globals import GlobalsPolicy

# torch.save's legacy format: five pickles (magic number, protocol, system info, the object,
# storage keys) and then raw storage bytes that are never unpickled.
LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_TORCH_PICKLES = 5
MAX_STREAMS = 10_000
# Streams judged clean are remembered by content (checkpoints of one model hold the same
# pickles: the same layout, optimizer and trainer state) up to this size and this many.
REMEMBER_BELOW = 1 << 20
REMEMBER_AT_MOST = 4096


class PickleReader(Reader):
    kinds = (Kind.PICKLE,)

    def __init__(self, policy: GlobalsPolicy | None = None) -> None:
        self.policy = policy or GlobalsPolicy.default()
        self._clean: set[tuple[bytes, str, int]] = set()

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        """Judge the blob; a stream already judged clean (same bytes, and the same reading of
        its name) is clean again. Only a verdict that depended on nothing but the bytes is
        remembered: no findings and nothing nested handed back to the scanner."""
        key = _memo_key(blob, ctx)
        if key is not None and key in self._clean:
            return
        analysis = PickleAnalysis(blob, ctx, self.policy)
        findings = list(self._judge(blob, ctx, analysis))
        if key is not None and not findings and not analysis.handed_on:
            if len(self._clean) >= REMEMBER_AT_MOST:
                self._clean.clear()
            self._clean.add(key)
        yield from findings

    def _judge(self, blob: Blob, ctx: ScanContext, analysis: PickleAnalysis) -> Iterator[Finding]:
        interpreter = Interpreter(blob.data, analysis)
        yield from scan_streams(blob, ctx, interpreter)
        start, nested = interpreter.first_inline, interpreter.first_nested
        if start >= 0 and (nested < 0 or start < nested) and _read_on(blob, start):
            # The same file read by pickle.load: no array bytes, opcodes right after BUILD.
            # What it runs from there until it breaks is judged; the break itself is expected.
            # (Object arrays were scanned as the pickles they are; read in the outer stream's
            # context they only import what the outer stream had, so the walk stops there.)
            listener = _Window(analysis, start, nested if nested >= 0 else len(blob.data))
            plain = Interpreter(blob.data, listener, joblib_arrays=False)
            for _ in scan_streams(blob, ctx, plain):
                pass  # breaks and trailing bytes are expected in this reading
        yield from analysis.finish()


def _memo_key(blob: Blob, ctx: ScanContext) -> tuple[bytes, str, int] | None:
    if len(blob.data) >= REMEMBER_BELOW:
        return None  # hashing would make cost grow with tensor bytes
    # The name matters only where it picks a legacy torch member's layout.
    layout = blob.name if TarMemberLayout.for_name(blob.name) is not None else ""
    digest = hashlib.blake2b(blob.data, digest_size=16).digest()
    return digest, layout, ctx.max_decompressed_bytes


def _read_on(blob: Blob, start: int) -> bool:
    """Whether pickle.load gets past the opcode at `start` (where joblib's array bytes begin).
    joblib 1.2+ puts a padding-length byte there (0-15: no opcode), so pickle.load fails on it
    and nothing from there on runs: the second walk would only repeat the first one's prefix."""
    if TarMemberLayout.for_name(blob.name) is not None:
        return True  # legacy torch members read on past breaks: always walk
    try:
        decode_raw(blob.data, start)
    except PickleDecodeError:
        return False
    return True


def scan_streams(blob: Blob, ctx: ScanContext, interpreter: Interpreter) -> Iterator[Finding]:
    """Interpret every stream in the blob; a stream that breaks is a finding (fail closed)."""
    layout = TarMemberLayout.for_name(blob.name)
    if layout is not None:
        yield from _scan_torch_member(blob, ctx, interpreter, layout)
    else:
        yield from _scan_back_to_back(blob, ctx, interpreter, 0, 0)


def _scan_back_to_back(
    blob: Blob, ctx: ScanContext, interpreter: Interpreter, pos: int, index: int
) -> Iterator[Finding]:
    """Streams one after another, as repeated pickle.load calls (and legacy torch.save) read."""
    data = blob.data
    # torch.load reads five pickles whatever they look like once the first is (or may be) its
    # magic number; past them, a real legacy file holds raw storage bytes (never unpickled).
    strict_until, limit = 0, MAX_STREAMS
    while pos < len(data) and index < limit:
        result = interpreter.run(pos)
        yield from _desyncs(blob, ctx, interpreter)
        if index == 0 and result.complete and _could_be(result.result, LEGACY_TORCH_MAGIC):
            strict_until = LEGACY_TORCH_PICKLES
            if not isinstance(result.result, Call):
                limit = LEGACY_TORCH_PICKLES
        if not result.complete:
            if index < strict_until and _nothing_ran(result):
                yield _trailing(blob, ctx, interpreter, pos)  # torch.load stops with an error
            else:
                yield _broken(blob, ctx, result, index)
            return
        index += 1
        pos = result.end
        # Elsewhere a next stream is only assumed where the bytes read as one.
        more = strict_until <= index < limit and pos < len(data)
        if more and not looks_like_pickle(data[pos : pos + HEAD_BYTES]):
            yield _trailing(blob, ctx, interpreter, pos)
            return
    if index >= MAX_STREAMS:
        yield ctx.finding(
            "AIR003", blob, blob.location.at(pos), f"More than {MAX_STREAMS} pickle streams."
        )


def _scan_torch_member(
    blob: Blob, ctx: ScanContext, interpreter: Interpreter, layout: TarMemberLayout
) -> Iterator[Finding]:
    """A legacy torch.save tar member: pickles at exactly the offsets torch reads them from."""
    data, pos = blob.data, 0
    for index in range(MAX_STREAMS):
        result = interpreter.run(pos)
        yield from _desyncs(blob, ctx, interpreter)
        if not result.complete:
            if index > 0 and _nothing_ran(result):
                yield _trailing(blob, ctx, interpreter, pos)  # torch.load stops with an error
            else:
                yield _broken(blob, ctx, result, index)
            return
        step = layout.after(result.result, data, result.end)
        if step.problem is not None:
            message = (
                f"In this legacy PyTorch checkpoint member, torch reads raw bytes and further "
                f"pickles after byte {result.end}, but where they are cannot be known: "
                f"{step.problem}. Do not load it."
            )
            yield ctx.finding("AIR205", blob, blob.location.at(result.end), message)
            yield from _scan_back_to_back(blob, ctx, interpreter, result.end, index + 1)
            return
        if step.skip is None or result.end + step.skip >= len(data):
            return  # torch reads nothing more from this member
        pos = result.end + step.skip
    yield ctx.finding(
        "AIR003", blob, blob.location.at(pos), f"More than {MAX_STREAMS} pickle streams."
    )


class _Window:
    """Passes on the events from `start` (earlier ones were seen already) up to `end`."""

    def __init__(self, listener: Listener, start: int, end: int) -> None:
        self.listener, self.start, self.end = listener, start, end

    def on_global(self, glob: Global) -> None:
        if self.start <= glob.offset < self.end:
            self.listener.on_global(glob)

    def on_dynamic_import(self, module: Any, name: Any, offset: int) -> None:
        if self.start <= offset < self.end:
            self.listener.on_dynamic_import(module, name, offset)

    def on_call(self, call: Call) -> None:
        if self.start <= call.offset < self.end:
            self.listener.on_call(call)

    def on_build(self, target: Any, state: Any, offset: int) -> None:
        if self.start <= offset < self.end:
            self.listener.on_build(target, state, offset)

    def on_extension(self, code: int, offset: int) -> None:
        if self.start <= offset < self.end:
            self.listener.on_extension(code, offset)

    def on_constant(self, value: str | bytes | bytearray, offset: int) -> None:
        if self.start <= offset < self.end:
            self.listener.on_constant(value, offset)

    def on_hashed(self, keys: list[Any], offset: int) -> None:
        if self.start <= offset < self.end:
            self.listener.on_hashed(keys, offset)

    def on_persistent(self, pid: Any, offset: int) -> None:
        if self.start <= offset < self.end:
            self.listener.on_persistent(pid, offset)


def _could_be(value: Any, expected: int) -> bool:
    """Whether a stream's value is, or may be once loaded, `expected`."""
    if isinstance(value, Call):
        return True  # computed while loading
    return isinstance(value, int) and not isinstance(value, bool) and value == expected


def _nothing_ran(result: StreamResult) -> bool:
    return result.error is not None and result.error.offset == result.start


def _desyncs(blob: Blob, ctx: ScanContext, interpreter: Interpreter) -> Iterator[Finding]:
    for offset, why in interpreter.desyncs:
        message = (
            f"The loader reads bytes here that Airlock cannot locate without loading the file: "
            f"{why}. What the loader runs next was not inspected; do not load it."
        )
        yield ctx.finding("AIR205", blob, blob.location.at(offset), message, why)
    interpreter.desyncs.clear()


def _trailing(blob: Blob, ctx: ScanContext, interpreter: Interpreter, pos: int) -> Finding:
    size = len(blob.data) - pos
    if interpreter.saw_wrapper:
        # joblib writes nothing after STOP: bytes here mean its walk and ours may differ.
        return ctx.finding(
            "AIR205",
            blob,
            blob.location.at(pos),
            f"{size} bytes follow the end of a joblib pickle, which joblib never writes; they "
            "suggest joblib reads this file differently from Airlock (array bytes of another "
            "length). Do not load it.",
        )
    return ctx.finding(
        "AIR107",
        blob,
        blob.location.at(pos),
        f"{size} bytes follow the end of the pickle data and are not another pickle; "
        "pickle.load does not read them, and they were not inspected.",
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
