"""A transformers StoppingCriteria that ends generate() at the next decoding step once the
request's cancel token is set (a timeout, a client that went away, a stop sequence)."""

from __future__ import annotations

from typing import Any

import torch
from transformers import StoppingCriteria

from airlock.gateway.engines.interface import CancelToken


class StopOnCancel(StoppingCriteria):
    def __init__(self, cancel: CancelToken) -> None:
        self._cancel = cancel

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **_: Any) -> bool:
        return self._cancel.is_set()
