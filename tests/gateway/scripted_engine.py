"""A scripted engine plugged in through the manager's loader seam: the `engine.json` in the
verified copy it is given says whether to sleep, raise or load, and what to reply. No torch."""

from __future__ import annotations

import json
import time
from pathlib import Path

from airlock.gateway.engines.interface import (
    Capability,
    Engine,
    EngineError,
    Generation,
    GenerationStream,
)

LOADED: dict[str, list[Path]] = {}  # model name -> the copies the loader was given
CLOSED: list[Path] = []  # the copies whose engine was closed


class Echo(Engine):
    capabilities = frozenset({Capability.CHAT, Capability.COMPLETIONS})

    def __init__(self, folder: Path, reply: str) -> None:
        self.folder = folder
        self.reply = reply

    def generate(self, request: Generation) -> GenerationStream:
        return GenerationStream(iter([self.reply]), prompt_tokens=1)

    def close(self) -> None:
        CLOSED.append(self.folder)


def scripted(folder: Path) -> Engine:
    """Sleeps, raises, or loads, as the copy's engine.json says."""
    script = json.loads((folder / "engine.json").read_text())
    LOADED.setdefault(script.get("name", "?"), []).append(folder)
    time.sleep(script.get("sleep", 0))
    if "raise" in script:  # as libraries do: their messages name the files they read
        raise RuntimeError(f"cannot parse {folder / 'tokenizer.json'}: {script['raise']}")
    if "engine_error" in script:
        raise EngineError(script["engine_error"])
    return Echo(folder, script.get("reply", "ok"))


def make(root: Path, name: str, weights: int = 10, **script: object) -> Path:
    """A model folder admission records as a causal LM, scripted for `scripted`."""
    folder = root / name
    folder.mkdir()
    (folder / "engine.json").write_text(json.dumps({"name": name, **script}))
    (folder / "model.safetensors").write_bytes(b"\0" * weights)
    (folder / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
    return folder
