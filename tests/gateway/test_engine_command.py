"""Engine options and the engine command lines built from them."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from airlock import engine_options
from airlock.engine_options import OptionError
from airlock.gateway.engine_command import EngineStartError, build, engine_for, gpu_sets


def test_options_are_typed_and_bounded() -> None:
    assert engine_options.parse("tensor_parallel_size=4") == ("tensor_parallel_size", 4)
    assert engine_options.parse("tensor-parallel-size=2") == ("tensor_parallel_size", 2)
    assert engine_options.parse("gpu_memory_utilization=0.9") == ("gpu_memory_utilization", 0.9)
    assert engine_options.parse("dtype=bfloat16") == ("dtype", "bfloat16")
    for bad, why in [
        ("tensor_parallel_size=0", "expected 1 to 1024"),
        ("tensor_parallel_size=1.5", "expected an integer"),
        ("tensor_parallel_size=two", "expected an integer"),
        ("gpu_memory_utilization=1.5", "expected 0.01 to 1.0"),
        ("gpu_memory_utilization=nan", "expected a number"),
        ("dtype=int4", "expected one of auto, float16"),
        ("trust_remote_code=true", "unknown engine option"),
        ("tensor_parallel_size", "expected KEY=VALUE"),
    ]:
        with pytest.raises(OptionError, match=why):
            engine_options.parse(bad)
    with pytest.raises(OptionError, match="expected an integer"):
        engine_options.check("max_model_len", True)  # a bool from JSON is not a number


def test_auto_picks_llama_cpp_for_gguf_and_vllm_for_folders() -> None:
    assert engine_for("auto", ["model.gguf"]).name == "llama.cpp"
    assert engine_for("auto", ["config.json", "model.safetensors"]).name == "vllm"
    with pytest.raises(EngineStartError, match="unknown engine"):
        engine_for("tgi", [])


def installed(monkeypatch: pytest.MonkeyPatch, yes: bool) -> None:
    """Whether the llama.cpp engine's package counts as installed."""
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object() if yes else None)


def test_llama_cpp_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "model.gguf").write_bytes(b"GGUF")
    engine = engine_for("llama.cpp", [])
    installed(monkeypatch, True)
    command = build(engine, tmp_path, "tiny", {"max_model_len": 256}, 4321, "secret-key")
    assert command.argv[:3] == [sys.executable, "-m", "llama_cpp.server"]
    assert command.argv[command.argv.index("--model") + 1] == str(tmp_path / "sub" / "model.gguf")
    assert command.argv[command.argv.index("--n_ctx") + 1] == "256"
    assert "secret-key" not in command.argv  # the key goes in the environment only
    assert command.env["API_KEY"] == "secret-key"


def test_missing_llama_cpp_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "model.gguf").write_bytes(b"GGUF")
    installed(monkeypatch, False)
    with pytest.raises(EngineStartError, match="needs the Python package 'llama_cpp'"):
        build(engine_for("llama.cpp", []), tmp_path, "tiny", {}, 1, "k")


def test_options_an_engine_cannot_honour_refuse_the_start(tmp_path: Path) -> None:
    (tmp_path / "model.gguf").write_bytes(b"GGUF")
    engine = engine_for("llama.cpp", [])
    with pytest.raises(EngineStartError, match=re.escape("does not apply to llama.cpp")):
        build(engine, tmp_path, "tiny", {"tensor_parallel_size": 2}, 1, "k")


def test_gguf_engine_needs_exactly_one_gguf(tmp_path: Path) -> None:
    engine = engine_for("llama.cpp", [])
    with pytest.raises(EngineStartError, match=re.escape("exactly one .gguf file; this one has 0")):
        build(engine, tmp_path, "tiny", {}, 1, "k")


def test_missing_vllm_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EngineStartError, match="needs `vllm` on PATH"):
        build(engine_for("vllm", []), tmp_path, "m", {}, 1, "k")


def test_vllm_replicas_get_disjoint_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    vllm = engine_for("vllm", [])
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5,6,7")
    assert gpu_sets(vllm, {"tensor_parallel_size": 2}, 2) == [["4", "5"], ["6", "7"]]
    assert gpu_sets(vllm, {"tensor_parallel_size": 2}, 1) == [None]
    with pytest.raises(EngineStartError, match="need 6 GPUs"):
        gpu_sets(vllm, {"tensor_parallel_size": 3}, 2)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert gpu_sets(vllm, {"pipeline_parallel_size": 2}, 2) == [["0", "1"], ["2", "3"]]
    assert gpu_sets(engine_for("llama.cpp", []), {}, 3) == [None, None, None]


def test_airlock_secrets_never_reach_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "vllm"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("AIRLOCK_DATABASE_URL", "postgresql://u:password@db/x")
    command = build(engine_for("vllm", []), tmp_path, "m", {}, 1, "k", gpus=["3"])
    assert not [k for k in command.env if k.startswith("AIRLOCK_")]
    assert command.env["CUDA_VISIBLE_DEVICES"] == "3"
    assert command.env["VLLM_API_KEY"] == "k"
