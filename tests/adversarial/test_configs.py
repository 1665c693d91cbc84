"""Adversarial configs (issue 12, class 1): YAML python tags, Hydra `_target_`, LightningCLI
`class_path` and Keras `module` / `class_name` that make the loader import and call a command.

Each YAML sample runs the canary under `yaml.unsafe_load_all`, each Hydra sample under
`hydra.utils.instantiate(OmegaConf.load(path))` (hydra-core 1.3.2, the release NeMo pins; 1.3.8
added its own target blocklist): all samples of a loader are proved live in one child process.
LightningCLI samples are not proved live (jsonargparse is not installed here), nor Keras ones:
Keras 3.9+ refuses modules outside Keras, so they are built as Keras 3.0-3.8 and tf.keras read
them (keras/src/saving/serialization_lib.py: `importlib.import_module(module)` then
`vars(module).get(name)`). Every sample must be flagged at >= HIGH by the default scan.

The benign set (real Hydra/NeMo/LightningCLI/MLflow configs, Keras models saved with the real
keras) must stay below HIGH.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from adversarial.live import (
    assert_blocked,
    assert_clean,
    canary_code,
    canary_shell,
    run_snippet,
)
from airlock.findings import Severity

CRIT = Severity.CRITICAL
HIGH = Severity.HIGH


@dataclass(frozen=True)
class Sample:
    name: str
    # With {cmd} (a shell command, quoted), {cmd_raw} (unquoted), {code} (Python source,
    # quoted) or {argv} (a JSON list).
    text: str
    at_least: Severity = HIGH
    file_name: str = "config.yaml"


def write(tmp_path: Path, sample: Sample) -> tuple[Path, Path]:
    folder = tmp_path / sample.name
    folder.mkdir()
    canary = folder / "CANARY"
    text = (
        sample.text.replace("{cmd}", json.dumps(canary_shell(canary)))
        .replace("{cmd_raw}", canary_shell(canary))  # inside a string already quoted
        .replace("{code}", json.dumps(canary_code(canary)))
        .replace("{argv}", json.dumps(["touch", str(canary)]))
    )
    path = folder / sample.file_name
    path.write_bytes(text.encode("utf-16") if sample.name.endswith("utf16") else text.encode())
    return path, canary


def prove_all_live(loader: str, built: list[tuple[Sample, Path, Path]]) -> None:
    """Load every sample with the real loader in one child process: every canary must fire."""
    program = f"paths = {[str(p) for _, p, _ in built]!r}\n" + textwrap.dedent(loader)
    output = run_snippet(program, built[0][1], cwd=built[0][1].parent)
    dead = [s.name for s, _, canary in built if not canary.exists()]
    assert not dead, f"samples that did not fire under the real loader: {dead}\n{output[-3000:]}"
    for _, _, canary in built:
        canary.unlink()


def check_blocked(tmp_path: Path, samples: list[Sample], loader: str | None) -> None:
    built = [(s, *write(tmp_path, s)) for s in samples]
    if loader is not None:
        prove_all_live(loader, built)
    for sample, path, canary in built:
        assert_blocked(path, canary, at_least=sample.at_least)


# YAML python tags --------------------------------------------------------------------------

UNSAFE_YAML = """
import yaml
for p in paths:
    try:
        with open(p, 'rb') as f:
            list(yaml.unsafe_load_all(f.read()))
    except Exception as exc:
        print(p, repr(exc))
