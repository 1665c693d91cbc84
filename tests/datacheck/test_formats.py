"""Every input format is read, its records counted, its schema checked with file and line; data
that cannot be read at all is one line naming the file and line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from .conftest import write_jsonl


def _inputs(result: Any) -> list[tuple[str, str, int]]:
    return [(i["path"], i["format"], i["records"]) for i in result.json()["inputs"]]


def _examples(result: Any, rule_id: str) -> list[tuple[str, list[str], str]]:
    return [
        (e["file"], e["location"]["members"], e["message"])
        for e in result.rule(rule_id)["examples"]
    ]


def test_generic_jsonl(tmp_path: Path, check: Any) -> None:
    data = write_jsonl(
        tmp_path / "d.jsonl",
        [{"text": "hello there", "label": "a"}, {"text": "bye now", "label": "b"}],
    )
    result = check(data, "--format", "json")
    assert result.code == 0, result.err
    assert _inputs(result) == [(str(data), "JSONL", 2)]
    assert result.json()["labels"]["counts"] == {"a": 1, "b": 1}


def test_retrieval_jsonl_schema_errors_name_the_line(tmp_path: Path, check: Any) -> None:
    data = write_jsonl(
        tmp_path / "r.jsonl",
        [
            {"query": "where is my order", "positives": ["Orders ship in two days."]},
            {"query": "refund policy", "positives": []},
            {"query": 7, "positives": ["x"]},
            {"positives": ["no query here"], "query_text": "q"},
            ["not", "an", "object"],
        ],
    )
    result = check(data, "--format", "json")
    assert result.code == 1  # schema errors are high
    assert _inputs(result) == [(str(data), "JSONL (retrieval JSONL)", 4)]
    assert _examples(result, "AIR911") == [
        (str(data), ["line 2"], "`positives` should list at least one string"),
        (str(data), ["line 3"], "`query` should be a string, not the number 7"),
        (str(data), ["line 4"], "no `query` field (retrieval JSONL needs one)"),
        (str(data), ["line 5"], "a JSON array where a record (a JSON object) was expected"),
    ]


def test_generation_jsonl(tmp_path: Path, check: Any) -> None:
    data = write_jsonl(
        tmp_path / "g.jsonl",
        [
            {"messages": [{"role": "user", "content": "2+2?"}], "reference": "4"},
            {"prompt": "Capital of France?", "choices": ["Paris", "Rome"], "answer": 0},
            {"prompt": "Give JSON", "schema": {"type": "object"}},
            {"prompt": "no reference at all"},
            {"prompt": "choices alone", "choices": ["a", "b"]},
            {"messages": [{"role": "user"}], "reference": "x"},
        ],
    )
    result = check(data, "--format", "json")
    assert _inputs(result) == [(str(data), "JSONL (generation JSONL)", 6)]
    assert _examples(result, "AIR911") == [
        (
            str(data),
            ["line 4"],
            "no `reference`, `choices` or `schema` field (generation JSONL needs one)",
        ),
        (str(data), ["line 5"], "`choices` without `answer`"),
        (str(data), ["line 6"], "`messages` [0] has no string `content`"),
    ]
    assert result.json()["labels"]["counts"] == {"0": 1}


def test_transcription_manifest_checks_the_audio_files_exist(tmp_path: Path, check: Any) -> None:
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    data = write_jsonl(
        tmp_path / "manifest.jsonl",
        [
            {"audio_filepath": "a.wav", "text": "hello world", "duration": 1.5},
            {"audio_filepath": "missing.wav", "text": "gone"},
            {"audio_filepath": "a.wav", "text": "bad duration", "duration": "long"},
        ],
    )
    result = check(data, "--format", "json")
    assert _inputs(result) == [(str(data), "JSONL (transcription manifest)", 3)]
    assert _examples(result, "AIR911") == [
        (str(data), ["line 2"], "`audio_filepath` names 'missing.wav', which is not a file"),
        (str(data), ["line 3"], "`duration` should be a finite number, not a string"),
    ]


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (
            b'{"text": "ok"}\n{"text": "broken"\n',
            "d.jsonl:2: not JSON: Expecting ',' delimiter (column 18)",
        ),
        (
            b'{"text": "ok"}\n\n{"text": "caf\xe9"}\n',
            "d.jsonl:3: not UTF-8 text (byte 14 of the line)",
        ),
        (b"[" * 100_000 + b"\n", "d.jsonl:1: JSON nested too deeply to read"),
    ],
)
def test_unreadable_jsonl_is_one_line_exit_2(
    tmp_path: Path, check: Any, content: bytes, error: str
) -> None:
    (tmp_path / "d.jsonl").write_bytes(content)
    result = check(tmp_path / "d.jsonl")
    assert result.code == 2 and result.out == ""
    assert result.err == f"airlock: error: {tmp_path}/{error}\n"


def test_csv_and_tsv(tmp_path: Path, check: Any) -> None:
    (tmp_path / "t.csv").write_text(
        'text,label\nhello,a\n"a quoted\nfield over two lines",b\nonly one field\n,a\n',
        encoding="utf-8",
    )
    (tmp_path / "t.tsv").write_text("text\tlabel\nhi there\tc\n", encoding="utf-8")
    result = check(tmp_path / "t.csv", tmp_path / "t.tsv", "--format", "json")
    assert _inputs(result) == [(f"{tmp_path}/t.csv", "CSV", 4), (f"{tmp_path}/t.tsv", "TSV", 1)]
    assert _examples(result, "AIR911") == [
        (f"{tmp_path}/t.csv", ["line 5"], "1 fields where the header has 2")
    ]
    assert _examples(result, "AIR912") == [
        (f"{tmp_path}/t.csv", ["line 6"], "the record has no text")
    ]
    assert result.json()["labels"]["counts"] == {"a": 2, "b": 1, "c": 1}


def test_csv_that_is_not_utf8_is_one_line(tmp_path: Path, check: Any) -> None:
    (tmp_path / "t.csv").write_bytes(b"text\nfine\ncaf\xe9\n")
    result = check(tmp_path / "t.csv")
    assert (result.code, result.err) == (
        2,
        f"airlock: error: {tmp_path}/t.csv:3: not UTF-8 text (byte 4 of the line)\n",
    )


def test_parquet_in_batches(tmp_path: Path, check: Any) -> None:
    rows = 10_000  # more than one batch
    table = pa.table(
        {
            "text": [f"document number {i} about topic {i % 7}" for i in range(rows)],
            "label": [str(i % 3) for i in range(rows)],
            "meta": [{"source": "s", "tags": ["x"]} for _ in range(rows)],
        }
    )
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=3000)
    result = check(tmp_path / "d.parquet", "--format", "json")
    assert result.code == 0, result.err
    assert _inputs(result) == [(f"{tmp_path}/d.parquet", "Parquet", rows)]
    assert result.json()["labels"]["counts"] == {"0": 3334, "1": 3333, "2": 3333}


def test_broken_parquet_is_one_line(tmp_path: Path, check: Any) -> None:
    (tmp_path / "d.parquet").write_bytes(b"PAR1" + b"\0" * 100)
    result = check(tmp_path / "d.parquet")
    assert result.code == 2
    (line,) = result.err.splitlines()
    assert line.startswith(f"airlock: error: {tmp_path}/d.parquet: not a readable Parquet file: ")


def test_text_folder_is_one_record_per_file(tmp_path: Path, check: Any) -> None:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "a.txt").write_text("Refunds take five days.\n", encoding="utf-8")
    (docs / "sub" / "b.md").write_text("# Shipping\n\nWe ship worldwide.\n", encoding="utf-8")
    (docs / "empty.txt").write_text("  \n", encoding="utf-8")
    (docs / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    (docs / ".hidden").write_text("skipped", encoding="utf-8")
    result = check(docs, "--format", "json")
    assert _inputs(result) == [
        (f"{docs}/a.txt", "text", 1),
        (f"{docs}/empty.txt", "text", 1),
        (f"{docs}/image.png", "not read", 0),
        (f"{docs}/sub/b.md", "text", 1),
    ]
    assert _examples(result, "AIR910") == [
        (f"{docs}/image.png", [], "not UTF-8 text, JSONL, CSV or Parquet: not checked")
    ]
    assert _examples(result, "AIR912") == [
        (f"{docs}/empty.txt", [], "the file has only whitespace")
    ]


def test_json_array_is_one_record_per_item(tmp_path: Path, check: Any) -> None:
    (tmp_path / "d.json").write_text(
        json.dumps([{"text": "one"}, {"text": "two"}, 3]), encoding="utf-8"
    )
    result = check(tmp_path / "d.json", "--format", "json")
    assert _inputs(result) == [(f"{tmp_path}/d.json", "JSON array", 2)]
    assert _examples(result, "AIR911") == [(f"{tmp_path}/d.json", ["item 3"], "not a JSON object")]


def _beir(folder: Path, qrels: dict[str, str]) -> Path:
    folder.mkdir()
    write_jsonl(
        folder / "corpus.jsonl",
        [
            {"_id": "d1", "title": "Returns", "text": "Return items within 30 days."},
            {"_id": "d2", "title": "", "text": "Shipping is free over 50 euros."},
            {"_id": "d1", "text": "A second document with the first one's id."},
        ],
    )
    write_jsonl(
        folder / "queries.jsonl",
        [{"_id": "q1", "text": "how to return"}, {"_id": "q2", "text": "free shipping?"}],
    )
    (folder / "qrels").mkdir()
    for name, body in qrels.items():
        (folder / "qrels" / name).write_text(body, encoding="utf-8")
    return folder


def test_beir_folder_ids_are_cross_checked(tmp_path: Path, check: Any) -> None:
    folder = _beir(
        tmp_path / "beir",
        {
            "test.tsv": "query-id\tcorpus-id\tscore\n"
            "q1\td1\t1\nq2\td9\t1\nq7\td2\t1\nq2\td2\tyes\n",
            "train.tsv": "query-id\tcorpus-id\tscore\nq1\td2\t1\n",
        },
    )
    result = check(folder, "--format", "json")
    assert _inputs(result) == [
        (f"{folder}/corpus.jsonl", "JSONL (BEIR corpus)", 3),
        (f"{folder}/queries.jsonl", "JSONL (BEIR queries)", 2),
        (f"{folder}/qrels/test.tsv", "BEIR qrels (TSV)", 0),
        (f"{folder}/qrels/train.tsv", "BEIR qrels (TSV)", 0),
    ]
    assert _examples(result, "AIR911") == [
        (f"{folder}/corpus.jsonl", ["line 3"], "`_id` already used at line 1"),
        (f"{folder}/qrels/test.tsv", ["line 5"], "score 'yes' is not a whole number"),
        (f"{folder}/qrels/test.tsv", ["line 4"], "query id 'q7' is not in queries.jsonl"),
        (f"{folder}/qrels/test.tsv", ["line 3"], "corpus id 'd9' is not in corpus.jsonl"),
    ]
    assert _examples(result, "AIR922") == [
        (
            f"{folder}/qrels/train.tsv",
            [],
            f"query 'q1' is also judged in {folder}/qrels/test.tsv: one query in two splits",
        )
    ]


def test_missing_path_is_one_line(tmp_path: Path, check: Any) -> None:
    result = check(tmp_path / "nope.jsonl")
    assert (result.code, result.err) == (
        2,
        f"airlock: error: {tmp_path}/nope.jsonl: no such file or folder\n",
    )
