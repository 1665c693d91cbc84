"""Configs that leave values to defaults, multimodal towers, encoders and encoder-decoders."""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
import pytest
from fit_helpers import write_config, write_sparse_checkpoint, write_tensors
from kind_helpers import (
    BGE_BASE_EN_15,
    DEBERTA_V3_BASE,
    GEMMA3_4B_IT,
    LLAVA_15_7B,
    MODERNBERT_BASE,
    MS_MARCO_MINILM_L6,
    NOMIC_EMBED_15,
    WHISPER_LARGE_V3,
    XLM_ROBERTA_BASE,
    write_headers,
)

from airlock.cli import main
from airlock.fit.arch import ConfigError, from_config
from airlock.fit.estimate import FitRequest, estimate
from airlock.fit.formulas import not_counted
from airlock.fit.inputs import load
from airlock.fit.kv_cache import kv_cache
from airlock.fit.params import config_shapes, count
from airlock.fit.params import from_config as tensors_from_config


def _count(config: dict[str, object]) -> int:
    return count(tensors_from_config(config)).parameters


# --- configs that leave values to defaults, multimodal towers -----------------------------------


def test_gemma3_4b_config_fills_defaults_and_counts_the_vision_tower(tmp_path: Path) -> None:
    """4,300,079,472: sum(p.numel()) of transformers' Gemma3ForConditionalGeneration for
    google/gemma-3-4b-it. The Gemma 3 report (Table 1) gives the 4B's vision encoder as 417M and
    its non-embedding parameters as 3,209M."""
    assert _count(GEMMA3_4B_IT) == 4_300_079_472
    arch = from_config(GEMMA3_4B_IT)
    filled = {item.key: item.value for item in arch.filled}
    assert filled["vocab_size"] == 262_208 and filled["num_attention_heads"] == 8
    assert (arch.heads, arch.kv_heads, arch.head_dim, arch.max_context) == (8, 4, 256, 131_072)
    assert all(item.basis == "gemma3_text default" for item in arch.filled)
    report = estimate(write_config(tmp_path, GEMMA3_4B_IT), FitRequest(gpu="l4"))
    # Text 3,880,263,168 (non-embedding 3,209,008,128); SigLIP 416,866,032 + projector 2,950,272.
    assert report.towers == {"language": 3_880_263_168, "vision": 419_816_304}
    assert report.kv is not None and report.kv.bytes_per_token == 2 * 34 * 4 * 256 * 2
    assert report.kv.windowed_layers == 29  # five local layers, then one global
    assert report.model.not_counted == ()


def test_gemma3_headers_give_the_vocabulary_exactly(tmp_path: Path) -> None:
    """The published layout (language_model.model.*, vision_tower.vision_model.*,
    multi_modal_projector.*) with the published config: the count is exact from the headers
    and vocab_size comes from the embedding's shape, not from a default."""
    write_sparse_checkpoint(tmp_path, GEMMA3_4B_IT, shards=2)
    model = load(tmp_path)
    assert model.exact and count(model.tensors).parameters == 4_300_079_472
    assert model.arch is not None and model.arch.vocab == 262_208
    vocab = next(item for item in model.arch.filled if item.key == "vocab_size")
    assert vocab.basis == "shape of language_model.model.embed_tokens.weight"


def test_a_tensor_shape_beats_the_default(tmp_path: Path) -> None:
    """A checkpoint whose embedding was resized (262,144 rows) with a config that says nothing
    of it: the shape, not Gemma3TextConfig's 262,208, sizes the logits."""
    shapes = [
        (name, (262_144, 2560) if name.endswith("embed_tokens.weight") else shape)
        for name, shape in config_shapes(GEMMA3_4B_IT)
    ]
    write_headers(tmp_path, GEMMA3_4B_IT, shapes, "BF16")
    assert load(tmp_path).arch.vocab == 262_144  # type: ignore[union-attr]


def test_llava_text_config_relies_on_llama_defaults() -> None:
    """7,063,427,072: sum(p.numel()) of LlavaForConditionalGeneration for llava-hf/llava-1.5-7b-hf
    (CLIP ViT-L/14-336 tower, two-layer projector, Llama-2-7B sizes from LlamaConfig)."""
    assert _count(LLAVA_15_7B) == 7_063_427_072
    assert {item.key for item in from_config(LLAVA_15_7B).filled} >= {
        "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
    }  # fmt: skip


