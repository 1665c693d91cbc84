"""`airlock fit` end to end: JSON shape and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fit_helpers import LLAMA_31_8B, LLAMA_31_70B, write_config, write_sparse_checkpoint

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


def _without_config(tmp_path: Path) -> Path:
    folder = tmp_path / "no-config"
    write_sparse_checkpoint(folder, LLAMA_31_8B, shards=2)
    (folder / "config.json").unlink()
    return folder


def test_safetensors_without_config_still_gives_exact_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _without_config(tmp_path)
    assert main(["fit", str(folder)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    # (a long tmp path may wrap the first line: text wrapping is another part of issue 13)
    assert "safetensors, no config.json (exact, from file headers)" in " ".join(
        captured.out.split()
    )
    assert "parameters        8.03B (8,030,261,248)" in captured.out
    assert "weights (stored)  15.0 GiB (BF16" in captured.out
    assert (
        "not estimated     KV cache, memory total, fit and speed: "
        "no config.json beside the safetensors" in captured.out
    )
    assert "KV cache   " not in captured.out and "Fit (" not in captured.out
    assert "no safetensors" not in captured.out


def test_safetensors_without_config_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fit", str(_without_config(tmp_path)), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["parameters"] == 8_030_261_248
    assert data["weights_bytes"] == 2 * 8_030_261_248
    assert data["not_estimated"] == "no config.json beside the safetensors"
    assert data["source"]["architecture"] is None and data["source"]["files"] == 2
    assert data["kv_cache"] is None and data["total_bytes"] is None and data["fits"] == []
    assert data["active_parameters"] is None


def test_single_safetensors_file_without_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shard = _without_config(tmp_path) / "model-00001-of-00002.safetensors"
    assert main(["fit", str(shard)]) == 0
    out = capsys.readouterr().out
    assert "(exact, from file headers)" in out and "no config.json beside the safetensors" in out


def test_gpu_without_config_cannot_say_it_fits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Neither "fits" (0) nor "does not fit" (1): a pipeline must not read a yes."""
    assert main(["fit", str(_without_config(tmp_path)), "--gpu", "h100"]) == 2
    captured = capsys.readouterr()
    assert "parameters        8.03B" in captured.out
    assert captured.err.startswith(
        "airlock: error: cannot tell whether it fits on h100: no config.json beside the safetensors"
    )
    assert captured.err.count("\n") == 1


def test_without_config_bad_quant_is_still_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fit", str(_without_config(tmp_path)), "--quant", "q9"]) == 2
    assert "unknown quantization 'q9'" in capsys.readouterr().err


def test_folder_with_nothing_to_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md").write_text("hello")
    assert main(["fit", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"airlock: error: {tmp_path}: no config.json, safetensors or GGUF file to size\n"
    )


def test_largest_options_do_not_crash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, LLAMA_31_8B)
    largest = ["--context", "100000000", "--batch", "100000", "--devices", "100000"]
    assert main(["fit", str(path), *largest, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["kv_cache"]["context"] == 100_000_000


_LLAMA_BITS = {k: v for k, v in LLAMA_31_8B.items() if k != "max_position_embeddings"}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"num_attention_heads": 0}, "num_attention_heads is 0: expected 1 to"),
        ({"hidden_size": -4096}, "hidden_size is -4,096: expected 1 to"),
        ({"num_hidden_layers": 10**12}, "layers is 1,000,000,000,000: expected 1 to 100,000"),
        ({"num_hidden_layers": 0}, "num_hidden_layers is 0: expected 1 to 100,000"),
        (
            {"model_type": "mixtral", "num_local_experts": 90_000, "num_hidden_layers": 30_000},
            "30,000 layers of 90,000 experts: far more than any model",
        ),
    ],
)
def test_impossible_config_numbers_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, int], words: str
) -> None:
    """Not a ZeroDivisionError ("internal error") nor formulas running for hours."""
    path = write_config(tmp_path, {**_LLAMA_BITS, **change})
    assert main(["fit", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("airlock: error: config.json ") and words in err
    assert err.count("\n") == 1 and "internal error" not in err


@pytest.mark.parametrize("change", [{"decoder_sparse_step": 0}, {"sliding_window_pattern": 0}])
def test_zero_steps_read_as_unset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, int]
) -> None:
    config = {**_LLAMA_BITS, "model_type": "qwen3_moe", "num_experts": 8,
              "num_experts_per_tok": 2, "moe_intermediate_size": 768, **change}  # fmt: skip
    if "sliding_window_pattern" in change:
        config = {**_LLAMA_BITS, "model_type": "gemma3", "sliding_window": 512, **change}
    assert main(["fit", str(write_config(tmp_path, config))]) == 0
