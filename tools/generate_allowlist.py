"""Regenerate the benign part of src/airlock/data/pickle_allowlist.toml from real pickles.

What it does:

1. Builds a broad corpus of benign objects with the libraries installed here: every
   scikit-learn estimator from ``sklearn.utils.all_estimators()`` that fits with default
   arguments on a tiny random dataset (those that fail are skipped and listed), plus
   hand-built pipelines, ColumnTransformer, searches, ensembles, text vectorizers...;
   numpy arrays of many dtypes (structured, datetime, object, masked) and random generators;
   torch state_dicts, optimizer and LR-scheduler state_dicts, whole models of standard
   ``torch.nn`` layers, sizes, dtypes, devices and quantized tensors.
2. Serializes them the ways real files are made: ``pickle.dumps`` at protocols 2-5,
   ``joblib.dump`` and ``torch.save`` (zip and legacy formats), all in memory.
3. Collects every GLOBAL / STACK_GLOBAL ``module.qualname`` with ``pickletools.genops`` on the
   bytes it produced itself. Nothing is ever unpickled.
4. Sorts each name into one of three buckets:

   * dangerous: matched by a prefix of pickle_dangerous.toml; printed as a warning, never
     allowlisted (the denylist wins, and a benign file that needs such a name is a finding);
   * accepted: classes, torch dtype/layout/memory-format/qscheme constants, and the
     data-reconstruction functions in ``REVIEWED_FUNCTIONS`` (each reviewed by hand);
   * excluded: every other function (metric functions, ufuncs, activations...) and the
     classes in ``EXCLUDED``: they are printed for review and stay findings.

5. Writes the accepted names into the allowlist: the [sklearn] section is replaced (it is
   generated), the other sections keep their entries and gain the new names. Names of numpy's
   core modules are written in both spellings (``numpy.core`` for numpy 1.x, ``numpy._core``
   for numpy 2.x).

Usage (from the repository root, with the dev environment)::

    .venv/bin/python tools/generate_allowlist.py            # print the report, write the file
    .venv/bin/python tools/generate_allowlist.py --dry-run  # print only

Review the printed "accepted (new)" names before committing: an allowlisted name may be called
with arguments taken from the file, so it must do nothing beyond building data.
"""

from __future__ import annotations

import _compat_pickle
import argparse
import contextlib
import inspect
import io
import pickle
import pickletools
import re
import sys
import tomllib
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "src" / "airlock" / "data"
ALLOWLIST = DATA / "pickle_allowlist.toml"
DANGEROUS = DATA / "pickle_dangerous.toml"
LINE_LENGTH = 100

# Functions that pickles call to rebuild data and that do nothing else: reviewed one by one.
# A function that is not listed here is never allowlisted by this tool.
REVIEWED_FUNCTIONS = frozenset(
    {
        # Instantiate a class (object.__new__ / cls.__new__), like pickle's own NEWOBJ.
        "copyreg._reconstructor",
        "copyreg.__newobj__",
        "copyreg.__newobj_ex__",
        "sklearn.metrics._dist_metrics.newObj",
        # numpy: build an array / scalar / masked array from a dtype, shape and bytes.
        "numpy._core.multiarray._reconstruct",
        "numpy._core.multiarray.scalar",
        "numpy._core.numeric._frombuffer",
        "numpy.ma.core._mareconstruct",
        # numpy.random: look the bit generator up in a fixed table and instantiate it.
        "numpy.random._pickle.__randomstate_ctor",
        "numpy.random._pickle.__bit_generator_ctor",
        "numpy.random._pickle.__generator_ctor",
        # torch: build a tensor / parameter from a storage, offset, size and stride.
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_tensor_v3",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "torch._utils._rebuild_qtensor",
        "torch._utils._rebuild_sparse_tensor",
        "torch._tensor._rebuild_from_type_v2",
        # str -> bytes for protocol 2 pickles of bytes (latin-1).
        "_codecs.encode",
        # torch: look a layout up by its name in a table of torch.layout constants.
        "torch.serialization._get_layout",
        # sklearn's pickling helper (`def newObj(obj): return obj.__new__(obj)`).
        "sklearn.neighbors._kd_tree.newObj",
        "sklearn.neighbors._ball_tree.newObj",
        # Cython-generated: `X.__new__(type)` (a subtype of X only), then set the C fields.
        "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",
        "sklearn._loss._loss.__pyx_unpickle_CyHalfMultinomialLoss",
    }
)

# Classes seen in benign pickles that must stay findings anyway: name -> why.
EXCLUDED: dict[str, str] = {}

# Instances (not classes) that torch pickles by name: plain constants.
TORCH_CONSTANT_TYPES = ("dtype", "layout", "memory_format", "qscheme")

