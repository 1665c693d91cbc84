"""Reranking with a sentence-transformers CrossEncoder (one relevance score per document)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
from sentence_transformers import CrossEncoder

from airlock.gateway.engines.cpu_kernels import prepack_linears
from airlock.gateway.engines.interface import Capability, Engine, context_exceeded, sane_limit
from airlock.gateway.engines.token_budget import head_tokens


class CrossEncoderRerank(Engine):
    capabilities = frozenset({Capability.RERANK})

    def __init__(self, folder: Path, *, prepack: bool = True) -> None:
        self._model = CrossEncoder(
            str(folder), device="cpu", trust_remote_code=False, local_files_only=True
        )
        tokenizer = self._model.tokenizer
        self._limit = sane_limit(
            getattr(self._model, "max_seq_length", None), tokenizer.model_max_length
        )
        # A copy counts whole pairs: the model's own tokenizer is set to truncate, and changing
        # that while another worker thread encodes would make it fail.
        self._counter: Any = copy.deepcopy(tokenizer)
        if prepack:
            prepack_linears(self._model, self._probe)

    def _probe(self) -> torch.Tensor:
        pairs = [("a probe query", "a document"), ("another query", "a longer, padded document")]
        scores = self._model.predict(pairs, show_progress_bar=False, convert_to_tensor=True)
        return torch.as_tensor(scores)

    def rerank(self, pairs: list[tuple[str, str]]) -> tuple[list[float], list[int]]:
        self._refuse_huge(pairs)
        # Counted whole, before scoring: the CrossEncoder would cut a long pair without a word.
        tokens = [len(self._counter(q, d)["input_ids"]) for q, d in pairs]
        if self._limit is not None:
            for i, count in enumerate(tokens):
                if count > self._limit:
                    found = f"the query with document {i} has {count:,} tokens"
                    raise context_exceeded(self._limit, found, param="documents")
        scores = self._model.predict(pairs, batch_size=64, show_progress_bar=False)
        return [float(s) for s in scores], tokens

    def _refuse_huge(self, pairs: list[tuple[str, str]]) -> None:
        """A pair whose beginning alone is over the context, refused before tokenizing the rest
        of it (a megabyte takes a second or more)."""
        if self._limit is None:
            return
        for i, (query, document) in enumerate(pairs):
            head = head_tokens(self._count_pair, [query, document], self._limit)
            if head is not None:
                found = f"the query with document {i} has at least {head:,} tokens"
                raise context_exceeded(self._limit, found, param="documents")

    def _count_pair(self, pair: list[str]) -> int:
        return len(self._counter(pair[0], pair[1])["input_ids"])

    def close(self) -> None:
        del self._model
