"""Class 4 of issue 12: a different byte stream than the loader's.

Each sample hides a payload where the real loader reads bytes that a naive scanner does not
(or reads them in another order): joblib's inline array bytes with dtypes spelled any way numpy
accepts, the oldest torch.save tar layout (pickles interleaved with raw storage bytes), the
non-tar legacy layout, and zips whose end-of-central-directory record PyTorch's miniz finds
elsewhere than a naive reader. Every sample is proved live once with the real loader (grouped
per loader, one child process each) and must be blocked at >= HIGH by the default scan.
"""

from __future__ import annotations

import io
import pickle
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from adversarial.live import (
    LOADER_MODULES,
    assert_blocked,
    assert_clean,
    canary_shell,
    run_snippet,
)
from samples import pickle_bytes as pb

# --------------------------------------------------------------------------------------------
# Helpers


def _system(canary: Path, version: int = 2) -> bytes:
    """os.system('touch canary'): the payload, as a pickle fragment that leaves one value."""
    return pb.call_global("os", "system", pb.text(canary_shell(canary), version))


def _payload_pickle(canary: Path, version: int = 2) -> bytes:
    head = pb.proto(version) if version >= 2 else b""
    return head + _system(canary, version) + pb.stop()


def _prove_all(loader: str, samples: dict[Path, Path], code: str | None = None) -> None:
    """Load every sample with the real loader in one child process; every canary must fire."""
    import importlib.util

    module = LOADER_MODULES.get(loader.split("_")[0])
    if module is not None and importlib.util.find_spec(module) is None:
        return  # the library is missing: only the live proof is skipped, not the scan
    load = (
        code
        or {
            "joblib": "import joblib\njoblib.load(p)",
            "joblib_mmap": "import joblib\njoblib.load(p, mmap_mode='r')",
            "torch": "import torch\ntorch.load(p, weights_only=False)",
            "pickle": "import pickle\nwith open(p, 'rb') as f: pickle.load(f)",
        }[loader]
    )
    body = "\n".join("    " + line for line in load.splitlines())
    program = (
        f"for p in {[str(p) for p in samples]!r}:\n"
        "  try:\n"
        f"{body}\n"
        "  except Exception as exc:\n"
        "    print(p, 'raised', repr(exc)[:300])\n"
    )
    first = next(iter(samples))
    output = run_snippet(program, first, timeout=300)
    dead = [p.name for p, canary in samples.items() if not canary.exists()]
    assert not dead, f"samples that did not fire under {loader}: {dead}\n{output[-4000:]}"
    for canary in samples.values():
        canary.unlink()


# --------------------------------------------------------------------------------------------
# joblib: NumpyArrayWrapper followed by raw array bytes

_WRAPPER = pb.global_("joblib.numpy_pickle", "NumpyArrayWrapper")


def _dtype(*args: bytes, state: bytes | None = None) -> bytes:
    call = pb.call_global("numpy", "dtype", *args)
    return call if state is None else call + state + pb.build()


def _s(value: str) -> bytes:
    return pb.binunicode(value)


def _tuple(*items: bytes) -> bytes:
    return pb.mark() + b"".join(items) + pb.tuple_()


def _ints(*values: int) -> bytes:
    return _tuple(*(pb.binint(v) for v in values))


def _state_items(dtype: bytes, shape: bytes, align: bytes | None, order: str = "C") -> bytes:
    items = [
        _s("subclass") + pb.global_("numpy", "ndarray"),
        _s("shape") + shape,
        _s("order") + _s(order),
        _s("dtype") + dtype,
        _s("allow_mmap") + pb.newtrue(),
    ]
    if align is not None:
        items.append(_s("numpy_array_alignment_bytes") + align)
    return pb.empty_dict() + pb.mark() + b"".join(items) + pb.setitems()


def joblib_sample(
    canary: Path,
    dtype: bytes,
    nbytes: int,
    *,
    shape: bytes | None = None,
    align: bytes | None = pb.binint1(16),
    padding: int | None = 0x2E,
    wrapper: bytes | None = None,
) -> bytes:
    """A joblib stream whose wrapper is followed by `nbytes` of array data, then the payload.
    The padding length byte, the padding and the array are all STOP opcodes (0x2E), so a
    scanner that steps over the wrong length, or none, lands on a STOP and sees a benign end."""
    shape = shape if shape is not None else _ints(nbytes)
    head = wrapper if wrapper is not None else _WRAPPER + pb.empty_tuple() + pb.newobj()
    body = pb.proto(2) + head + _state_items(dtype, shape, align) + pb.build()
    if padding is not None:
        body += bytes([padding]) + b"." * padding
    body += b"." * nbytes
    return body + pb.pop() + _system(canary) + pb.stop() + b"." * 64


