"""Exact parameter and KV-cache figures for known architectures."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

from fit_helpers import LLAMA_31_8B, LLAMA_31_405B, write_sparse_checkpoint

from airlock.fit.active import active_parameters
from airlock.fit.arch import from_config
from airlock.fit.inputs import load
from airlock.fit.kv_cache import kv_cache
from airlock.fit.params import count
from airlock.fit.params import from_config as tensors_from_config

MIXTRAL_8X7B = {
    "model_type": "mixtral", "hidden_size": 4096, "intermediate_size": 14336,
    "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
    "vocab_size": 32000, "num_local_experts": 8, "num_experts_per_tok": 2,
}  # fmt: skip
QWEN3_30B_A3B = {
    "model_type": "qwen3_moe", "hidden_size": 2048, "intermediate_size": 6144,
    "moe_intermediate_size": 768, "num_hidden_layers": 48, "num_attention_heads": 32,
    "num_key_value_heads": 4, "head_dim": 128, "vocab_size": 151936, "num_experts": 128,
    "num_experts_per_tok": 8, "tie_word_embeddings": False,
}  # fmt: skip
QWEN15_MOE_A27B = {
    "model_type": "qwen2_moe", "hidden_size": 2048, "intermediate_size": 5632,
    "moe_intermediate_size": 1408, "shared_expert_intermediate_size": 5632,
    "num_hidden_layers": 24, "num_attention_heads": 16, "num_key_value_heads": 16,
    "vocab_size": 151936, "num_experts": 60, "num_experts_per_tok": 4,
    "tie_word_embeddings": False,
}  # fmt: skip
DEEPSEEK_V3 = {
    "model_type": "deepseek_v3", "hidden_size": 7168, "intermediate_size": 18432,
    "moe_intermediate_size": 2048, "num_hidden_layers": 61, "num_attention_heads": 128,
    "num_key_value_heads": 128, "vocab_size": 129280, "n_routed_experts": 256,
    "n_shared_experts": 1, "num_experts_per_tok": 8, "first_k_dense_replace": 3,
    "kv_lora_rank": 512, "q_lora_rank": 1536, "qk_rope_head_dim": 64, "qk_nope_head_dim": 128,
    "v_head_dim": 128, "topk_method": "noaux_tc", "torch_dtype": "bfloat16",
}  # fmt: skip
GEMMA2_9B = {
    "model_type": "gemma2", "hidden_size": 3584, "intermediate_size": 14336,
    "num_hidden_layers": 42, "num_attention_heads": 16, "num_key_value_heads": 8,
    "head_dim": 256, "vocab_size": 256000, "sliding_window": 4096,
}  # fmt: skip


def _params(config: dict[str, object]) -> tuple[int, int]:
    tensors = tensors_from_config(config)
    return count(tensors).parameters, active_parameters(tensors, from_config(config))


def test_llama_31_8b_from_config() -> None:
    assert _params(LLAMA_31_8B) == (8_030_261_248, 8_030_261_248)
    assert kv_cache(from_config(LLAMA_31_8B), 131072, 1).bytes_per_token == 131_072
    assert kv_cache(from_config(LLAMA_31_8B), 131072, 1).total_bytes == 16 * 2**30


def test_header_only_folder_counts_like_the_config(tmp_path: Path) -> None:
    write_sparse_checkpoint(tmp_path, LLAMA_31_8B, shards=4)
    model = load(tmp_path)
    assert model.exact and model.files == 4
    assert count(model.tensors).parameters == 8_030_261_248
    assert count(model.tensors).stored_bytes == 2 * 8_030_261_248


def test_mixture_of_experts_totals_and_active() -> None:
    total, active = _params(MIXTRAL_8X7B)
    assert total == 46_702_792_704
    assert round(active / 1e9, 1) == 12.9
    total, active = _params(QWEN3_30B_A3B)
    assert (round(total / 1e9, 1), round(active / 1e9, 1)) == (30.5, 3.4)
    total, active = _params(QWEN15_MOE_A27B)
    assert (round(total / 1e9, 1), round(active / 1e9, 1)) == (14.3, 2.7)


def test_deepseek_v3_latent_attention() -> None:
    total, active = _params(DEEPSEEK_V3)
    assert total == 671_026_419_200  # the published count without the MTP layer
    assert round(active / 1e9) == 38  # "37B activated" rounds the routed share down
    kv = kv_cache(from_config(DEEPSEEK_V3), 4096, 1)
    assert kv.latent and kv.bytes_per_token == 61 * (512 + 64) * 2 == 70_272


def test_sliding_window_layers_stop_growing() -> None:
    arch = from_config(GEMMA2_9B)
    per_layer = 2 * 8 * 256 * 2
    long = kv_cache(arch, 32768, 1)
    assert long.windowed_layers == 21
    assert long.total_bytes == per_layer * (21 * 32768 + 21 * 4096)
    assert kv_cache(arch, 4096, 1).total_bytes == per_layer * 42 * 4096
    gemma3 = from_config({**GEMMA2_9B, "model_type": "gemma3_text", "num_hidden_layers": 12})
    assert sum(gemma3.sliding) == 10  # every sixth layer global


def test_400b_sparse_folder_in_about_a_second(tmp_path: Path) -> None:
    write_sparse_checkpoint(tmp_path, LLAMA_31_405B, shards=64)
    tracemalloc.start()
    started = time.perf_counter()
    model = load(tmp_path)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count(model.tensors).parameters == 405_853_388_800
    assert elapsed < 5 and peak < 100 * 2**20
