"""Write a small sentence-embedding model with random weights: the demo's baseline candidate.

    python examples/make_baseline_encoder.py OUT_FOLDER

A 2-layer BERT with a WordPiece vocabulary of the demo set's words and mean pooling, saved the
way sentence-transformers saves models (so `airlock admit` and the gateway treat it like any
embedding model). Its weights are random: `airlock eval` should rank it well below MiniLM.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer, models
from transformers import BertConfig, BertModel, BertTokenizerFast

DATA = Path(__file__).resolve().parent / "eval" / "helpdesk-retrieval.jsonl"
CARD = """---
license: apache-2.0
library_name: sentence-transformers
pipeline_tag: sentence-similarity
---
# Random baseline encoder

Random weights, built by examples/make_baseline_encoder.py for the Airlock demo.
"""


def main(out: Path) -> None:
    torch.manual_seed(0)
    texts = []
    for line in DATA.read_text("utf-8").splitlines():
        item = json.loads(line)
        texts += [item["query"], *item["positives"], *item["negatives"]]
    words = sorted({w for text in texts for w in re.findall(r"\w+", text.lower())})
    bert = out / "bert"
    bert.mkdir(parents=True, exist_ok=True)
    vocab = bert / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n")
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(bert)
    config = BertConfig(
        vocab_size=len(words) + 5,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
    )
    BertModel(config).save_pretrained(bert)
    encoder = models.Transformer(str(bert), max_seq_length=128)
    pooling = models.Pooling(encoder.get_embedding_dimension(), pooling_mode="mean")
    SentenceTransformer(modules=[encoder, pooling], device="cpu").save(str(out))
    (out / "README.md").write_text(CARD, "utf-8")
    for leftover in bert.iterdir():
        leftover.unlink()
    bert.rmdir()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python examples/make_baseline_encoder.py OUT_FOLDER")
    main(Path(sys.argv[1]))
