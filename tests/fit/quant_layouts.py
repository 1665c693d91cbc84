"""Quantized checkpoints as the libraries that save them write them: tensor names, dtypes
and shapes only (each layout names the library code it follows)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

from fit_helpers import Stored

from airlock.fit.params import config_shapes

LLAMA_8B_PARAMETERS = 8_030_261_248  # Meta's Llama-3.1-8B, as its safetensors hold it
Pack = Callable[[str, int, int], list[Stored]]


def awq_gemm(prefix: str, out: int, inp: int, bits: int = 4, group: int = 128) -> list[Stored]:
    """AutoAWQ awq/modules/linear/gemm.py, WQLinear_GEMM: packed along the output dim."""
    return [
        (f"{prefix}.qweight", "I32", (inp, out * bits // 32)),
        (f"{prefix}.qzeros", "I32", (inp // group, out * bits // 32)),
        (f"{prefix}.scales", "F16", (inp // group, out)),
    ]


def gptq(prefix: str, out: int, inp: int, bits: int = 4, group: int = 128) -> list[Stored]:
    """GPTQModel nn_modules/qlinear/__init__.py, BaseQuantLinear: packed along the input dim."""
    groups = math.ceil(inp / group)
    return [
        (f"{prefix}.qweight", "I32", (inp * bits // 32, out)),
        (f"{prefix}.qzeros", "I32", (groups, out * bits // 32)),
        (f"{prefix}.scales", "F16", (groups, out)),
        (f"{prefix}.g_idx", "I32", (inp,)),
    ]


def bnb_nf4(prefix: str, out: int, inp: int) -> list[Stored]:
    """bitsandbytes functional.py quantize_4bit (blocksize 64) with double quantization
    (nested blocksize 256), saved through QuantState.as_dict(packed=True)."""
    values = out * inp
    blocks = math.ceil(values / 64)
    state = f"{prefix}.weight"
    return [
        (state, "U8", ((values + 1) // 2, 1)),
        (f"{state}.absmax", "U8", (blocks,)),
        (f"{state}.nested_absmax", "F32", (math.ceil(blocks / 256),)),
        (f"{state}.nested_quant_map", "F32", (256,)),
        (f"{state}.quant_map", "F32", (16,)),
        (f"{state}.quant_state.bitsandbytes__nf4", "U8", (137,)),  # packed JSON
    ]


def compressed_w4a16(prefix: str, out: int, inp: int) -> list[Stored]:
    """compressed-tensors pack_quantized.py: pack_to_int32 along the last dim, group 128."""
    return [
        (f"{prefix}.weight_packed", "I32", (out, math.ceil(inp / 8))),
        (f"{prefix}.weight_scale", "BF16", (out, inp // 128)),
        (f"{prefix}.weight_shape", "I64", (2,)),
    ]


def fp8_block(prefix: str, out: int, inp: int) -> list[Stored]:
    """DeepSeek-V3 README_WEIGHTS.md: FP8 E4M3 weights, a float32 scale per 128x128 block."""
    return [
        (f"{prefix}.weight", "F8_E4M3", (out, inp)),
        (f"{prefix}.weight_scale_inv", "F32", (math.ceil(out / 128), math.ceil(inp / 128))),
    ]


def quantized(
    config: dict[str, Any],
    pack: Pack,
    plain: str = "F16",
    keep: Callable[[str], bool] = lambda name: False,
) -> list[Stored]:
    """The checkpoint a quantizer writes: the blocks' linear layers packed, the embeddings,
    output head and norms (and what `keep` names) left at `plain`."""
    tensors: list[Stored] = []
    for name, shape in config_shapes(config):
        if ".layers." in name and len(shape) == 2 and not keep(name):
            tensors += pack(name.removesuffix(".weight"), *shape)
        else:
            tensors.append((name, plain, shape))
    return tensors


def linear_parameters(config: dict[str, Any]) -> int:
    return sum(
        math.prod(shape)
        for name, shape in config_shapes(config)
        if ".layers." in name and len(shape) == 2
    )


def gpt_oss(layers: int, experts: int) -> tuple[dict[str, Any], list[Stored]]:
    """openai/gpt-oss config.json and checkpoint: MXFP4 experts (transformers integrations/
    mxfp4.py: blocks [experts, rows, cols/32, 16] uint8, scales [experts, rows, cols/32]),
    everything else bf16 (modeling_gpt_oss.py: biased attention, sinks, router with bias)."""
    hidden, vocab, heads, kv_heads, head_dim, inter = 2880, 201088, 64, 8, 64, 2880
    config = {
        "model_type": "gpt_oss", "hidden_size": hidden, "intermediate_size": inter,
        "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv_heads,
        "head_dim": head_dim, "vocab_size": vocab, "num_local_experts": experts,
        "num_experts_per_tok": 4, "sliding_window": 128, "tie_word_embeddings": False,
        "layer_types": ["sliding_attention", "full_attention"] * (layers // 2),
        "max_position_embeddings": 131072, "torch_dtype": "bfloat16",
        "quantization_config": {"quant_method": "mxfp4", "modules_to_not_convert": [
            "model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens",
            "lm_head"]},
    }  # fmt: skip
    q, kv = heads * head_dim, kv_heads * head_dim
    projections = {"q": (q, hidden), "k": (kv, hidden), "v": (kv, hidden), "o": (hidden, q)}
    experts_packed = {"gate_up_proj": (2 * inter, hidden), "down_proj": (hidden, inter)}
    tensors: list[Stored] = [("model.embed_tokens.weight", "BF16", (vocab, hidden))]
    for i in range(layers):
        layer = f"model.layers.{i}."
        for norm in ("input_layernorm", "post_attention_layernorm"):
            tensors.append((f"{layer}{norm}.weight", "BF16", (hidden,)))
        for proj, (out, inp) in projections.items():
            tensors.append((f"{layer}self_attn.{proj}_proj.weight", "BF16", (out, inp)))
            tensors.append((f"{layer}self_attn.{proj}_proj.bias", "BF16", (out,)))
        tensors.append((f"{layer}self_attn.sinks", "BF16", (heads,)))
        tensors.append((f"{layer}mlp.router.weight", "BF16", (experts, hidden)))
        tensors.append((f"{layer}mlp.router.bias", "BF16", (experts,)))
        for proj, (rows, cols) in experts_packed.items():
            name = f"{layer}mlp.experts.{proj}"
            tensors.append((f"{name}_blocks", "U8", (experts, rows, cols // 32, 16)))
            tensors.append((f"{name}_scales", "U8", (experts, rows, cols // 32)))
            tensors.append((f"{name}_bias", "BF16", (experts, rows)))
    tensors += [
        ("model.norm.weight", "BF16", (hidden,)),
        ("lm_head.weight", "BF16", (vocab, hidden)),
    ]
    return config, tensors


DEEPSEEK_V3 = {
    "model_type": "deepseek_v3", "hidden_size": 7168, "intermediate_size": 18432,
    "moe_intermediate_size": 2048, "num_hidden_layers": 61, "num_attention_heads": 128,
    "num_key_value_heads": 128, "vocab_size": 129280, "n_routed_experts": 256,
    "n_shared_experts": 1, "num_experts_per_tok": 8, "first_k_dense_replace": 3,
    "kv_lora_rank": 512, "q_lora_rank": 1536, "qk_rope_head_dim": 64, "qk_nope_head_dim": 128,
    "v_head_dim": 128, "topk_method": "noaux_tc", "torch_dtype": "bfloat16",
    "num_nextn_predict_layers": 1, "tie_word_embeddings": False,
    "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                            "weight_block_size": [128, 128]},
}  # fmt: skip


def mtp_layer(config: dict[str, Any], pack: Pack) -> Iterator[Stored]:
    """DeepSeek-V3 README_WEIGHTS.md: the MTP module is one more decoder layer (numbered
    after num_hidden_layers) with enorm, hnorm, eh_proj and a shared_head; the embedding and
    head it shares with the main model are stored again under layer 61 (vLLM deepseek_mtp.py
    loads model.layers.61.embed_tokens and shared_head.head)."""
    layer, hidden, vocab = config["num_hidden_layers"], 7168, 129280
    longer = {**config, "num_hidden_layers": layer + 1}
    prefix = f"model.layers.{layer}."
    yield from (t for t in quantized(longer, pack, "BF16", router_bf16) if t[0].startswith(prefix))
    yield from ((f"{prefix}{n}.weight", "BF16", (hidden,)) for n in ("enorm", "hnorm"))
    yield from pack(f"{prefix}eh_proj", hidden, 2 * hidden)
    yield (f"{prefix}embed_tokens.weight", "BF16", (vocab, hidden))
    yield (f"{prefix}shared_head.norm.weight", "BF16", (hidden,))
    yield (f"{prefix}shared_head.head.weight", "BF16", (vocab, hidden))


def router_bf16(name: str) -> bool:
    return name.endswith("mlp.gate.weight")  # the router stays bf16
