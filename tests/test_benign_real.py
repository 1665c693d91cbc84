"""Benign files made on the spot with the real libraries must scan clean.

Each test builds an ordinary artifact the way users make them (torch.save, joblib.dump,
pickle.dump, numpy.save/savez), scans it with the default Scanner and expects no finding at
medium severity or above: deny-by-default must not flag everyday checkpoints.
"""

from __future__ import annotations

import io
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airlock.artifact import ArtifactFile
from airlock.findings import Finding, Severity
from airlock.scan.scanner import Scanner

np = pytest.importorskip("numpy")


def _scan(path: Path) -> list[Finding]:
    result = Scanner().scan_file(ArtifactFile(path, str(path)))
    return list(result.findings)


def _assert_clean(path: Path) -> None:
    loud = [f for f in _scan(path) if f.severity >= Severity.MEDIUM]
    shown = [f"{f.rule_id} {f.severity.label} {f.location.describe()}: {f.evidence}" for f in loud]
    assert not loud, f"{path.name}: " + "; ".join(shown)


# ---------------------------------------------------------------------------------------
# torch
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def torch_mod() -> Any:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    return torch


def _torch_objects(torch: Any) -> dict[str, Callable[[], Any]]:
    nn = torch.nn

    def model() -> Any:
        return nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(16, 8),
            nn.LayerNorm(8),
            nn.GELU(),
            nn.Dropout(0.1),
            nn.Linear(8, 2),
        )

    def optimizer_state() -> Any:
        # What AdamW(...).state_dict() and StepLR(...).state_dict() return after one step,
        # built directly: constructing a torch optimizer imports torch._dynamo (seconds).
        net = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1))
        params = list(net.parameters())
        state = {
            index: {
                "step": torch.tensor(1.0),
                "exp_avg": torch.zeros_like(param),
                "exp_avg_sq": torch.zeros_like(param),
            }
            for index, param in enumerate(params)
        }
        group = {
            "lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01,
            "amsgrad": False, "foreach": None, "maximize": False, "capturable": False,
            "differentiable": False, "fused": None, "decoupled_weight_decay": True,
            "initial_lr": 1e-3, "params": list(range(len(params))),
        }  # fmt: skip
        scheduler = {
            "step_size": 1, "gamma": 0.1, "base_lrs": [1e-3], "last_epoch": 1,
            "_step_count": 2, "_is_initial": False, "_get_lr_called_within_step": False,
            "_last_lr": [1e-4],
        }  # fmt: skip
        return {
            "epoch": 1,
            "model": net.state_dict(),
            "optimizer": {"state": state, "param_groups": [group]},
            "scheduler": scheduler,
        }

    def lstm_embedding_state() -> Any:
        net = nn.ModuleDict({"emb": nn.Embedding(10, 4), "lstm": nn.LSTM(4, 4, batch_first=True)})
        return net.state_dict()

    return {
        "state_dict": lambda: model().state_dict(),
        "sequential": model,
        "optimizer": optimizer_state,
        "lstm_embedding": lstm_embedding_state,
    }


TORCH_CASES = ["state_dict", "sequential", "optimizer", "lstm_embedding"]


@pytest.mark.parametrize("case", TORCH_CASES)
def test_torch_save_zip_is_clean(torch_mod: Any, tmp_path: Path, case: str) -> None:
    path = tmp_path / f"{case}.pt"
    torch_mod.save(_torch_objects(torch_mod)[case](), path)
    _assert_clean(path)


@pytest.mark.parametrize("case", TORCH_CASES)
def test_torch_save_legacy_is_clean(torch_mod: Any, tmp_path: Path, case: str) -> None:
    path = tmp_path / f"{case}.bin"
    torch_mod.save(_torch_objects(torch_mod)[case](), path, _use_new_zipfile_serialization=False)
    _assert_clean(path)