"""

YAML_TAGS = [
    Sample("apply-os-system", "run: !!python/object/apply:os.system [{cmd}]\n", CRIT),
    Sample("apply-posix-system", "run: !!python/object/apply:posix.system [{cmd}]\n"),
    Sample("apply-bare-exec", "run: !!python/object/apply:exec [{code}]\n", CRIT),
    Sample("apply-builtins-eval", "run: !!python/object/apply:builtins.eval [{code}]\n", CRIT),
    Sample("new-os-system", "run: !!python/object/new:os.system [{cmd}]\n", CRIT),
    Sample("apply-subprocess-run", "run: !!python/object/apply:subprocess.run [{argv}]\n", CRIT),
    Sample(
        "apply-kwds-mapping",
        "run: !!python/object/apply:subprocess.call\n  args: [{argv}]\n  kwds: {shell: false}\n",
        CRIT,
    ),
    Sample("apply-subprocess-getoutput", "x: !!python/object/apply:subprocess.getoutput [{cmd}]\n"),
    Sample(
        "apply-timeit",
        "x: !!python/object/apply:timeit.timeit\n  args: [{code}]\n  kwds: {number: 1}\n",
    ),
    Sample("apply-cprofile", "x: !!python/object/apply:cProfile.run [{code}]\n"),
    Sample("apply-pydoc-pipepager", "x: !!python/object/apply:pydoc.pipepager ['', {cmd}]\n"),
    Sample(
        "map-of-name",
        "x: !!python/object/apply:builtins.list\n"
        "- !!python/object/apply:builtins.map [!!python/name:os.system , [{cmd}]]\n",
        CRIT,
    ),
    Sample(
        "nested-args-allowlisted-outer",
        "x: !!python/object/apply:collections.OrderedDict\n"
        "- [[k, !!python/object/apply:os.system [{cmd}]]]\n",
        CRIT,
    ),
    Sample(
        "tag-handle",
        "%TAG !py! tag:yaml.org,2002:python/\n---\nx: !py!object/apply:os.system [{cmd}]\n",
        CRIT,
    ),
    Sample(
        "primary-handle",
        "%TAG ! tag:yaml.org,2002:python/object/\n---\nx: !apply:os.system [{cmd}]\n",
        CRIT,
    ),
    Sample(
        "escaped-handle-prefix",
        "%TAG !e! tag:yaml.org,2002:pyth%6Fn/obj%65ct/\n---\nx: !e!apply:os.system [{cmd}]\n",
        CRIT,
    ),
    Sample(
        "verbatim",
        "x: !<tag:yaml.org,2002:python/object/apply:os.system> [{cmd}]\n",
        CRIT,
    ),
    Sample("escaped-name", "x: !!python/object/apply:os%2Esystem [{cmd}]\n", CRIT),
    Sample("flow-mapping", "{a: 1, b: !!python/object/apply:os.system [{cmd}]}\n", CRIT),
    Sample("as-key", "? !!python/object/apply:os.system [{cmd}]\n: v\n", CRIT),
    Sample("anchor", "- &p !!python/object/apply:os.system [{cmd}]\n- *p\n", CRIT),
    Sample("second-document", "a: 1\n---\nb: !!python/object/apply:os.system [{cmd}]\n", CRIT),
    Sample("utf16", "x: !!python/object/apply:os.system [{cmd}]\n", CRIT),
    Sample(
        "object-new-state",
        "x: !!python/object/new:builtins.list\n  listitems:\n"
        "  - !!python/object/apply:os.system [{cmd}]\n",
        CRIT,
    ),
    Sample(
        "hparams-yaml",
        "lr: 0.001\nbatch_size: 32\nshape: !!python/tuple [1, 2]\n"
        "callback: !!python/object/apply:os.system [{cmd}]\n",
        CRIT,
        "hparams.yaml",
    ),
    Sample("mlmodel", "flavors:\n  x: !!python/object/apply:os.system [{cmd}]\n", CRIT, "MLmodel"),
]


def test_yaml_python_tags_are_blocked(tmp_path: Path) -> None:
    check_blocked(tmp_path, YAML_TAGS, UNSAFE_YAML)


# Hydra `_target_` --------------------------------------------------------------------------

HYDRA = """
from omegaconf import OmegaConf
from hydra.utils import instantiate
for p in paths:
    cfg = OmegaConf.load(p)
    try:
        instantiate(cfg)
    except Exception as exc:
        print(p, repr(exc)[:300])
        for key in cfg:  # as apps do: `instantiate(cfg.model)`
            try:
                instantiate(cfg[key])
            except Exception as exc:
                print(p, key, repr(exc)[:300])
