""".npy files: object arrays carry a pickle, every other array is only a header and raw data."""

from __future__ import annotations

import ast
import io
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from container_helpers import canary_pickle, has, ids, of, scan, write_scan
from hypothesis import given
from hypothesis import strategies as st

from airlock.findings import Severity
from airlock.scan.formats.numpy_reader import _canonical_header


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "canary"
    yield path
    assert not path.exists(), "a payload ran"


def npy(descr: object, shape: object, body: bytes, version: tuple[int, int] = (1, 0)) -> bytes:
    header = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {shape!r}, }}\n"
    width = "<H" if version == (1, 0) else "<I"
    return b"\x93NUMPY" + bytes(version) + struct.pack(width, len(header)) + header.encode() + body


@pytest.mark.parametrize(
    "dtype",
    [
        "?", "i1", ">i2", "<i8", "u1", "u8", "f2", ">f4", "f8", "g", "c8", "c16", "G",
        "S5", "U7", "V8", "M8[D]", "m8[s]", [("a", "<i4", (2, 3)), ("b", "<U3")],
        [(("title", "x"), "<f4"), ("n", [("m", "u1")])], ("<f8", (2,)),
    ],
)  # fmt: skip
def test_plain_arrays_have_no_findings(tmp_path: Path, dtype: object) -> None:
    np.save(tmp_path / "a.npy", np.zeros((3, 2), dtype=np.dtype(dtype), order="F"))
    assert scan(tmp_path / "a.npy").findings == ()


def test_real_object_array_is_info(tmp_path: Path) -> None:
    np.save(tmp_path / "o.npy", np.array([1, "x", None], dtype=object))
    result = scan(tmp_path / "o.npy")
    assert has(result, "AIR301", Severity.INFO)
    assert all(f.severity <= Severity.LOW for f in result.findings)


@pytest.mark.parametrize(
    "descr",
    ["|O", "O", "object", "<i4,O", [("a", "<i4"), ("b", "|O")], [("s", [("inner", "|O")])]],
)
@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_object_dtype_payload(
    tmp_path: Path, canary: Path, descr: object, version: tuple[int, int]
) -> None:
    result = write_scan(tmp_path / "x.npy", npy(descr, (1,), canary_pickle(canary), version))
    assert has(result, "AIR301", Severity.INFO)
    [finding] = of(result, "AIR101")
    assert finding.location.members == ("object array pickle",)


def test_unknown_dtype_is_scanned_as_possible_pickle(tmp_path: Path, canary: Path) -> None:
    result = write_scan(tmp_path / "x.npy", npy("float64", (1,), canary_pickle(canary)))
    assert has(result, "AIR001", Severity.HIGH, "dtype")
    assert has(result, "AIR101", Severity.CRITICAL)


def test_declared_data_past_the_end(tmp_path: Path) -> None:
    result = write_scan(tmp_path / "x.npy", npy("<f8", (1000,), b"\x00" * 8))
    assert has(result, "AIR001", Severity.HIGH, "8000 bytes")


def test_structured_and_subarray_sizes_fit(tmp_path: Path) -> None:
    dtype = np.dtype([("a", "<i4", (2,)), ("b", "<U3"), ("t", "<M8[ns]")])
    np.save(tmp_path / "s.npy", np.zeros(4, dtype=dtype))
    assert scan(tmp_path / "s.npy").findings == ()


@pytest.mark.parametrize(
    "data",
    [
        b"\x93NUMPY",
        b"\x93NUMPY\x09\x00\x10\x00" + b" " * 16,
        b"\x93NUMPY\x01\x00\xff\xff{'descr': '<f8'}",
        npy("<f8", (1,), b"")[:10] + b"__import__('os').system('x')\n",
        npy("<f8", "(1,)", b"\x00" * 8),
        npy("<f8", (-1,), b""),
        b"\x93NUMPY\x01\x00" + struct.pack("<H", 3000) + b"(" * 2999 + b"\n",
        b"\x93NUMPY\x02\x00" + struct.pack("<I", 1 << 30) + b"{",
    ],
)
def test_malformed_headers(tmp_path: Path, data: bytes) -> None:
    result = write_scan(tmp_path / "x.npy", data)
    assert ids(result) == {"AIR001"}
    assert "header" in result.findings[0].message


CANONICAL_DTYPES = ["<f8", "|O", "|b1", "<U10", ">i4", "<M8[ns]", "|S5", "|V8", "<c16"]


@pytest.mark.parametrize("shape", [(), (3,), (0,), (3, 4), (10**17, 2), (1, 2, 3, 4, 5, 6)])
def test_numpys_own_headers_read_like_literal_eval(shape: tuple[int, ...]) -> None:
    for dtype in CANONICAL_DTYPES:
        for fortran in (False, True):
            out = io.BytesIO()
            fields = {"descr": dtype, "fortran_order": fortran, "shape": shape}
            np.lib.format.write_array_header_1_0(out, fields)
            text = out.getvalue()[10:].decode("latin1")
            assert _canonical_header(text) == ast.literal_eval(text) == fields


@given(
    st.text(alphabet="{}()'\":, 0123456789-+_LeTrueFals<f8|Oj#\\\n\t", max_size=80),
    st.sampled_from(
        [
            "{'descr': '<f8', 'fortran_order': False, 'shape': (%s), }",
            "{'descr': '%s', 'fortran_order': True, 'shape': (2,), }",
            "{'descr': '<f8', 'fortran_order': %s, 'shape': (2, 3), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }%s",
            "%s{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
        ]
    ),
)
def test_the_fast_header_path_never_disagrees_with_literal_eval(part: str, form: str) -> None:
    text = form % part
    fast = _canonical_header(text)
    if fast is not None:  # None: literal_eval decides, as before
        assert fast == ast.literal_eval(text)
