"""Adversarial pickles of issue 12, classes 1 and 2, each proved live with the real loader.

Class 1: a global is resolved attribute by attribute (protocol 4+), so `torch.os.system` *is*
`os.system`; every spelling through a module that re-exports a dangerous one must be critical.
Class 2: an object from outside the allowlist that the pickle never calls itself still runs
when allowlisted code calls it or its methods (`dict(x)` runs `x.keys()`, numpy's random-state
helpers call their second argument, BUILD runs `state.items()` or `__setstate__`, dictionary
keys are hashed). The stand-in for "any installed library" is a tiny module written next to
the sample (`gadgetlib`), whose class runs the command held in its own state when one of its
methods is called: exactly what a gadget in a real library does.

Samples are grouped: each group is written to one folder and loaded in ONE child process with
the real loader (each sample with its own canary), then every sample is scanned.
"""

from __future__ import annotations

import importlib.util
import io
import pickle
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from adversarial.live import (
    assert_blocked,
    assert_clean,
    canary_code,
    canary_shell,
    describe,
    run_snippet,
    scan,
)
from airlock.findings import Severity
from samples import pickle_bytes as pb

GADGET_MODULE = "gadgetlib"
GADGET_SOURCE = '''
"""Stands in for any installed library with a class whose methods act on its own state."""
import os


class Gadget:
    cmd = ""

    def _fire(self, *args, **kwargs):
        os.system(self.cmd)
        return []

    keys = items = replace = encode = detach = pop = values = _fire

    def __iter__(self):
        self._fire()
        return iter(())

    def __hash__(self):
        self._fire()
        return 0

    def __bool__(self):
        self._fire()
        return True

    def __int__(self):
        self._fire()
        return 0

    def __len__(self):
        self._fire()
        return 0

    def __str__(self):
        self._fire()
        return ""


class Base:
    def __new__(cls, state=None, *rest):
        os.system(state)
        return object.__new__(cls)


def run(cmd, *rest):
    os.system(cmd)
'''

# One child process loads every sample with its real loader (errors ignored: a payload fires
# before the loader notices anything odd, if it fires at all); a process start costs seconds.
LIVE_LOADER = """
import pickle
def load(loader, p):
    if loader == "torch":
        import torch; torch.load(p, weights_only=False)
    elif loader == "joblib":
        import joblib; joblib.load(p)
    elif loader == "numpy":
        import numpy; numpy.load(p, allow_pickle=True)
    else:
        with open(p, "rb") as f: pickle.load(f)
for loader, p in SAMPLES:
    try: load(loader, p)
    except BaseException: pass
"""
LIBRARIES = ("torch", "sklearn", "joblib", "numpy", "xgboost", "scipy", "lightgbm")

Builder = Callable[[str, str], bytes]  # (shell command, python code) -> pickle bytes


def _t(*items: bytes) -> bytes:
    return pb.mark() + b"".join(items) + pb.tuple_()


def _s(text: str) -> bytes:
    return pb.short_binunicode(text)


def _sg(module: str, name: str) -> bytes:
    return _s(module) + _s(name) + pb.stack_global()


def _call(func: bytes, *args: bytes) -> bytes:
    return func + _t(*args) + pb.reduce()


# Class 1 ---------------------------------------------------------------------------------
def _inner(cmd: str) -> bytes:
    return pb.pickle2(pb.call_global("os", "system", pb.binunicode(cmd)))