"""

HYDRA_CONFIGS = [
    Sample("os-system", "cb:\n  _target_: os.system\n  _args_: [{cmd}]\n", CRIT),
    Sample("builtins-exec", "cb:\n  _target_: builtins.exec\n  _args_: [{code}]\n", CRIT),
    Sample("builtins-eval", "_target_: builtins.eval\n_args_: [{code}]\n", CRIT),
    Sample("subprocess-run", "cb:\n  _target_: subprocess.run\n  args: {argv}\n", CRIT),
    Sample("posix-system", "cb:\n  _target_: posix.system\n  _args_: [{cmd}]\n"),
    Sample("os-path-os-system", "cb:\n  _target_: os.path.os.system\n  _args_: [{cmd}]\n"),
    Sample("torch-reexport", "cb:\n  _target_: torch.serialization.os.system\n  _args_: [{cmd}]\n"),
    Sample(
        "omegaconf-reexport", "cb:\n  _target_: omegaconf.omegaconf.os.system\n  _args_: [{cmd}]\n"
    ),
    Sample(
        "numpy-reexport", "cb:\n  _target_: numpy.lib._datasource.os.system\n  _args_: [{cmd}]\n"
    ),
    Sample(
        "hydra-reexport", "cb:\n  _target_: hydra._internal.utils.os.system\n  _args_: [{cmd}]\n"
    ),
    Sample("uuid-reexport", "cb:\n  _target_: uuid.os.system\n  _args_: [{cmd}]\n"),
    Sample("codecs-builtins", "cb:\n  _target_: codecs.builtins.exec\n  _args_: [{code}]\n"),
    Sample("unknown-getoutput", "cb:\n  _target_: subprocess.getoutput\n  _args_: [{cmd}]\n"),
    Sample("unknown-timeit", "cb:\n  _target_: timeit.timeit\n  stmt: {code}\n  number: 1\n"),
    Sample("unknown-pydoc", "cb:\n  _target_: pydoc.pipepager\n  _args_: ['', {cmd}]\n"),
    Sample("unknown-cprofile", "cb:\n  _target_: cProfile.run\n  _args_: [{code}]\n"),
    Sample(
        "nested-in-allowlisted",
        "optimizer:\n  _target_: torch.optim.Adam\n  params:\n"
        "    _target_: os.system\n    _args_: [{cmd}]\n",
        CRIT,
    ),
    Sample(
        "partial-through-map",
        "x:\n  _target_: builtins.list\n  _args_:\n  - _target_: builtins.map\n    _args_:\n"
        "    - _target_: os.system\n      _partial_: true\n    - [{cmd}]\n",
        CRIT,
    ),
    Sample(
        "interpolated-from-key",
        "fn: os.system\ncb:\n  _target_: ${fn}\n  _args_: [{cmd}]\n",
        CRIT,
    ),
    Sample(
        "interpolated-relative",
        "fns:\n  run: subprocess.getoutput\ncb:\n  _target_: ${..fns.run}\n  _args_: [{cmd}]\n",
    ),
    Sample(
        "interpolated-list-index",
        "names: [torch.nn.ReLU, os.system]\ncb:\n  _target_: ${names[1]}\n  _args_: [{cmd}]\n",
        CRIT,
    ),
    Sample(
        "interpolated-forward",
        "cb:\n  _target_: ${impl.fn}\n  _args_: [{cmd}]\nimpl:\n  fn: posix.system\n",
    ),
    Sample(
        "interpolated-concat",
        "mod: os\ncb:\n  _target_: ${mod}.system\n  _args_: [{cmd}]\n",
        CRIT,
    ),
    Sample(
        "interpolated-env-default",
        "cb:\n  _target_: ${oc.env:AIRLOCK_UNSET_VAR,os.system}\n  _args_: [{cmd}]\n",
        CRIT,
    ),
    Sample("alias", "fn: &f os.system\ncb:\n  _target_: *f\n  _args_: [{cmd}]\n"),
    Sample(
        "oc-create-node",
        "cb: '${oc.create:''{\"_target_\": \"os.system\", \"_args_\": [{cmd}]}''}'\n",
        CRIT,
    ),
    Sample(
        "oc-create-unknown",
        "cb: '${oc.create:''{\"_target_\": \"subprocess.getoutput\", \"_args_\": [{cmd}]}''}'\n",
    ),
    Sample("quoted-key", 'cb:\n  "_target_": "os.system"\n  "_args_": [{cmd}]\n', CRIT),
    Sample("flow-style", "cb: {_target_: os.system, _args_: [{cmd}]}\n", CRIT),
    Sample(
        "list-of-callbacks",
        "callbacks:\n- _target_: torch.nn.ReLU\n- _target_: os.system\n  _args_: [{cmd}]\n",
        CRIT,
    ),
    Sample(
        "convert-recursive",
        "cb:\n  _target_: subprocess.call\n  _convert_: all\n  _recursive_: true\n  args: {argv}\n",
        CRIT,
    ),
    Sample("json-config", '{"cb": {"_target_": "os.system", "_args_": [{cmd}]}}', CRIT, "c.json"),
    Sample(
        "json-reexport",
        '{"cb": {"_target_": "torch.serialization.os.system", "_args_": [{cmd}]}}',
        HIGH,
        "model_config.json",
    ),
    Sample(
        "json-oc-create",
        '{"cb": "${oc.create:\'{\\"_target_\\": \\"os.system\\", '
        '\\"_args_\\": [\\"{cmd_raw}\\"]}\'}"}',
        CRIT,
        "c.json",
    ),
    Sample(
        "json-trailing-commas",  # not JSON, but OmegaConf reads .json files as YAML
        '{"cb": {"_target_": "os.system", "_args_": [{cmd}],},}',
        CRIT,
        "config.json",
    ),
    Sample(
        "json-nested",
        '{"model": {"_target_": "torch.nn.Sequential", "_args_": '
        '[{"_target_": "builtins.exec", "_args_": [{code}]}]}}',
        CRIT,
        "config.json",
    ),
]


def test_hydra_targets_are_blocked(tmp_path: Path) -> None:
    hydra_installed = importlib.util.find_spec("hydra") is not None
    check_blocked(tmp_path, HYDRA_CONFIGS, HYDRA if hydra_installed else None)


# LightningCLI / jsonargparse `class_path` (not proved live: jsonargparse is not installed) ---

LIGHTNING_CONFIGS = [
    Sample(
        "class-path-popen",
        "model:\n  class_path: subprocess.Popen\n  init_args:\n    args: {argv}\n",
        CRIT,
    ),
    Sample(
        "class-path-unknown",
        "model:\n  class_path: evil_models.Backdoor\n  init_args: {depth: 4}\n",
    ),
    Sample("class-path-reexport", "trainer:\n  callbacks:\n  - class_path: torch.os.system\n"),
    Sample(
        "callable-init-arg",
        "model:\n  class_path: torch.optim.lr_scheduler.LambdaLR\n"
        "  init_args:\n    lr_lambda: builtins.eval\n",
    ),
    Sample("class-path-interpolated", "fn: evil.Thing\nmodel:\n  class_path: ${fn}\n"),
    Sample("class-path-json", '{"model": {"class_path": "evil_models.Backdoor"}}', HIGH, "c.json"),
]


def test_lightning_class_paths_are_blocked(tmp_path: Path) -> None:
    check_blocked(tmp_path, LIGHTNING_CONFIGS, None)


def test_eval_resolver_remote_code_and_mlflow_loader_are_high(tmp_path: Path) -> None:
    samples = [
        Sample(
            "mlflow-loader-module",
            "flavors:\n  python_function:\n    loader_module: evil_flavor\n    code: code\n",
            HIGH,
            "MLmodel",
        ),
        Sample("eval-resolver", 'dim: ${eval:\'__import__("os").system("id")\'}\n'),
        Sample(
            "remote-code",
            "model:\n  _target_: transformers.AutoModel.from_pretrained\n"
            "  pretrained_model_name_or_path: someone/model\n  trust_remote_code: true\n",
        ),
    ]
    check_blocked(tmp_path, samples, None)


# Keras `module` + `class_name` -------------------------------------------------------------


def keras_obj(module: str | None, class_name: str, config: Any, registered: Any = None) -> Any:
    return {"module": module, "class_name": class_name, "config": config,
            "registered_name": registered}  # fmt: skip


def keras_function(module: str, name: str) -> Any:
    return keras_obj(module, "function", name, "function")


def keras_model(layer_extra: dict[str, Any] | None = None, *layers: Any) -> dict[str, Any]:
    """A Keras 3 Sequential config (as `model.to_json()` / config.json write it)."""
    dense = keras_obj("keras.layers", "Dense", {"name": "dense", "units": 4,
                      "activation": "relu", **(layer_extra or {})})  # fmt: skip
    return keras_obj("keras", "Sequential", {"name": "sequential", "layers": [dense, *layers]})


KERAS_CONFIGS: list[tuple[str, dict[str, Any], Severity]] = [
    ("activation-os-system", keras_model({"activation": keras_function("os", "system")}), CRIT),
    (
        "activation-builtins-exec",
        keras_model({"activation": keras_function("builtins", "exec")}),
        CRIT,
    ),
    (
        "activation-builtins-print",
        keras_model({"activation": keras_function("builtins", "print")}),
        HIGH,
    ),
    ("activation-posix", keras_model({"activation": keras_function("posix", "system")}), HIGH),
    (
        "activation-subprocess",
        keras_model({"activation": keras_function("subprocess", "getoutput")}),
        CRIT,
    ),
    ("loss-pydoc", keras_model({"activation": keras_function("pydoc", "pipepager")}), HIGH),
    ("class-subprocess-popen", keras_model(None, keras_obj("subprocess", "Popen", {})), CRIT),
    ("class-unknown-package", keras_model(None, keras_obj("evil_layers", "Backdoor", {})), HIGH),
    ("class-reexport", keras_model(None, keras_obj("torch.serialization.os", "system", {})), HIGH),
    (
        "function-load-model",
        keras_model({"activation": keras_function("keras.models", "load_model")}),
        HIGH,
    ),
    (
        "function-get-file",
        keras_model({"activation": keras_function("keras.utils", "get_file")}),
        HIGH,
    ),
    (
        "function-unsafe-mode",
        keras_model(
            {"activation": keras_function("keras.config", "enable_unsafe_deserialization")}
        ),
        CRIT,
    ),
    ("custom-object", keras_model(None, keras_obj(None, "Backdoor", {}, "evilpkg>Backdoor")), HIGH),
    (
        "custom-object-module",
        keras_model(None, keras_obj("evilpkg.layers", "Backdoor", {}, "evilpkg>Backdoor")),
        HIGH,
    ),
    (
        "legacy-custom-class-name",
        {
            "class_name": "Sequential",
            "config": {"layers": [{"class_name": "Custom>Backdoor", "config": {}}]},
        },
        HIGH,
    ),
    (
        "functional-inbound",
        keras_obj(
            "keras.src.models.functional",
            "Functional",
            {
                "layers": [
                    keras_obj(
                        "keras.layers",
                        "Activation",
                        {"activation": keras_function("builtins", "eval")},
                    )
                ]
            },
            "Functional",
        ),
        CRIT,
    ),
]


def keras_files(tmp_path: Path, name: str, config: dict[str, Any]) -> list[Path]:
    """The config as a .keras zip, a bare config.json and a legacy .h5 `model_config`."""
    folder = tmp_path / name
    folder.mkdir()
    archive = folder / "model.keras"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.8.0"}))
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("model.weights.h5", b"")
    (folder / "config.json").write_text(json.dumps(config))
    with h5py.File(folder / "model.h5", "w") as h5:
        h5.attrs["model_config"] = json.dumps(config)
        h5.attrs["keras_version"] = "2.15.0"
        h5.create_dataset("w", data=np.zeros(2))
    return [archive, folder / "config.json", folder / "model.h5"]


@pytest.mark.parametrize(
    ("name", "config", "severity"), KERAS_CONFIGS, ids=[k[0] for k in KERAS_CONFIGS]
)
def test_keras_configs_are_blocked(
    tmp_path: Path, name: str, config: dict[str, Any], severity: Severity
) -> None:
    for path in keras_files(tmp_path, name, config):
        assert_blocked(path, tmp_path / "CANARY", at_least=severity)


# Benign ------------------------------------------------------------------------------------

NEMO_CONFORMER = """\
name: "Conformer-CTC-BPE"
model:
  sample_rate: 16000
  train_ds:
    manifest_filepath: ???
    sample_rate: ${model.sample_rate}
    batch_size: 16
    shuffle: true
  tokenizer:
    dir: ???
    type: bpe
  preprocessor:
    _target_: nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor
    sample_rate: ${model.sample_rate}
    normalize: "per_feature"
    window_size: 0.025
    features: 80
  spec_augment:
    _target_: nemo.collections.asr.modules.SpectrogramAugmentation
    freq_masks: 2
    time_masks: 10
  encoder:
    _target_: nemo.collections.asr.modules.ConformerEncoder
    feat_in: ${model.preprocessor.features}
    n_layers: 18
    d_model: 512
    att_context_size: [-1, -1]
  decoder:
    _target_: nemo.collections.asr.modules.ConvASRDecoder
    feat_in: null
    num_classes: -1
    vocabulary: []
  optim:
    name: adamw
    lr: 2.0
    betas: [0.9, 0.98]
    sched:
      name: NoamAnnealing
      d_model: ${model.encoder.d_model}
      warmup_steps: 10000
