"""Exact and near duplicates inside the data and leakage from --against data, with the pairs
listed (bounded) and the counts complete; MinHash values equal datasketch's."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
from datasketch import MinHash

from airlock.datacheck.sketch import Sketcher, shingle_hashes, similarity

from .conftest import write_jsonl

_WORDS = [f"w{i}" for i in range(3000)]


def _sentence(rng: random.Random, words: int = 20) -> str:
    return " ".join(rng.choices(_WORDS, k=words))


def _pairs(result: Any, *path: str) -> list[tuple[str, str, str, str]]:
    section = result.json()
    for key in path:
        section = section[key]
    return [
        (p["first"]["file"], p["first"]["location"], p["second"]["file"], p["second"]["location"])
        for p in section["pairs"]
    ]


def test_exact_and_near_duplicates_are_listed(tmp_path: Path, check: Any) -> None:
    rng = random.Random(1)
    texts = [_sentence(rng) for _ in range(50)]
    rows = [{"text": t} for t in texts]
    rows.append({"text": "  " + texts[3].replace(" ", "   ") + "\n"})  # line 51: spacing only
    rows.append({"text": texts[10] + " " + _WORDS[0]})  # line 52: one word more
    rows.append({"text": texts[20].upper() + "!"})  # line 53: case and punctuation
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    result = check(data, "--format", "json")
    assert result.code == 0  # duplicates are medium, below the default --fail-on high
    d = str(data)
    assert _pairs(result, "duplicates", "exact") == [(d, "line 4", d, "line 51")]
    assert result.json()["duplicates"]["exact"]["records"] == 1
    assert sorted(_pairs(result, "duplicates", "near")) == [
        (d, "line 11", d, "line 52"),
        (d, "line 21", d, "line 53"),
    ]
    assert result.rule("AIR920")["examples"][0]["message"] == f"same text as {d} line 4"
    assert check(data, "--fail-on", "medium").code == 1


def test_leakage_against_another_split(tmp_path: Path, check: Any) -> None:
    rng = random.Random(2)
    train = [_sentence(rng) for _ in range(100)]
    test = [train[5], train[7] + " " + _WORDS[1], _sentence(rng), train[5]]
    train_file = write_jsonl(tmp_path / "train.jsonl", [{"text": t} for t in train])
    test_file = write_jsonl(tmp_path / "test.jsonl", [{"text": t} for t in test])
    result = check(test_file, "--against", train_file, "--format", "json")
    t, tr = str(test_file), str(train_file)
    assert _pairs(result, "leakage", "exact") == [
        (t, "line 1", tr, "line 6"),
        (t, "line 4", tr, "line 6"),
    ]
    assert _pairs(result, "leakage", "near") == [(t, "line 2", tr, "line 8")]
    assert result.json()["leakage"]["exact"]["records"] == 2
    assert result.rule("AIR922")["severity"] == "medium"
    # The --against data is only compared: its own findings are not this report's business.
    assert result.json()["records"] == 4
    write_jsonl(
        tmp_path / "train.jsonl",
        [*({"text": t} for t in train), {"text": "x@contoso-mail.com"}, [1]],
    )
    assert (
        check(test_file, "--against", train_file, "--format", "json").json()[
            "findings_by_severity"
        ]["high"]
        == 0
    )
    assert check(test_file, "--format", "json").json()["leakage"] is None


def test_pairs_are_bounded_and_counts_are_not(tmp_path: Path, check: Any) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [{"text": "the very same words every time"}] * 40)
    result = check(data, "--format", "json", "--max-pairs", "3")
    assert result.json()["duplicates"]["exact"]["records"] == 39
    assert len(result.json()["duplicates"]["exact"]["pairs"]) == 3
    assert result.rule("AIR920")["count"] == 39 and len(result.rule("AIR920")["examples"]) == 3
    assert "... and 36 more" in check(data, "--max-pairs", "3").out


def test_a_shared_beir_corpus_is_not_leakage(tmp_path: Path, check: Any) -> None:
    for split in ("train", "test"):
        folder = tmp_path / split
        folder.mkdir()
        write_jsonl(
            folder / "corpus.jsonl", [{"_id": "d1", "text": "the shared corpus document text"}]
        )
        write_jsonl(
            folder / "queries.jsonl", [{"_id": "q1", "text": f"a {split} only question here"}]
        )
    result = check(tmp_path / "test", "--against", tmp_path / "train", "--format", "json")
    assert result.json()["leakage"]["exact"]["records"] == 0


def test_empty_records_are_not_duplicates_of_each_other(tmp_path: Path, check: Any) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [{"text": ""}, {"text": " "}, {"text": ""}])
    result = check(data, "--format", "json")
    assert result.json()["duplicates"]["exact"]["records"] == 0
    assert result.rule("AIR912")["kinds"] == {"empty": 2, "whitespace-only": 1}


def test_minhash_values_equal_datasketch() -> None:
    """The batched arithmetic gives datasketch's own MinHash values for the same shingles."""
    rng = random.Random(3)
    texts = [_sentence(rng, rng.randint(0, 60)) for _ in range(200)] + [
        "",
        "one",
        "two words",
        "Привет мир",
    ]
    values = Sketcher(0.8).signatures(texts)
    hashes, owners = shingle_hashes(texts)
    for row in range(len(texts)):
        reference = MinHash(num_perm=64, hashfunc=int)
        reference.update_batch(hashes[owners == row].tolist())
        assert np.array_equal(reference.hashvalues, values[row]), texts[row]


def test_similarity_estimate_tracks_jaccard() -> None:
    rng = random.Random(4)
    sketcher = Sketcher(0.8)
    errors = []
    for _ in range(200):
        words = rng.choices(_WORDS, k=60)
        changed = list(words)
        for position in rng.sample(range(60), rng.randint(0, 20)):
            changed[position] = rng.choice(_WORDS)
        first, second = (set(zip(w, w[1:], w[2:], strict=False)) for w in (words, changed))
        jaccard = len(first & second) / len(first | second)
        _, bits = sketcher.sketch([" ".join(words), " ".join(changed)])
        errors.append(float(similarity(bits[:1], bits[1:])[0]) - jaccard)
    assert abs(np.mean(errors)) < 0.02  # unbiased
    assert np.std(errors) < 0.08  # 64 permutations: about sqrt(J(1-J)/64)