CLASS1: dict[str, Builder] = {
    "torch_os_system_stack_global": lambda c, p: pb.pickle4(
        pb.call_stack_global("torch", "os.system", _s(c))
    ),
    "sklearn_os_system_global_proto4": lambda c, p: pb.pickle4(
        pb.call_global("sklearn", "os.system", _s(c))
    ),
    "uuid_os_spawnlp": lambda c, p: pb.pickle4(
        pb.call_stack_global(
            "uuid", "os.spawnlp", pb.binint1(0), _s("sh"), _s("sh"), _s("-c"), _s(c)
        )
    ),
    "codecs_builtins_exec": lambda c, p: pb.pickle4(
        pb.call_stack_global("codecs", "builtins.exec", _s(p))
    ),
    "torch_serialization_pickle_loads": lambda c, p: pb.pickle4(
        pb.call_stack_global("torch.serialization", "pickle.loads", pb.binbytes(_inner(c)))
    ),
    "joblib_utils_pickle_loads": lambda c, p: pb.pickle4(
        pb.call_stack_global("joblib.numpy_pickle_utils", "pickle.loads", pb.binbytes(_inner(c)))
    ),
    "pathlib_os_system_inst": lambda c, p: (
        pb.proto(4) + pb.mark() + _s(c) + pb.inst("pathlib", "os.system") + pb.stop()
    ),
    "tempfile_alias_os_obj": lambda c, p: (
        pb.proto(4) + pb.mark() + _sg("tempfile", "_os.system") + _s(c) + pb.obj() + pb.stop()
    ),
    "xgboost_core_os_system": lambda c, p: pb.pickle4(
        pb.call_stack_global("xgboost.core", "os.system", _s(c))
    ),
    "torch_module_torch_os_system": lambda c, p: pb.pickle4(
        pb.call_stack_global("torch.nn.modules.module", "torch.os.system", _s(c))
    ),
    "torch_serialization_os_system_proto5": lambda c, p: pb.framed(
        pb.call_stack_global("torch.serialization", "os.system", _s(c)) + pb.stop(), 5
    ),
    "memo_indirect_stack_global": lambda c, p: pb.pickle4(
        _s("torch")
        + pb.binput(1)
        + pb.pop()
        + _s("os.system")
        + pb.binput(2)
        + pb.pop()
        + pb.binget(1)
        + pb.binget(2)
        + pb.stack_global()
        + _t(_s(c))
        + pb.reduce()
    ),
    "uuid_dunder_builtins_get_exec": lambda c, p: pb.pickle4(
        _call(pb.call_stack_global("uuid", "__builtins__.get", _s("exec")), _s(p))
    ),
    "numpy_methods_os_system": lambda c, p: pb.pickle4(
        pb.call_stack_global("numpy._core._methods", "os.system", _s(c))
    ),
    "numpy_format_pickle_loads": lambda c, p: pb.pickle4(
        pb.call_stack_global("numpy.lib._format_impl", "pickle.loads", pb.binbytes(_inner(c)))
    ),
    "numpy_numeric_builtins_exec": lambda c, p: pb.pickle4(
        pb.call_stack_global("numpy._core.numeric", "builtins.exec", _s(p))
    ),
    "numpy_ma_builtins_eval": lambda c, p: pb.pickle4(
        pb.call_stack_global("numpy.ma.core", "builtins.eval", _s(p))
    ),
    "pathlib_io_open_writes": lambda c, p: pb.pickle4(
        pb.call_stack_global("pathlib", "io.open", _s(c.split(" ", 1)[1].strip("'")), _s("w"))
    ),
    "scipy_testutils_subprocess_getoutput": lambda c, p: pb.pickle4(
        pb.call_stack_global("scipy._lib._testutils", "subprocess.getoutput", _s(c))
    ),
    "torch_cuda_os_system": lambda c, p: pb.pickle4(
        pb.call_stack_global("torch.cuda", "os.system", _s(c))
    ),
    "torch_utils_sys_modules_get": lambda c, p: pb.pickle4(
        pb.call_stack_global("torch._utils", "sys.modules.get", _s("os"))
        + pb.pop()
        + pb.call_stack_global("torch", "os.system", _s(c))
    ),
}
# Loaded with other real loaders too (one sample each is enough: same resolution code).
CLASS1_VIA = {"joblib": "sklearn_os_system_global_proto4", "numpy": "codecs_builtins_exec",
              "torch": "torch_os_system_stack_global"}  # fmt: skip