trainer:
  devices: -1
  max_epochs: 1000
  strategy: ddp
  precision: 32
exp_manager:
  name: ${name}
  create_tensorboard_logger: true
"""

HYDRA_TEMPLATE = """\
# lightning-hydra-template style: model, callbacks, logger and trainer in one file
model:
  optimizer:
    _target_: torch.optim.Adam
    _partial_: true
    lr: 0.001
    weight_decay: 0.0
  scheduler:
    _target_: torch.optim.lr_scheduler.ReduceLROnPlateau
    _partial_: true
    mode: min
    factor: 0.1
    patience: 10
  net:
    _target_: torch.nn.Sequential
    _args_:
    - _target_: torch.nn.Linear
      in_features: 784
      out_features: 64
    - _target_: torch.nn.ReLU
    - _target_: torch.nn.Linear
      in_features: 64
      out_features: 10
  criterion:
    _target_: torch.nn.CrossEntropyLoss
    label_smoothing: 0.1
  hidden: ${eval:'${model.net._args_[0].out_features} * 2'}
callbacks:
  model_checkpoint:
    _target_: lightning.pytorch.callbacks.ModelCheckpoint
    dirpath: ${paths.output_dir}/checkpoints
    monitor: val/acc
    mode: max
  early_stopping:
    _target_: lightning.pytorch.callbacks.EarlyStopping
    monitor: val/acc
    patience: 100
  rich_progress_bar:
    _target_: lightning.pytorch.callbacks.RichProgressBar
