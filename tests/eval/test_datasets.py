"""Every data format read and checked: the task from the data's shape, the items as the run
sees them, the fingerprint, and bad data refused with one line naming the file and line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from airlock.eval.datasets.detect import open_dataset
from airlock.eval.datasets.fingerprint import fingerprint
from airlock.eval.datasets.interface import (
    GenerationItem,
    ItemSet,
    RerankItem,
    RetrievalSet,
    Task,
    TranscriptionItem,
)
from airlock.eval.errors import DataError

from .support import faq_beir, faq_rows, run_error, tone_wav, write_jsonl


def _lines(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _error(path: Path, **options: Any) -> str:
    with pytest.raises(DataError) as caught:
        open_dataset(path, **options)
    return str(caught.value)


def test_retrieval_jsonl(tmp_path: Path) -> None:
    rows = faq_rows()
    data = open_dataset(write_jsonl(tmp_path / "faq.jsonl", rows))
    assert isinstance(data, RetrievalSet)
    assert (data.task, data.name, data.count) == (Task.RETRIEVAL, "faq", len(rows))
    texts = [d.text for d in data.documents()]
    assert len(texts) == len(set(texts)) == data.documents_count  # each text once
    assert set(texts) == {t for r in rows for t in (*r["positives"], *r["negatives"])}
    by_text = {d.text: d.id for d in data.documents()}
    first = next(iter(data.queries()))
    assert first.where == f"{tmp_path / 'faq.jsonl'}:1"
    assert first.relevant == {
        by_text[rows[0]["positives"][0]]: 1,
        **{by_text[n]: 0 for n in rows[0]["negatives"]},
    }


def test_beir_folder(tmp_path: Path) -> None:
    data = open_dataset(faq_beir(tmp_path / "faq"))
    assert isinstance(data, RetrievalSet)
    assert data.task is Task.RETRIEVAL and data.name == "faq"
    assert data.count == 7  # the eighth query is judged in dev only
    assert [q.id for q in data.queries()] == [f"q{i}" for i in range(7)]
    q1 = next(q for q in data.queries() if q.id == "q1")
    assert q1.relevant == {"a1": 2, "a2": 0}
    docs = {d.id: d.text for d in data.documents()}
    assert docs["x0"].startswith("Note ") and docs["a0"] == docs["a0"].strip()
    dev = open_dataset(tmp_path / "faq", split="dev")
    assert isinstance(dev, RetrievalSet) and [q.id for q in dev.queries()] == ["q7"]


def test_rerank(tmp_path: Path) -> None:
    row = {"query": "capital of france", "documents": ["Paris", "Lyon"], "labels": [1, 0]}
    data = open_dataset(write_jsonl(tmp_path / "r.jsonl", [row, {**row, "id": 7}]))
    assert isinstance(data, ItemSet) and data.task is Task.RERANK and data.count == 2
    assert next(iter(data.items())) == RerankItem(
        "capital of france", ("Paris", "Lyon"), (1, 0), f"{tmp_path / 'r.jsonl'}:1"
    )


def test_generation(tmp_path: Path) -> None:
    rows = [
        {"messages": [{"role": "user", "content": "Capital of France?"}], "reference": "Paris"},
        {"prompt": "2+2=", "reference": ["4", "four"], "pattern": r"\d"},
        {"prompt": "Pick", "choices": ["London", "Paris"], "answer": "Paris"},
        {"prompt": "JSON please", "schema": {"type": "object"}, "metadata": {"team": "x"}},
    ]
    data = open_dataset(write_jsonl(tmp_path / "g.jsonl", rows))
    assert isinstance(data, ItemSet) and data.task is Task.GENERATION
    assert data.fields == {
        "messages",
        "prompt",
        "reference",
        "pattern",
        "choices",
        "answer",
        "schema",
    }
    items = list(data.items())
    assert all(isinstance(i, GenerationItem) for i in items)
    assert items[1].references == ("4", "four") and items[2].answer == 1
    assert items[0].question == "user: Capital of France?"


def test_transcription(tmp_path: Path) -> None:
    tone_wav(tmp_path / "clips" / "a.wav")
    rows = [{"audio": "clips/a.wav", "text": "hello world", "language": "en"}]
    data = open_dataset(write_jsonl(tmp_path / "manifest.jsonl", rows))
    assert isinstance(data, ItemSet) and data.task is Task.TRANSCRIPTION
    (item,) = data.items()
    assert isinstance(item, TranscriptionItem)
    assert item.audio == (tmp_path / "clips" / "a.wav").resolve() and item.language == "en"
    assert data.files == (tmp_path / "manifest.jsonl", item.audio)


def test_fingerprint(tmp_path: Path) -> None:
    one = write_jsonl(tmp_path / "faq.jsonl", faq_rows())
    single = fingerprint(one, (one,))
    assert single.sha256 == hashlib.sha256(one.read_bytes()).hexdigest()  # = sha256sum
    assert single.bytes == one.stat().st_size
    folder = faq_beir(tmp_path / "beir")
    data = open_dataset(folder)
    first = fingerprint(folder, data.files)
    pairs = sorted(
        [p.relative_to(folder).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest()]
        for p in data.files
    )
    assert first.sha256 == hashlib.sha256(json.dumps(pairs).encode()).hexdigest()
    (folder / "qrels" / "dev.tsv").write_text("changed\n")  # not part of the test split
    assert fingerprint(folder, data.files) == first
    with (folder / "corpus.jsonl").open("a") as handle:
        handle.write("\n")
    assert fingerprint(folder, data.files).sha256 != first.sha256


GOOD_Q = '{"query": "q", "positives": ["a"]}'
MESSAGES = '"messages": [{"role": "user", "content": "hi"}]'


@pytest.mark.parametrize(
    ("lines", "line", "words"),
    [
        ((GOOD_Q, "", "{not json"), 3, "not JSON"),
        ((GOOD_Q, "[1, 2]"), 2, "expected a JSON object, got a list"),
        ((GOOD_Q, '{"query": "q"}'), 2, "missing 'positives'"),
        ((GOOD_Q, '{"query": "q", "positives": ["  "]}'), 2, "positives[0] is empty"),
        ((GOOD_Q, '{"query": "q", "positives": "a", "negatves": ["b"]}'), 2,
         "unknown field 'negatves' for a retrieval item (did you mean `negatives`?)"),
        (('{"query": "q", "documents": ["a", "b"], "labels": [1]}',), 1,
         "'labels' must be a list of 2 grades"),
        (('{"query": "q", "documents": ["a"], "labels": [-1]}',), 1, "labels[0] must be a whole"),
        (('{"query": "q", "documents": ["a"], "labels": [true]}',), 1, "labels[0] must be a whole"),
        (('{"query": "q", "documents": ["a", "b"], "labels": [0, 0]}',), 1, "no relevant document"),
        (('{"prompt": "p", "refrence": "x"}',), 1, "unknown field 'refrence' for a generation item "
         "(did you mean `reference`?)"),
        (("{" + MESSAGES + ', "prompt": "p"}',), 1, "give either 'messages'"),
        (('{"messages": [{"role": "robot", "content": "hi"}]}',), 1, "messages[0].role must be"),
        (('{"prompt": "p", "choices": ["a", "b"]}',), 1, "'choices' and 'answer' go together"),
        (('{"prompt": "p", "choices": ["a", "b"], "answer": 2}',), 1, "not an index into"),
        (('{"prompt": "p", "choices": ["a", "b"], "answer": "c"}',), 1, "must be one of 'choices'"),
        (('{"prompt": "p", "schema": {"type": "nonsense"}}',), 1, "not a valid JSON schema"),
        (('{"prompt": "p", "pattern": "(unclosed"}',), 1, "not a regular expression"),
        (('{"prompt": 5}',), 1, "'prompt' must be a string, got a number"),
        (('{"colour": "red"}',), 1, "cannot tell the task from this record"),
        (('{"audio": "/etc/passwd", "text": "x"}',), 1, "must be relative to the manifest"),
        (('{"audio": "../outside.wav", "text": "x"}',), 1, "leaves the manifest's folder"),
        (('{"audio": "missing.wav", "text": "x"}',), 1, "No such file"),
        (('{"audio": "clip.wav", "text": "?!"}',), 1, "no words"),
    ],
)  # fmt: skip
def test_bad_records_name_file_and_line(
    tmp_path: Path, lines: tuple[str, ...], line: int, words: str
) -> None:
    tone_wav(tmp_path / "clip.wav")
    path = _lines(tmp_path / "data.jsonl", *lines)
    message = _error(path)
    assert message.startswith(f"{path}:{line}: "), message
    assert words in message
    assert "\n" not in message


def test_bad_bytes(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(GOOD_Q.encode() + b"\n\xff\xfe\n")
    assert _error(path) == f"{path}:2: not UTF-8 text (byte 1)"
    assert (
        _error(_lines(tmp_path / "e.jsonl", ""))
        == f"{tmp_path / 'e.jsonl'}: no records (the file is empty)"
    )
    assert "no such file" in _error(tmp_path / "nothing.jsonl")
    assert "not a data set folder" in _error(tmp_path)
    assert "--split applies to BEIR folders only" in _error(path, split="dev")


def test_bad_beir(tmp_path: Path) -> None:
    folder = faq_beir(tmp_path / "b")
    qrels = folder / "qrels" / "test.tsv"
    good = qrels.read_text()
    for text, line, words in [
        (good + "q0\tnope\t1\n", 14, "document 'nope' is not in corpus.jsonl"),
        (good + "qq\ta0\t1\n", 14, "query 'qq' is not in queries.jsonl"),
        (good + "q0\ta0\thigh\n", 14, "score 'high' is not a whole number"),
        (good + "q0\ta0\n", 14, "expected query-id, corpus-id and score, tab-separated"),
    ]:
        qrels.write_text(text)
        assert _error(folder) == f"{qrels}:{line}: {words}"
    qrels.write_text(good)
    corpus = folder / "corpus.jsonl"
    corpus.write_text(corpus.read_text() + '{"_id": "a0", "text": "again"}\n')
    assert _error(folder) == f"{corpus}:13: document id 'a0' appears twice"
    faq_beir(folder)
    qrels.unlink()
    assert _error(folder, split="test") == f"{folder / 'qrels'}: no split 'test' (splits: dev)"
    assert isinstance(open_dataset(folder), RetrievalSet)  # one split left: that one
    (folder / "qrels" / "train.tsv").write_text("q0\ta0\t1\n")
    assert _error(folder) == f"{folder / 'qrels'}: choose a split with --split (splits: dev, train)"


def test_the_command_prints_one_line_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _lines(tmp_path / "faq.jsonl", GOOD_Q, '{"query": "q", "positives": []}')
    line = run_error(capsys, str(path), "--endpoint", "x=http://127.0.0.1:9/v1")
    assert line == f"{path}:2: 'positives' must be a non-empty list of strings"
