"""Active parameters of a mixture-of-experts model: what one token actually runs through.

Memory holds every expert; compute and memory bandwidth per token scale with the routed
experts a token uses (`experts_per_token` of `experts`) plus everything shared: attention,
embeddings, shared experts, and dense layers (DeepSeek's `first_k_dense_replace`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from airlock.fit.arch import Arch
from airlock.fit.params import Tensor

# Routed experts: HF `...experts.<n>...` or fused `...experts.gate_up_proj`, GGUF
# `blk.<n>.ffn_*_exps`; shared experts (`shared_expert(s)`, GGUF `_shexp`) do not match.
_ROUTED = re.compile(r"(?:^|\.)experts\.|_exps(?:\.|$)")


def active_parameters(tensors: Sequence[Tensor], arch: Arch) -> int:
    total = sum(tensor.elements for tensor in tensors)
    if not arch.experts or not arch.experts_per_token:
        return total
    routed = sum(tensor.elements for tensor in tensors if is_routed_expert(tensor.name))
    return total - routed + routed * arch.experts_per_token // arch.experts


def is_routed_expert(name: str) -> bool:
    return _ROUTED.search(name) is not None