logger:
  tensorboard:
    _target_: lightning.pytorch.loggers.tensorboard.TensorBoardLogger
    save_dir: ${paths.output_dir}/tensorboard/
  csv:
    _target_: lightning.pytorch.loggers.csv_logs.CSVLogger
    save_dir: ${paths.output_dir}
trainer:
  _target_: lightning.pytorch.trainer.Trainer
  min_epochs: 1
  max_epochs: 10
  accelerator: cpu
paths:
  output_dir: ${hydra:runtime.output_dir}
data:
  loader:
    _target_: torch.utils.data.DataLoader
    batch_size: 64
    num_workers: 0
  transforms:
    _target_: torchvision.transforms.Compose
    transforms:
    - _target_: torchvision.transforms.ToTensor
    - _target_: torchvision.transforms.Normalize
      mean: [0.1307]
      std: [0.3081]
optimizer_class: torch.optim.SGD
fallback_optimizer:
  _target_: ${optimizer_class}
  _partial_: true
  lr: 0.1
backbone:
  _target_: transformers.AutoModel.from_pretrained
  pretrained_model_name_or_path: bert-base-uncased
scheduler:
  _target_: transformers.get_cosine_schedule_with_warmup
  _partial_: true
  num_warmup_steps: 100
  num_training_steps: 1000
