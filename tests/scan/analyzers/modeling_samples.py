"""Realistic custom-code files of a Hugging Face model folder (as text: tests never import them)."""

from __future__ import annotations

CONFIGURATION_TINY = '''
"""Tiny model configuration."""

from transformers.configuration_utils import PretrainedConfig
from transformers.utils import logging

logger = logging.get_logger(__name__)


class TinyConfig(PretrainedConfig):
    model_type = "tiny"

    def __init__(self, vocab_size=99, hidden_size=8, num_attention_heads=2, **kwargs):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_attention_heads = num_attention_heads
        super().__init__(**kwargs)
'''

MODELING_TINY = '''
# coding=utf-8
# Copyright 2024 The Tiny Authors. Licensed under the Apache License, Version 2.0.
"""PyTorch Tiny model: see https://huggingface.co/docs/transformers (token stored in
`~/.cache/huggingface/token` when you log in)."""

import math
import os
import warnings
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from transformers.activations import ACT2FN
from transformers.modeling_outputs import BaseModelOutput
from transformers.modeling_utils import PreTrainedModel
from transformers.utils import is_flash_attn_2_available, logging

from .configuration_tiny import TinyConfig

logger = logging.get_logger(__name__)
_CHECKPOINT_FOR_DOC = "tiny/tiny-base"
_DEBUG = os.environ.get("TINY_DEBUG", "0") == "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"


class TinyAttention(nn.Module):
    def __init__(self, config: TinyConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // self.num_heads
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.out = nn.Linear(config.hidden_size, config.hidden_size)
        self.impl = getattr(config, "_attn_implementation", "eager")

    def forward(
        self, hidden: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        batch, length, _ = hidden.shape
        q, k, v = self.qkv(hidden).chunk(3, dim=-1)
        shape = (batch, length, self.num_heads, self.head_dim)
        q, k, v = (t.view(shape).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
        if mask is not None:
            scores = scores.masked_fill(mask == 0, torch.finfo(scores.dtype).min)
        probs = F.softmax(scores, dim=-1)
        context = (probs @ v).transpose(1, 2).reshape(batch, length, -1)
        return self.out(context), probs


class TinyLayer(nn.Module):
    def __init__(self, config: TinyConfig):
        super().__init__()
        self.attention = TinyAttention(config)
        self.act = ACT2FN["gelu"]
        self.norm = nn.LayerNorm(config.hidden_size)

    def forward(self, hidden, mask=None):
        attended, _ = self.attention(self.norm(hidden), mask)
        return hidden + self.act(attended)


class TinyPreTrainedModel(PreTrainedModel):
    config_class = TinyConfig
    base_model_prefix = "tiny"

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=0.02)


class TinyModel(TinyPreTrainedModel):
    def __init__(self, config: TinyConfig):
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        for i in range(2):
            setattr(self, f"layer_{i}", TinyLayer(config))
        if is_flash_attn_2_available() and _DEBUG:
            warnings.warn("flash attention is available but unused")
        self.post_init()

    def forward(
        self, input_ids, attention_mask=None, return_dict: bool = True
    ) -> Union[Tuple, BaseModelOutput]:
        hidden = self.embed(input_ids)
        for i in range(2):
            hidden = getattr(self, f"layer_{i}")(hidden, attention_mask)
        if not return_dict:
            return (hidden,)
        return BaseModelOutput(last_hidden_state=hidden)

    def compile_for_inference(self, compile: bool = False):
        self.eval()
        return torch.compile(self) if compile else self
'''