# Class 2 ---------------------------------------------------------------------------------
def _gadget(cmd: str, how: str = "reconstructor") -> bytes:
    """A gadgetlib.Gadget instance holding `cmd`, built without calling anything with it."""
    state = pb.empty_dict() + _s("cmd") + _s(cmd) + pb.setitem() + pb.build()
    if how == "newobj":
        return _sg(GADGET_MODULE, "Gadget") + pb.empty_tuple() + pb.newobj() + state
    if how == "inst":
        return pb.mark() + pb.inst(GADGET_MODULE, "Gadget") + state
    if how == "obj":
        return pb.mark() + _sg(GADGET_MODULE, "Gadget") + pb.obj() + state
    return (
        _call(
            _sg("copyreg", "_reconstructor"),
            _sg(GADGET_MODULE, "Gadget"),
            _sg("builtins", "object"),
            pb.none(),
        )
        + state
    )


def _via(func: tuple[str, str], *args: bytes) -> bytes:
    return pb.pickle4(_call(_sg(*func), *args))


def _empty(module: str, name: str) -> bytes:
    return _call(_sg(module, name))


def _into_build(cls: tuple[str, str], c: str) -> bytes:
    """An instance of an allowlisted class, restored (BUILD) from a gadget as its state."""
    instance = _call(_sg("copyreg", "_reconstructor"), _sg(*cls), _sg("builtins", "object"),
                     pb.none())  # fmt: skip
    return pb.pickle4(instance + _gadget(c) + pb.build())


def _restored(cls: tuple[str, str], key: str, value: bytes) -> bytes:
    """An instance of an allowlisted class restored from `{key: value}`."""
    instance = _call(_sg("copyreg", "_reconstructor"), _sg(*cls), _sg("builtins", "object"),
                     pb.none())  # fmt: skip
    return pb.pickle4(instance + pb.empty_dict() + _s(key) + value + pb.setitem() + pb.build())