def test_what_no_formula_covers_is_said() -> None:
    unknown_tower = {**GEMMA3_4B_IT, "vision_config": {"model_type": "pixtral", "hidden_size": 8}}
    assert _count(unknown_tower) == 3_880_263_168  # the language model alone
    assert not_counted(unknown_tower) == ("the vision tower (pixtral: no formula)",)
    with_audio = {**GEMMA3_4B_IT, "audio_config": {"model_type": "gemma3n_audio"}}
    assert "the audio tower (audio_config: no formula)" in not_counted(with_audio)
    assert not_counted(XLM_ROBERTA_BASE) == (
        "the task head of XLMRobertaForMaskedLM (a classifier or masked-LM layer)",
    )


def test_not_counted_reaches_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = {**GEMMA3_4B_IT, "vision_config": {"model_type": "pixtral", "hidden_size": 8}}
    assert main(["fit", str(write_config(tmp_path, config)), "--format", "json"]) == 0
    source = json.loads(capsys.readouterr().out)["source"]
    assert source["not_counted"] == ["the vision tower (pixtral: no formula)"]
    assert {"key": "vocab_size", "value": 262_208, "from": "gemma3_text default"}.items() <= (
        source["config_filled"][0].items()
    )


# --- encoders: no KV cache, throughput in sequences per second ---------------------------------

ENCODERS = [
    # (config, publisher's or exact count, source of the count)
    (BGE_BASE_EN_15, 109_482_240),  # BertModel on bert-base-uncased sizes (transformers)
    # intfloat/multilingual-e5-base is XLMRobertaModel on xlm-roberta-base: 278,043,648 (MTEB)
    ({**XLM_ROBERTA_BASE, "architectures": ["XLMRobertaModel"]}, 278_043_648),
    # DebertaV2Model: Microsoft's "86M backbone parameters" + "98M in the Embedding layer"
    (DEBERTA_V3_BASE, 183_831_552),
    (MODERNBERT_BASE, 149_014_272),  # ModernBertModel ("149 million parameters", Answer.AI)
    (NOMIC_EMBED_15, 136_731_648),  # nomic-embed-text-v1.5 model.safetensors (F32)
]


@pytest.mark.parametrize(("config", "expected"), ENCODERS)
def test_encoder_counts_and_no_kv_cache(config: dict[str, object], expected: int) -> None:
    assert _count(config) == expected
    arch = from_config(config)
    assert arch.kind == "encoder" and arch.kv_layers == 0
    kv = kv_cache(arch, 512, 8)
    assert kv.bytes_per_token == kv.total_bytes == 0


def test_deberta_v3_splits_as_microsoft_states() -> None:
    """ "86M backbone parameters with a vocabulary containing 128K tokens which introduces 98M
    parameters in the Embedding layer" (microsoft/deberta-v3-base model card)."""
    tensors = tensors_from_config(DEBERTA_V3_BASE)
    embedding = sum(t.elements for t in tensors if t.name == "embeddings.word_embeddings.weight")
    assert round(embedding / 1e6) == 98
    assert round((count(tensors).parameters - embedding) / 1e6) == 85  # "86M" rounds up


