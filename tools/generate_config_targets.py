"""Print the generated sections of src/airlock/data/config_targets.toml from the installed
torch and keras (reviewed by hand before pasting; the hand-written sections stay as they are).

What it lists:

* [torch_generated]: every class `torch.optim` / `torch.optim.lr_scheduler` / `torch.nn`
  export that subclasses Optimizer, LRScheduler (or the old _LRScheduler) or nn.Module. They
  build optimizers, schedulers, layers and losses from the config's numbers; callables passed
  to them (LambdaLR's `lr_lambda`) are nested targets, judged on their own.
* [keras_generated]: the public Keras 3 names (`keras.layers.Dense`, ...) of layers,
  initializers, regularizers, constraints, optimizers and schedules, losses, metrics,
  activations and models, minus the ones that load other files or code (Lambda, TFSMLayer,
  (de)serializers, `get`). `builtin_functions`: the bare names Keras resolves a
  `"module": "builtins"` function to (serialization_lib.BUILTIN_MODULES).

Usage: KERAS_BACKEND=torch .venv/bin/python tools/generate_config_targets.py
"""

from __future__ import annotations

import inspect
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import torch
from keras.src import api_export

KERAS_MODULES = (
    "layers", "initializers", "regularizers", "constraints", "optimizers",
    "optimizers.schedules", "losses", "metrics", "activations", "models",
)  # fmt: skip
KERAS_BUILTIN_MODULES = (
    "activations", "constraints", "initializers", "losses", "metrics", "optimizers",
    "regularizers",
)  # fmt: skip
# Members that load files, models or code, or deserialize nested configs themselves.
KERAS_EXCLUDED = {"Lambda", "TFSMLayer", "deserialize", "serialize", "get", "load_model",
                  "model_from_json", "save_model", "clone_model"}  # fmt: skip


def torch_names() -> list[str]:
    bases: dict[str, tuple[type, ...]] = {
        "torch.optim": (torch.optim.Optimizer,),
        "torch.optim.lr_scheduler": (torch.optim.lr_scheduler.LRScheduler,),
        "torch.nn": (torch.nn.Module,),
    }
    names = []
    for module_name, base in bases.items():
        module = __import__(module_name, fromlist=["_"])
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, base) and not name.startswith("_"):
                names.append(f"{module_name}.{name}")
    return sorted(set(names))


def keras_names() -> list[str]:
    public = [f"keras.{m}." for m in KERAS_MODULES]
    names = [
        name
        for name in api_export.REGISTERED_NAMES_TO_OBJS
        if any(name.startswith(p) and "." not in name[len(p) :] for p in public)
        and name.rsplit(".", 1)[1] not in KERAS_EXCLUDED
    ]
    names += ["keras.DTypePolicy", "keras.FloatDTypePolicy", "keras.Sequential", "keras.Model",
              "keras.Input", "keras.InputSpec", "keras.Layer", "keras.Variable"]  # fmt: skip
    return sorted(set(names))


def keras_builtin_functions() -> list[str]:
    found = []
    for name, obj in api_export.REGISTERED_NAMES_TO_OBJS.items():
        parts = name.split(".")
        builtin = len(parts) == 3 and parts[1] in KERAS_BUILTIN_MODULES
        if builtin and inspect.isfunction(obj) and parts[2] not in KERAS_EXCLUDED:
            found.append(parts[2])
    return sorted(set(found))


def toml_list(key: str, names: list[str]) -> str:
    return f"{key} = [\n" + "".join(f'    "{n}",\n' for n in names) + "]\n"


if __name__ == "__main__":
    print(f"# torch {torch.__version__}, keras {keras.__version__}")
    print("[torch_generated]\n" + toml_list("names", torch_names()))
    print("[keras_generated]\n" + toml_list("names", keras_names()))
    print(toml_list("builtin_functions", keras_builtin_functions()))
