"""Embeddings with sentence-transformers (pooling and normalization as the model defines them)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

from airlock.gateway.engines.cpu_kernels import prepack_linears
from airlock.gateway.engines.interface import (
    Capability,
    Embeddings,
    Engine,
    EngineError,
    context_exceeded,
    sane_limit,
)
from airlock.gateway.engines.token_budget import head_tokens

_CHUNK = 64


class SentenceEmbeddings(Engine):
    capabilities = frozenset({Capability.EMBEDDINGS})

    def __init__(self, folder: Path, *, prepack: bool = True) -> None:
        _check_modules(folder)
        self._model = SentenceTransformer(
            str(folder), device="cpu", trust_remote_code=False, local_files_only=True
        )
        self._model.eval()
        tokenizer = self._model.tokenizer
        self._limit = sane_limit(self._model.max_seq_length, tokenizer.model_max_length)
        # A copy counts whole inputs: the model's own tokenizer is set to truncate, and
        # changing that while another worker thread encodes would make it fail.
        self._counter: Any = copy.deepcopy(tokenizer)
        if prepack:
            prepack_linears(self._model, self._probe)

    def _probe(self) -> torch.Tensor:
        features = self._model.preprocess(["a probe sentence", "and a longer second one, padded"])
        embeddings: torch.Tensor = self._model.forward(features)["sentence_embedding"]
        return embeddings

    def embed(self, texts: list[str]) -> Embeddings:
        # One tokenization serves both the forward pass and the token counts (encode() would
        # tokenize a second time); chunks bound the padded batch a large request builds. All
        # chunks are tokenized and checked against the context before the first forward pass.
        self._refuse_huge(texts)
        chunks = []
        tokens: list[int] = []
        for start in range(0, len(texts), _CHUNK):
            features = self._model.preprocess(texts[start : start + _CHUNK])
            counts = [int(n) for n in features["attention_mask"].sum(dim=1).tolist()]
            self._check_context(texts[start : start + _CHUNK], counts, start)
            chunks.append(features)
            tokens.extend(counts)
        vectors: list[np.ndarray] = []
        for features in chunks:
            with torch.inference_mode():
                output = self._model.forward(features)
            vectors.append(output["sentence_embedding"].float().numpy())
        return Embeddings(np.concatenate(vectors).astype(np.float32, copy=False), tokens)

    def _refuse_huge(self, texts: list[str]) -> None:
        """An input whose beginning alone is over the context, refused before tokenizing the
        rest of it (a megabyte takes a second or more)."""
        if self._limit is None:
            return
        for i, text in enumerate(texts):
            head = head_tokens(self._count, [text], self._limit)
            if head is not None:
                found = f"input {i} of your request has at least {head:,} tokens"
                raise context_exceeded(self._limit, found, param="input")

    def _count(self, parts: list[str]) -> int:
        return len(self._counter(parts[0])["input_ids"])

    def _check_context(self, texts: list[str], counts: list[int], first: int) -> None:
        """sentence-transformers cuts inputs at the model's length without a word: an input
        that reached it is counted whole, and refused if it is longer."""
        if self._limit is None:
            return
        for i, (text, count) in enumerate(zip(texts, counts, strict=True)):
            if count >= self._limit:
                whole = len(self._counter(text)["input_ids"])
                if whole > self._limit:
                    found = f"input {first + i} of your request has {whole:,} tokens"
                    raise context_exceeded(self._limit, found, param="input")

    def count_tokens(self, text: str) -> int:
        return int(self._model.preprocess([text])["attention_mask"].sum())

    def close(self) -> None:
        del self._model


def _check_modules(folder: Path) -> None:
    """modules.json names classes that sentence-transformers imports: allow only its own."""
    path = folder / "modules.json"
    if not path.is_file():
        return
    for module in json.loads(path.read_text(encoding="utf-8")):
        kind = str(module.get("type", ""))
        if not kind.startswith("sentence_transformers."):
            raise EngineError(f"modules.json names a class outside sentence-transformers: {kind}")