def _f8_state(order: str) -> bytes:
    return _tuple(
        pb.binint1(3), _s(order), pb.none(), pb.none(), pb.none(),
        pb.binint(-1), pb.binint(-1), pb.binint1(0),
    )  # fmt: skip


# (name, dtype expression, item size in bytes): every spelling numpy.dtype() accepts.
_SPELLINGS: list[tuple[str, bytes, int]] = [
    *[
        (f"str-{spelling}", _dtype(_s(spelling)), size)
        for spelling, size in [
            ("float64", 8), ("int64", 8), ("<f8", 8), ("f8", 8), ("d", 8), ("float", 8),
            ("double", 8), (">f8", 8), ("=f8", 8), ("|u1", 1), ("uint8", 1), ("int32", 4),
            ("i", 4), ("l", 8), ("q", 8), ("float16", 2), ("half", 2), ("e", 2),
            ("complex128", 16), ("c16", 16), ("complex", 16), ("D", 16), ("F", 8),
            ("longdouble", 16), ("g", 16), ("bool", 1), ("?", 1), ("b1", 1), ("int8", 1),
            ("B", 1), ("h", 2), ("H", 2), ("uint16", 2), ("U3", 12), ("<U3", 12), ("S5", 5),
            ("a5", 5), ("V7", 7), ("M8[ns]", 8), ("datetime64[s]", 8), ("m8", 8),
            ("timedelta64[ms]", 8), ("f8,i4", 12),
            ("i4, (2,3)f8", 52), ("int_", 8), ("intp", 8), ("uintp", 8), ("single", 4),
            ("csingle", 8), ("f", 4), ("float32", 4), ("p", 8),
        ]
    ],
    ("pickled-f8-big-endian", _dtype(_s("f8"), pb.newfalse(), pb.newtrue(),
                                     state=_f8_state(">")), 8),
    ("pickled-f8-little", _dtype(_s("f8"), pb.newfalse(), pb.newtrue(),
                                 state=_f8_state("<")), 8),
    ("type-numpy.float64", _dtype(pb.global_("numpy", "float64")), 8),
    ("type-builtins.float", _dtype(pb.global_("builtins", "float")), 8),
    ("type-builtins.int", _dtype(pb.global_("builtins", "int")), 8),
    ("type-builtins.complex", _dtype(pb.global_("builtins", "complex")), 16),
    ("list-fields", _dtype(pb.mark() + _tuple(_s("a"), _s("<f8")) + _tuple(_s("b"), _s("<i4"))
                           + pb.list_()), 12),
    ("dict-fields", _dtype(pb.empty_dict() + pb.mark()
                           + _s("names") + pb.mark() + _s("a") + _s("b") + pb.list_()
                           + _s("formats") + pb.mark() + _s("f8") + _s("u1") + pb.list_()
                           + pb.setitems()), 9),
    ("dtype-of-dtype", _dtype(_dtype(_s("float64"))), 8),
    ("dtype-aligned", _dtype(_s("u1,f8"), pb.newtrue()), 16),
    ("dtypes-class", pb.global_("numpy.dtypes", "Float64DType") + pb.empty_tuple()
     + pb.reduce(), 8),
    ("core-multiarray-dtype", pb.call_global("numpy.core.multiarray", "dtype", _s("float64")),
     8),
]  # fmt: skip