def test_torchscript_archive_is_clean(torch_mod: Any, tmp_path: Path) -> None:
    import torch  # TorchScript reads the annotations below: they must name torch.Tensor

    nn = torch.nn

    class Gated(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.sizes = [4, 8]  # saved through torch.jit._pickle.build_intlist
            self.layers = nn.ModuleList([nn.Linear(4, 8), nn.Linear(8, 2)])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for layer in self.layers:
                x = layer(x).relu()
            return x if x.sum() > 0 else -x

    path = tmp_path / "model.torchscript"
    torch_mod.jit.save(torch_mod.jit.script(Gated()), path)
    findings = _scan(path)
    _assert_clean(path)
    # Its code is still shown, as what torch.jit.load compiles and runs.
    code = [f for f in findings if f.rule_id == "AIR701"]
    assert code and all("torch.jit.load" in f.message for f in code)


def test_trainer_checkpoint_state_is_clean(torch_mod: Any, tmp_path: Path) -> None:
    # Every Hugging Face Trainer checkpoint folder holds these next to the weights.
    import random

    from transformers import GenerationConfig, Seq2SeqTrainingArguments, TrainingArguments

    common = {"output_dir": str(tmp_path / "out"), "report_to": []}
    torch_mod.save(
        TrainingArguments(
            **common, eval_strategy="epoch", save_strategy="epoch", lr_scheduler_type="cosine"
        ),
        tmp_path / "training_args.bin",
    )
    torch_mod.save(
        Seq2SeqTrainingArguments(
            **common, predict_with_generate=True, generation_config=GenerationConfig()
        ),
        tmp_path / "seq2seq_args.bin",
    )
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "cpu": torch_mod.random.get_rng_state(),
    }
    torch_mod.save(state, tmp_path / "rng_state.pth")
    model = torch_mod.nn.Linear(4, 4)
    optimizer = torch_mod.optim.AdamW(model.parameters())
    model(torch_mod.randn(2, 4)).sum().backward()
    optimizer.step()
    torch_mod.save(optimizer.state_dict(), tmp_path / "optimizer.pt")
    scheduler = torch_mod.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    torch_mod.save(scheduler.state_dict(), tmp_path / "scheduler.pt")
    for path in sorted(tmp_path.glob("*.*")):
        _assert_clean(path)


def test_lightning_style_checkpoint_is_clean(torch_mod: Any, tmp_path: Path) -> None:
    # What Lightning's ModelCheckpoint writes when hyper-parameters are an OmegaConf config
    # (NeMo and Hydra projects): the containers, their nodes and metadata, typing.Any.
    from omegaconf import OmegaConf

    config = OmegaConf.create({"model": {"hidden": 4, "layers": [1, 2]}, "optim": {"lr": 0.1}})
    model = torch_mod.nn.Linear(4, 1)
    checkpoint = {
        "epoch": 1,
        "global_step": 8,
        "pytorch-lightning_version": "2.5.0",
        "state_dict": model.state_dict(),
        "hyper_parameters": {"cfg": config, "lr": 0.001},
        "hparams_name": "kwargs",
    }
    path = tmp_path / "last.ckpt"
    torch_mod.save(checkpoint, path)
    _assert_clean(path)
    assert _scan(path) == []


def _stand_in(monkeypatch: pytest.MonkeyPatch, module: str, cls: type) -> None:
    """Give `cls` the module path that a library not installed here gives its class, so that
    it pickles exactly as theirs does."""
    import types

    parts = module.split(".")
    for end in range(1, len(parts) + 1):  # pickle imports every parent package too
        dotted = ".".join(parts[:end])
        if dotted not in sys.modules:
            monkeypatch.setitem(sys.modules, dotted, types.ModuleType(dotted))
    cls.__module__, cls.__qualname__ = module, cls.__name__
    setattr(sys.modules[module], cls.__name__, cls)


def test_catboost_models_are_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # catboost (a 97 MB wheel) is not installed here: a stand-in pickles as a fitted
    # CatBoostClassifier does (seen with catboost 1.2.10): its parameters and model bytes.
    class CatBoostClassifier:
        def __getstate__(self) -> dict[str, Any]:
            params = {"iterations": 3, "verbose": 0, "allow_writing_files": False}
            return {**params, "__model": b"CBM1" + bytes(64), "_prediction_values_change": None}

        def __setstate__(self, state: dict[str, Any]) -> None:
            self.__dict__.update(state)

    _stand_in(monkeypatch, "catboost.core", CatBoostClassifier)
    path = tmp_path / "catboost.pkl"
    path.write_bytes(pickle.dumps(CatBoostClassifier()))
    assert _scan(path) == []