# Top-level module -> allowlist section; anything else goes to [builtins] (the stdlib).
SECTIONS = {
    "torch": "torch",
    "numpy": "numpy",
    "joblib": "joblib",
    "sklearn": "sklearn",
    "scipy": "scipy",
}
GENERATED_SECTIONS = frozenset({"sklearn"})


# ---------------------------------------------------------------------------------------
# Collecting globals from pickle bytes (our own, never unpickled)
# ---------------------------------------------------------------------------------------
def canonical(module: str, qualname: str, protocol: int) -> str:
    """The name the unpickler imports: Python 2 names are mapped for protocol < 3 streams."""
    if protocol < 3:
        if (module, qualname) in _compat_pickle.NAME_MAPPING:
            module, qualname = _compat_pickle.NAME_MAPPING[(module, qualname)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
    return f"{module}.{qualname}"


def globals_in_stream(stream: io.BytesIO) -> set[str]:
    """`module.qualname` of every GLOBAL/STACK_GLOBAL in one pickle stream, read up to STOP."""
    found: set[str] = set()
    memo: dict[int, Any] = {}
    protocol = 0
    recent: list[Any] = []  # the last values pushed, enough to resolve STACK_GLOBAL operands
    for opcode, arg, _pos in pickletools.genops(stream):
        name = opcode.name
        if name == "PROTO":
            protocol = int(str(arg))
        elif name == "GLOBAL":
            module, qualname = str(arg).split(" ", 1)
            found.add(canonical(module, qualname, protocol))
            recent.append(None)
        elif name == "STACK_GLOBAL":
            module, qualname = recent[-2], recent[-1]
            if not (isinstance(module, str) and isinstance(qualname, str)):
                raise ValueError("STACK_GLOBAL operands are not literal strings")
            found.add(canonical(module, qualname, protocol))
            recent.append(None)
        elif name == "MEMOIZE":
            memo[len(memo)] = recent[-1] if recent else None
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[int(str(arg))] = recent[-1] if recent else None
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            recent.append(memo.get(int(str(arg))))
        elif name in ("FRAME", "STOP", "POP", "POP_MARK", "MARK"):
            continue
        else:
            recent.append(arg if isinstance(arg, str) else None)
        del recent[:-2]
    return found


def globals_in_pickle(data: bytes) -> set[str]:
    return globals_in_stream(io.BytesIO(data))


@contextlib.contextmanager
def _joblib_side_arrays(sink: list[bytes]) -> Iterator[None]:
    """Make joblib write array payloads aside, so its main stream is a plain pickle.

    joblib writes raw array bytes (or, for object arrays, a nested pickle) into the pickle
    stream right after each NumpyArrayWrapper; here they go to `sink` instead.
    """
    from joblib import numpy_pickle

    original = numpy_pickle.NumpyArrayWrapper.write_array

    def write_aside(self: Any, array: Any, pickler: Any) -> None:
        main, side = pickler.file_handle, io.BytesIO()
        pickler.file_handle = side
        try:
            original(self, array, pickler)
        finally:
            pickler.file_handle = main
        if array.dtype.hasobject:
            sink.append(side.getvalue())

    numpy_pickle.NumpyArrayWrapper.write_array = write_aside
    try:
        yield
    finally:
        numpy_pickle.NumpyArrayWrapper.write_array = original


def via_pickle(protocol: int) -> Callable[[Any], set[str]]:
    def run(obj: Any) -> set[str]:
        return globals_in_pickle(pickle.dumps(obj, protocol=protocol))

    return run


def via_joblib(obj: Any) -> set[str]:
    import joblib

    nested: list[bytes] = []
    buffer = io.BytesIO()
    with _joblib_side_arrays(nested):
        joblib.dump(obj, buffer)
    names = globals_in_pickle(buffer.getvalue())
    for data in nested:
        names |= globals_in_pickle(data)
    return names


def via_torch_zip(obj: Any) -> set[str]:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    names: set[str] = set()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        for member in archive.namelist():
            if member.endswith(".pkl"):
                names |= globals_in_pickle(archive.read(member))
    return names


def via_torch_legacy(obj: Any) -> set[str]:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer, _use_new_zipfile_serialization=False)
    stream = io.BytesIO(buffer.getvalue())
    names: set[str] = set()
    for _ in range(5):  # magic, protocol, sys info, the object, storage keys; then raw bytes
        names |= globals_in_stream(stream)
    return names


