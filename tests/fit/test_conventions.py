"""How publishers count: active parameters with or without the input embedding, tensors that
are stored but are not parameters (GGUF RoPE factors, Hugging Face buffers), and what the
reports say about it."""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
import pytest
from fit_helpers import LLAMA_31_8B, Stored, stored_bytes, write_tensors
from quant_layouts import DEEPSEEK_V3 as DEEPSEEK_V3_FP8
from quant_layouts import fp8_block, mtp_layer, quantized, router_bf16
from test_counts import DEEPSEEK_V3, MIXTRAL_8X7B, QWEN3_30B_A3B

from airlock.cli import main
from airlock.fit.active import active_parameters
from airlock.fit.arch import from_config
from airlock.fit.estimate import FitRequest, estimate
from airlock.fit.inputs import load
from airlock.fit.params import config_shapes, count
from airlock.fit.params import from_config as tensors_from_config
from airlock.fit.tensor_roles import input_embedding


def _active(config: dict[str, object]) -> tuple[float, float]:
    """Active parameters in billions, with and without the input embedding."""
    tensors = tensors_from_config(config)
    active = active_parameters(tensors, from_config(config))
    return active / 1e9, (active - input_embedding(tensors)) / 1e9


def test_active_parameters_as_publishers_state_them() -> None:
    # Mistral AI, "Mixtral of experts": 12.9B active: with the input embedding (12.88B);
    # without it, 12.75B would not be stated as 12.9B.
    with_embedding, without = _active(MIXTRAL_8X7B)
    assert round(with_embedding, 1) == 12.9 and round(without, 1) != 12.9
    # Qwen3-30B-A3B model card: "3.3B activated": with the embedding, 3.35B (3.04B without)
    with_embedding, without = _active(QWEN3_30B_A3B)
    assert int(with_embedding * 10) / 10 == 3.3 and round(without, 1) == 3.0
    # DeepSeek-V3: "37B activated" (technical report); README_WEIGHTS.md gives 36.7B, within
    # 0.1B of the count without the input embedding (with it: 37.55B).
    with_embedding, without = _active(DEEPSEEK_V3)
    assert int(with_embedding) == 37 and abs(without - 36.7) < 0.1
    # gpt-oss (model card Table 1: 3.61B / 5.13B active) leaves it out: test_quantized.py


def test_tied_embedding_is_the_head_and_stays_active() -> None:
    tied = {**LLAMA_31_8B, "tie_word_embeddings": True}
    assert input_embedding(tensors_from_config(tied)) == 0
    assert input_embedding(tensors_from_config(LLAMA_31_8B)) == 128256 * 4096


def write_gguf(path: Path) -> None:
    """A tiny Llama-3.1 GGUF: llama.cpp's converter adds `rope_freqs.weight`, head_dim/2 f32
    factors computed from rope_scaling (convert_hf_to_gguf.py, generate_extra_tensors)."""
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(1)
    writer.add_embedding_length(256)
    writer.add_feed_forward_length(512)
    writer.add_head_count(4)
    writer.add_head_count_kv(2)
    writer.add_context_length(4096)
    writer.add_tensor("token_embd.weight", np.zeros((1000, 256), dtype=np.float16))
    writer.add_tensor("rope_freqs.weight", np.ones(32, dtype=np.float32))
    writer.add_tensor("blk.0.attn_norm.weight", np.ones(256, dtype=np.float32))
    writer.add_tensor("output.weight", np.zeros((1000, 256), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_gguf_rope_factors_are_not_parameters(tmp_path: Path) -> None:
    # llama.cpp counts them: its Llama-3.1-8B GGUFs report 8,030,261,312 (general.parameter_count;
    # llama.cpp server README, /v1/models n_params) = Meta's 8,030,261,248 + 64 RoPE factors,
    # which convert_hf_to_gguf.py computes from config.json's rope_scaling.
    write_gguf(tmp_path / "tiny.gguf")
    report = estimate(tmp_path / "tiny.gguf", FitRequest(gpu="l4"))
    assert report.counts.parameters == 2 * 1000 * 256 + 256
    assert report.counts.stored_bytes == 2 * 1000 * 256 * 2 + 256 * 4 + 32 * 4
    assert [t.name for t in report.model.contents.buffers] == ["rope_freqs.weight"]


def test_hugging_face_buffers_are_not_parameters(tmp_path: Path) -> None:
    # older Llama exports store rotary_emb.inv_freq; GPT-2 stores its causal mask as attn.bias
    tensors: list[Stored] = [(n, "BF16", s) for n, s in config_shapes(LLAMA_31_8B)]
    tensors += [
        (f"model.layers.{i}.self_attn.rotary_emb.inv_freq", "F32", (64,)) for i in range(32)
    ]
    tensors += [("h.0.attn.bias", "F32", (1, 1, 1024, 1024)), ("h.0.attn.masked_bias", "F32", ())]
    tensors += [("h.0.attn.c_attn.bias", "F32", (2304,))]  # a real bias: 1-D
    write_tensors(tmp_path, tensors, LLAMA_31_8B)
    model = load(tmp_path)
    counts = count(model.tensors, model.contents.buffers)
    assert counts.parameters == 8_030_261_248 + 2304
    assert counts.stored_bytes == stored_bytes(tensors)
    assert len(model.contents.buffers) == 34


def test_reports_show_the_scheme_doubts_and_mtp(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {**DEEPSEEK_V3_FP8, "num_hidden_layers": 2, "first_k_dense_replace": 1}
    mtp = list(mtp_layer(config, fp8_block))
    write_tensors(tmp_path, quantized(config, fp8_block, "BF16", router_bf16) + mtp, config)
    assert main(["fit", str(tmp_path), "--format", "json", "--gpu", "h100"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["quantization"]["method"] == "fp8" and data["quantization"]["bits"] == 8
    assert data["quantization"]["settings"]["weight_block_size"] == [128, 128]
    assert data["parameters_uncertain"] == []
    assert data["multi_token_prediction"] == {
        "layers": [2],
        "parameters": sum(n for n in _elements(mtp)),
        "bytes": stored_bytes(mtp),
    }
    assert data["active_parameters_without_input_embedding"] == (
        data["active_parameters"] - 129280 * 7168
    )
    assert main(["fit", str(tmp_path)]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "quantization fp8, 8-bit, fmt e4m3, weight_block_size [128, 128]" in text
    assert "in multi-token-prediction layer 2: loaded only for speculative decoding" in text
    assert "without the input embedding" in text


def _elements(tensors: list[Stored]) -> list[int]:
    return [int(np.prod(shape)) for name, _, shape in tensors if not name.endswith("_inv")]
