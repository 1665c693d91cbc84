"""Constrained decoding for `response_format: json_object`: every token keeps the output a valid
JSON-object prefix (JsonPrefix), and generation ends (EOS) as soon as the object is complete.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from transformers import LogitsProcessor

from airlock.gateway.engines.json_prefix import JsonPrefix

__all__ = ["JsonObjectProcessor", "JsonPrefix", "token_texts"]


class JsonObjectProcessor(LogitsProcessor):
    """Masks every token that would not keep the generated text a valid JSON-object prefix.

    Per step: walk tokens by descending logit, keep the first `keep` valid ones (so sampling
    still has a choice); search `search` tokens, then the whole vocabulary once, then give up
    and force EOS. Once the object is complete, EOS is forced. When the remaining budget just
    fits the shortest closing text, only tokens that spell it are allowed, so the object also
    completes within max_new_tokens whenever the budget allows it at all.
    """

    def __init__(
        self,
        tokenizer: Any,
        texts: list[str | None],
        eos_id: int,
        max_new_tokens: int,
        keep: int = 32,
        search: int = 2000,
    ) -> None:
        self._tokenizer, self._texts, self._eos = tokenizer, texts, eos_id
        self._max_new, self._keep, self._search = max_new_tokens, keep, search
        self._prompt_len: int | None = None
        self._states: list[tuple[str, JsonPrefix]] = []

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self._prompt_len is None:
            self._prompt_len = int(input_ids.shape[1])
            self._states = [("", JsonPrefix()) for _ in range(input_ids.shape[0])]
        remaining = self._max_new - (int(input_ids.shape[1]) - self._prompt_len)
        out = torch.full_like(scores, float("-inf"))
        for row in range(input_ids.shape[0]):
            state = self._sync(row, input_ids[row, self._prompt_len :].tolist())
            allowed = (
                []
                if state is None or state.complete
                else self._allowed(state, scores[row], remaining)
            )
            if not allowed:
                out[row, self._eos] = 0.0
                continue
            index = torch.tensor(allowed)
            kept = scores[row, index]
            # A token another processor already masked may be the only valid one: keep it live.
            out[row, index] = torch.where(torch.isinf(kept), torch.zeros_like(kept), kept)
        return out  # type: ignore[return-value]

    def _sync(self, row: int, ids: list[int]) -> JsonPrefix | None:
        """The state after the text really generated (decoded as the streamer decodes it)."""
        text = self._tokenizer.decode(ids, skip_special_tokens=True)
        seen, state = self._states[row]
        if not text.startswith(seen):  # e.g. a multi-byte character just completed: re-read
            seen, state = "", JsonPrefix()
        if not state.feed(text[len(seen) :]):
            return None
        self._states[row] = (text, state)
        return state

    def _allowed(self, state: JsonPrefix, row: torch.Tensor, remaining: int) -> list[int]:
        closing = state.closing()
        if remaining <= len(closing) + 1:  # +1: room for the EOS after it

            def fits(text: str) -> bool:
                return closing.startswith(text)

            keep = 1
        else:
            fits, keep = state.accepts, self._keep
        limit = min(self._search, row.shape[0])
        found = self._scan(torch.topk(row, limit).indices.tolist(), fits, keep)
        if not found and limit < row.shape[0]:
            found = self._scan(torch.argsort(row, descending=True).tolist(), fits, keep)
        return found

    def _scan(self, order: list[int], fits: Callable[[str], bool], keep: int) -> list[int]:
        found: list[int] = []
        for token in order:
            text = self._texts[token] if token < len(self._texts) else None
            if text is not None and fits(text):
                found.append(token)
                if len(found) >= keep:
                    break
        return found


def token_texts(tokenizer: Any) -> list[str | None]:
    """Each token's text as it reads after other text (None: special or empty, never allowed).

    Decoding after an anchor token keeps the leading space SentencePiece drops at the start.
    """
    anchor = tokenizer.encode("a", add_special_tokens=False)[:1]
    base = tokenizer.decode(anchor, skip_special_tokens=False)
    special = set(tokenizer.all_special_ids)
    special.update(i for i, t in tokenizer.added_tokens_decoder.items() if t.special)
    size = len(tokenizer)
    pairs = [[*anchor, i] for i in range(size)]
    texts = tokenizer.batch_decode(pairs, skip_special_tokens=False)
    return [
        t[len(base) :] if i not in special and t.startswith(base) and len(t) > len(base) else None
        for i, t in enumerate(texts)
    ]
