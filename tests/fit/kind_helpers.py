"""Published configs of encoders, encoder-decoders and multimodal models, and a writer of
header-only safetensors checkpoints from an explicit tensor list (no tensor data is written)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fit_helpers import write_config

# google/gemma-3-4b-it config.json as published: text_config leaves vocab_size, the attention
# heads, head_dim and the context to Gemma3TextConfig's defaults.
GEMMA3_4B_IT: dict[str, Any] = {
    "architectures": ["Gemma3ForConditionalGeneration"], "boi_token_index": 255999,
    "eoi_token_index": 256000, "eos_token_id": [1, 106], "image_token_index": 262144,
    "initializer_range": 0.02, "mm_tokens_per_image": 256, "model_type": "gemma3",
    "text_config": {"hidden_size": 2560, "intermediate_size": 10240, "model_type": "gemma3_text",
                    "num_hidden_layers": 34, "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
                    "sliding_window": 1024},
    "torch_dtype": "bfloat16", "transformers_version": "4.50.0.dev0",
    "vision_config": {"hidden_size": 1152, "image_size": 896, "intermediate_size": 4304,
                      "model_type": "siglip_vision_model", "num_attention_heads": 16,
                      "num_hidden_layers": 27, "patch_size": 14, "vision_use_head": False},
}  # fmt: skip
# llava-hf/llava-1.5-7b-hf: text_config leaves the Llama-2-7B sizes to LlamaConfig's defaults.
LLAVA_15_7B: dict[str, Any] = {
    "architectures": ["LlavaForConditionalGeneration"], "ignore_index": -100,
    "image_token_index": 32000, "model_type": "llava", "pad_token_id": 32001,
    "projector_hidden_act": "gelu",
    "text_config": {"_name_or_path": "lmsys/vicuna-7b-v1.5", "architectures": ["LlamaForCausalLM"],
                    "max_position_embeddings": 4096, "model_type": "llama", "rms_norm_eps": 1e-05,
                    "torch_dtype": "float16", "vocab_size": 32064},
    "tie_word_embeddings": False, "torch_dtype": "float16", "vision_feature_layer": -2,
    "vision_feature_select_strategy": "default",
    "vision_config": {"hidden_size": 1024, "image_size": 336, "intermediate_size": 4096,
                      "model_type": "clip_vision_model", "num_attention_heads": 16,
                      "num_hidden_layers": 24, "patch_size": 14, "projection_dim": 768,
                      "vocab_size": 32000},
}  # fmt: skip
# BAAI/bge-base-en-v1.5 (BERT-base layout, BertModel).
BGE_BASE_EN_15: dict[str, Any] = {
    "architectures": ["BertModel"], "hidden_act": "gelu", "hidden_size": 768,
    "intermediate_size": 3072, "layer_norm_eps": 1e-12, "max_position_embeddings": 512,
    "model_type": "bert", "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 0,
    "position_embedding_type": "absolute", "torch_dtype": "float32", "type_vocab_size": 2,
    "vocab_size": 30522,
}  # fmt: skip
# FacebookAI/xlm-roberta-base (the base of intfloat/multilingual-e5-base).
XLM_ROBERTA_BASE: dict[str, Any] = {
    "architectures": ["XLMRobertaForMaskedLM"], "bos_token_id": 0, "eos_token_id": 2,
    "hidden_act": "gelu", "hidden_size": 768, "intermediate_size": 3072,
    "layer_norm_eps": 1e-05, "max_position_embeddings": 514, "model_type": "xlm-roberta",
    "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 1,
    "type_vocab_size": 1, "vocab_size": 250002,
}  # fmt: skip
# microsoft/deberta-v3-base: relative attention over 256 position buckets, no absolute positions.
DEBERTA_V3_BASE: dict[str, Any] = {
    "model_type": "deberta-v2", "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02,
    "intermediate_size": 3072, "max_position_embeddings": 512, "relative_attention": True,
    "position_buckets": 256, "norm_rel_ebd": "layer_norm", "share_att_key": True,
    "pos_att_type": "p2c|c2p", "layer_norm_eps": 1e-7, "max_relative_positions": -1,
    "position_biased_input": False, "num_attention_heads": 12, "num_hidden_layers": 12,
    "type_vocab_size": 0, "vocab_size": 128100,
}  # fmt: skip
# answerdotai/ModernBERT-base.
MODERNBERT_BASE: dict[str, Any] = {
    "architectures": ["ModernBertForMaskedLM"], "attention_bias": False, "decoder_bias": True,
    "global_attn_every_n_layers": 3, "hidden_activation": "gelu", "hidden_size": 768,
    "intermediate_size": 1152, "local_attention": 128, "max_position_embeddings": 8192,
    "mlp_bias": False, "model_type": "modernbert", "norm_bias": False,
    "num_attention_heads": 12, "num_hidden_layers": 22, "torch_dtype": "float32",
    "vocab_size": 50368,
}  # fmt: skip
# nomic-ai/nomic-embed-text-v1.5 (remote code NomicBertModel).
NOMIC_EMBED_15: dict[str, Any] = {
    "activation_function": "swiglu", "architectures": ["NomicBertModel"],
    "model_type": "nomic_bert", "n_embd": 768, "n_head": 12, "n_inner": 3072, "n_layer": 12,
    "n_positions": 8192, "prenorm": False, "qkv_proj_bias": False, "mlp_fc1_bias": False,
    "mlp_fc2_bias": False, "rotary_emb_fraction": 1.0, "type_vocab_size": 2,
    "vocab_size": 30528, "torch_dtype": "float32",
}  # fmt: skip
# cross-encoder/ms-marco-MiniLM-L6-v2: a BERT cross-encoder (one relevance logit).
MS_MARCO_MINILM_L6: dict[str, Any] = {
    "architectures": ["BertForSequenceClassification"], "hidden_size": 384,
    "intermediate_size": 1536, "max_position_embeddings": 512, "model_type": "bert",
    "num_attention_heads": 12, "num_hidden_layers": 6, "type_vocab_size": 2,
    "vocab_size": 30522, "id2label": {"0": "LABEL_0"},
}  # fmt: skip
# openai/whisper-large-v3.
WHISPER_LARGE_V3: dict[str, Any] = {
    "architectures": ["WhisperForConditionalGeneration"], "d_model": 1280,
    "decoder_attention_heads": 20, "decoder_ffn_dim": 5120, "decoder_layers": 32,
    "encoder_attention_heads": 20, "encoder_ffn_dim": 5120, "encoder_layers": 32,
    "is_encoder_decoder": True, "max_source_positions": 1500, "max_target_positions": 448,
    "model_type": "whisper", "num_hidden_layers": 32, "num_mel_bins": 128,
    "torch_dtype": "float16", "vocab_size": 51866,
}  # fmt: skip

_BYTES = {"F32": 4, "F16": 2, "BF16": 2}


def write_headers(
    folder: Path, config: dict[str, Any], tensors: Iterable[tuple[str, tuple[int, ...]]], dtype: str
) -> Path:
    """One safetensors file whose header lists `tensors`, its data a hole, beside config.json."""
    write_config(folder, config)
    header, offset = {}, 0
    for name, shape in tensors:
        size = math.prod(shape) * _BYTES[dtype]
        header[name] = {
            "dtype": dtype,
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    raw = json.dumps(header).encode()
    with (folder / "model.safetensors").open("wb") as handle:
        handle.write(len(raw).to_bytes(8, "little") + raw)
        handle.truncate(8 + len(raw) + offset)
    return folder