def test_cross_encoder_from_headers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """22,713,601: sum(p.numel()) of BertForSequenceClassification for
    cross-encoder/ms-marco-MiniLM-L6-v2 (BertModel with pooler + a one-logit classifier)."""
    tensors = [("bert." + name, shape) for name, shape in config_shapes(MS_MARCO_MINILM_L6)]
    tensors += [("classifier.weight", (1, 384)), ("classifier.bias", (1,))]
    write_headers(tmp_path, MS_MARCO_MINILM_L6, tensors, "F32")
    assert main(["fit", str(tmp_path), "--gpu", "l4", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["parameters"] == 22_713_601
    assert data["source"]["model_kind"] == "encoder"
    assert data["kv_cache_bytes_per_token"] == 0 and data["kv_cache"]["bytes"] == 0
    best = data["fits"][0]["best"]
    assert best["decode_tokens_per_s_max"] is None and best["prefill_seconds_min"] is None
    assert best["sequences_per_s_max"] > 0


def test_encoder_throughput_on_a_gpu_is_sequences_per_second(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, BGE_BASE_EN_15)
    assert main(["fit", str(path), "--gpu", "h100", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kv_cache"]["context"] == 512  # the model's maximum
    # Multiplied parameters: everything but the word, position and token-type tables.
    matmul = 109_482_240 - (30522 + 512 + 2) * 768
    flops = 2 * matmul * 512 + 4 * 12 * 512 * 512 * 768
    best = data["fits"][0]["best"]
    assert best["sequences_per_s_max"] == round(989e12 / flops, 2)
    assert best["encode_tokens_per_s_max"] == round(989e12 / flops * 512, 1)
    assert best["decode_tokens_per_s_max"] is None
    assert main(["fit", str(path), "--gpu", "h100"]) == 0
    out = capsys.readouterr().out
    assert "sequences/s ≤" in out and "decode" not in out
    assert "KV cache          none (an encoder reads whole sequences" in out


def test_bert_gguf_has_no_kv_cache(tmp_path: Path) -> None:
    """llama.cpp's general.architecture "bert" is an encoder (src/llama-arch.cpp)."""
    writer = gguf.GGUFWriter(str(tmp_path / "bge.gguf"), "bert")
    writer.add_block_count(1)
    writer.add_embedding_length(64)
    writer.add_feed_forward_length(128)
    writer.add_head_count(4)
    writer.add_context_length(512)
    writer.add_tensor("token_embd.weight", np.zeros((100, 64), dtype=np.float32))
    writer.add_tensor("blk.0.attn_q.weight", np.zeros((64, 64), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    report = estimate(tmp_path / "bge.gguf", FitRequest(gpu="l4"))
    assert report.arch is not None and report.arch.kind == "encoder"
    assert report.kv is not None and report.kv.total_bytes == 0
    assert report.fits[0].best.sequences_s and report.fits[0].best.decode_tokens_s is None


# --- encoder-decoders: both sides counted, self- and cross-attention caches --------------------


def test_whisper_large_v3(tmp_path: Path) -> None:
    """1,543,490,560: the safetensors total of openai/whisper-large-v3."""
    assert _count(WHISPER_LARGE_V3) == 1_543_490_560
    report = estimate(write_config(tmp_path, WHISPER_LARGE_V3), FitRequest(gpu="l4"))
    assert report.towers == {"decoder": 906_521_600, "encoder": 636_968_960}
    kv = report.kv
    assert kv is not None and kv.context == 448  # max_target_positions
    per_token = 2 * 32 * 20 * 64 * 2  # decoder self-attention, fp16
    assert kv.bytes_per_token == per_token == 163_840
    assert kv.cross_tokens == 1500 and kv.cross_bytes == per_token * 1500  # 30 s of audio
    assert kv.total_bytes == per_token * 448 + per_token * 1500
    # A generated token reads the decoder (and both caches), not the encoder.
    best = report.fits[0].best
    assert best.decode_tokens_s == pytest.approx(300e9 / (906_521_600 * 2 + kv.total_bytes))
    assert best.prefill_s is None and best.sequences_s is None


def test_config_without_a_needed_key_and_no_default_still_fails(tmp_path: Path) -> None:
    config = {**BGE_BASE_EN_15}
    del config["vocab_size"]  # bert has no recorded defaults: refuse rather than guess
    with pytest.raises(ConfigError, match="vocab_size"):
        from_config(config)


def test_a_stored_position_ids_buffer_is_not_a_parameter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Cross-encoders saved before transformers made BertEmbeddings' `position_ids` buffer
    non-persistent store it (int64 [1, 512]): an arange, not a trained parameter. The count
    stays 22,713,601 and its 4 KiB are stored bytes only."""
    tensors = [("bert." + name, "F32", shape) for name, shape in config_shapes(MS_MARCO_MINILM_L6)]
    tensors += [("classifier.weight", "F32", (1, 384)), ("classifier.bias", "F32", (1,))]
    tensors += [("bert.embeddings.position_ids", "I64", (1, 512))]
    write_tensors(tmp_path, tensors, MS_MARCO_MINILM_L6)
    assert main(["fit", str(tmp_path), "--gpu", "l4", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["parameters"] == 22_713_601
    assert data["buffers"]["elements"] == 512
