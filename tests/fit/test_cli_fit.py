"""`airlock fit` end to end: JSON shape and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fit_helpers import LLAMA_31_8B, LLAMA_31_70B, write_config

from airlock.cli import main


def test_json_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, LLAMA_31_8B)
    assert main(["fit", str(path), "--format", "json", "--context", "4096", "--batch", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["parameters"] == data["active_parameters"] == 8_030_261_248
    assert data["weights_bytes"] == 2 * 8_030_261_248
    assert data["kv_cache_bytes_per_token"] == 131_072
    assert data["kv_cache"]["bytes"] == 131_072 * 4096 * 2
    assert (
        data["total_bytes"]
        == data["weights_bytes"] + data["kv_cache"]["bytes"] + data["overhead_bytes"]
    )
    assert len(data["fits"]) >= 12
    h100 = next(fit for fit in data["fits"] if fit["accelerator"] == "h100")
    assert h100["best"]["devices"] == 1 and h100["best"]["monthly_usd"] > 0
    assert {"Q4_K_M", "Q8_0", "int4"} <= set(data["weights_bytes_by_quant"])


def test_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, LLAMA_31_70B)
    assert main(["fit", str(path), "--gpu", "h100"]) == 0  # int4 fits one H100
    assert main(["fit", str(path), "--gpu", "h100", "--quant", "bf16"]) == 1
    assert main(["fit", str(path), "--gpu", "h100", "--quant", "bf16", "--devices", "4"]) == 0
    assert main(["fit", str(path), "--gpu", "l4", "--quant", "int8"]) == 1
    capsys.readouterr()
    assert main(["fit", str(tmp_path / "missing")]) == 2
    assert main(["fit", str(path), "--gpu", "tpu"]) == 2
    assert main(["fit", str(path), "--quant", "q9"]) == 2
    assert main(["fit", str(path), "--context", "0"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 4 and all(line.startswith("airlock: error:") for line in errors)


def test_unknown_config_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, {"model_type": "mamba", "hidden_size": 8})
    assert main(["fit", str(path)]) == 2
    assert "has no formula" in capsys.readouterr().err
    (tmp_path / "config.json").write_text("{not json")
    assert main(["fit", str(tmp_path)]) == 2
