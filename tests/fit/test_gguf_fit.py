"""GGUF quantized tensors, fits on accelerators, fine-tuning and cost."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import pytest
from fit_helpers import LLAMA_31_8B, LLAMA_31_70B, LLAMA_31_405B, write_config

from airlock.fit.estimate import FitRequest, estimate
from airlock.fit.finetune import finetune
from airlock.fit.params import count, from_config


def write_gguf(path: Path) -> None:
    """A tiny llama GGUF: token embedding Q8_0, two Q4_K weights, an f32 norm (zero data)."""
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(1)
    writer.add_embedding_length(256)
    writer.add_feed_forward_length(512)
    writer.add_head_count(4)
    writer.add_head_count_kv(2)
    writer.add_context_length(4096)
    q8, q4 = gguf.GGMLQuantizationType.Q8_0, gguf.GGMLQuantizationType.Q4_K
    for name, rows, cols, kind in (
        ("token_embd.weight", 1000, 256, q8),
        ("blk.0.ffn_up.weight", 512, 256, q4),
        ("blk.0.ffn_down.weight", 256, 512, q4),
    ):
        block, block_bytes = gguf.GGML_QUANT_SIZES[kind]
        data = np.zeros((rows, cols // block * block_bytes), dtype=np.uint8)
        writer.add_tensor(name, data, raw_dtype=kind)
    writer.add_tensor("blk.0.attn_norm.weight", np.ones(256, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_gguf_bytes_come_from_block_sizes(tmp_path: Path) -> None:
    write_gguf(tmp_path / "tiny.gguf")
    report = estimate(tmp_path / "tiny.gguf", FitRequest(context=1024, gpu="l4"))
    q8_bytes = 1000 * 256 // 32 * 34  # Q8_0: 32 weights in 34 bytes
    q4_bytes = 2 * 512 * 256 // 256 * 144  # Q4_K: 256 weights in 144 bytes
    assert report.counts.parameters == 1000 * 256 + 2 * 512 * 256 + 256
    assert report.counts.stored_bytes == q8_bytes + q4_bytes + 256 * 4
    assert report.counts.by_dtype == {"Q8_0": 256_000, "Q4_K": 262_144, "F32": 256}
    assert report.arch.vocab == 1000
    assert report.kv.bytes_per_token == 2 * 1 * 2 * 64 * 2  # f16 cache, head_dim 256/4


@pytest.mark.parametrize(
    ("config", "devices"),
    [(LLAMA_31_8B, [1, 1, 1]), (LLAMA_31_70B, [2, 1, 1]), (LLAMA_31_405B, [16, 8, 4])],
)
def test_devices_on_h100(tmp_path: Path, config: dict[str, object], devices: list[int]) -> None:
    path = write_config(tmp_path, config)
    fit = estimate(path, FitRequest(gpu="h100")).fits[0]
    assert [option.plan.quant for option in fit.options] == ["stored (BF16)", "int8", "int4"]
    assert [option.devices for option in fit.options] == devices


def test_finetune_memory() -> None:
    tensors = from_config(LLAMA_31_8B)
    tune = finetune(tensors, count(tensors).parameters)
    assert tune.full_adamw_bytes == 16 * 8_030_261_248
    # rank 16 x (in + out) over q, k, v, o, gate, up, down of 32 layers
    per_layer = 16 * ((4096 * 2) * 2 + (4096 + 1024) * 2 + (4096 + 14336) * 3)
    assert tune.adapter_parameters == 32 * per_layer
    assert tune.lora_bytes == 2 * 8_030_261_248 + 16 * tune.adapter_parameters
    assert 4.0e9 < tune.qlora_bytes < 5.0e9


def test_cost_override_from_config_toml(tmp_path: Path) -> None:
    path = write_config(tmp_path / "model", LLAMA_31_8B)
    (tmp_path / "config.toml").write_text("[prices]\nh100 = 2.0\n")
    fit = estimate(path, FitRequest(gpu="h100"), home=tmp_path).fits[0]
    assert fit.best.monthly_usd == 2.0 * 730
    assert fit.price is not None and "config.toml" in fit.price.basis
    default = estimate(path, FitRequest(gpu="h100"), home=tmp_path / "none").fits[0]
    assert default.price is not None and "example" in default.price.basis
