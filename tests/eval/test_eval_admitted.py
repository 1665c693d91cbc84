"""Admitted models as candidates, loaded by the gateway's engines from hash-verified copies:
the real MiniLM and tiny random models admitted in a temporary AIRLOCK_HOME. Numbers are
checked against an independent path: the model loaded by its own library from its folder,
scored by pytrec_eval."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytrec_eval

from gateway import tiny_models
from gateway.conftest import admit, minilm_folder

from .support import faq_beir, faq_rows, run_error, run_json, tone_wav, values, write_jsonl

IR = ("ndcg_cut_10", "recall_10", "map_cut_100")
OURS = {"ndcg_cut_10": "ndcg@10", "recall_10": "recall@10", "map_cut_100": "map@100"}


def _pytrec_means(
    qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]
) -> dict[str, float]:
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.10", "map_cut.100"})
    per_query = evaluator.evaluate(run)
    return {OURS[m]: float(np.mean([per_query[q][m] for q in qrels])) for m in IR}


def _sentence_transformers_run(
    queries: dict[str, str], corpus: dict[str, str]
) -> dict[str, dict[str, float]]:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(minilm_folder()), device="cpu")
    ids = list(corpus)
    docs = model.encode([corpus[i] for i in ids], normalize_embeddings=True)
    asked = model.encode(list(queries.values()), normalize_embeddings=True)
    return {
        q: {d: float(s) for d, s in zip(ids, row, strict=True)}
        for q, row in zip(queries, asked @ docs.T, strict=True)
    }


def test_retrieval_jsonl_equals_sentence_transformers_and_pytrec_eval(
    minilm: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from airlock.eval.datasets.retrieval_jsonl import document_id

    rows = faq_rows()
    path = write_jsonl(tmp_path / "faq.jsonl", rows)
    document = run_json(capsys, str(path), "--model", minilm, "--batch-size", "5")
    corpus = {document_id(t): t for r in rows for t in (*r["positives"], *r["negatives"])}
    queries = {f"q{i + 1}": r["query"] for i, r in enumerate(rows)}
    qrels = {
        f"q{i + 1}": {
            **{document_id(t): 0 for t in r["negatives"]},
            **{document_id(t): 1 for t in r["positives"]},
        }
        for i, r in enumerate(rows)
    }
    expected = _pytrec_means(qrels, _sentence_transformers_run(queries, corpus))
    (candidate,) = document["candidates"]
    for metric, value in expected.items():
        assert candidate["metrics"][metric]["value"] == pytest.approx(value, abs=1e-9), metric
    assert candidate["model"]["name"] == "minilm" and candidate["model"]["version"] == 1
    assert candidate["model"]["revision"].startswith("sha256:")
    assert candidate["items"] == len(rows) and candidate["failed"] == 0
    assert candidate["tokens"]["prompt"] > 0 and candidate["latency_ms"]["p50"] > 0


def test_beir_folder_with_graded_judgments(
    minilm: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = faq_beir(tmp_path / "faq")
    document = run_json(capsys, str(folder), "--model", minilm, "--metric", "ndcg@10",
                        "--metric", "recall@10", "--metric", "map@100")  # fmt: skip
    assert document["metrics"] == ["ndcg@10", "recall@10", "map@100"]
    import json

    corpus = {}
    for line in (folder / "corpus.jsonl").read_text().splitlines():
        doc = json.loads(line)
        corpus[doc["_id"]] = f"{doc['title']} {doc['text']}".strip()
    queries = {}
    for line in (folder / "queries.jsonl").read_text().splitlines():
        query = json.loads(line)
        queries[query["_id"]] = query["text"]
    qrels: dict[str, dict[str, int]] = {}
    for line in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        q, d, s = line.split("\t")
        qrels.setdefault(q, {})[d] = int(s)
    queries = {q: t for q, t in queries.items() if q in qrels}
    expected = _pytrec_means(qrels, _sentence_transformers_run(queries, corpus))
    for metric, value in expected.items():
        assert values(document, metric)["minilm"] == pytest.approx(value, abs=1e-9), metric
    assert document["dataset"]["items"] == 7


# Words the tiny cross-encoder's vocabulary knows (tests/gateway/tiny_models.py).
PASSAGES = [
    ("capital of france", "paris is the capital of france"),
    ("lazy dog", "the quick brown fox jumps over the lazy dog"),
    ("greeting", "hello world, airlock serves admitted models only"),
]


def test_rerank_side_by_side_equals_cross_encoder_and_cosine(
    minilm: str, cross_encoder: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sentence_transformers import CrossEncoder, SentenceTransformer

    # Each query's own passage (grade 2) and the two others (graded 0 and 1).
    rows = [
        {"query": q, "documents": [a, *(o for _, o in PASSAGES if o != a)], "labels": [2, 0, 1]}
        for q, a in PASSAGES
    ]
    path = write_jsonl(tmp_path / "rerank.jsonl", rows)
    document = run_json(capsys, str(path), "--model", minilm, "--model", cross_encoder)
    assert document["task"] == "rerank" and [c["name"] for c in document["candidates"]] == [
        "minilm", "rerank"]  # fmt: skip
    qrels = {
        f"q{i}": {f"{j:08d}": g for j, g in enumerate(r["labels"])} for i, r in enumerate(rows)
    }
    embedder = SentenceTransformer(str(minilm_folder()), device="cpu")
    reranker = CrossEncoder(str(_admitted_source(cross_encoder)), device="cpu")
    cosine: dict[str, dict[str, float]] = {}
    crossed: dict[str, dict[str, float]] = {}
    for i, r in enumerate(rows):
        vectors = embedder.encode([r["query"], *r["documents"]], normalize_embeddings=True)
        cosine[f"q{i}"] = {f"{j:08d}": float(s) for j, s in enumerate(vectors[1:] @ vectors[0])}
        scores = reranker.predict([(r["query"], d) for d in r["documents"]])
        crossed[f"q{i}"] = {f"{j:08d}": float(s) for j, s in enumerate(scores)}
    for name, run in (("minilm", cosine), ("rerank", crossed)):
        expected = _pytrec_means(qrels, run)
        for metric in ("ndcg@10", "map@100"):
            assert values(document, metric)[name] == pytest.approx(expected[metric], abs=1e-9)


def _admitted_source(name: str) -> Path:
    from airlock.registry.store import Registry

    registry = Registry()
    try:
        record = registry.get(name)
        assert record is not None
        return Path(record.source)
    finally:
        registry.close()


def test_generation_answers_are_the_models_greedy_answers(
    llama: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = _admitted_source(llama)
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    model = AutoModelForCausalLM.from_pretrained(str(source))
    prompts = ["the quick brown fox", "hello world", "paris is the capital of"]
    said = []
    for prompt in prompts:
        ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
        out = model.generate(ids, do_sample=False, max_new_tokens=6, pad_token_id=1)
        said.append(tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True))
    assert all(s.strip() for s in said), said
    rows: list[dict[str, Any]] = [
        {"prompt": p, "reference": s} for p, s in zip(prompts, said, strict=True)
    ]
    rows.append({"messages": [{"role": "user", "content": "hello"}], "pattern": "."})
    path = write_jsonl(tmp_path / "gen.jsonl", rows)
    document = run_json(capsys, str(path), "--model", llama, "--max-tokens", "6")
    assert document["task"] == "generation"
    assert document["metrics"] == [
        "exact_match",
        "exact_match_normalized",
        "token_f1",
        "contains",
        "regex",
    ]
    (candidate,) = document["candidates"]
    assert candidate["metrics"]["exact_match"]["value"] == 1.0
    assert candidate["items"] == 4 and candidate["failed"] == 0
    assert 0 < candidate["tokens"]["completion"] <= 4 * 6
    assert candidate["tokens"]["prompt"] > 0


def test_transcription(whisper: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tone_wav(tmp_path / "a.wav", 1.0)
    tone_wav(tmp_path / "b.wav", 2.0, frequency=220.0)
    rows = [{"audio": "a.wav", "text": "hello world"}, {"audio": "b.wav", "text": "the lazy dog"}]
    path = write_jsonl(tmp_path / "manifest.jsonl", rows)
    document = run_json(capsys, str(path), "--model", whisper)
    assert document["task"] == "transcription" and document["metrics"] == ["wer", "cer"]
    (candidate,) = document["candidates"]
    assert candidate["items"] == 2 and candidate["failed"] == 0
    assert candidate["metrics"]["wer"]["value"] >= 0 and candidate["metrics"]["cer"]["value"] >= 0


def test_only_the_admitted_bytes_load(
    airlock_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tiny_models.make_cross_encoder(tmp_path / "tampered")
    admit(folder, "tampered")
    with (folder / "config.json").open("a") as handle:
        handle.write(" ")
    row = {"query": "q", "documents": ["paris", "dog"], "labels": [1, 0]}
    path = write_jsonl(tmp_path / "r.jsonl", [row])
    line = run_error(capsys, str(path), "--model", "tampered")
    assert "config.json does not match its admitted hash" in line and "refusing to load" in line
    shutil.rmtree(folder)


def test_candidates_that_cannot_take_the_task(
    minilm: str, cross_encoder: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(tmp_path / "faq.jsonl", faq_rows())
    line = run_error(capsys, str(path), "--model", cross_encoder)
    assert line == "model 'rerank' is a reranker: it cannot be evaluated on retrieval data"
    assert run_error(capsys, str(path), "--model", "minilm2") == (
        "no admitted model 'minilm2' (did you mean `minilm`?)"
    )
    assert (
        run_error(capsys, str(path), "--model", "minilm@9")
        == "no admitted model 'minilm' version 9"
    )
    assert run_error(capsys, str(path), "--model", "minilm", "--model", "minilm") == (
        "two candidates are named 'minilm': name them apart"
    )


def test_a_finished_run_is_recorded_for_the_admitted_version(
    minilm: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The results land in the registry against the version's exact files: `airlock models
    # show` lists them, and a policy's `quality` requirement can find them.
    import json

    from airlock.cli import main

    path = write_jsonl(tmp_path / "support-faq.jsonl", faq_rows())
    assert main(["eval", str(path), "--model", minilm, "--metric", "ndcg@10", "-f", "json"]) == 0
    ran = json.loads(capsys.readouterr().out)["candidates"][0]["metrics"]["ndcg@10"]["value"]
    assert main(["models", "show", minilm, "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    results = [
        r
        for r in shown["evals"]
        if r["dataset"]["name"] == "support-faq" and r["metric"] == "ndcg@10"
    ]
    assert results and results[0]["value"] == pytest.approx(ran)
