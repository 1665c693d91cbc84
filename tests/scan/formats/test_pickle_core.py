"""Unit tests of the pickle core: bounded decoding, symbolic interpretation, payload recovery."""

from __future__ import annotations

import base64
import pickle
import zlib
from typing import Any

import pytest

from airlock.scan.formats.pickle.embedded import embedded_pickle
from airlock.scan.formats.pickle.interpreter import Interpreter
from airlock.scan.formats.pickle.listener import canonical_global
from airlock.scan.formats.pickle.opcodes import PickleDecodeError, decode_op, looks_like_pickle
from airlock.scan.formats.pickle.payloads import concrete_bytes
from airlock.scan.formats.pickle.values import Call, Global, SymDict, render
from airlock.scan.names.pickle_globals import GlobalsPolicy, Status


class Recorder:
    def __init__(self) -> None:
        self.globals: list[Global] = []
        self.calls: list[Call] = []
        self.builds: list[tuple[Any, Any]] = []
        self.dynamic: list[tuple[Any, Any]] = []
        self.extensions: list[int] = []
        self.constants: list[Any] = []

    def on_global(self, glob: Global) -> None:
        self.globals.append(glob)

    def on_dynamic_import(self, module: Any, name: Any, offset: int) -> None:
        self.dynamic.append((module, name))

    def on_call(self, call: Call) -> None:
        self.calls.append(call)

    def on_build(self, target: Any, state: Any, offset: int) -> None:
        self.builds.append((target, state))

    def on_extension(self, code: int, offset: int) -> None:
        self.extensions.append(code)

    def on_constant(self, value: Any, offset: int) -> None:
        self.constants.append(value)


def run(data: bytes) -> tuple[Recorder, Any]:
    recorder = Recorder()
    result = Interpreter(data, recorder).run(0)
    return recorder, result


def test_declared_length_past_end_is_an_error_not_an_allocation() -> None:
    data = b"\x80\x04\x8e" + (2**62).to_bytes(8, "little") + b"abc"
    with pytest.raises(PickleDecodeError, match="runs past the end"):
        decode_op(data, 2)


def test_invalid_opcode_reports_offset() -> None:
    with pytest.raises(PickleDecodeError) as info:
        decode_op(b"\x80\x02\xff", 2)
    assert info.value.offset == 2


@pytest.mark.parametrize("protocol", range(0, 6))
def test_benign_pickles_of_every_protocol_complete(protocol: int) -> None:
    data = pickle.dumps({"a": [1, 2.5, "x", b"y", (None, True)], "b": {3, 4}}, protocol=protocol)
    recorder, result = run(data)
    assert result.complete and result.end == len(data)
    assert not recorder.calls or protocol < 4  # before protocol 4, sets and bytes need calls


def test_memo_obfuscated_stack_global_is_resolved() -> None:
    # module and name are stored in the memo first, fetched later with BINGET.
    data = (
        b"\x80\x04"
        b"\x8c\x02os\x94"  # memo 0 = "os"
        b"\x8c\x06system\x94"  # memo 1 = "system"
        b"0"
        b"0"  # pop both
        b"h\x00h\x01\x93"  # BINGET 0, BINGET 1, STACK_GLOBAL
        b"\x8c\x04true\x85R."
    )
    recorder, result = run(data)
    assert result.complete
    assert [g.dotted for g in recorder.globals] == ["os.system"]
    assert render(recorder.calls[0]) == "os.system('true')"


def test_stack_global_with_computed_operands_is_reported_dynamic() -> None:
    # STACK_GLOBAL whose module is the result of a call: only known at load time.
    data = b"\x80\x04cbuiltins\nstr\n\x8c\x02os\x85R\x8c\x06system\x93."
    recorder, _ = run(data)
    assert recorder.dynamic


def test_python2_names_are_mapped_like_the_real_unpickler() -> None:
    assert canonical_global("__builtin__", "eval", 2) == ("builtins", "eval")
    assert canonical_global("__builtin__", "eval", 4) == ("__builtin__", "eval")


