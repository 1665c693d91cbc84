"""Fine-tuning memory, weights and optimizer state only (activations depend on sequence length,
batch and checkpointing, and come on top).

- Full fine-tuning, AdamW, bf16 mixed precision: 2 (bf16 weights) + 2 (bf16 gradients) +
  4 (fp32 master weights) + 8 (two fp32 Adam moments) = 16 bytes per parameter; 18 with fp32
  gradients (Hugging Face "Model training anatomy").
- LoRA: the frozen base in bf16 (2 bytes per parameter) + 16 bytes per adapter parameter.
- QLoRA: the base in NF4 with double quantization, about 4.13 bits per parameter
  (Dettmers et al. 2023, arXiv:2305.14314) + 16 bytes per adapter parameter.
Adapters: rank 16 on every linear layer of the blocks (not embeddings, routers or routed experts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from airlock.fit.active import is_routed_expert
from airlock.fit.params import Tensor

FULL_ADAMW_BYTES = 16
LORA_RANK = 16
_ADAPTER_BYTES = 16
_QLORA_BITS = 4.13
_NOT_ADAPTED = ("embed", "lm_head", "embed_out", "shared.weight", "token_embd", "output.weight",
                "gate.weight", "ffn_gate_inp", "position", "wte", "wpe")  # fmt: skip


@dataclass(frozen=True)
class FineTune:
    full_adamw_bytes: int
    lora_bytes: int
    qlora_bytes: int
    adapter_parameters: int
    lora_rank: int


def finetune(tensors: Sequence[Tensor], parameters: int) -> FineTune:
    adapters = sum(
        LORA_RANK * sum(tensor.shape)
        for tensor in tensors
        if len(tensor.shape) == 2
        and not is_routed_expert(tensor.name)
        and not any(part in tensor.name for part in _NOT_ADAPTED)
    )
    return FineTune(
        full_adamw_bytes=parameters * FULL_ADAMW_BYTES,
        lora_bytes=2 * parameters + _ADAPTER_BYTES * adapters,
        qlora_bytes=round(parameters * _QLORA_BITS / 8) + _ADAPTER_BYTES * adapters,
        adapter_parameters=adapters,
        lora_rank=LORA_RANK,
    )