"""

LIGHTNING_CLI = """\
# lightning.pytorch==2.4.0
seed_everything: 42
trainer:
  accelerator: auto
  max_epochs: 3
  logger:
    class_path: lightning.pytorch.loggers.TensorBoardLogger
    init_args:
      save_dir: lightning_logs
  callbacks:
  - class_path: lightning.pytorch.callbacks.ModelCheckpoint
    init_args:
      monitor: val_loss
      save_top_k: 1
  - class_path: LearningRateMonitor
    init_args:
      logging_interval: step
model:
  class_path: lightning.pytorch.demos.boring_classes.DemoModel
  init_args:
    out_dim: 10
    learning_rate: 0.02
data:
  class_path: lightning.pytorch.demos.boring_classes.BoringDataModule
optimizer:
  class_path: torch.optim.AdamW
  init_args:
    lr: 0.001
    weight_decay: 0.01
lr_scheduler:
  class_path: torch.optim.lr_scheduler.CosineAnnealingLR
  init_args:
    T_max: 100
ckpt_path: null
"""

MLMODEL = """\
artifact_path: model
flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    predict_fn: predict
    python_version: 3.11.9
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.5.1
mlflow_version: 2.16.0
model_size_bytes: 1215
model_uuid: 5b2f7d0e6c2d4a6f9c1f0e3d2b1a0c9d
run_id: 0f1e2d3c4b5a69788796a5b4c3d2e1f0
utc_time_created: '2024-09-12 10:11:12.123456'
"""

HPARAMS = """\
lr: 0.001
batch_size: 32
hidden_dims: !!python/tuple [64, 32]
optimizer: adam
"""

JSON_TARGETS = {
    "optimizer": {"_target_": "torch.optim.SGD", "lr": 0.1, "momentum": 0.9},
    "scheduler": {"_target_": "torch.optim.lr_scheduler.StepLR", "step_size": 10},
    "loss": {"_target_": "torch.nn.MSELoss"},
}

BENIGN_TEXT = {
    "nemo/conformer_ctc_bpe.yaml": NEMO_CONFORMER,
    "hydra/train.yaml": HYDRA_TEMPLATE,
    "lightning/config.yaml": LIGHTNING_CLI,
    "mlflow/MLmodel": MLMODEL,
    "lightning/hparams.yaml": HPARAMS,
    "hydra/train.json": json.dumps(JSON_TARGETS),
}


def test_benign_configs_are_clean(tmp_path: Path) -> None:
    for name, text in BENIGN_TEXT.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        assert_clean(path)


def test_benign_hydra_configs_instantiate(tmp_path: Path) -> None:
    """The torch part of the benign Hydra config is real: Hydra instantiates it."""
    if importlib.util.find_spec("hydra") is None:
        pytest.skip("hydra-core is not installed")
    path = tmp_path / "train.json"
    path.write_text(json.dumps({"loss": JSON_TARGETS["loss"]}))
    code = (
        "from omegaconf import OmegaConf\nfrom hydra.utils import instantiate\n"
        "print(type(instantiate(OmegaConf.load(path)).loss).__name__)\n"
    )
    assert "MSELoss" in run_snippet(code, path)
    assert_clean(path)


KERAS_SAVE = """
import keras
inp = keras.Input((8,))
x = keras.layers.Dense(16, activation="relu", kernel_regularizer=keras.regularizers.L2(0.01))(inp)
x = keras.layers.BatchNormalization()(x)
x = keras.layers.Dropout(0.1)(x)
out = keras.layers.Dense(3, activation=keras.activations.softmax)(x)
functional = keras.Model(inp, out)
schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
metrics = ["accuracy", keras.metrics.AUC()]
functional.compile(keras.optimizers.Adam(schedule), "sparse_categorical_crossentropy", metrics)
functional.save("functional.keras")
functional.save("functional.h5")
seq = keras.Sequential([keras.Input((10,), dtype="int32"), keras.layers.Embedding(100, 8),
                        keras.layers.LSTM(4), keras.layers.Dense(1, activation="sigmoid")])