# ---------------------------------------------------------------------------------------
# The benign corpus
# ---------------------------------------------------------------------------------------
@dataclass
class Corpus:
    """Names found per serializer, and what could not be built."""

    names: dict[str, set[str]] = field(default_factory=dict)  # name -> labels that need it
    skipped: list[str] = field(default_factory=list)

    def add(self, label: str, obj: Any, serializers: dict[str, Callable[[Any], set[str]]]) -> None:
        for how, serialize in serializers.items():
            try:
                found = serialize(obj)
            except Exception as exc:  # an object a serializer cannot handle is skipped
                self.skipped.append(f"{label} via {how}: {type(exc).__name__}: {exc}"[:200])
                continue
            for name in found:
                self.names.setdefault(name, set()).add(f"{label} ({how})")


PICKLERS: dict[str, Callable[[Any], set[str]]] = {
    **{f"pickle-{p}": via_pickle(p) for p in (2, 3, 4, 5)},
    "joblib": via_joblib,
}
TORCH_SAVERS: dict[str, Callable[[Any], set[str]]] = {
    "torch.save": via_torch_zip,
    "torch.save-legacy": via_torch_legacy,
}


def numpy_objects() -> Iterator[tuple[str, Any]]:
    import numpy as np

    rng = np.random.default_rng(0)
    dtypes = [
        "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
        "float16", "float32", "float64", "longdouble", "complex64", "complex128",
        "clongdouble", "U5", "S5", "V4", "M8[s]", "M8[ns]", "m8[D]", ">i4", "<f8",
    ]  # fmt: skip
    for name in dtypes:
        dtype = np.dtype(name)
        array = np.zeros((2, 3), dtype=dtype)
        yield f"ndarray[{name}]", array
        yield f"dtype[{name}]", dtype
        yield f"scalar[{name}]", array.flat[0]
    yield "ndarray[fortran]", np.asfortranarray(rng.random((3, 4)))
    yield "ndarray[0-d]", np.array(1.5)
    yield "ndarray[empty]", np.empty((0, 3))
    structured = np.dtype([("a", "<i4"), ("b", "<f8", (2,)), ("c", "U3"), ("d", [("e", "u1")])])
    yield "ndarray[structured]", np.zeros(3, dtype=structured)
    yield "recarray", np.rec.array([(1, 2.0)], dtype=[("x", "i4"), ("y", "f8")])
    yield "ndarray[object]", np.array(["a", 1, 2.5, None, (1, 2), {"k": [1]}], dtype=object)
    yield "masked", np.ma.masked_array([1.0, 2.0, 3.0], mask=[False, True, False])
    yield "matrix-free list", [np.float32(1.0), np.int64(2), np.bool_(True), np.str_("x")]
    yield "Generator", np.random.default_rng(1)
    for bitgen in (np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937, np.random.Philox,
                   np.random.SFC64):  # fmt: skip
        yield f"Generator[{bitgen.__name__}]", np.random.Generator(bitgen(1))
    yield "RandomState", np.random.RandomState(0)
    yield "SeedSequence", np.random.SeedSequence(5)


def sklearn_data() -> dict[str, Any]:
    import numpy as np

    rng = np.random.RandomState(0)
    x = rng.rand(40, 4)
    return {
        "X": x,
        "X_pos": np.abs(x) + 0.1,
        "X_int": rng.randint(0, 3, size=(40, 4)),
        "y_cls": np.array([0, 1] * 20),
        "y_multi": np.array([0, 1, 2, 3] * 10),
        "y_reg": x @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.01 * rng.rand(40),
        "Y_2d": np.column_stack([np.array([0, 1] * 20), np.array([1, 0, 0, 1] * 10)]),
        "Y_reg2": np.column_stack([x[:, 0], x[:, 1]]),
        "y_pos": x.sum(axis=1) + 0.5,
    }


# Constructor arguments for estimators whose defaults cannot fit the tiny dataset.
CONSTRUCTOR_OVERRIDES: dict[str, dict[str, Any]] = {
    "GaussianRandomProjection": {"n_components": 2},
    "SparseRandomProjection": {"n_components": 2},
    "PLSSVD": {"n_components": 1},
    "SparseCoder": {"dictionary": [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]},
}


