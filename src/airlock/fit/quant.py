"""Bits per weight: stored dtypes, common serving precisions and GGUF quantization types.

Block types are exact (ggml block size and bytes per block, as in gguf-py GGML_QUANT_SIZES);
the llama.cpp "_S"/"_M" mixes quantize some tensors more finely than others, so they use the
effective average llama.cpp's quantize tool reports for Llama-3-8B (tools/quantize/quantize.cpp:
"Q4_K_M: 4.58G" for 8,030,261,248 parameters is 4.90 bits per weight).
"""

from __future__ import annotations

from dataclasses import dataclass

from airlock.headers.gguf import GGML_BLOCKS

# ggml type ids as in gguf-py GGMLQuantizationType.
GGML_NAMES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1",
    10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 16: "IQ2_XXS",
    17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S",
    23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M",
    30: "BF16", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4", 40: "NVFP4", 41: "Q1_0",
}  # fmt: skip
_LLAMA3_8B_PARAMS = 8_030_261_248
# llama.cpp quantize.cpp file sizes (GiB) of Llama-3-8B for the tensor-mix presets.
_MIX_GIB = {
    "Q2_K": 2.96, "Q3_K_S": 3.41, "Q3_K_M": 3.74, "Q3_K_L": 4.03, "Q4_K_S": 4.37,
    "Q4_K_M": 4.58, "Q5_K_S": 5.21, "Q5_K_M": 5.33,
}  # fmt: skip


@dataclass(frozen=True)
class Quant:
    name: str
    bits: float
    basis: str  # where the figure comes from, shown in reports


def _block_bits(type_id: int) -> float:
    block, block_bytes = GGML_BLOCKS[type_id]
    return block_bytes * 8 / block


def _catalog() -> dict[str, Quant]:
    quants = {
        "bf16": Quant("bf16", 16, "2 bytes per weight"),
        "fp16": Quant("fp16", 16, "2 bytes per weight"),
        "fp8": Quant("fp8", 8, "1 byte per weight"),
        "int8": Quant("int8", 8, "1 byte per weight (per-channel scales are negligible)"),
        "int4": Quant("int4", 4.25, "GPTQ/AWQ, group size 128: 4 bits + a 16-bit scale per 128"),
    }
    for type_id in (8, 14, 2, 23):  # Q8_0, Q6_K, Q4_0, IQ4_XS: one block type everywhere
        name = GGML_NAMES[type_id]
        quants[name.lower()] = Quant(name, _block_bits(type_id), "ggml block size")
    for name, gib in _MIX_GIB.items():
        bits = round(gib * 2**30 * 8 / _LLAMA3_8B_PARAMS, 2)
        quants[name.lower()] = Quant(name, bits, "llama.cpp quantize, Llama-3-8B average")
    return quants


QUANTS = _catalog()
# Shown in the weights table, most precise first.
TABLE = ("bf16", "int8", "int4", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "q4_0", "q3_k_m", "q2_k")
# Tried, after the stored precision, when fitting on accelerators.
LADDER = ("bf16", "int8", "int4")


def lookup(name: str) -> Quant:
    """A quantization by name, case-insensitive; KeyError names the choices."""
    try:
        return QUANTS[name.lower()]
    except KeyError:
        raise KeyError(f"unknown quantization {name!r} (choose from: {choices()})") from None


def choices() -> str:
    return ", ".join(["stored", *(q.name for q in QUANTS.values())])


def weight_bytes(parameters: int, bits: float) -> int:
    return round(parameters * bits / 8)