def test_deepspeed_zero_optimizer_state_is_clean(
    torch_mod: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DeepSpeed is not installed here: stand-ins with DeepSpeed's module paths pickle exactly
    # as its classes do (an int enum, plain objects, a dataclass), in the layout of
    # stage_1_and_2.py's state_dict.
    import dataclasses
    import enum

    class ZeroStageEnum(int, enum.Enum):
        optimizer_states = 1
        gradients = 2

    class DynamicLossScaler:
        def __init__(self) -> None:
            self.cur_scale, self.cur_iter, self.dynamic = 65536.0, 10, True

    @dataclasses.dataclass
    class fragment_address:  # DeepSpeed's own spelling
        numel: int
        start: int

    _stand_in(monkeypatch, "deepspeed.runtime.zero.config", ZeroStageEnum)
    _stand_in(monkeypatch, "deepspeed.runtime.fp16.loss_scaler", DynamicLossScaler)
    _stand_in(monkeypatch, "deepspeed.utils.tensor_fragment", fragment_address)
    state = {
        "loss_scaler": DynamicLossScaler(),
        "dynamic_loss_scale": True,
        "zero_stage": ZeroStageEnum.gradients,
        "partition_count": [1],
        "ds_version": "0.19.8",
        "param_slice_mappings": [{"layer.weight": fragment_address(numel=16, start=0)}],
        "base_optimizer_state": {"state": {}, "param_groups": []},
        "single_partition_of_fp32_groups": [torch_mod.zeros(16)],
    }
    path = tmp_path / "bf16_zero_pp_rank_0_mp_rank_00_optim_states.pt"
    torch_mod.save({"optimizer_state_dict": state, "ds_version": "0.19.8"}, path)
    _assert_clean(path)
    assert _scan(path) == []


def test_torchscript_names_in_the_policy() -> None:
    from airlock.scan.names.pickle_globals import GlobalsPolicy, Status

    policy = GlobalsPolicy.default()
    assert policy.judge("__torch__.Gated").status is Status.ALLOWED
    assert policy.judge("torch.jit._pickle.build_intlist").status is Status.ALLOWED
    assert policy.judge("torch.jit.load").status is Status.DANGEROUS
    assert policy.judge("torch.jit._pickle.anything_else").status is Status.DANGEROUS
    assert policy.judge("__torch_x__.Gated").status is Status.UNKNOWN


# ---------------------------------------------------------------------------------------
# scikit-learn with joblib and pickle
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sklearn_models() -> dict[str, Any]:
    pytest.importorskip("sklearn")
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sklearn.svm import SVC

    rng = np.random.RandomState(0)
    x = rng.rand(30, 3)
    y = np.array([0, 1, 2] * 10)
    mixed = np.empty((30, 2), dtype=object)
    mixed[:, 0] = x[:, 0]
    mixed[:, 1] = np.array(["a", "b", "c"] * 10, dtype=object)
    column = ColumnTransformer(
        [("num", StandardScaler(), [0]), ("cat", OneHotEncoder(handle_unknown="ignore"), [1])]
    )
    return {
        "logreg": LogisticRegression().fit(x, y),
        "forest": RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y),
        "hgb": HistGradientBoostingClassifier(max_iter=3).fit(x, y),
        # Stores functools.partial(check_array): a wrapper, not a call, at load time.
        "hgb_categorical": HistGradientBoostingClassifier(max_iter=3, categorical_features=[2]).fit(
            np.c_[x[:, :2], np.arange(30) % 3], y
        ),
        "svc": SVC().fit(x, y),
        "knn_kdtree": KNeighborsClassifier(algorithm="kd_tree").fit(x, y),
        "pipeline": make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y),
        "column_pipeline": make_pipeline(column, LogisticRegression()).fit(mixed, y),
        "grid_search": GridSearchCV(
            make_pipeline(StandardScaler(), LogisticRegression()),
            {"logisticregression__C": [0.5, 1.0]},
            cv=2,
        ).fit(x, y),
    }


SKLEARN_CASES = [
    "logreg", "forest", "hgb", "hgb_categorical", "svc", "knn_kdtree", "pipeline",
    "column_pipeline", "grid_search",
]  # fmt: skip