def _required_args(cls: type, kind: str) -> dict[str, Any] | None:
    """Values for an estimator's required constructor arguments, or None if unknown."""
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    is_reg = kind == "regressor"
    base: Callable[[], Any] = (
        (lambda: DecisionTreeRegressor(max_depth=2))
        if is_reg
        else (lambda: DecisionTreeClassifier(max_depth=2))
    )
    known: dict[str, Callable[[], Any]] = {
        "estimator": base,
        "base_estimator": base,
        "estimators": lambda: [
            ("a", LinearRegression() if is_reg else LogisticRegression()),
            ("b", base()),
        ],
        "steps": lambda: [("scale", StandardScaler()), ("model", base())],
        "transformer_list": lambda: [("s1", StandardScaler()), ("s2", StandardScaler())],
        "transformers": lambda: [("s", StandardScaler(), [0, 1])],
        "param_grid": lambda: {"max_depth": [1, 2]},
        "param_distributions": lambda: {"max_depth": [1, 2]},
        "n_features_to_select": lambda: 2,
    }
    if cls.__name__ == "FrozenEstimator":
        return {"estimator": base().fit([[0.0], [1.0]], [0, 1])}
    args: dict[str, Any] = dict(CONSTRUCTOR_OVERRIDES.get(cls.__name__, {}))
    for param in inspect.signature(cls).parameters.values():
        if param.name in args:
            continue
        if param.name == "estimator" and param.default is None:
            args[param.name] = base()  # meta-estimators whose estimator defaults to None
            continue
        if param.default is not inspect.Parameter.empty or param.kind in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        ):
            continue
        if param.name not in known:
            return None
        args[param.name] = known[param.name]()
    return args


def _fit(estimator: Any, kind: str, data: dict[str, Any]) -> Any:
    x, x_pos, x_int = data["X"], data["X_pos"], data["X_int"]
    targets = {
        "classifier": [data["y_cls"], data["y_multi"], data["Y_2d"]],
        "regressor": [data["y_reg"], data["y_pos"], data["Y_reg2"]],
    }.get(kind, [None, data["y_cls"]])
    last: Exception | None = None
    if list(inspect.signature(estimator.fit).parameters)[:1] == ["y"]:  # label transformers
        for labels in (data["y_multi"], [["a", "b"], ["c"]]):
            with contextlib.suppress(Exception):
                return estimator.fit(labels)
    for features in (x, x_pos, x_int, x[:, :1]):
        for target in targets:
            try:
                if target is None:
                    return estimator.fit(features)
                return estimator.fit(features, target)
            except Exception as exc:  # try the next dataset shape
                last = exc
    raise RuntimeError(f"cannot fit: {last}")


def sklearn_objects(skipped: list[str]) -> Iterator[tuple[str, Any]]:
    from sklearn.base import clone
    from sklearn.utils import all_estimators

    data = sklearn_data()
    kinds = {
        name: kind
        for kind in ("classifier", "regressor")
        for name, _ in all_estimators(type_filter=kind)
    }
    for name, cls in all_estimators():
        kind = kinds.get(name, "")
        args = _required_args(cls, kind)
        if args is None:
            skipped.append(f"sklearn {name}: required constructor arguments unknown")
            continue
        try:
            estimator = cls(**args)
            yield f"sklearn {name} (unfitted)", clone(estimator)
            yield f"sklearn {name}", _fit(estimator, kind, data)
        except Exception as exc:
            skipped.append(f"sklearn {name}: {type(exc).__name__}: {exc}"[:200])
    yield from sklearn_extras(data)


