"""Unit tests for the models of what loaders read besides pickle opcodes (class 4 of issue 12):
numpy dtypes as pickled, legacy torch tar members, miniz's end-of-central-directory rule."""

from __future__ import annotations

import io
import pickle
import struct
import zipfile

import pytest

from airlock.scan.formats.pickle import numpy_dtype
from airlock.scan.formats.pickle.torch_legacy import Step, TarMemberLayout
from airlock.scan.formats.pickle.values import Call, Global, SymDict
from airlock.scan.formats.zip_archive import miniz_members, open_archive

_DTYPE = Global("numpy", "dtype", 0)


def _dtype(spec: object, state: tuple[object, ...] | None = None) -> Call:
    call = Call(_DTYPE, (spec, False, True), None, "REDUCE", 0)
    call.state = state
    return call


def _state(order: str = "<", elsize: int = -1, names: object = None, fields: object = None,
           subarray: object = None) -> tuple[object, ...]:  # fmt: skip
    return (3, order, subarray, names, fields, elsize, -1, 0)


@pytest.mark.parametrize(
    ("spec", "state", "size"),
    [
        ("f8", _state(), 8), ("f8", _state(">"), 8), ("i2", None, 2), ("c16", _state(), 16),
        ("f8", _state(elsize=4), 8),  # numpy ignores a forged elsize for fixed kinds
        ("U3", _state(elsize=12), 12), ("S5", _state("|", 5), 5), ("V7", _state("|", 7), 7),
        ("M8", (4, "<", None, None, None, -1, -1, 0, {}), 8),
    ],
)  # fmt: skip
def test_numpys_own_dtype_form_is_resolved(
    spec: str, state: tuple[object, ...] | None, size: int
) -> None:
    resolved = numpy_dtype.resolve(_dtype(spec, state))
    assert resolved is not None and resolved.itemsize == size and not resolved.hasobject


@pytest.mark.parametrize(
    "spec",
    ["float64", "d", "l", "float", "<f8", "f8,i4", "(2,)f8", "f3", "i16", "U", "Float64"],
)
def test_other_spellings_are_unresolved(spec: str) -> None:
    assert numpy_dtype.resolve(_dtype(spec, _state())) is None


def test_sizes_that_disagree_are_unresolved() -> None:
    assert numpy_dtype.resolve(_dtype("U3", _state(elsize=8))) is None
    assert numpy_dtype.resolve(_dtype(Global("builtins", "float", 0))) is None


def test_structured_dtypes_report_object_fields() -> None:
    fields = SymDict([("a", (_dtype("O8", _state("|")), 0)), ("b", (_dtype("i4", _state()), 8))])
    resolved = numpy_dtype.resolve(_dtype("V12", _state("|", 12, ("a", "b"), fields)))
    assert resolved is not None and resolved.itemsize == 12 and resolved.hasobject
    unknown = SymDict([("a", (_dtype("float64", _state()), 0))])
    assert numpy_dtype.resolve(_dtype("V8", _state("|", 8, ("a",), unknown))) is None


def test_storages_member_walk() -> None:
    raw = struct.pack("<q", 3) + b"\x00" * 12
    buf = raw + b"rest"
    layout = TarMemberLayout.for_name("storages")
    assert layout is not None and TarMemberLayout.for_name("./storages") is None
    assert layout.after(1, buf, 0) == Step(0)
    record = (0, "cpu", Global("torch", "FloatStorage", 0))
    assert layout.after(record, buf, 0) == Step(8 + 12)
    assert layout.after([], buf, len(raw)) == Step(None)  # the views: nothing after
    odd = TarMemberLayout("storages")
    odd.after(1, buf, 0)
    step = odd.after((0, "cpu", Global("collections", "FloatStorage", 0)), buf, 0)
    assert step.problem is not None