seq.compile("rmsprop", keras.losses.BinaryCrossentropy())
seq.save("lstm.keras")
conv = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3, activation="gelu"),
                         keras.layers.MaxPooling2D(), keras.layers.GlobalAveragePooling2D(),
                         keras.layers.Dense(2, activation=keras.activations.tanh)])
conv.compile(keras.optimizers.SGD(0.01), keras.losses.mean_squared_error)
conv.save("conv.keras")
conv.save("conv.h5")
with open("conv.json", "w") as f:
    f.write(conv.to_json())
print("saved")
"""


def test_benign_keras_models_are_clean(tmp_path: Path) -> None:
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed")
    env = {**os.environ, "KERAS_BACKEND": "torch", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", KERAS_SAVE], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert "saved" in done.stdout, done.stderr[-3000:]
    saved = sorted(p for p in tmp_path.iterdir() if p.suffix in (".keras", ".h5", ".json"))
    assert len(saved) == 6
    for path in saved:
        assert_clean(path)


def test_installed_packages_yaml_files_are_clean() -> None:
    """Real YAML files shipped by the installed packages (Hydra's own configs among them)."""
    site = Path(np.__file__).resolve().parents[1]
    found = sorted(p for p in site.rglob("*.y*ml") if p.suffix in (".yaml", ".yml"))[:400]
    if len(found) < 10:
        pytest.skip("too few YAML files installed")
    for path in found:
        assert_clean(path)