def _joblib_variants(canary_dir: Path) -> dict[str, tuple[bytes, Path]]:
    out: dict[str, tuple[bytes, Path]] = {}

    def add(name: str, build: Callable[[Path], bytes]) -> None:
        canary = canary_dir / f"canary-{name}"
        out[name] = (build(canary), canary)

    for name, dtype, size in _SPELLINGS:
        add(name, lambda c, d=dtype, s=size: joblib_sample(c, d, 3 * s, shape=_ints(3)))
    f8 = _dtype(_s("float64"))
    add(
        "shape-list",
        lambda c: joblib_sample(
            c, f8, 48, shape=pb.mark() + pb.binint1(2) + pb.binint1(3) + pb.list_()
        ),
    )
    add("shape-0d", lambda c: joblib_sample(c, f8, 8, shape=pb.empty_tuple()))
    add("shape-long", lambda c: joblib_sample(c, f8, 16, shape=_tuple(pb.long1(2))))
    add(
        "align-none",
        lambda c: joblib_sample(c, f8, 24, shape=_ints(3), align=pb.none(), padding=None),
    )
    add("align-false", lambda c: joblib_sample(c, f8, 24, shape=_ints(3), align=pb.newfalse()))
    add("align-zero", lambda c: joblib_sample(c, f8, 24, shape=_ints(3), align=pb.binint1(0)))
    add(
        "align-missing",
        lambda c: joblib_sample(c, f8, 24, shape=_ints(3), align=None, padding=None),
    )
    add("padding-7", lambda c: joblib_sample(c, f8, 24, shape=_ints(3), padding=7))
    add("padding-255", lambda c: joblib_sample(c, f8, 24, shape=_ints(3), padding=255))
    # The wrapper made by calling the class: attributes come from __init__'s arguments (and
    # its default alignment of 16), the BUILD state is empty.
    init = (
        _WRAPPER + pb.mark() + pb.global_("numpy", "ndarray") + _ints(3) + _s("C")
        + _dtype(_s("float64")) + pb.tuple_() + pb.reduce()
    )  # fmt: skip
    add(
        "init-args",
        lambda c: (
            pb.proto(2)
            + init
            + pb.empty_dict()
            + pb.build()
            + b"\x00"
            + b"." * 24
            + pb.pop()
            + _system(c)
            + pb.stop()
        ),
    )

    def framed_build(canary: Path) -> bytes:
        # joblib's unpickler reads the array from the file, i.e. after the current frame,
        # while the opcodes after BUILD still come from inside the frame.
        inner = (
            _WRAPPER + pb.empty_tuple() + pb.newobj()
            + _state_items(f8, _ints(3), pb.binint1(16)) + pb.build()
            + pb.pop() + _system(canary) + pb.stop()
        )  # fmt: skip
        return pb.proto(4) + pb.frame(len(inner)) + inner + b"\x00" + b"." * 24

    add("build-inside-frame", framed_build)
    object_new = (
        pb.short_binunicode("builtins") + pb.short_binunicode("object.__new__")
        + pb.stack_global() + _WRAPPER + pb.tuple1() + pb.reduce()
    )  # fmt: skip
    add(
        "object-new",
        lambda c: (
            b"\x80\x04"
            + object_new
            + _state_items(f8, _ints(3), pb.binint1(16))
            + pb.build()
            + b"\x00"
            + b"." * 24
            + pb.pop()
            + _system(c)
            + pb.stop()
        ),
    )
    return out


def _companion_variants(folder: Path) -> dict[str, tuple[bytes, Path]]:
    """joblib < 0.10 wrappers whose array is numpy.load(allow_pickle=True)-ed from a file
    outside the folder being scanned (here: a pickle in a sibling folder)."""
    out: dict[str, tuple[bytes, Path]] = {}
    wrapper = pb.global_("joblib.numpy_pickle", "NDArrayWrapper")
    outside = folder.parent / f"{folder.name}-outside"
    outside.mkdir(exist_ok=True)
    for name, spelled in [("relative", None), ("absolute", "abs"), ("init-args", "init")]:
        canary = folder / f"canary-companion-{name}"
        evil = outside / f"{name}.npy"
        evil.write_bytes(_payload_pickle(canary))
        target = str(evil) if spelled == "abs" else f"../{outside.name}/{evil.name}"
        if spelled == "init":
            head = wrapper + _tuple(_s(target), pb.global_("numpy", "ndarray")) + pb.reduce()
            state = pb.empty_dict()
        else:
            head = wrapper + pb.empty_tuple() + pb.newobj()
            state = pb.empty_dict() + pb.mark() + _s("filename") + _s(target) + _s("subclass")
            state += pb.global_("numpy", "ndarray") + _s("allow_mmap") + pb.newfalse()
            state += pb.setitems()
        out[f"companion-{name}"] = (pb.proto(2) + head + state + pb.build() + pb.stop(), canary)
    return out


def _mmap_variants(folder: Path) -> dict[str, tuple[bytes, Path]]:
    """Read with joblib.load(mmap_mode='r'): numpy.memmap takes a bare int as the shape."""
    canary = folder / "canary-mmap-int-shape"
    f8 = _dtype(_s("f8"), pb.newfalse(), pb.newtrue(), state=_f8_state("<"))
    return {"mmap-int-shape": (joblib_sample(canary, f8, 24, shape=pb.binint1(3)), canary)}


def _pickle_load_variants(folder: Path) -> dict[str, tuple[bytes, Path]]:
    """Read with plain pickle.load, which knows no array bytes: what joblib reads as an array
    (exactly sized, in numpy's own dtype form) is opcodes to it."""
    out: dict[str, tuple[bytes, Path]] = {}
    u1 = _dtype(_s("u1"), pb.newfalse(), pb.newtrue(), state=_tuple(
        pb.binint1(3), _s("|"), pb.none(), pb.none(), pb.none(),
        pb.binint(-1), pb.binint(-1), pb.binint1(0)))  # fmt: skip
    for name, align in [("unaligned", pb.none()), ("aligned", pb.binint1(16))]:
        canary = folder / f"canary-pickle-load-{name}"
        hidden = pb.pop() + _system(canary) + pb.stop()
        state = _state_items(u1, _ints(len(hidden)), align)
        data = pb.proto(2) + _WRAPPER + pb.empty_tuple() + pb.newobj() + state + pb.build()
        if name == "aligned":
            # joblib reads a padding length byte, then that much padding: 'N' (78) is also
            # NONE to pickle.load, so both readers walk through the same 79 bytes.
            data += pb.none() * 79
        out[f"pickle-load-{name}"] = (data + hidden + pb.stop(), canary)
    return out