RUN = (GADGET_MODULE, "run")
CLASS2: dict[str, Builder] = {
    "dict_keys": lambda c, p: _via(("builtins", "dict"), _gadget(c)),
    "dict_keys_newobj_gadget": lambda c, p: _via(("builtins", "dict"), _gadget(c, "newobj")),
    "ordereddict_keys_inst_gadget": lambda c, p: (
        pb.proto(4) + _call(_sg("collections", "OrderedDict"), _gadget(c, "inst")) + pb.stop()
    ),
    "counter_iter_obj_gadget": lambda c, p: _via(("collections", "Counter"), _gadget(c, "obj")),
    "deque_iter": lambda c, p: _via(("collections", "deque"), _gadget(c)),
    "set_iter": lambda c, p: _via(("builtins", "set"), _gadget(c)),
    "list_iter": lambda c, p: _via(("builtins", "list"), _gadget(c)),
    "tuple_iter": lambda c, p: _via(("builtins", "tuple"), _gadget(c)),
    "frozenset_iter": lambda c, p: _via(("builtins", "frozenset"), _gadget(c)),
    "bytes_iter": lambda c, p: _via(("builtins", "bytes"), _gadget(c)),
    "defaultdict_init_keys": lambda c, p: _via(
        ("collections", "defaultdict"), _sg("builtins", "list"), _gadget(c)
    ),
    "enum_lookup_hash": lambda c, p: _via(("enum", "Enum"), _gadget(c)),
    "str_dunder": lambda c, p: _via(("builtins", "str"), _gadget(c)),
    "int_dunder": lambda c, p: _via(("builtins", "int"), _gadget(c)),
    "uuid_replace": lambda c, p: _via(("uuid", "UUID"), _gadget(c)),
    "codecs_encode_idna": lambda c, p: _via(("codecs", "encode"), _gadget(c), _s("idna")),
    "_codecs_encode_idna": lambda c, p: _via(("_codecs", "encode"), _gadget(c), _s("idna")),
    "parameter_detach": lambda c, p: _via(("torch.nn.parameter", "Parameter"), _gadget(c)),
    "buffer_detach": lambda c, p: _via(("torch.nn.parameter", "Buffer"), _gadget(c)),
    "rebuild_parameter_detach": lambda c, p: _via(
        ("torch._utils", "_rebuild_parameter"),
        _gadget(c),
        pb.newfalse(),
        _empty("collections", "OrderedDict"),
    ),
    "rebuild_parameter_with_state": lambda c, p: _via(
        ("torch._utils", "_rebuild_parameter_with_state"),
        _empty("torch", "Tensor"),
        pb.newfalse(),
        _empty("collections", "OrderedDict"),
        _gadget(c),
    ),
    "randomstate_ctor_calls": lambda c, p: _via(
        ("numpy.random._pickle", "__randomstate_ctor"), _s(c), _sg(*RUN)
    ),
    "generator_ctor_calls": lambda c, p: _via(
        ("numpy.random._pickle", "__generator_ctor"), _s(c), _sg(*RUN)
    ),
    "randomstate_ctor_partial": lambda c, p: _via(
        ("numpy.random._pickle", "__randomstate_ctor"),
        _s("x"),
        _call(_sg("functools", "partial"), _sg(*RUN), _s(c)),
    ),
    "reconstructor_base_new": lambda c, p: _via(
        ("copyreg", "_reconstructor"),
        _sg(GADGET_MODULE, "Base"),
        _sg(GADGET_MODULE, "Base"),
        _s(c),
    ),
    "reconstructor_dict_init_state": lambda c, p: _via(
        ("copyreg", "_reconstructor"),
        _sg("collections", "OrderedDict"),
        _sg("builtins", "dict"),
        _gadget(c),
    ),
    "rebuild_from_type_v2_func": lambda c, p: _via(
        ("torch._tensor", "_rebuild_from_type_v2"),
        _sg(*RUN),
        _sg("torch", "Tensor"),
        _t(_s(c)),
        pb.empty_dict(),
    ),
    "rebuild_from_type_v2_state": lambda c, p: _via(
        ("torch._tensor", "_rebuild_from_type_v2"),
        _sg("torch", "Tensor"),
        _sg("torch", "Tensor"),
        pb.empty_tuple(),
        _gadget(c),
    ),
    "module_setstate_update": lambda c, p: _into_build(("torch.nn.modules.linear", "Linear"), c),
    "sklearn_setstate_pop": lambda c, p: _into_build(
        ("sklearn.linear_model._base", "LinearRegression"), c
    ),
    "xgboost_booster_state_value": lambda c, p: _restored(
        ("xgboost.core", "Booster"), "handle", _gadget(c)
    ),
    "lightgbm_booster_state_value": lambda c, p: _restored(
        ("lightgbm.basic", "Booster"), "_handle", _gadget(c)
    ),
    "partial_called_by_pickle": lambda c, p: pb.pickle4(
        _call(_call(_sg("functools", "partial"), _sg(*RUN), _s(c)))
    ),
    "dict_key_setitem": lambda c, p: pb.pickle4(
        pb.empty_dict() + _gadget(c) + pb.binint1(1) + pb.setitem()
    ),
    "dict_key_memo_setitems": lambda c, p: pb.pickle4(
        _gadget(c)
        + pb.binput(7)
        + pb.pop()
        + pb.empty_dict()
        + pb.mark()
        + pb.binget(7)
        + pb.binint1(1)
        + pb.setitems()
    ),
    "dict_opcode_key": lambda c, p: (
        pb.proto(2) + pb.mark() + _gadget(c) + pb.binint1(1) + pb.dict_() + pb.stop()
    ),
    "set_additems": lambda c, p: pb.pickle4(b"\x8f" + pb.mark() + _gadget(c) + b"\x90"),
    "frozenset_opcode": lambda c, p: pb.pickle4(pb.mark() + _gadget(c) + b"\x91"),
    "dict_memo_gadget_newobj_ex": lambda c, p: pb.pickle4(
        _sg(GADGET_MODULE, "Gadget")
        + pb.empty_tuple()
        + pb.empty_dict()
        + pb.newobj_ex()
        + pb.empty_dict()
        + _s("cmd")
        + _s(c)
        + pb.setitem()
        + pb.build()
        + pb.binput(3)
        + pb.pop()
        + _call(_sg("builtins", "dict"), pb.binget(3))
    ),
}
# Which class-2 samples must be critical: all of them reach a call through allowlisted code.
CLASS2_VIA = {"joblib": "dict_keys", "numpy": "randomstate_ctor_calls",
              "torch": "module_setstate_update"}  # fmt: skip