def sklearn_extras(data: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Common real-world compositions that all_estimators() does not build on its own."""
    import numpy as np
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        IsolationForest,
        RandomForestClassifier,
        StackingClassifier,
        VotingClassifier,
    )
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.feature_selection import SelectKBest
    from sklearn.gaussian_process import (
        GaussianProcessClassifier,
        GaussianProcessRegressor,
        kernels,
    )
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import DistanceMetric
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import BallTree, KDTree, KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.preprocessing import (
        FunctionTransformer,
        LabelEncoder,
        OneHotEncoder,
        OrdinalEncoder,
        StandardScaler,
    )
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    x, y, y_reg = data["X"], data["y_cls"], data["y_reg"]
    mixed = np.empty((40, 3), dtype=object)
    mixed[:, 0] = x[:, 0]
    mixed[:, 1] = np.array(["red", "green", "blue", "red"] * 10, dtype=object)
    mixed[:, 2] = np.array(["s", "m"] * 20, dtype=object)
    column = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), [0]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), [1]),
            ("ord", OrdinalEncoder(), [2]),
        ]
    )
    yield (
        "sklearn ColumnTransformer pipeline",
        make_pipeline(column, LogisticRegression()).fit(mixed, y),
    )
    yield "sklearn pipeline", make_pipeline(StandardScaler(), SVC(probability=True)).fit(x, y)
    yield "sklearn union", make_union(StandardScaler(), SelectKBest(k=2)).fit(x, y)
    yield (
        "sklearn GridSearchCV",
        GridSearchCV(
            make_pipeline(StandardScaler(), LogisticRegression()),
            {"logisticregression__C": [0.1, 1.0]},
            cv=2,
        ).fit(x, y),
    )
    yield (
        "sklearn GridSearchCV accuracy",
        GridSearchCV(DecisionTreeClassifier(), {"max_depth": [1, 2]}, cv=2, scoring="accuracy").fit(
            x, y
        ),
    )
    yield (
        "sklearn RandomizedSearchCV",
        RandomizedSearchCV(
            DecisionTreeClassifier(), {"max_depth": [1, 2, 3]}, n_iter=2, cv=2, random_state=0
        ).fit(x, y),
    )
    yield "sklearn RandomForest", RandomForestClassifier(n_estimators=3).fit(x, y)
    yield "sklearn GradientBoosting", GradientBoostingClassifier(n_estimators=3).fit(x, y)
    yield (
        "sklearn HGB classifier",
        HistGradientBoostingClassifier(max_iter=3).fit(data["X"], data["y_multi"]),
    )
    yield (
        "sklearn HGB categorical",
        HistGradientBoostingClassifier(max_iter=3, categorical_features=[0]).fit(data["X_int"], y),
    )
    yield "sklearn HGB regressor", HistGradientBoostingRegressor(max_iter=3).fit(x, y_reg)
    yield "sklearn MLP", MLPClassifier(hidden_layer_sizes=(4,), max_iter=20).fit(x, y)
    yield (
        "sklearn MLP adam",
        MLPClassifier(solver="adam", max_iter=5, early_stopping=True).fit(x, y),
    )
    yield "sklearn KNN kd_tree", KNeighborsClassifier(algorithm="kd_tree").fit(x, y)
    yield "sklearn KNN ball_tree", KNeighborsClassifier(algorithm="ball_tree").fit(x, y)
    yield "sklearn KNN brute", KNeighborsClassifier(algorithm="brute", metric="cosine").fit(x, y)
    yield "sklearn KNN minkowski", KNeighborsClassifier(metric="minkowski", p=3).fit(x, y)
    yield "sklearn KDTree", KDTree(x)
    metric_args: dict[str, dict[str, Any]] = {
        "seuclidean": {"V": np.ones(4)},
        "mahalanobis": {"VI": np.eye(4)},
        "minkowski": {"p": 3},
        "wminkowski": {"p": 3, "w": np.ones(4)},
    }
    for metric in sorted(set(BallTree.valid_metrics) - {"pyfunc"}):
        kwargs = metric_args.get(metric, {})
        for dtype in (np.float64, np.float32):
            with contextlib.suppress(Exception):
                yield (
                    f"sklearn DistanceMetric {metric}",
                    DistanceMetric.get_metric(metric, dtype=dtype, **kwargs),
                )
    yield "sklearn BallTree", BallTree(x, metric="haversine" if x.shape[1] == 2 else "manhattan")
    yield "sklearn calibrated", CalibratedClassifierCV(GaussianNB(), cv=2).fit(x, y)
    yield (
        "sklearn calibrated isotonic",
        CalibratedClassifierCV(SVC(), cv=2, method="isotonic").fit(x, y),
    )
    yield "sklearn IsolationForest", IsolationForest(n_estimators=3).fit(x)
    kernel = (
        kernels.ConstantKernel() * kernels.Matern()
        + kernels.WhiteKernel()
        + kernels.DotProduct() ** 2
        + kernels.RationalQuadratic()
    )
    yield (
        "sklearn GPR kernels (unfitted)",
        GaussianProcessRegressor(kernels.ExpSineSquared() + kernels.PairwiseKernel()),
    )
    yield (
        "sklearn GPR kernels",
        GaussianProcessRegressor(kernel, alpha=0.1, optimizer=None).fit(x, y_reg),
    )
    yield "sklearn GPC kernels", GaussianProcessClassifier(kernels.Matern()).fit(x, data["y_multi"])
    yield (
        "sklearn voting",
        VotingClassifier([("lr", LogisticRegression()), ("nb", GaussianNB())], voting="soft").fit(
            x, y
        ),
    )
    yield (
        "sklearn stacking",
        StackingClassifier(
            [("lr", LogisticRegression()), ("dt", DecisionTreeClassifier())], cv=2
        ).fit(x, y),
    )
    yield (
        "sklearn TransformedTargetRegressor",
        TransformedTargetRegressor(
            regressor=HistGradientBoostingRegressor(max_iter=2),
            func=np.log1p,
            inverse_func=np.expm1,
        ).fit(x, np.abs(y_reg)),
    )
    yield "sklearn FunctionTransformer(np.log1p)", FunctionTransformer(np.log1p).fit(x)
    yield "sklearn LabelEncoder str", LabelEncoder().fit(["a", "b", "c"])
    texts = ["the cat sat", "a dog ran", "the dog sat down", "cats and dogs"] * 3
    yield "sklearn CountVectorizer", CountVectorizer().fit(texts)
    yield (
        "sklearn TfidfVectorizer",
        make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, [0, 1, 1, 0] * 3),
    )


def torch_objects() -> Iterator[tuple[str, Any]]:
    import torch
    from torch import nn

    torch.manual_seed(0)
    models: dict[str, nn.Module] = {
        "mlp": nn.Sequential(
            nn.Linear(4, 8),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(8, 8, bias=False),
            nn.GELU(),
            nn.SiLU(),
            nn.Tanh(),
            nn.Sigmoid(),
            nn.LeakyReLU(),
            nn.ELU(),
            nn.Softplus(),
            nn.Mish(),
            nn.Hardswish(),
            nn.PReLU(),
            nn.Identity(),
            nn.Softmax(dim=-1),
            nn.LogSoftmax(dim=-1),
            nn.LayerNorm(8),
            nn.Linear(8, 2),
        ),
        "conv": nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(4, 4, 3, groups=2),
            nn.GroupNorm(2, 4),
            nn.AvgPool2d(2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(4, 2),
        ),
        "conv1d3d": nn.ModuleList(
            [
                nn.Conv1d(2, 2, 3),
                nn.ConvTranspose1d(2, 2, 3),
                nn.Conv3d(1, 1, 1),
                nn.ConvTranspose2d(2, 2, 3),
                nn.BatchNorm1d(2),
                nn.BatchNorm3d(2),
                nn.InstanceNorm2d(2),
                nn.MaxPool1d(2),
                nn.AdaptiveMaxPool2d(1),
                nn.Upsample(scale_factor=2),
                nn.Dropout2d(),
                nn.ZeroPad2d(1),
                nn.Unflatten(1, (2, 2)),
                nn.PixelShuffle(2),
            ]
        ),
        "rnn": nn.ModuleDict(
            {
                "lstm": nn.LSTM(4, 8, num_layers=2, batch_first=True, bidirectional=True),
                "gru": nn.GRU(4, 8),
                "rnn": nn.RNN(4, 8),
                "cell": nn.LSTMCell(4, 8),
                "gcell": nn.GRUCell(4, 8),
            }
        ),
        "embedding": nn.Sequential(nn.Embedding(10, 4, padding_idx=0), nn.Linear(4, 4)),
        "embeddingbag": nn.EmbeddingBag(10, 4, mode="mean"),
        "transformer": nn.Transformer(
            d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=16
        ),
        "encoder": nn.TransformerEncoder(
            nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, activation="gelu"), 2
        ),
        "attention": nn.MultiheadAttention(8, 2),
        "rmsnorm": nn.Sequential(nn.RMSNorm(8), nn.Bilinear(8, 8, 2)),
        "params": nn.ParameterList([nn.Parameter(torch.ones(2)), nn.Parameter(torch.zeros(3))]),
        "paramdict": nn.ParameterDict({"w": nn.Parameter(torch.ones(2))}),
    }
    for name, model in models.items():
        yield f"torch model {name}", model
        yield f"torch state_dict {name}", model.state_dict()
    mlp = models["mlp"]
    optimizers = {
        "SGD": torch.optim.SGD(mlp.parameters(), lr=0.1, momentum=0.9),
        "Adam": torch.optim.Adam(mlp.parameters(), lr=1e-3),
        "AdamW": torch.optim.AdamW(mlp.parameters(), lr=1e-3, weight_decay=0.01),
        "RMSprop": torch.optim.RMSprop(mlp.parameters()),
        "Adagrad": torch.optim.Adagrad(mlp.parameters()),
    }
    schedulers = {
        "SGD": torch.optim.lr_scheduler.StepLR(optimizers["SGD"], step_size=1),
        "Adam": torch.optim.lr_scheduler.CosineAnnealingLR(optimizers["Adam"], T_max=5),
        "AdamW": torch.optim.lr_scheduler.OneCycleLR(optimizers["AdamW"], 0.01, total_steps=10),
        "RMSprop": torch.optim.lr_scheduler.ExponentialLR(optimizers["RMSprop"], 0.9),
        "Adagrad": torch.optim.lr_scheduler.ReduceLROnPlateau(optimizers["Adagrad"]),
    }
    for name, optimizer in optimizers.items():
        optimizer.zero_grad()
        mlp(torch.randn(3, 4)).sum().backward()
        optimizer.step()
        scheduler = schedulers[name]
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(1.0)
        else:
            scheduler.step()
        yield f"torch optimizer {name}", optimizer.state_dict()
        yield f"torch scheduler {name}", scheduler.state_dict()
        yield (
            f"torch checkpoint {name}",
            {
                "epoch": 3,
                "model": mlp.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "loss": 0.25,
                "rng": torch.get_rng_state(),
            },
        )
    tensors: dict[str, Any] = {
        f"tensor[{dtype}]": torch.zeros(2, 2, dtype=dtype)
        for dtype in (
            torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64,
            torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool, torch.complex64,
            torch.complex128, torch.float8_e4m3fn, torch.float8_e5m2, torch.uint16,
            torch.uint32, torch.uint64,
        )
    }  # fmt: skip
    tensors["non-contiguous"] = torch.arange(12.0).reshape(3, 4).t()
    tensors["shared storage"] = [torch.arange(6.0), torch.arange(6.0)[2:]]
    tensors["requires_grad"] = torch.ones(2, requires_grad=True)
    tensors["parameter"] = torch.nn.Parameter(torch.ones(2))
    tensors["size"] = torch.Size([2, 3])
    tensors["dtypes"] = [torch.float32, torch.bfloat16, torch.int64, torch.bool]
    tensors["device"] = [torch.device("cpu"), torch.device("cuda", 0), torch.device("meta")]
    tensors["layouts"] = [torch.strided, torch.sparse_coo]
    tensors["sparse"] = torch.eye(3).to_sparse()
    tensors["sparse csr"] = torch.eye(3).to_sparse_csr()
    tensors["quantized"] = torch.quantize_per_tensor(torch.rand(4), 0.1, 0, torch.quint8)
    tensors["quantized per channel"] = torch.quantize_per_channel(
        torch.rand(2, 3), torch.tensor([0.1, 0.2]), torch.tensor([0, 0]), 0, torch.qint8
    )
    tensors["version"] = torch.__version__
    for name, value in tensors.items():
        yield f"torch {name}", value
    yield from torch_nn_sweep()


def torch_nn_sweep() -> Iterator[tuple[str, Any]]:
    """Every public torch.nn layer that builds from a few common argument patterns."""
    from torch import nn

    patterns: list[tuple[Any, ...]] = [(), (4,), (4, 4), (4, 4, 3), (8, 2), ((2, 2),)]
    for name in sorted(nn.modules.__all__):
        cls = getattr(nn, name, None)
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)) or name.startswith("Lazy"):
            continue
        for args in patterns:
            try:
                module = cls(*args)
            except Exception:
                continue
            yield f"torch nn.{name}", module
            break


def build_corpus() -> Corpus:
    import torch

    torch.set_num_threads(1)
    corpus = Corpus()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, obj in numpy_objects():
            corpus.add(f"numpy {label}", obj, PICKLERS)
        for label, obj in sklearn_objects(corpus.skipped):
            corpus.add(label, obj, PICKLERS)
        for label, obj in torch_objects():
            corpus.add(label, obj, TORCH_SAVERS)
    return corpus


# ---------------------------------------------------------------------------------------
# Review and output
# ---------------------------------------------------------------------------------------
def load_dangerous() -> dict[str, str]:
    data = tomllib.loads(DANGEROUS.read_text("utf-8"))
    return {
        str(name): str(section.get("why", ""))
        for section in data.values()
        for name in section.get("names", [])
    }


def dangerous_match(name: str, dangerous: dict[str, str]) -> str | None:
    parts = name.split(".")
    for end in range(1, len(parts) + 1):
        prefix = ".".join(parts[:end])
        if prefix in dangerous:
            return f"{prefix}: {dangerous[prefix]}"
    return None


def resolve(name: str) -> Any:
    """The object a `module.qualname` names in this environment (import of our own libraries)."""
    parts = name.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attr in parts[split:]:
            obj = getattr(obj, attr)
        return obj
    raise LookupError(name)


def classify(name: str, dangerous: dict[str, str]) -> tuple[str, str]:
    """("dangerous" | "accepted" | "excluded", why) for one name found in a benign pickle."""
    hit = dangerous_match(name, dangerous)
    if hit is not None:
        return "dangerous", hit
    if name in EXCLUDED:
        return "excluded", EXCLUDED[name]
    if numpy_spellings(name)[-1] in REVIEWED_FUNCTIONS or name in REVIEWED_FUNCTIONS:
        return "accepted", "reviewed data-reconstruction function"
    try:
        obj = resolve(name)
    except Exception as exc:
        return "excluded", f"does not resolve here ({type(exc).__name__})"
    if inspect.isclass(obj):
        return "accepted", "class"
    torch_module = sys.modules.get("torch")
    if torch_module is not None:
        constant_types = tuple(getattr(torch_module, t) for t in TORCH_CONSTANT_TYPES)
        if isinstance(obj, constant_types):
            return "accepted", "torch constant"
    return "excluded", f"not a class ({type(obj).__name__}); functions stay findings"


def numpy_spellings(name: str) -> list[str]:
    """Both numpy 1.x (`numpy.core`) and numpy 2.x (`numpy._core`) spellings of a name."""
    for old, new in (("numpy.core.", "numpy._core."), ("numpy._core.", "numpy.core.")):
        if name.startswith(old):
            return [name, new + name[len(old) :]]
    return [name]


def section_of(name: str) -> str:
    return SECTIONS.get(name.split(".", 1)[0], "builtins")


def read_allowlist(text: str) -> tuple[str, dict[str, list[str]], dict[str, list[str]]]:
    """(header comment, section -> names, section -> namespaces) of the allowlist file,
    sections in file order."""
    header_lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("["):
            break
        header_lines.append(line)
    document = tomllib.loads(text)
    sections = {key: [str(n) for n in value["names"]] for key, value in document.items()}
    namespaces = {
        key: [str(n) for n in value["namespaces"]]
        for key, value in document.items()
        if "namespaces" in value
    }
    return "\n".join(header_lines).rstrip() + "\n", sections, namespaces


_GENERATED_LINES = re.compile(
    r"^# The \[sklearn\] section is generated by .*\n(# the script also adds .*\n)*",
    re.MULTILINE,
)


def render_allowlist(
    header: str,
    sections: dict[str, list[str]],
    namespaces: dict[str, list[str]],
    sklearn_version: str,
) -> str:
    header = header.replace("tools/generate_sklearn_allowlist.py", "tools/generate_allowlist.py")
    header = _GENERATED_LINES.sub("", header)
    header += (
        f"# The [sklearn] section is generated by tools/generate_allowlist.py (scikit-learn "
        f"{sklearn_version});\n# the script also adds the names it finds to the other sections.\n"
    )
    out = [header]
    for key, names in sections.items():
        out.append(f"\n[{key}]\nnames = [\n")
        line = " "
        for name in sorted(set(names)):
            item = f' "{name}",'
            if len(line) + len(item) > LINE_LENGTH:
                out.append(line + "\n")
                line = " "
            line += item
        if line.strip():
            out.append(line + "\n")
        out.append("]\n")
        if key in namespaces:
            out.append("namespaces = [" + ", ".join(f'"{n}"' for n in namespaces[key]) + "]\n")
    return "".join(out)


def update_allowlist(accepted: Iterable[str], sklearn_version: str) -> dict[str, list[str]]:
    """Write the accepted names into the allowlist; returns the names new to each section."""
    header, sections, namespaces = read_allowlist(ALLOWLIST.read_text("utf-8"))
    before = {key: set(names) for key, names in sections.items()}
    for key in GENERATED_SECTIONS:
        sections[key] = []
    for name in accepted:
        for spelling in numpy_spellings(name):
            sections.setdefault(section_of(spelling), []).append(spelling)
    ALLOWLIST.write_text(render_allowlist(header, sections, namespaces, sklearn_version), "utf-8")
    return {key: sorted(set(names) - before.get(key, set())) for key, names in sections.items()}


def report(corpus: Corpus, dangerous: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    buckets: dict[str, list[tuple[str, str]]] = {"dangerous": [], "accepted": [], "excluded": []}
    for name in sorted(corpus.names):
        bucket, why = classify(name, dangerous)
        buckets[bucket].append((name, why))
    return buckets


def _example(corpus: Corpus, name: str) -> str:
    users = sorted(corpus.names[name])
    more = f" (+{len(users) - 1} more)" if len(users) > 1 else ""
    return users[0] + more


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="print the report only")
    parser.add_argument("--verbose", action="store_true", help="also list skipped objects")
    args = parser.parse_args(argv)

    import sklearn

    corpus = build_corpus()
    dangerous = load_dangerous()
    buckets = report(corpus, dangerous)

    if args.verbose:
        print(f"# skipped ({len(corpus.skipped)})")
        for line in corpus.skipped:
            print(f"  {line}")
    if buckets["dangerous"]:
        print("# WARNING: benign pickles use denylisted names (not allowlisted; review):")
        for name, why in buckets["dangerous"]:
            print(f"  {name}  [{why}]  e.g. {_example(corpus, name)}")
    print("# excluded (stay findings; review):")
    for name, why in buckets["excluded"]:
        print(f"  {name}  [{why}]  e.g. {_example(corpus, name)}")
    accepted = [name for name, _ in buckets["accepted"]]
    print(f"# accepted: {len(accepted)} names from {len(corpus.names)} found")
    if args.dry_run:
        for name in accepted:
            print(f"  {name}")
        return 0
    added = update_allowlist(accepted, sklearn.__version__)
    for key, names in added.items():
        if names:
            print(f"# [{key}] +{len(names)}")
            for name in names:
                print(f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