def _write_and_prove(
    folder: Path, variants: dict[str, tuple[bytes, Path]], suffix: str, loader: str
) -> dict[str, tuple[Path, Path]]:
    """Write each variant as `<name><suffix>` and prove them all live with `loader`."""
    samples: dict[str, tuple[Path, Path]] = {}
    for name, (data, canary) in variants.items():
        path = folder / f"{name}{suffix}"
        path.write_bytes(data)
        samples[name] = (path, canary)
    _prove_all(loader, dict(samples.values()))
    return samples


@pytest.fixture(scope="module")
def joblib_samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("joblib")
    samples: dict[str, tuple[Path, Path]] = {}
    variants = {**_joblib_variants(folder), **_companion_variants(folder)}
    for name, (data, canary) in variants.items():
        path = folder / f"{name}.joblib"
        path.write_bytes(data)
        samples[name] = (path, canary)
    _prove_all("joblib", dict(samples.values()))
    plain = _pickle_load_variants(folder)
    for name, (data, canary) in plain.items():
        path = folder / f"{name}.pkl"
        path.write_bytes(data)
        samples[name] = (path, canary)
    _prove_all("pickle", {samples[name][0]: samples[name][1] for name in plain})
    for name, (data, canary) in _mmap_variants(folder).items():
        path = folder / f"{name}.joblib"
        path.write_bytes(data)
        samples[name] = (path, canary)
    _prove_all(
        "joblib",
        {samples["mmap-int-shape"][0]: samples["mmap-int-shape"][1]},
        code="import joblib\njoblib.load(p, mmap_mode='r')",
    )
    return samples


@pytest.mark.parametrize(
    "name",
    [
        *_joblib_variants(Path("/nonexistent")),
        "companion-relative",
        "companion-absolute",
        "companion-init-args",
        "mmap-int-shape",
        "pickle-load-unaligned",
        "pickle-load-aligned",
    ],
)
def test_joblib_inline_array_desync_is_blocked(
    name: str, joblib_samples: dict[str, tuple[Path, Path]]
) -> None:
    path, canary = joblib_samples[name]
    assert_blocked(path, canary)


class _Unseekable(io.BytesIO):
    def tell(self) -> int:
        raise io.UnsupportedOperation("not seekable")


def _benign_arrays() -> dict[str, object]:
    import numpy as np

    return {
        "float64": np.arange(7, dtype=np.float64),
        "int64": np.arange(5, dtype=np.int64),
        "float16": np.ones(3, dtype=np.float16),
        "bool": np.array([True, False, True]),
        "complex": np.array([1 + 2j, 3j], dtype=np.complex128),
        "complex64": np.array([1 + 2j], dtype=np.complex64),
        "longdouble": np.ones(2, dtype=np.longdouble),
        "structured": np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8", (2,)), ("c", "S3")]),
        "nested-structured": np.zeros(2, dtype=[("p", [("x", "<f4"), ("y", "u1")]), ("q", "?")]),
        "aligned-structured": np.zeros(2, dtype=np.dtype([("a", "u1"), ("b", "<f8")], align=True)),
        "big-endian": np.arange(4, dtype=">f8"),
        "big-endian-int": np.arange(4, dtype=">i2"),
        "fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        "0-d": np.array(3.5),
        "empty": np.zeros((0, 4)),
        "unicode": np.array(["ab", "cde"]),
        "bytes": np.array([b"ab", b"c"]),
        "void": np.zeros(2, dtype="V5"),
        "datetime": np.array(["2024-01-01", "2025-06-30"], dtype="datetime64[D]"),
        "timedelta": np.array([1, 2], dtype="timedelta64[ms]"),
        "object": np.array([1, "two", None], dtype=object),
        "object-field": np.zeros(2, dtype=[("a", "O"), ("b", "<i8")]),
        "record": np.rec.array([(1, 2.0)], dtype=[("x", "i4"), ("y", "f8")]),
        "matrix-like": np.arange(6, dtype=np.uint16).reshape(2, 3),
        "uint64": np.arange(3, dtype=np.uint64),
        "int8": np.arange(3, dtype=np.int8),
    }