def test_tensors_member_walk() -> None:
    record = struct.pack("<i", 2) + b"\x00" * 4 + b"\x00" * 32 + b"\x00" * 8
    layout = TarMemberLayout("tensors")
    assert layout.after(2, record * 2, 0) == Step(0)
    assert layout.after((1, 0, None), record * 2, 0) == Step(len(record))
    assert layout.after((2, 0, None), record * 2, len(record)) == Step(None)


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_miniz_skips_a_signature_without_a_whole_record_after_it() -> None:
    data = _zip({"archive/data.pkl": pickle.dumps(1)}) + b"PK\x05\x06" + b"\x00" * 10
    members = miniz_members(data)
    assert members is not None and [m.name for m in members] == ["archive/data.pkl"]


def test_plain_zips_read_the_same_by_every_reader() -> None:
    data = _zip({"a/data.pkl": pickle.dumps(1), "a/version": b"3"})
    archive = open_archive(data)
    assert not archive.disagreements
    assert [m.name for m in archive.members] == ["a/data.pkl", "a/version"]


def test_miniz_refuses_prepended_bytes() -> None:
    assert miniz_members(b"junk" * 10 + _zip({"a/data.pkl": b"x"})) is None


def test_duplicate_names_are_a_disagreement() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a/data.pkl", pickle.dumps(1))
        with pytest.warns(UserWarning):
            archive.writestr("a/data.pkl", pickle.dumps(2))
    disagreements = open_archive(out.getvalue()).disagreements
    assert any("share a name" in message for message in disagreements)


def _zip64_end(data: bytes) -> bytes:
    """`data` (a zip without a comment) with zip64 end records, as large archives have."""
    eocd = data[-22:]
    count, cd_size, cd_offset = struct.unpack_from("<HII", eocd, 10)
    body = data[:-22]
    record = struct.pack(
        "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, cd_size, cd_offset
    )
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, len(body), 1)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                      0xFFFFFFFF, 0)  # fmt: skip
    return body + record + locator + end


def _zip_variants() -> list[bytes]:
    plain = _zip({"a/data.pkl": pickle.dumps(1), "a/version": b"3"})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.comment = b"PK\x05\x06 a comment"
        archive.writestr("a/data.pkl", pickle.dumps(2))
    big = io.BytesIO()
    with (
        zipfile.ZipFile(big, "w") as archive,
        archive.open("a/data.pkl", "w", force_zip64=True) as member,
    ):
        member.write(pickle.dumps(3))
    inner = _zip({"b/data.pkl": pickle.dumps(4)})
    return [
        plain,
        out.getvalue(),
        big.getvalue(),  # zip64 extra fields
        _zip64_end(plain),
        _zip64_end(plain)[-(22 + 20 + 56) :],  # zip64 records at the very start
        b"junk" * 10 + plain,
        plain + b"PK\x05\x06" + b"\x00" * 10,
        plain + inner,
        plain[:-22] + inner[-22:],  # an end record pointing at another directory
        plain[:-1],
    ]


@pytest.mark.parametrize("data", _zip_variants())
def test_skipping_the_miniz_reading_changes_nothing(data: bytes) -> None:
    """open_archive skips the second (miniz) parse only where it would add nothing."""
    from airlock.scan.formats import zip_archive

    fast = open_archive(data)
    full = zip_archive.Archive()
    if not zip_archive._read_central_directory(data, full)[0]:
        seen = {m.header_offset for m in full.members}
        walked = zip_archive._walk_local_headers(data)
        full.members += [m for m in walked if m.header_offset not in seen]
    zip_archive._add_miniz_reading(data, full)
    zip_archive._check_layout(full)
    assert fast.members == full.members
    assert fast.disagreements == full.disagreements
    assert fast.limits == full.limits
    assert fast.anomalies.messages() == full.anomalies.messages()
    _, miniz_same = zip_archive._read_central_directory(data, zip_archive.Archive())
    if miniz_same:
        theirs = miniz_members(data)
        assert theirs is None or theirs == full.members