@pytest.mark.parametrize("compress", [0, 3])
@pytest.mark.parametrize("case", SKLEARN_CASES)
def test_joblib_dump_is_clean(
    sklearn_models: dict[str, Any], tmp_path: Path, case: str, compress: int
) -> None:
    import joblib

    path = tmp_path / f"{case}.joblib"
    joblib.dump(sklearn_models[case], path, compress=compress)
    _assert_clean(path)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_pickled_pipeline_is_clean(
    sklearn_models: dict[str, Any], tmp_path: Path, protocol: int
) -> None:
    path = tmp_path / f"pipeline-{protocol}.pkl"
    with path.open("wb") as handle:
        pickle.dump(sklearn_models["column_pipeline"], handle, protocol=protocol)
    _assert_clean(path)


# ---------------------------------------------------------------------------------------
# numpy
# ---------------------------------------------------------------------------------------
GRADIENT_BOOSTING = ["xgb_classifier", "xgb_regressor", "xgb_booster", "lgbm_classifier"]
GRADIENT_BOOSTING += ["lgbm_regressor", "lgbm_booster"]


@pytest.mark.parametrize("case", GRADIENT_BOOSTING)
@pytest.mark.parametrize("dump", ["joblib", "pickle"])
def test_gradient_boosting_models_are_clean(tmp_path: Path, case: str, dump: str) -> None:
    import joblib
    import lightgbm
    import xgboost

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(120, 5)), rng.integers(0, 2, size=120)
    make: dict[str, Callable[[], Any]] = {
        "xgb_classifier": lambda: xgboost.XGBClassifier(n_estimators=3).fit(x, y),
        "xgb_regressor": lambda: xgboost.XGBRegressor(n_estimators=3).fit(x, y * 1.5),
        "xgb_booster": lambda: xgboost.train({}, xgboost.DMatrix(x, y), 3),
        "lgbm_classifier": lambda: lightgbm.LGBMClassifier(n_estimators=3, verbose=-1).fit(x, y),
        "lgbm_regressor": lambda: lightgbm.LGBMRegressor(n_estimators=3, verbose=-1).fit(x, y),
        "lgbm_booster": lambda: lightgbm.train(
            {"verbose": -1}, lightgbm.Dataset(x, y.astype(float)), 3
        ),
    }
    path = tmp_path / f"{case}.{dump}"
    if dump == "joblib":
        joblib.dump(make[case](), path)
    else:
        path.write_bytes(pickle.dumps(make[case]()))
    _assert_clean(path)
    assert _scan(path) == []


def test_npy_plain_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "plain.npy"
    np.save(path, np.arange(12, dtype=np.float32).reshape(3, 4))
    _assert_clean(path)


def test_npy_object_array_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "objects.npy"
    np.save(path, np.array(["a", 1, "bc", 2, None], dtype=object), allow_pickle=True)
    _assert_clean(path)


def test_npz_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "arrays.npz"
    np.savez(
        path,
        weights=np.ones((2, 2)),
        ids=np.arange(4, dtype=np.int64),
        when=np.array(["2024-01-01"], dtype="M8[D]"),
    )
    _assert_clean(path)


def test_npz_compressed_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "compressed.npz"
    np.savez_compressed(path, a=np.zeros(10), b=np.array([1, 2, 3], dtype=np.uint8))
    _assert_clean(path)


def test_pickled_numpy_values_are_clean(tmp_path: Path) -> None:
    value = {
        "array": np.zeros((2, 3), dtype=np.float64),
        "structured": np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8", (2,))]),
        "scalar": np.float32(1.5),
        "masked": np.ma.masked_array([1.0, 2.0], mask=[False, True]),
        "rng": np.random.default_rng(0),
        "legacy_rng": np.random.RandomState(0),
    }
    for protocol in (2, 4, 5):
        path = tmp_path / f"numpy-{protocol}.pkl"
        path.write_bytes(pickle.dumps(value, protocol=protocol))
        _assert_clean(path)
    buffer = io.BytesIO()
    pytest.importorskip("joblib").dump(value, buffer)
    joblib_path = tmp_path / "numpy.joblib"
    joblib_path.write_bytes(buffer.getvalue())
    _assert_clean(joblib_path)