@pytest.mark.parametrize("compress", [0, 3])
@pytest.mark.parametrize("protocol", [None, 0, 2, 4, 5])
def test_joblib_dumps_of_numpy_arrays_are_clean(
    tmp_path: Path, compress: int, protocol: int | None
) -> None:
    joblib = pytest.importorskip("joblib")
    arrays = _benign_arrays()
    for name, array in arrays.items():
        path = tmp_path / f"{name}.joblib"
        joblib.dump({"x": array, "y": [array, array]}, path, compress=compress, protocol=protocol)
        _assert_in_step(path)
    together = tmp_path / "all.joblib"
    joblib.dump(arrays, together, compress=compress, protocol=protocol)
    _assert_in_step(together)
    # joblib.dump into a stream that cannot tell() writes no alignment padding.
    stream = _Unseekable()
    joblib.dump(arrays, stream, protocol=protocol)
    unaligned = tmp_path / "unaligned.joblib"
    unaligned.write_bytes(stream.getvalue())
    _assert_in_step(unaligned)


# --------------------------------------------------------------------------------------------
# torch.save's oldest layout: a tar whose `storages` and `tensors` members interleave pickles
# with raw bytes (torch/serialization.py, legacy_load), and the non-tar legacy layout.

_MAGIC = 0x1950A86A20F9469CFC6C


def _p2(body: bytes) -> bytes:
    return pb.proto(2) + body + pb.stop()


def _hidden(canary: Path, value: bytes) -> bytes:
    """A pickle that runs the payload and still returns `value` (what torch expects there)."""
    return _p2(_system(canary) + pb.pop() + value)


def _storage_record(key: int, type_module: str = "torch", type_name: str = "FloatStorage") -> bytes:
    return _tuple(pb.binint(key), _s("cpu"), pb.global_(type_module, type_name))


def _raw_storage(count: int, itemsize: int) -> bytes:
    return struct.pack("<q", count) + b"." * (count * itemsize)


def _tensor_struct(size: int) -> bytes:
    return struct.pack("<i", 1) + b"\x00" * 4 + struct.pack("<qqq", size, 1, 0)


def _framed_first(body: bytes) -> bytes:
    """A pickle that opens with a FRAME holding all of it (no PROTO before it)."""
    return pb.frame(len(body) + 1) + body + pb.stop()


