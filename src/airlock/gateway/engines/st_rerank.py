"""Reranking with a sentence-transformers CrossEncoder (one relevance score per document)."""

from __future__ import annotations

from pathlib import Path

import torch
from sentence_transformers import CrossEncoder

from airlock.gateway.engines.cpu_kernels import prepack_linears
from airlock.gateway.engines.interface import Capability, Engine


class CrossEncoderRerank(Engine):
    capabilities = frozenset({Capability.RERANK})

    def __init__(self, folder: Path, *, prepack: bool = True) -> None:
        self._model = CrossEncoder(
            str(folder), device="cpu", trust_remote_code=False, local_files_only=True
        )
        if prepack:
            prepack_linears(self._model, self._probe)

    def _probe(self) -> torch.Tensor:
        pairs = [("a probe query", "a document"), ("another query", "a longer, padded document")]
        scores = self._model.predict(pairs, show_progress_bar=False, convert_to_tensor=True)
        return torch.as_tensor(scores)

    def rerank(self, pairs: list[tuple[str, str]]) -> tuple[list[float], list[int]]:
        scores = self._model.predict(pairs, batch_size=64, show_progress_bar=False)
        tokenizer = self._model.tokenizer
        tokens = [len(tokenizer(q, d)["input_ids"]) for q, d in pairs]
        return [float(s) for s in scores], tokens

    def close(self) -> None:
        del self._model