# joblib.load runs the pure-Python unpickler, which also accepts what C refuses.
PYTHON_UNPICKLER_ONLY: dict[str, Builder] = {
    "reduce_args_not_a_tuple": lambda c, p: pb.pickle4(
        _sg("builtins", "dict") + _gadget(c) + pb.reduce()
    ),
    "newobj_args_not_a_tuple": lambda c, p: pb.pickle4(
        _sg("collections", "OrderedDict") + _gadget(c) + pb.newobj()
    ),
    "build_state_items_default": lambda c, p: pb.pickle4(
        _empty("collections", "OrderedDict") + _gadget(c) + pb.build()
    ),
}


# Plumbing --------------------------------------------------------------------------------
def _wrap(loader: str, raw: bytes, path: Path) -> Path:
    """The same pickle as the file a loader reads: raw pickle, torch zip, or .npy."""
    if loader == "torch":
        path = path.with_suffix(".pt")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr("archive/data.pkl", raw)
            archive.writestr("archive/version", "3\n")
            archive.writestr("archive/byteorder", "little")
        return path
    if loader == "numpy":
        import numpy

        path = path.with_suffix(".npy")
        header = io.BytesIO()
        numpy.lib.format.write_array_header_1_0(
            header, {"descr": "|O", "fortran_order": False, "shape": (1,)}
        )
        path.write_bytes(header.getvalue() + raw)
        return path
    path = path.with_suffix(".joblib" if loader == "joblib" else ".pkl")
    path.write_bytes(raw)
    return path


class _Evil:
    """Pickles as `dict(gadget)`: the gadget is only ever handed to dict(), never called."""

    def __init__(self, gadget: object) -> None:
        self.gadget = gadget

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (dict, (self.gadget,))


def _saved_by(writer: str, folder: Path, cmd: str) -> Path:
    """`{"model": dict(gadget)}` written by torch.save, joblib.dump or pickle.dumps."""
    module = importlib.import_module(GADGET_MODULE)
    gadget = object.__new__(module.Gadget)
    gadget.__dict__["cmd"] = cmd
    payload = {"model": _Evil(gadget), "step": 3}
    path = folder / f"saved-by-{writer}.bin"
    if writer == "torch":
        import torch

        torch.save(payload, path)
    elif writer == "joblib":
        import joblib

        joblib.dump(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=2))
    return path


Sample = tuple[Path, Path]  # (file, canary)
WRITERS = ("torch", "joblib", "pickle")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Sample]:
    """Every sample of this module, built and proved live together: {id: (file, canary)}."""
    missing = [m for m in LIBRARIES if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"not installed: {missing}; cannot prove the samples live")
    folder = tmp_path_factory.mktemp("adversarial-pickle")
    (folder / f"{GADGET_MODULE}.py").write_text(GADGET_SOURCE)
    wanted = [("pickle", name, CLASS1[name]) for name in CLASS1]
    wanted += [(loader, name, CLASS1[name]) for loader, name in CLASS1_VIA.items()]
    wanted += [("pickle", name, CLASS2[name]) for name in CLASS2]
    wanted += [(loader, name, CLASS2[name]) for loader, name in CLASS2_VIA.items()]
    wanted += [("joblib", name, build) for name, build in PYTHON_UNPICKLER_ONLY.items()]
    samples: dict[str, Sample] = {}
    order: list[tuple[str, str]] = []
    for loader, name, build in wanted:
        canary = folder / f"{name}.{loader}.canary"
        raw = build(canary_shell(canary), canary_code(canary))
        path = _wrap(loader, raw, folder / f"{name}-{loader}")
        samples[f"{loader}:{name}"] = (path, canary)
        order.append((loader, str(path)))
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(folder))
        for writer in WRITERS:
            canary = folder / f"saved-by-{writer}.canary"
            path = _saved_by(writer, folder, canary_shell(canary))
            samples[f"saved:{writer}"] = (path, canary)
            order.append(("pickle" if writer == "pickle" else writer, str(path)))
        patch.delitem(sys.modules, GADGET_MODULE)
    output = run_snippet(f"SAMPLES = {order!r}\n" + LIVE_LOADER, folder / "x")
    dead = [key for key, (_, canary) in samples.items() if not canary.exists()]
    assert not dead, f"samples that did not fire under the real loader: {dead}\n{output[-3000:]}"
    for _, canary in samples.values():
        canary.unlink()
    return samples


