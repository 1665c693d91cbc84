"""The command line and environment of one engine process, from the engine's entry in
`data/managed_engines.toml` and the model's recorded options: pointed at the verified private
copy and nothing else, listening on loopback only, requiring a key only Airlock knows."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from airlock import engine_options as options_
from airlock.engine_options import EngineKind, OptionError, OptionValue

AUTO = "auto"
GGUF_ENGINE = "llama.cpp"
FOLDER_ENGINE = "vllm"
# Airlock's own settings (database URL with its password, upstream key): no engine gets them.
_PRIVATE_PREFIX = "AIRLOCK_"


class EngineStartError(Exception):
    """The engine cannot be started as configured, or did not come up; the message says why."""


@dataclass(frozen=True)
class Command:
    argv: list[str]
    env: dict[str, str]


def engine_for(kind: str, files: list[str]) -> EngineKind:
    """The engine `kind` names; "auto": llama.cpp for a model with a GGUF file, else vLLM."""
    if kind == AUTO:
        kind = GGUF_ENGINE if any(f.endswith(".gguf") for f in files) else FOLDER_ENGINE
    try:
        return options_.kind(kind)
    except OptionError as exc:
        raise EngineStartError(str(exc)) from None


def build(
    engine: EngineKind,
    folder: Path,
    name: str,
    options: dict[str, OptionValue],
    port: int,
    api_key: str,
    gpus: list[str] | None = None,
) -> Command:
    """Argv and environment; raises EngineStartError for an option the engine does not take,
    a GGUF engine without exactly one GGUF file, or an engine that is not installed."""
    fields = {"folder": str(folder), "port": str(port), "name": name}
    if any("{gguf}" in arg for arg in engine.args):
        fields["gguf"] = str(_one_gguf(folder))
    try:
        flags = options_.flags(engine, options)
    except OptionError as exc:
        raise EngineStartError(str(exc)) from None
    argv = [*_executable(engine), *(arg.format(**fields) for arg in engine.args), *flags]
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PRIVATE_PREFIX)}
    env.update(engine.env)
    env[engine.api_key_env] = api_key
    if gpus is not None:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
    return Command(argv, env)


def gpu_sets(
    engine: EngineKind, options: dict[str, OptionValue], replicas: int
) -> list[list[str] | None]:
    """The GPUs each replica may see: disjoint sets of tensor x pipeline parallel size, taken
    from CUDA_VISIBLE_DEVICES (or 0, 1, ...). One replica keeps what the gateway sees (None)."""
    per = options_.gpus_per_process(engine, options)
    if per == 0 or replicas == 1:
        return [None] * replicas
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    devices = visible.split(",") if visible else [str(i) for i in range(per * replicas)]
    if len(devices) < per * replicas:
        raise EngineStartError(
            f"{replicas} replicas of {per} GPU(s) each need {per * replicas} GPUs; "
            f"CUDA_VISIBLE_DEVICES names {len(devices)}"
        )
    return [devices[i * per : (i + 1) * per] for i in range(replicas)]


def _executable(engine: EngineKind) -> list[str]:
    first, *rest = engine.executable
    if first == "python":
        module = rest[1] if rest[:1] == ["-m"] and len(rest) > 1 else None
        if module is not None and importlib.util.find_spec(module.split(".")[0]) is None:
            raise EngineStartError(
                f"the {engine.name} engine needs the Python package {module.split('.')[0]!r}, "
                "and it is not installed here"
            )
        return [sys.executable, *rest]
    found = shutil.which(first)
    if found is None:
        raise EngineStartError(
            f"the {engine.name} engine needs `{first}` on PATH, and it is not installed here"
        )
    return [found, *rest]


def _one_gguf(folder: Path) -> Path:
    found = sorted(p for p in folder.rglob("*.gguf") if p.is_file())
    if len(found) != 1:
        raise EngineStartError(
            f"the llama.cpp engine serves a model with exactly one .gguf file; this one has "
            f"{len(found)}"
        )
    return found[0]
