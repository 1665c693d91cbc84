"""Fuzz tests: no input makes a reader raise, hang, or allocate without bound.

Every reader in `default_readers()` is fuzzed, so readers registered later are covered without
touching this file; per-format strategies (valid seeds mutated structurally, opcode-level
pickles, absurd declared lengths, decompression and nesting bombs) live in
`fuzz_strategies.py`. Nothing is ever unpickled or loaded.

The default profile is sized for CI on two cores (derandomized, so a failure reproduces);
`AIRLOCK_FUZZ_EXAMPLES=5000 AIRLOCK_FUZZ_RANDOM=1 pytest tests/test_fuzz.py` fuzzes longer with
fresh randomness.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import re
import struct
import tempfile
import time
import tracemalloc
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzz_strategies as fs
from airlock.artifact import ArtifactFile
from airlock.findings import Finding, Location, Severity
from airlock.rules import RULES
from airlock.scan.context import Blob, Kind, Reader
from airlock.scan.formats.detect import (
    CODE_CAPABLE_SUFFIXES,
    GENERIC_BINARY_SUFFIXES,
    HEAD_BYTES,
    detect,
    readings,
)
from airlock.scan.registry import default_readers
from airlock.scan.scanner import Limits, Scanner, _Context

# Profile ---------------------------------------------------------------------------------

_EXAMPLES = int(os.environ.get("AIRLOCK_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=_EXAMPLES,
    derandomize=os.environ.get("AIRLOCK_FUZZ_RANDOM", "") != "1",
    deadline=timedelta(seconds=2),
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# File-system round trips cost more per example; fewer of them.
FUZZ_FILES = settings(FUZZ, max_examples=max(10, _EXAMPLES // 3))

MIB = 1024 * 1024
# A few-MB input may use at most this much memory while it is scanned.
PEAK_BYTES = 64 * MIB
# Wall-clock bound for one bomb: far above a healthy scan, far below a hang.
BOMB_SECONDS = 20.0

# Findings the scanner produces when a reader itself failed (a bug, even if it fails closed).
_READER_CRASH = re.compile(r"reader could not parse this content \(|ran out of resources \(")

# (first bytes, file name) that route a blob to each format; detect() decides which kind.
FORMAT_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"\x80\x02", "model.pkl"),
    (b"\x80\x04\x95", "model.pkl"),
    (b"(dp0\n", "model.pkl"),
    (b"cos\nsystem\n", "model.bin"),
    (b"PK\x03\x04", "model.pt"),
    (b"PK\x05\x06", "archive.zip"),
    (b"\x93NUMPY\x01\x00", "array.npy"),
    (b"\x93NUMPY\x02\x00", "array.npy"),
    (b"\x1f\x8b\x08\x00", "model.pkl.gz"),
    (b"BZh91AY&SY", "model.bz2"),
    (b"\xfd7zXZ\x00", "model.xz"),
    (zlib.compress(b"\x80\x02N." * 8)[:8], "model.z"),
    (b"ZF0x", "model.joblib"),
    (b"\x04\x22\x4d\x18", "model.lz4"),
    (b"7z\xbc\xaf\x27\x1c\x00\x04", "model.7z"),
    (b"model.pkl".ljust(257, b"\x00") + b"ustar\x0000", "model.tar"),
    (b"GGUF\x03\x00\x00\x00", "model.gguf"),
    (struct.pack("<Q", 64) + b'{"', "model.safetensors"),
    (b'{"', "config.json"),
    (b"[", "tokenizer.json"),
    (b"{{ messages }}{% for m in x %}", "chat_template.jinja"),
    (b"%TAG !p! tag:yaml.org,2002:python/\n---\na: !p!", "config.yaml"),
    (b"artifact_path: model\nflavors:\n", "MLmodel"),
    (b"import os\nos.system(", "modeling_custom.py"),
    (b"\x89HDF\r\n\x1a\n", "model.h5"),
    (b"\x08\x07\x12\x07pytorch\x3a\x04\x0a\x02\x0a\x00", "model.onnx"),
    (b"\x08\x01\x12\x04\x0a\x02\x0a\x00", "saved_model.pb"),
    (b"\x0a\x0a\x0a\x01a\x12\x05Const", "graph.pb"),
    (b"\x0a\x0c\x0a\x05<unk>\x15\x00\x00\x00\x00\x18\x02", "tokenizer.model"),
    (b"\x00\x00\x80\x3f\x00\x00\x00\xbf", "voices.bin"),  # raw float32 voice vectors
)

NAMES = sorted(
    {f"model{suffix}" for suffix in CODE_CAPABLE_SUFFIXES + GENERIC_BINARY_SUFFIXES}
    | {n for _, n in FORMAT_PREFIXES}
)


# Helpers ---------------------------------------------------------------------------------


def scan_bytes(
    data: bytes, name: str = "model.bin", scanner: Scanner | None = None, file: str | None = None
) -> list[Finding]:
    """Scan `data` in memory the way Scanner.scan_file scans a file's bytes (as each reading)."""
    scanner = scanner or Scanner()
    display = file if file is not None else name
    return scanner.scan_readings(
        Blob(data, display, Location(), name), readings(data, name), _Context(scanner, display)
    )