def _keys(prefix: str, names: object) -> list[str]:
    return [f"{prefix}:{name}" for name in names]  # type: ignore[attr-defined]


# Tests -----------------------------------------------------------------------------------
CLASS1_KEYS = _keys("pickle", CLASS1) + [f"{k}:{v}" for k, v in CLASS1_VIA.items()]
CLASS2_KEYS = (
    _keys("pickle", CLASS2)
    + [f"{k}:{v}" for k, v in CLASS2_VIA.items()]
    + _keys("joblib", PYTHON_UNPICKLER_ONLY)
)


@pytest.mark.parametrize("key", CLASS1_KEYS)
def test_class1_resolved_names_are_critical(live: dict[str, Sample], key: str) -> None:
    path, canary = live[key]
    assert_blocked(path, canary, Severity.CRITICAL, rule="AIR101")


@pytest.mark.parametrize("key", CLASS2_KEYS)
def test_class2_flows_into_allowlisted_calls_are_critical(
    live: dict[str, Sample], key: str
) -> None:
    path, canary = live[key]
    findings = assert_blocked(path, canary, Severity.CRITICAL)
    assert any(f.rule_id in ("AIR111", "AIR113") for f in findings), describe(findings)


@pytest.mark.parametrize("writer", WRITERS)
def test_class2_written_by_real_savers(live: dict[str, Sample], writer: str) -> None:
    path, canary = live[f"saved:{writer}"]
    assert_blocked(path, canary, Severity.CRITICAL, rule="AIR111")


