"""Which part of a model each tensor belongs to, and what a generated token or an encoded
sequence actually runs through.

Memory holds every tower. A generated token runs through the language model (decoder) alone:
a multimodal model's vision or audio tower runs once per image or clip, and an encoder-decoder's
encoder once per input (Whisper: per 30 s of audio). An encoder's throughput is compute: its
matrix multiplications, which embedding tables (a lookup per token) do not add to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from airlock.fit.arch import Arch
from airlock.fit.families import ENCODER, ENCODER_DECODER, tower_of
from airlock.fit.params import Tensor

LANGUAGE = "language"
# An encoder-decoder's encoder side: a name component `encoder` (Whisper model.encoder., T5
# encoder.); the shared embedding belongs to the decoder, which reads it for its output.
_ENCODER_SIDE = re.compile(r"(?:^|\.)encoder\.")
# Embedding tables: looked up, not multiplied (token, position and token-type embeddings).
_EMBEDDING = re.compile(
    r"(?:^|\.)(?:word_embeddings|position_embeddings|token_type_embeddings|tok_embeddings|"
    r"embed_tokens|embed_positions|rel_embeddings|wte|wpe)\.weight$|^(?:token_embd|position_embd|token_types)\."
)


def tower(name: str, arch: Arch) -> str:
    side = tower_of(name)
    if side is not None:
        return side
    if arch.kind == ENCODER_DECODER:
        return "encoder" if _ENCODER_SIDE.search(name) else "decoder"
    return "encoder" if arch.kind == ENCODER else LANGUAGE


def tower_parameters(tensors: Sequence[Tensor], arch: Arch) -> dict[str, int]:
    """Parameters per tower, largest first (one entry for a single-tower model)."""
    found: dict[str, int] = {}
    for tensor in tensors:
        key = tower(tensor.name, arch)
        found[key] = found.get(key, 0) + tensor.elements
    return dict(sorted(found.items(), key=lambda item: -item[1]))


def off_path_parameters(tensors: Sequence[Tensor], arch: Arch) -> int:
    """Parameters a generated token does not run through (side towers, the encoder side);
    none for an encoder, which generates nothing."""
    if arch.kind == ENCODER:
        return 0
    generating = "decoder" if arch.kind == ENCODER_DECODER else LANGUAGE
    return sum(t.elements for t in tensors if tower(t.name, arch) != generating)


def matmul_parameters(tensors: Sequence[Tensor]) -> int:
    """Parameters multiplied per token: everything but embedding tables."""
    return sum(t.elements for t in tensors if not _EMBEDDING.search(t.name))