def test_build_on_a_global_is_reported() -> None:
    data = b"\x80\x02ctorch._utils\n_rebuild_tensor\nN}\x86b."
    recorder, _ = run(data)
    assert isinstance(recorder.builds[0][0], Global)


def test_stream_breaking_after_payload_keeps_the_payload() -> None:
    data = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00trueR\xff\xff"
    recorder, result = run(data)
    assert not result.complete and result.error is not None
    assert recorder.calls and isinstance(recorder.calls[0].func, Global)


def test_looks_like_pickle_rejects_text_and_accepts_protocol_zero() -> None:
    assert looks_like_pickle(b"cos\nsystem\n(S'x'\ntR.")
    assert looks_like_pickle(b"\x80\x05\x95")
    assert not looks_like_pickle(b"# A model card\n\nThis is text.")
    assert not looks_like_pickle(b'{"architectures": ["LlamaForCausalLM"]}')


def test_concrete_bytes_evaluates_nested_decoders() -> None:
    payload = pickle.dumps([1, 2, 3], protocol=4)
    encoded = base64.b64encode(zlib.compress(payload)).decode()
    inner = Call(Global("base64", "b64decode", 0), (encoded,), None, "REDUCE", 0)
    outer = Call(Global("zlib", "decompress", 0), (inner,), None, "REDUCE", 0)
    assert concrete_bytes(outer, 1 << 20) == payload


def test_concrete_bytes_respects_the_size_bound() -> None:
    bomb = zlib.compress(b"\0" * (4 << 20))
    call = Call(Global("zlib", "decompress", 0), (bomb,), None, "REDUCE", 0)
    assert concrete_bytes(call, 1 << 20) is None


@pytest.mark.parametrize("encode", [lambda b: b, base64.b64encode, bytes.hex])
def test_embedded_pickles_are_recognised(encode: Any) -> None:
    payload = pickle.dumps({"k": "v" * 20}, protocol=4)
    raw = encode(payload)
    value = raw if isinstance(raw, bytes) else raw.encode()
    found = embedded_pickle(value, 1 << 20)
    assert found is not None and found[0] == payload


def test_random_bytes_with_a_pickle_header_are_not_embedded_pickles() -> None:
    assert embedded_pickle(b"\x80\x04" + bytes(range(200)), 1 << 20) is None


def test_policy_is_exact_for_allowed_and_prefix_for_dangerous() -> None:
    policy = GlobalsPolicy.default()
    assert policy.judge("torch._utils._rebuild_tensor_v2").status is Status.ALLOWED
    assert policy.judge("torch.utils.collect_env.run").status is Status.DANGEROUS
    assert policy.judge("os.path.join").status is Status.DANGEROUS
    assert policy.judge("numpy.testing._private.utils.runstring").status is Status.DANGEROUS
    assert policy.judge("torch._utils.something_new").status is Status.UNKNOWN
    assert policy.judge("ossify.x").status is Status.UNKNOWN
    assert policy.allowing(["acme.Model"]).judge("acme.Model").status is Status.ALLOWED


def test_allowlist_and_denylist_do_not_overlap() -> None:
    policy = GlobalsPolicy.default()
    denylist_only = GlobalsPolicy(frozenset(), policy.dangerous)
    clashes = {
        name for name in policy.allowed if denylist_only.judge(name).status is Status.DANGEROUS
    }
    # The deliberate carve-outs: TorchScript's list builders under the denied `torch.jit`
    # (pure functions; pickle_allowlist.toml says why), and names that only clash when every
    # segment is read as an attribute (the dunder copyreg helpers, numpy's `random._pickle`
    # submodule): the exact allowlist is checked first.
    carve_outs = ("torch.jit._pickle.", "copyreg.__newobj", "numpy.random._pickle.")
    assert all(name.startswith(carve_outs) for name in clashes)
    assert len(clashes) == 11