# Not proved live (nothing runs while loading; the application calls them later) ------------
@pytest.mark.parametrize(
    "body",
    [
        _call(_sg("functools", "partial"), _sg(*RUN), _s("touch /nonexistent")),
        _call(_sg("collections", "defaultdict"), _sg(*RUN)),
        _call(_sg("torch._utils", "_rebuild_tensor_v2"), _sg(*RUN), pb.binint1(0)),
        pb.empty_dict() + _sg(*RUN) + pb.binint1(1) + pb.setitem(),
        _call(
            _sg("copyreg", "_reconstructor"),
            _sg("torch.nn.modules.linear", "Linear"),
            _sg("builtins", "object"),
            pb.none(),
        )
        + pb.none()
        + pb.empty_dict()
        + _s("hook")
        + _sg(*RUN)
        + pb.setitem()
        + pb.tuple2()
        + pb.build(),
    ],
    ids=[
        "partial_kept",
        "defaultdict_factory",
        "unannotated_allowlisted",
        "class_as_key",
        "slot_state_attribute",
    ],
)
def test_class2_callables_kept_for_later_are_high(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "later.pkl"
    path.write_bytes(pb.pickle4(body))
    findings = assert_blocked(path, tmp_path / "never.canary", Severity.HIGH)
    assert any(f.rule_id == "AIR112" for f in findings)


# Benign: the same libraries, real files, must stay below HIGH -----------------------------
class CustomScaler:
    """A user's own transformer class (outside the allowlist), as in real pipelines."""

    def fit(self, x: object, y: object = None) -> CustomScaler:
        self.scale_ = 2.0
        return self

    def transform(self, x: object) -> object:
        return x


def _custom_block() -> object:
    """An instance of a user's own nn.Module (outside the allowlist), importable by name."""
    if "Block" not in globals():
        import torch

        class Block(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.linear = torch.nn.Linear(4, 4)

        Block.__module__, Block.__qualname__ = __name__, "Block"
        globals()["Block"] = Block
    return globals()["Block"]()


def test_benign_files_stay_clean(tmp_path: Path) -> None:
    for module in ("torch", "sklearn", "joblib", "numpy"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    import collections
    import functools
    import uuid

    import joblib
    import numpy
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
    net(torch.randn(3, 4)).sum().backward()
    optimizer.step()
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2)
    files: dict[str, Callable[[Path], None]] = {
        "state_dict.pt": lambda p: torch.save(net.state_dict(), p),
        "whole_model.pt": lambda p: torch.save(net, p),
        "optimizer.pt": lambda p: torch.save(
            {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, p
        ),
        "parameter.pt": lambda p: torch.save(torch.nn.Parameter(torch.ones(2)), p),
        "rng.pkl": lambda p: p.write_bytes(
            pickle.dumps({"np": numpy.random.RandomState(1), "gen": numpy.random.default_rng(2)})
        ),
        "plain_values.pkl": lambda p: p.write_bytes(
            pickle.dumps(
                {
                    "od": collections.OrderedDict(a=1),
                    "counter": collections.Counter("abca"),
                    "dd": collections.defaultdict(list, {"k": [1]}),
                    "deque": collections.deque([1, 2]),
                    "uuid": uuid.UUID(int=5),
                    "set": {1, 2},
                    "fs": frozenset({"x"}),
                    "keys": {(1, "a"): 2},
                    "partial": functools.partial(numpy.mean, axis=0),
                }
            )
        ),
        "objects.npy": lambda p: numpy.save(
            p, numpy.array([{"a": 1}, [1, 2], "s"], dtype=object), allow_pickle=True
        ),
        "pipeline.joblib": lambda p: joblib.dump(
            Pipeline(
                [
                    ("log", FunctionTransformer(numpy.log1p)),
                    ("scale", StandardScaler()),
                    ("clf", LogisticRegression()),
                ]
            ).fit(numpy.abs(numpy.random.RandomState(0).randn(20, 3)), [0, 1] * 10),
            p,
        ),
    }
    for name, write in files.items():
        path = tmp_path / name
        write(path)
        assert_clean(path)


def test_custom_classes_are_high_until_the_organization_allows_them(tmp_path: Path) -> None:
    """A class outside the allowlist runs its own code while loading (constructor, restore):
    high by default (fail closed); clean once the organization allows its own names."""
    for module in ("torch", "sklearn", "joblib", "numpy"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    import joblib
    import numpy
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from airlock.scan.formats.pickle_reader import PickleReader
    from airlock.scan.names.pickle_globals import GlobalsPolicy
    from airlock.scan.registry import default_readers
    from airlock.scan.scanner import Scanner

    files: dict[str, Callable[[Path], None]] = {
        "custom_modules_in_sequential.pt": lambda p: torch.save(
            torch.nn.Sequential(_custom_block(), torch.nn.ReLU(), _custom_block()), p
        ),
        "custom_step_pipeline.joblib": lambda p: joblib.dump(
            Pipeline([("mine", CustomScaler()), ("clf", LogisticRegression())]).fit(
                numpy.random.RandomState(0).randn(20, 3), [0, 1] * 10
            ),
            p,
        ),
    }
    trusted = GlobalsPolicy.default().allowing(
        [f"{__name__}.Block", f"{CustomScaler.__module__}.{CustomScaler.__qualname__}"]
    )
    allowing = Scanner([*default_readers(), PickleReader(trusted)])
    for name, write in files.items():
        path = tmp_path / name
        write(path)
        findings = scan(path)
        assert any(f.rule_id == "AIR102" and f.severity >= Severity.HIGH for f in findings), (
            describe(findings)
        )
        allowed = allowing.scan_paths([path]).findings
        assert not [f for f in allowed if f.severity >= Severity.MEDIUM], describe(allowed)