def assert_well_formed(findings: list[Finding]) -> None:
    """Findings only, with known rules, and none that says a reader crashed."""
    for finding in findings:
        assert isinstance(finding, Finding)
        assert finding.rule_id in RULES, finding
        assert isinstance(finding.severity, Severity)
        assert not _READER_CRASH.search(finding.message), finding


def rules_of(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


def fingerprint(findings: list[Finding]) -> list[tuple[object, ...]]:
    return [
        (
            f.rule_id,
            f.severity,
            f.file,
            f.location.members,
            f.location.offset,
            f.message,
            f.evidence,
        )
        for f in findings
    ]


@contextmanager
def peak_memory() -> Iterator[Callable[[], int]]:
    """Peak bytes allocated (above the starting level) while the block runs (tracemalloc)."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    peak = [0]
    try:
        yield lambda: peak[0]
    finally:
        peak[0] = tracemalloc.get_traced_memory()[1] - base
        if started:
            tracemalloc.stop()


def bounded_scan(
    data: bytes, name: str, limits: Limits | None = None, measure_memory: bool = True
) -> list[Finding]:
    """Scan within BOMB_SECONDS and (when measured) PEAK_BYTES; findings well formed."""
    scanner = Scanner(limits=limits)
    start = time.perf_counter()
    if measure_memory:
        with peak_memory() as peak:
            findings = scan_bytes(data, name, scanner)
        assert peak() < PEAK_BYTES, f"peak {peak() / MIB:.1f} MiB scanning {len(data)} bytes"
    else:
        findings = scan_bytes(data, name, scanner)
    elapsed = time.perf_counter() - start
    assert elapsed < BOMB_SECONDS, f"{elapsed:.1f} s scanning {len(data)} bytes"
    assert_well_formed(findings)
    return findings


def registered_kinds() -> set[Kind]:
    return {kind for reader in default_readers() for kind in reader.kinds}


def require_reader(kind: Kind) -> None:
    """Skip, visibly and with the reason, a test of a format no registered reader handles."""
    if kind not in registered_kinds():
        pytest.skip(f"no reader for {kind.value!r} is registered in default_readers() yet")


def prefixes_for(kinds: tuple[Kind, ...]) -> list[tuple[bytes, str]]:
    return [(head, name) for head, name in FORMAT_PREFIXES if detect(head, name) in kinds]


def _reader_id(reader: Reader) -> str:
    return "+".join(kind.value for kind in reader.kinds)


@pytest.fixture(scope="module", autouse=True)
def _warm_up() -> None:
    """Build the seeds, and let readers make their lazy imports, outside per-example deadlines."""
    for seed in fs.seed_corpus():
        scan_bytes(seed.data, seed.name)
    for head, name in FORMAT_PREFIXES:
        scan_bytes(head, name)


# Every registered kind is reachable ------------------------------------------------------


def test_every_registered_kind_has_a_fuzz_prefix() -> None:
    reachable = {detect(head, name) for head, name in FORMAT_PREFIXES}
    missing = sorted(kind.value for kind in registered_kinds() - reachable)
    assert not missing, (
        f"add first bytes that detect() maps to {missing} to FORMAT_PREFIXES in "
        "tests/test_fuzz.py so the scanner-level fuzzers reach those readers"
    )


def test_seed_corpus_is_complete() -> None:
    kinds = {detect(seed.data[:HEAD_BYTES], seed.name) for seed in fs.seed_corpus()}
    assert {Kind.PICKLE, Kind.ZIP, Kind.NUMPY, Kind.COMPRESSED, Kind.SEVEN_ZIP} <= kinds
    if fs.MISSING_WRITERS:
        pytest.skip(f"seeds from {fs.MISSING_WRITERS} not generated (not installed)")


# Arbitrary bytes -------------------------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=4096), name=st.sampled_from(NAMES))
def test_arbitrary_bytes_scan_cleanly(data: bytes, name: str) -> None:
    assert_well_formed(scan_bytes(data, name))


@FUZZ
@given(prefix=st.sampled_from(FORMAT_PREFIXES), tail=st.binary(max_size=4096))
def test_format_prefixed_bytes_scan_cleanly(prefix: tuple[bytes, str], tail: bytes) -> None:
    head, name = prefix
    assert_well_formed(scan_bytes(head + tail, name))


@cache
def _reader_inputs(kinds: tuple[Kind, ...]) -> st.SearchStrategy[bytes]:
    """Random bytes, the format's magic plus random bytes, and mutated seeds of the format."""
    options: list[st.SearchStrategy[bytes]] = [st.binary(max_size=2048)]
    heads = [head for head, _ in prefixes_for(kinds)]
    if heads:
        options.append(st.tuples(st.sampled_from(heads), st.binary(max_size=2048)).map(b"".join))
    seeds = [s for s in fs.seed_corpus() if detect(s.data[:HEAD_BYTES], s.name) in kinds]
    if seeds:
        options.append(fs.mutated_seeds(seeds).map(lambda pair: pair[1]))
    return st.one_of(options)


@pytest.mark.parametrize("reader", default_readers(), ids=_reader_id)
@FUZZ
@given(data=st.data())
def test_reader_never_raises(reader: Reader, data: st.DataObject) -> None:
    """Called directly (no scanner safety net), a reader yields findings and never raises."""
    blob_bytes = data.draw(_reader_inputs(tuple(reader.kinds)), label="blob")
    scanner = Scanner()
    blob = Blob(blob_bytes, "fuzzed", Location(), "fuzzed")
    findings = list(reader.scan(blob, _Context(scanner, "fuzzed")))
    assert_well_formed(findings)


# Structure-aware mutation ----------------------------------------------------------------


@FUZZ
@given(sample=fs.mutated_seeds())
def test_mutated_seeds_scan_cleanly(sample: tuple[str, bytes]) -> None:
    name, data = sample
    assert_well_formed(scan_bytes(data, name))


@FUZZ
@given(sample=fs.huge_field_seeds())
def test_huge_length_fields_scan_cleanly(sample: tuple[str, bytes]) -> None:
    name, data = sample
    assert_well_formed(scan_bytes(data, name, Scanner(limits=Limits(max_decompressed_bytes=MIB))))


@FUZZ
@given(data=fs.opcode_pickles())
def test_opcode_level_pickles_scan_cleanly_and_deterministically(data: bytes) -> None:
    first = scan_bytes(data, "model.pkl")
    assert_well_formed(first)
    assert fingerprint(scan_bytes(data, "model.pkl")) == fingerprint(first)


@FUZZ_FILES
@given(
    data=st.one_of(
        st.binary(max_size=4096),
        fs.mutated_seeds().map(lambda pair: pair[1]),
        fs.opcode_pickles(),
    ),
    name=st.sampled_from(NAMES),
)
def test_scan_file_leaves_input_alone_and_is_deterministic(data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        before = (hashlib.sha256(data).digest(), path.stat().st_mtime_ns, path.stat().st_size)
        item = ArtifactFile(path, str(path))
        first = Scanner().scan_file(item)
        second = Scanner().scan_file(item)
        after = path.read_bytes()
        assert (hashlib.sha256(after).digest(), path.stat().st_mtime_ns, len(after)) == before
    assert_well_formed(list(first.findings))
    assert (first.kind, first.size, first.inspected) == (second.kind, second.size, second.inspected)
    assert fingerprint(list(first.findings)) == fingerprint(list(second.findings))
    # The mapped file and the same bytes in memory read alike.
    in_memory = scan_bytes(data, name, file=str(path))
    assert fingerprint(in_memory) == fingerprint(list(first.findings))


# Absurd declared lengths -----------------------------------------------------------------

_PAYLOAD = fs.system_payload()


def _absurd_pickles() -> list[tuple[str, bytes]]:
    """A dangerous call, then an opcode whose declared length or index is absurd."""
    q = struct.Struct("<Q").pack
    i = struct.Struct("<I").pack
    cases = {
        "BINBYTES8": b"\x8e" + q(2**62),
        "BINUNICODE8": b"\x8d" + q(2**62),
        "BYTEARRAY8": b"\x96" + q(2**63 - 1),
        "BINBYTES": b"B" + i(0xFFFF_FFFF),
        "BINUNICODE": b"X" + i(0xFFFF_FFFF),
        "BINSTRING": b"T" + i(0x7FFF_FFFF),
        "BINSTRING-negative": b"T" + struct.pack("<i", -1),
        "LONG4": b"\x8b" + i(0x7FFF_FFFF),
        "LONG4-negative": b"\x8b" + struct.pack("<i", -(2**31)),
        "LONG_BINGET": b"j" + i(0xFFFF_FFFF),
        "EXT4": b"\x84" + i(0xFFFF_FFFF),
    }
    return [(name, b"\x80\x04" + _PAYLOAD + b"0" + arg + b"x" * 16) for name, arg in cases.items()]


@pytest.mark.parametrize(("case", "data"), _absurd_pickles(), ids=[c for c, _ in _absurd_pickles()])
def test_absurd_pickle_lengths_are_findings(case: str, data: bytes) -> None:
    findings = bounded_scan(data, "model.pkl")
    rules = rules_of(findings)
    # The call before the bad opcode runs when a loader reaches it: it must still be reported.
    assert "AIR101" in rules, (case, rules)
    assert rules & {"AIR001", "AIR105", "AIR106"}, (case, rules)


@pytest.mark.parametrize("length", [2**62, 2**64 - 1, 0])
def test_absurd_frame_length_hides_nothing(length: int) -> None:
    data = b"\x80\x04\x95" + struct.pack("<Q", length) + _PAYLOAD + b"."
    assert "AIR101" in rules_of(bounded_scan(data, "model.pkl"))


def test_huge_memo_indices_are_bounded() -> None:
    puts = b"".join(b"r" + struct.pack("<I", 0xFFFF_FFFF - n) for n in range(20_000))
    data = b"\x80\x04N" + puts + b"j" + struct.pack("<I", 0xFFFF_FFFF) + b"0" + _PAYLOAD + b"."
    assert "AIR101" in rules_of(bounded_scan(data, "model.pkl"))


def _npy_header(header: bytes, version: int, declared: int | None = None) -> bytes:
    width = "<H" if version == 1 else "<I"
    size = len(header) if declared is None else declared
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack(width, size) + header


def _absurd_npys() -> list[tuple[str, bytes]]:
    plain = b"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n"
    return [
        ("v1-header-65535", _npy_header(plain, 1, 0xFFFF) + b"\x00" * 16),
        ("v2-header-4GiB", _npy_header(plain, 2, 0xFFFF_FFFF) + b"\x00" * 16),
        ("v3-header-4GiB", _npy_header(plain, 3, 0xFFFF_FFFF) + b"\x00" * 16),
        ("shape-2^62-squared", fs.npy_bytes("<f8", (2**62, 2**62), b"\x00" * 16)),
        ("shape-negative", fs.npy_bytes("<f8", (-1, 2**63), b"\x00" * 16)),
        ("itemsize-huge", fs.npy_bytes("<U4611686018427387904", (4,), b"\x00" * 16)),
        ("object-shape-2^62", fs.npy_bytes("|O", (2**62,), fs.system_pickle())),
        ("header-not-a-dict", _npy_header(b"(" * 5000 + b"\n", 1)),
        ("header-deep-literal", _npy_header(b"{'descr': " + b"[" * 3000 + b"\n", 2)),
        ("header-big-int", _npy_header(b"{'shape': (" + b"9" * 5000 + b",)}\n", 1)),
    ]


@pytest.mark.parametrize(("case", "data"), _absurd_npys(), ids=[c for c, _ in _absurd_npys()])
def test_absurd_npy_headers_are_findings(case: str, data: bytes) -> None:
    require_reader(Kind.NUMPY)
    findings = bounded_scan(data, "array.npy")
    assert findings, case
    assert max(f.severity for f in findings) >= Severity.MEDIUM, (case, rules_of(findings))


def _patch(data: bytes, signature: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    pos = out.find(signature)
    while pos >= 0:
        struct.pack_into(fmt, out, pos + offset, value)
        pos = out.find(signature, pos + 4)
    return bytes(out)


def _zip64_tail(data: bytes, huge: int) -> bytes:
    """Replace the EOCD with a zip64 EOCD record + locator that declare `huge` of everything."""
    eocd = data.rfind(b"PK\x05\x06")
    record = b"PK\x06\x06" + struct.pack("<QHHIIQQQQ", 44, 45, 45, 0, 0, huge, huge, huge, huge)
    locator = b"PK\x06\x07" + struct.pack("<IQI", 0, eocd, 1)
    classic = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 0xFFFF, 0xFFFF, 2**32 - 1, 2**32 - 1, 0)
    return data[:eocd] + record + locator + classic


@cache
def _benign_torch_zip() -> bytes:
    import pickle

    return fs.torch_like_zip(pickle.dumps(OrderedDict(w=[1.0, 2.0]), protocol=2))


def _case(name: str, data: bytes, needs_finding: bool, *marks: pytest.MarkDecorator) -> object:
    return pytest.param(name, data, needs_finding, marks=marks, id=name)


def _absurd_zips() -> list[object]:
    """(case, zip, whether a finding is required). Fields loaders ignore need only be bounded."""
    base = _benign_torch_zip()
    eocd, central, local = b"PK\x05\x06", b"PK\x01\x02", b"PK\x03\x04"
    big = 0xFFFF_FFFF
    entries = _patch(_patch(base, eocd, 8, "<H", 0xFFFF), eocd, 10, "<H", 0xFFFF)
    local_sizes = _patch(_patch(base, local, 18, "<I", big), local, 22, "<I", big)
    central_sizes = _patch(_patch(base, central, 20, "<I", big), central, 24, "<I", big)
    return [
        _case("eocd-entries", entries, True),
        _case("eocd-cd-size", _patch(base, eocd, 12, "<I", big), True),
        _case("eocd-cd-offset", _patch(base, eocd, 16, "<I", big), True),
        # zipfile and miniz accept a comment cut short, and read members from the central
        # directory whatever the local header says: nothing is hidden, no finding is needed.
        _case("eocd-comment", _patch(base, eocd, 20, "<H", 0xFFFF), False),
        _case("local-sizes", local_sizes, False),
        _case("central-sizes", central_sizes, True),
        _case("central-offset", _patch(base, central, 42, "<I", big), True),
        _case("central-name", _patch(base, central, 28, "<H", 0xFFFF), True),
        _case("central-extra", _patch(base, central, 30, "<H", 0xFFFF), True),
        _case("local-name", _patch(base, local, 26, "<H", 0xFFFF), True),
        _case("zip64-2^63-1", _zip64_tail(base, 2**63 - 1), True),
        _case("zip64-2^64-1", _zip64_tail(base, 2**64 - 1), True),
    ]


@pytest.mark.parametrize(("case", "data", "needs_finding"), _absurd_zips())
def test_absurd_zip_fields_are_findings(case: str, data: bytes, needs_finding: bool) -> None:
    require_reader(Kind.ZIP)
    findings = bounded_scan(data, "model.pt")
    if needs_finding:
        assert findings, case
        assert max(f.severity for f in findings) >= Severity.MEDIUM, (case, rules_of(findings))


@pytest.mark.parametrize("field", [12, 20], ids=["next-header-offset", "next-header-size"])
@pytest.mark.parametrize("value", [2**62, 2**63 - 1, 2**64 - 1])
def test_absurd_7z_fields_are_findings(field: int, value: int) -> None:
    require_reader(Kind.SEVEN_ZIP)
    data = bytearray(fs.seven_zip_bytes("data.pkl", fs.system_pickle()))
    struct.pack_into("<Q", data, field, value)
    findings = bounded_scan(bytes(data), "model.7z")
    assert findings
    assert max(f.severity for f in findings) >= Severity.MEDIUM, rules_of(findings)


# Bombs -----------------------------------------------------------------------------------

BOMB_LIMITS = Limits(max_decompressed_bytes=MIB)


@cache
def _padded_payload_pickle(padding: int) -> bytes:
    """A pickle whose dangerous call sits after `padding` zero bytes (compresses to little)."""
    zeros = b"\x8e" + struct.pack("<Q", padding) + b"\x00" * padding
    return b"\x80\x04" + zeros + b"0" + _PAYLOAD + b"."


def test_zip_deflate_bomb_hits_the_limit() -> None:
    require_reader(Kind.ZIP)
    bomb = fs.zip_bytes({"archive/data.pkl": _padded_payload_pickle(8 * MIB)}, zipfile.ZIP_DEFLATED)
    assert len(bomb) < 64 * 1024
    assert "AIR003" in rules_of(bounded_scan(bomb, "model.pt", BOMB_LIMITS))


_COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda d: gzip.compress(d, mtime=0),
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "zlib": zlib.compress,
}


@pytest.mark.parametrize("codec", sorted(_COMPRESSORS))
def test_compressed_bomb_hits_the_limit(codec: str) -> None:
    require_reader(Kind.COMPRESSED)
    bomb = _COMPRESSORS[codec](_padded_payload_pickle(4 * MIB))
    assert detect(bomb[:HEAD_BYTES], "model.pkl.gz") is Kind.COMPRESSED
    assert "AIR003" in rules_of(bounded_scan(bomb, f"model.{codec}", BOMB_LIMITS))


def _nested_zips(levels: int) -> bytes:
    data = fs.zip_bytes({"archive/data.pkl": fs.system_pickle()})
    for level in range(levels - 1):
        data = fs.zip_bytes({f"level{level}.zip": data})
    return data


def test_zip_nesting_past_max_depth_is_a_finding() -> None:
    require_reader(Kind.ZIP)
    deep = Limits().max_depth + 4
    assert "AIR003" in rules_of(bounded_scan(_nested_zips(deep), "model.zip"))
    # Within the limit the payload at the bottom is found: the recursion is real.
    assert "AIR101" in rules_of(bounded_scan(_nested_zips(3), "model.zip"))


def test_pickle_payload_nesting_past_max_depth_is_a_finding() -> None:
    deep = Limits().max_depth + 4
    findings = bounded_scan(fs.nested_loads_pickle(deep), "model.pkl")
    assert "AIR003" in rules_of(findings)
    shallow = bounded_scan(fs.nested_loads_pickle(3), "model.pkl")
    assert "AIR101" in rules_of(shallow)
    assert any("os.system" in f.evidence for f in shallow if f.rule_id == "AIR101")


def test_pickle_loads_of_a_decompression_bomb_is_bounded() -> None:
    compressed = zlib.compress(_padded_payload_pickle(8 * MIB))
    data = fs.pickle2(
        fs.call("pickle", "loads", fs.call("zlib", "decompress", fs.binbytes(compressed)))
    )
    findings = bounded_scan(data, "model.pkl", BOMB_LIMITS)
    assert "AIR101" in rules_of(findings)  # pickle.loads itself is dangerous


# Opcode floods: 50k opcodes each, then a payload that must still be found. The symbolic
# interpreter keeps ~100 bytes per stacked value or memo entry (as pickle itself does), so
# the bound is on a flood a few hundred KB long.
FLOOD = 50_000
_FLOODS = {
    "DUP": b"\x80\x04N" + b"2" * FLOOD + b"0",
    "MEMOIZE": b"\x80\x04N" + b"\x94" * FLOOD + b"0",
    "MARK": b"\x80\x04" + b"(" * FLOOD,
    "NESTED_LISTS": b"\x80\x04" + b"]" * (FLOOD // 2) + b"a" * (FLOOD // 2 - 1),
    "NESTED_TUPLES": b"\x80\x04N" + b"\x85" * FLOOD,
    "PROTO0_INTS": b"(" + b"I1\n" * FLOOD + b"l0",
}


@pytest.mark.parametrize("flood", sorted(_FLOODS))
def test_opcode_flood_is_bounded_and_hides_nothing(flood: str) -> None:
    data = _FLOODS[flood] + _PAYLOAD + b"."
    assert len(data) < 4 * MIB
    assert "AIR101" in rules_of(bounded_scan(data, "model.pkl"))


def test_a_million_dups_finish_in_time() -> None:
    data = b"\x80\x04N" + b"2" * 1_000_000 + b"0" + _PAYLOAD + b"."
    assert "AIR101" in rules_of(bounded_scan(data, "model.pkl", measure_memory=False))


def test_a_multi_megabyte_constant_is_bounded() -> None:
    data = _padded_payload_pickle(3 * MIB)
    assert "AIR101" in rules_of(bounded_scan(data, "model.pkl"))


# Regressions: bugs fuzzing found in the pickle core ----------------------------------------


def test_shared_tuple_fan_out_is_fast() -> None:
    level1 = b"(" + b"N" * 64 + b"t\x94"
    level2 = b"(" + b"h\x00" * 64 + b"t\x94"
    level3 = b"(" + b"h\x01" * 64 + b"t\x94"
    data = b"\x80\x04" + level1 + level2 + level3 + b"0" + fs.call("builtins", "len", b"h\x02" * 8)
    start = time.perf_counter()
    scan_bytes(data + b".", "model.pkl")
    assert time.perf_counter() - start < 0.25


def _nested_dtypes(levels: int) -> bytes:
    """numpy.dtype calls whose field specs nest `levels` deep, under a joblib array wrapper."""
    dtype = b"cnumpy\ndtype\n(X\x02\x00\x00\x00V8tR"
    out = dtype + b"r" + struct.pack("<I", 0)
    for level in range(1, levels):
        fields = b"}X\x01\x00\x00\x00fj" + struct.pack("<I", level - 1) + b"K\x00\x86s"
        out += dtype + b"(NNNN" + fields + b"tb" + b"r" + struct.pack("<I", level)
    wrapper = b"cjoblib.numpy_pickle\nNumpyArrayWrapper\n)R}(X\x05\x00\x00\x00dtypej"
    wrapper += struct.pack("<I", levels - 1) + b"X\x05\x00\x00\x00shapeK\x01\x85ub" + b"\x00" * 8
    return b"\x80\x04" + _PAYLOAD + b"0" + out + b"0" + wrapper + b"0N."


def test_deeply_nested_dtype_fields_keep_findings() -> None:
    findings = scan_bytes(_nested_dtypes(3000), "model.joblib")
    assert "AIR101" in rules_of(findings)


def test_huge_int_argument_keeps_findings() -> None:
    raw = ((1 << (8 * 2000)) - 1).to_bytes(2001, "little", signed=True)
    long4 = b"\x8b" + struct.pack("<I", len(raw)) + raw
    findings = scan_bytes(fs.pickle2(fs.call("os", "system", long4)), "model.pkl")
    assert "AIR101" in rules_of(findings)
    assert_well_formed(findings)