def legacy_tar(members: dict[str, bytes]) -> bytes:
    """A tar in the PAX format, members in the order old torch.save wrote them."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _tar_members(
    storages: bytes | None = None, tensors: bytes | None = None, main: bytes | None = None
) -> dict[str, bytes]:
    sys_info = _p2(
        pb.empty_dict() + pb.mark() + _s("protocol_version") + pb.binint(1001)
        + _s("little_endian") + pb.newtrue() + pb.setitems()
    )  # fmt: skip
    default_storages = (
        _p2(pb.binint1(1)) + _p2(_storage_record(0)) + _raw_storage(4, 4) + _p2(pb.empty_list())
    )
    default_tensors = _p2(pb.binint1(1)) + _p2(
        _tuple(pb.binint(1), pb.binint(0), pb.global_("torch", "FloatTensor"))
    )
    default_tensors += _tensor_struct(4)
    default_main = _p2(pb.empty_dict() + _s("weight") + _s("1") + pb.binpersid() + pb.setitem())
    return {
        "sys_info": sys_info,
        "pickle": main if main is not None else default_main,
        "tensors": tensors if tensors is not None else default_tensors,
        "storages": storages if storages is not None else default_storages,
    }


def _tar_variants(folder: Path) -> dict[str, tuple[bytes, Path]]:
    out: dict[str, tuple[bytes, Path]] = {}

    def add(name: str, build: Callable[[Path], dict[str, bytes]]) -> None:
        canary = folder / f"canary-{name}"
        out[name] = (legacy_tar(build(canary)), canary)

    one = _p2(pb.binint1(1))
    two = _p2(pb.binint1(2))
    add(
        "storages-views-after-raw",
        lambda c: _tar_members(
            storages=one
            + _p2(_storage_record(0))
            + _raw_storage(4, 4)
            + _hidden(c, pb.empty_list())
        ),
    )
    add(
        "storages-second-record",
        lambda c: _tar_members(
            storages=two
            + _p2(_storage_record(0))
            + _raw_storage(4, 4)
            + _hidden(c, _storage_record(7))
            + _raw_storage(3, 4)
            + _p2(pb.empty_list())
        ),
    )
    for type_name, size in [("DoubleStorage", 8), ("HalfStorage", 2), ("LongStorage", 8),
                            ("ByteStorage", 1), ("BoolStorage", 1), ("ComplexDoubleStorage", 16),
                            ("BFloat16Storage", 2)]:  # fmt: skip
        add(
            f"storages-{type_name}",
            lambda c, t=type_name, s=size: _tar_members(
                storages=one
                + _p2(_storage_record(0, type_name=t))
                + _raw_storage(5, s)
                + _hidden(c, pb.empty_list())
            ),
        )
    add(
        "storages-cuda-module",
        lambda c: _tar_members(
            storages=one
            + _p2(_storage_record(0, "torch.cuda", "FloatStorage"))
            + _raw_storage(4, 4)
            + _hidden(c, pb.empty_list())
        ),
    )
    add(
        "storages-protocol-0-views",
        lambda c: _tar_members(
            storages=one
            + _p2(_storage_record(0))
            + _raw_storage(4, 4)
            + _system(c, 0)
            + pb.pop()
            + pb.empty_list()
            + pb.stop()
        ),
    )
    add(
        "tensors-second-record",
        lambda c: _tar_members(
            storages=two
            + _p2(_storage_record(0))
            + _raw_storage(4, 4)
            + _p2(_storage_record(7))
            + _raw_storage(4, 4)
            + _p2(pb.empty_list()),
            tensors=_p2(pb.binint1(2))
            + _p2(_tuple(pb.binint(1), pb.binint(0), pb.global_("torch", "FloatTensor")))
            + _tensor_struct(4)
            + _hidden(c, _tuple(pb.binint(2), pb.binint(7), pb.global_("torch", "FloatTensor")))
            + _tensor_struct(4),
        ),
    )
    # torch unpickles these members whatever their first bytes look like (here: FRAME).
    add(
        "pickle-member-frame-first",
        lambda c: _tar_members(main=_framed_first(_system(c, 0))),
    )
    add(
        "storages-frame-first",
        lambda c: _tar_members(
            storages=_framed_first(_system(c, 0) + pb.pop() + pb.int_(0)) + _p2(pb.empty_list())
        ),
    )
    return out


@pytest.fixture(scope="module")
def tar_samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("legacy_tar")
    return _write_and_prove(folder, _tar_variants(folder), ".pt", "torch")


@pytest.mark.parametrize("name", list(_tar_variants(Path("/nonexistent"))))
def test_legacy_torch_tar_payload_after_raw_bytes_is_blocked(
    name: str, tar_samples: dict[str, tuple[Path, Path]]
) -> None:
    path, canary = tar_samples[name]
    assert_blocked(path, canary)


def test_legacy_torch_tar_checkpoint_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "old.pt"
    path.write_bytes(legacy_tar(_tar_members()))
    findings = assert_clean(path)
    assert not [f for f in findings if f.rule_id in ("AIR205", "AIR107")]
    if LOADER_MODULES["torch"] and __import__("importlib").util.find_spec("torch"):
        output = run_snippet(
            "import torch\nprint(torch.load(path, weights_only=False)['weight'].shape)", path
        )
        assert "torch.Size([4])" in output, output


# --------------------------------------------------------------------------------------------
# Zip: PyTorch reads checkpoints with miniz, which finds the end-of-central-directory record by
# its own rules (the last signature with a whole record after it, 4 KiB blocks back from the
# end, no allowance for prepended bytes); a stray or far-away signature makes other readers see
# another archive.


def _local(name: str, data: bytes) -> bytes:
    raw = name.encode()
    head = struct.pack(
        "<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0,
        zlib.crc32(data), len(data), len(data), len(raw), 0,
    )  # fmt: skip
    return head + raw + data


def _central(name: str, data: bytes, offset: int) -> bytes:
    raw = name.encode()
    head = struct.pack(
        "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0,
        zlib.crc32(data), len(data), len(data), len(raw), 0, 0, 0, 0, 0, offset,
    )  # fmt: skip
    return head + raw


def _eocd(count: int, cd_size: int, cd_offset: int, comment: bytes = b"") -> bytes:
    return (
        struct.pack(
            "<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, cd_size, cd_offset, len(comment)
        )
        + comment
    )


def _torch_records() -> dict[str, bytes]:
    """The records of a real torch.save zip of a small dict (data.pkl among them)."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:  # scan-only: a torch.save-like layout
        return {
            "archive/data.pkl": pickle.dumps({"a": 1}, protocol=2),
            "archive/byteorder": b"little",
            "archive/version": b"3\n",
        }
    import torch

    buffer = io.BytesIO()
    torch.save({"a": 1}, buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _hidden_layout(records: dict[str, bytes], payload: bytes) -> tuple[bytes, dict[str, int]]:
    """Local entries: the real records, a decoy data.pkl, and a `pad` entry whose data holds
    the payload data.pkl's own local header. Returns the body and where each real record's
    local header is (data.pkl: the hidden one)."""
    pkl = next(name for name in records if name.endswith("/data.pkl"))
    body, offsets = b"", {}
    for name, data in records.items():
        if name != pkl:
            offsets[name] = len(body)
            body += _local(name, data)
    body += _local(pkl, records[pkl])  # the decoy: what a local-header walk finds
    pad_at = len(body)
    hidden = _local(pkl, payload)
    pad_name = pkl.rsplit("/", 1)[0] + "/pad"
    body += _local(pad_name, b"JUNK" + hidden)
    offsets[pkl] = pad_at + len(_local(pad_name, b"")) + 4
    return body, offsets


def _directory(records: dict[str, bytes], payload: bytes, offsets: dict[str, int]) -> bytes:
    pkl = next(name for name in records if name.endswith("/data.pkl"))
    return b"".join(
        _central(name, payload if name == pkl else data, offsets[name])
        for name, data in records.items()
    )


def _zip_variants(folder: Path) -> dict[str, tuple[bytes, Path]]:
    out: dict[str, tuple[bytes, Path]] = {}
    records = _torch_records()
    count = len(records)

    def add(name: str, build: Callable[[bytes], bytes]) -> None:
        canary = folder / f"canary-{name}"
        out[name] = (build(_payload_pickle(canary)), canary)

    def tail_variant(payload: bytes, tail: bytes, comment: bytes = b"") -> bytes:
        body, offsets = _hidden_layout(records, payload)
        directory = _directory(records, payload, offsets)
        return body + directory + _eocd(count, len(directory), len(body), comment) + tail

    for extra in (0, 1, 8, 17):
        add(
            f"stray-eocd-appended-{extra}",
            lambda p, e=extra: tail_variant(p, b"PK\x05\x06" + b"\x00" * e),
        )
    add(
        "stray-eocd-in-comment",
        lambda p: tail_variant(p, b"", comment=b"model card v1 " + b"PK\x05\x06" + b"\x01\x02\x03"),
    )

    def shifted(payload: bytes) -> bytes:
        # miniz reads the central directory at its absolute offset; Python's zipfile (and a
        # reader modelled on it) shifts it by the gap before the end record, reading a decoy.
        pkl = next(name for name in records if name.endswith("/data.pkl"))
        pad = _local("archive/pad", b"JUNK" + _local(pkl, payload) + b"\x00" * 2048)
        real_offsets = {pkl: len(_local("archive/pad", b"")) + 4}
        body = pad
        for name, data in records.items():
            if name != pkl:
                real_offsets[name] = len(body)
                body += _local(name, data)
        decoy_at = len(body)
        body += _local(pkl, records[pkl])
        real = _directory(records, payload, real_offsets)
        gap = len(real)
        decoy_offsets = {name: at - gap for name, at in real_offsets.items()}
        decoy_offsets[pkl] = decoy_at - gap
        decoy = b"".join(
            _central(name, data, decoy_offsets[name]) for name, data in records.items()
        )
        assert len(decoy) == gap
        return body + real + decoy + _eocd(count, gap, len(body))

    add("prepended-shift-decoy", shifted)
    return out


@pytest.fixture(scope="module")
def zip_samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("zip")
    return _write_and_prove(folder, _zip_variants(folder), ".pt", "torch")


_ZIP_NAMES = [
    *[f"stray-eocd-appended-{extra}" for extra in (0, 1, 8, 17)],
    "stray-eocd-in-comment", "prepended-shift-decoy",
]  # fmt: skip


@pytest.mark.parametrize("name", _ZIP_NAMES)
def test_zip_read_differently_by_miniz_is_blocked(
    name: str, zip_samples: dict[str, tuple[Path, Path]]
) -> None:
    path, canary = zip_samples[name]
    assert_blocked(path, canary)


def _legacy_file(
    magic: bytes | None = None,
    protocol: bytes | None = None,
    sys_info: bytes | None = None,
    main: bytes | None = None,
    keys: bytes | None = None,
) -> bytes:
    """torch.save's non-tar legacy layout: magic, protocol, sys_info, object, storage keys."""
    return (
        (magic if magic is not None else _p2(pb.long1(_MAGIC)))
        + (protocol if protocol is not None else _p2(pb.binint2(1001)))
        + (sys_info if sys_info is not None else _p2(pb.empty_dict()))
        + (main if main is not None else _p2(pb.empty_dict() + _s("a") + pb.binint1(1)
                                            + pb.setitem()))
        + (keys if keys is not None else _p2(pb.empty_list()))
    )  # fmt: skip


def _legacy_variants(folder: Path) -> dict[str, tuple[bytes, Path]]:
    out: dict[str, tuple[bytes, Path]] = {}

    def add(name: str, build: Callable[[Path], bytes]) -> None:
        canary = folder / f"canary-{name}"
        out[name] = (build(canary), canary)

    add("sys-info", lambda c: _legacy_file(sys_info=_hidden(c, pb.empty_dict())))
    add(
        "sys-info-protocol-0",
        lambda c: _legacy_file(sys_info=_system(c, 0) + pb.pop() + pb.empty_dict() + pb.stop()),
    )
    add("protocol-pickle", lambda c: _legacy_file(protocol=_hidden(c, pb.binint2(1001))))
    add("storage-keys", lambda c: _legacy_file(keys=_hidden(c, pb.empty_list())))
    # A stream that opens with FRAME does not look like a pickle to a heuristic, but the
    # unpickler reads it all the same.
    add(
        "storage-keys-frame-first",
        lambda c: _legacy_file(
            keys=pb.frame(3) + _system(c, 0) + pb.pop() + pb.empty_list() + pb.stop()
        ),
    )
    add(
        "sys-info-frame-first",
        lambda c: _legacy_file(
            sys_info=pb.frame(1) + _system(c, 0) + pb.pop() + pb.empty_dict() + pb.stop()
        ),
    )
    add(
        "magic-computed",
        lambda c: _legacy_file(
            magic=_p2(pb.call_global("builtins", "int", _s(hex(_MAGIC)), pb.binint1(16))),
            keys=pb.frame(3) + _system(c, 0) + pb.pop() + pb.empty_list() + pb.stop(),
        ),
    )
    add(
        "magic-frame-first",
        lambda c: _legacy_file(
            magic=pb.frame(12) + pb.long1(_MAGIC) + pb.stop(), sys_info=_hidden(c, pb.empty_dict())
        ),
    )
    return out


@pytest.fixture(scope="module")
def legacy_samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("legacy")
    # pytorch_model.bin: the usual name of such checkpoints
    return _write_and_prove(folder, _legacy_variants(folder), ".bin", "torch")


@pytest.mark.parametrize("name", list(_legacy_variants(Path("/nonexistent"))))
def test_legacy_torch_later_pickles_are_blocked(
    name: str, legacy_samples: dict[str, tuple[Path, Path]]
) -> None:
    path, canary = legacy_samples[name]
    assert_blocked(path, canary)


# --------------------------------------------------------------------------------------------
# Benign files from the real libraries: clean, and nothing says the walk lost its way.

_STREAM_RULES = ("AIR205", "AIR206", "AIR106", "AIR107")


def _assert_in_step(path: Path) -> None:
    findings = assert_clean(path)
    lost = [f for f in findings if f.rule_id in _STREAM_RULES]
    assert not lost, f"{path.name}: {[(f.rule_id, f.message[:100]) for f in lost]}"


@pytest.mark.parametrize("zipped", [True, False])
def test_torch_checkpoints_are_clean(tmp_path: Path, zipped: bool) -> None:
    torch = pytest.importorskip("torch")
    values = {
        "state_dict": torch.nn.Sequential(
            torch.nn.Linear(4, 3), torch.nn.LayerNorm(3)
        ).state_dict(),
        "dtypes": {
            str(d): torch.ones(3, dtype=d)
            for d in (
                torch.float64,
                torch.float16,
                torch.bfloat16,
                torch.int8,
                torch.uint8,
                torch.bool,
                torch.int64,
                torch.complex64,
            )
        },
        "views": [torch.arange(10.0)[2:5], torch.arange(6).reshape(2, 3).t()],
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 4),
        "mixed": {"step": 3, "lr": 0.1, "names": ["a", "b"], "t": torch.randn(2, 2)},
    }
    for name, value in values.items():
        path = tmp_path / f"{name}.pt"
        torch.save(value, path, _use_new_zipfile_serialization=zipped)
        _assert_in_step(path)


