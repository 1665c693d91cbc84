"""Constrained decoding's cost: tokens per second with and without a JSON-schema constraint,
same model, same prompts, same run.

    .venv/bin/python benchmarks/structured.py [--vocab 32000] [--hidden 256] [--layers 4]
        [--tokens 128] [--rounds 3]

The model is a Llama with random weights and a byte-level BPE tokenizer trained here, on the
Python sources of the installed packages, to `--vocab` tokens (GPT-2's 50257 is the size
grammar engines find hardest). It is served by the gateway's causal-LM engine
(engines/hf_causal.py) in this process; each request is timed from the first piece to the last,
and tokens per second is completion tokens over that time. Unconstrained requests run to
`--tokens`; constrained ones end when the JSON is complete, so the rate, not the total time,
is compared. The goal: JSON-schema decoding at >= 0.90x the unconstrained rate (<= 10% cost).
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from airlock.gateway.engines import hf_causal
from airlock.gateway.engines.grammar import GrammarProcessor
from airlock.gateway.engines.hf_causal import CausalLM
from airlock.gateway.engines.interface import Generation, JsonOutput, ToolUse

PROMPTS = [
    "Extract the user: Ada Lovelace, 36, ada@example.com, tags math and poetry.",
    "Give me the weather in Paris as JSON.",
    "List three colours and their sizes.",
]
SCHEMA = {
    "type": "object",
    "properties": {
        "user": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "age": {"type": "integer"},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["name", "age", "tags"],
            "additionalProperties": False,
        },
        "colour": {"enum": ["red", "green", "blue"]},
        "score": {"type": "number"},
    },
    "required": ["user", "colour", "score"],
    "additionalProperties": False,
}
WEATHER = {
    "name": "get_weather",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
}


def make_model(folder: Path, vocab: int, hidden: int, layers: int) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    def sources() -> Iterator[str]:
        site = next(p for p in sys.path if p.endswith("site-packages"))
        for name in sorted(glob.glob(f"{site}/**/*.py", recursive=True))[:6000]:
            yield Path(name).read_text(encoding="utf-8", errors="ignore")

    torch.manual_seed(0)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<s>", "</s>", "<|user|>", "<|assistant|>", "<|system|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(sources(), trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="</s>"
    )
    tokenizer.chat_template = (
        "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}</s>{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    tokenizer.save_pretrained(folder)
    config = LlamaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


MODES = ("none", "json_object", "json_schema", "tool_call")
MASKING = {"seconds": 0.0, "steps": 0}  # time spent in the grammar processor, all modes


class TimedProcessor(GrammarProcessor):
    """The engine's processor, timed: its own cost per token, apart from the machine's noise."""

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        start = time.perf_counter()
        try:
            return super().__call__(input_ids, scores)
        finally:
            MASKING["seconds"] += time.perf_counter() - start
            MASKING["steps"] += 1


def rates(engine: CausalLM, tokens: int, rounds: int) -> dict[str, tuple[float, int]]:
    """Completion tokens per second per mode over all prompts and rounds, and the tokens
    counted. The modes take turns request by request, so a busy machine slows all alike."""
    constraints = {
        "none": None,
        "json_object": JsonOutput({"type": "object"}),
        "json_schema": JsonOutput(SCHEMA),
        "tool_call": ToolUse((WEATHER,), "required"),
    }
    elapsed = dict.fromkeys(MODES, 0.0)
    generated = dict.fromkeys(MODES, 0)
    for seed in range(rounds):
        for prompt in PROMPTS:
            for mode in MODES:
                request = Generation(
                    messages=[{"role": "user", "content": prompt}],
                    max_tokens=tokens,
                    temperature=0.8,  # sampled: the constrained text is not the same few tokens
                    seed=seed,
                    constraint=constraints[mode],
                )
                stream = engine.generate(request)
                start = time.perf_counter()
                for _ in stream.pieces:
                    pass
                elapsed[mode] += time.perf_counter() - start
                generated[mode] += stream.completion_tokens
    return {mode: (generated[mode] / elapsed[mode], generated[mode]) for mode in MODES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    with tempfile.TemporaryDirectory() as work:
        folder = make_model(Path(work) / "model", args.vocab, args.hidden, args.layers)
        hf_causal.GrammarProcessor = TimedProcessor  # type: ignore[misc]
        engine = CausalLM(folder)
        rates(engine, 8, 1)  # warm-up: the grammar tokenizer is built once
        MASKING.update(seconds=0.0, steps=0)
        measured = rates(engine, args.tokens, args.rounds)
        base = measured["none"][0]
        print(f"vocab {args.vocab}, hidden {args.hidden}, {args.layers} layers")
        for mode, (speed, count) in measured.items():
            print(f"{mode:>12}: {speed:8.1f} tokens/s ({count} tokens)  {speed / base:.2f}x")
        per_step = MASKING["seconds"] / max(1, MASKING["steps"])
        print(
            f"grammar processor: {per_step * 1e3:.3f} ms per constrained token, "
            f"{per_step * base:.1%} of an unconstrained token's time"
        )
        engine.close()


if __name__ == "__main__":
    main()