def test_joblib_inline_arrays_are_stepped_over() -> None:
    joblib = pytest.importorskip("joblib")
    np = pytest.importorskip("numpy")
    import io

    buffer = io.BytesIO()
    joblib.dump(
        {
            "floats": np.arange(1000, dtype="f8"),
            "records": np.zeros(3, dtype=[("a", "<i8"), ("b", "<f4")]),
            "objects": np.array(["a", 1, None], dtype=object),
            "text": np.array(["xy", "z"]),
        },
        buffer,
    )
    data = buffer.getvalue()
    recorder, result = run(data)
    assert result.complete and result.end == len(data)
    wrappers = [
        c
        for c in recorder.calls
        if c.func == Global("joblib.numpy_pickle", "NumpyArrayWrapper", c.func.offset)
    ]
    assert len(wrappers) == 4 and all(isinstance(w.state, SymDict) for w in wrappers)


def test_values_held_at_once_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from airlock.scan.formats.pickle import interpreter

    monkeypatch.setattr(interpreter, "MAX_VALUES", 10_000)
    data = b"\x80\x04" + b"N" * 20_000 + b"."
    _, result = run(data)
    assert not result.complete
    assert "values held at once" in str(result.error)


def _scan_bytes(data: bytes) -> list[Any]:
    from airlock.findings import Location
    from airlock.scan.context import Blob
    from airlock.scan.formats.detect import detect
    from airlock.scan.scanner import Scanner, _Context

    scanner = Scanner()
    blob = Blob(data, "model.pkl", Location(), "model.pkl")
    return scanner.scan_blob(blob, detect(data[:4096], "model.pkl"), _Context(scanner, "model.pkl"))


def _torch_zip_with(payload: bytes) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", payload)
        archive.writestr("archive/version", "3\n")
    return buffer.getvalue()


def test_rebuild_from_type_forwards_its_call() -> None:
    # _rebuild_from_type_v2(func, type, args, state) runs func(*args): here a torch.load of a
    # zip (not a raw pickle) whose data.pkl runs exec. Both names are allowlisted.
    inner = b"\x80\x02cbuiltins\nexec\nX\x04\x00\x00\x00passR."
    archive = _torch_zip_with(inner[:-2] + b"\x85R.")
    # _rebuild_from_type_v2(_load_from_bytes, Tensor, (archive,), {})
    data = (
        b"\x80\x02ctorch._tensor\n_rebuild_from_type_v2\n("
        b"ctorch.storage\n_load_from_bytes\nctorch\nTensor\n"
        b"B" + len(archive).to_bytes(4, "little") + archive + b"\x85}tR."
    )
    rules = {(f.rule_id, f.severity.label) for f in _scan_bytes(data)}
    assert ("AIR101", "critical") in rules


def test_forged_itemsize_of_a_fixed_dtype_is_ignored() -> None:
    # joblib reads count * 8 bytes for 'f8' whatever the pickled elsize says; so must we.
    wrapper = (
        b"cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(X\x05\x00\x00\x00dtype"
        b"cnumpy\ndtype\nX\x02\x00\x00\x00f8\x89\x88\x87R(K\x03X\x01\x00\x00\x00<NNNK\x04J\xff\xff"
        b"\xff\xffK\x00tb"
        b"X\x05\x00\x00\x00shapeK\x02\x85ub"
    )
    # Two f8 values (16 bytes) follow BUILD; the payload comes after them. Trusting the forged
    # elsize (4) would skip only 8 bytes and lose sync with what joblib reads.
    hidden = b"cos\nsystem\nX\x04\x00\x00\x00trueR"
    data = b"\x80\x02" + wrapper + b"N0" * 4 + b"\x00" * 8 + hidden + b"0N."
    rules = {f.rule_id for f in _scan_bytes(data)}
    assert "AIR101" in rules