def test_npz_files_are_clean(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    arrays = {k: v for k, v in _benign_arrays().items() if v.dtype != object}  # type: ignore[attr-defined]
    plain, packed = tmp_path / "plain.npz", tmp_path / "packed.npz"
    np.savez(plain, **arrays)
    np.savez_compressed(packed, **arrays)
    for path in (plain, packed):
        _assert_in_step(path)
    for name, array in arrays.items():
        path = tmp_path / f"{name}.npy"
        np.save(path, array)
        _assert_in_step(path)


@pytest.mark.parametrize("compress", [0, 3, ("lzma", 2)])
def test_sklearn_models_via_joblib_are_clean(tmp_path: Path, compress: object) -> None:
    joblib = pytest.importorskip("joblib")
    pytest.importorskip("sklearn")
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.random.default_rng(0).normal(size=(40, 3))
    y = (x[:, 0] > 0).astype(int)
    models = {
        "forest": RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y),
        "pipeline": make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y),
    }
    for name, model in models.items():
        path = tmp_path / f"{name}.joblib"
        joblib.dump(model, path, compress=compress)
        _assert_in_step(path)


def test_streams_after_a_computed_first_value_are_all_read(tmp_path: Path) -> None:
    """A first value computed while loading may be torch's magic number, so the next four are
    read whatever they look like; past them, back-to-back streams are still followed, as a
    loop of pickle.load calls reads them."""
    canary = tmp_path / "canary-loop"
    first = _p2(pb.call_global("collections", "OrderedDict"))
    data = first + _p2(pb.none()) * 5 + _payload_pickle(canary)
    path = tmp_path / "records.pkl"
    path.write_bytes(data)
    loop = "import pickle\nwith open(p, 'rb') as f:\n    while f.peek(1):\n        pickle.load(f)"
    _prove_all("pickle", {path: canary}, code=loop)
    assert_blocked(path, canary)
