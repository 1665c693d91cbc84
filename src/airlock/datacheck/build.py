"""A record from one parsed object: a JSON line, a CSV or Parquet row, a JSON array item."""

from __future__ import annotations

from typing import Any

from airlock.datacheck.flatten import scalar_text, texts
from airlock.datacheck.records import RECORDS, Record
from airlock.datacheck.shapes import Shape, generic_fields


def shaped(
    obj: dict[str, Any], shape: Shape, file: str, line: int, unit: str, group: str = RECORDS
) -> Record:
    """A record of an eval format: its key is the shape's input fields, and every text field of
    the shape it has must hold text."""
    key = [text for name in shape.key if name in obj for _, text in _strings(obj, name)]
    must = [
        (field, text)
        for name, kind in shape.fields.items()
        if kind in ("text", "texts", "some-texts", "messages") and name in obj
        for field, text in _strings(obj, name)
        if kind != "messages" or field.endswith(".content")
    ]
    label = scalar_text(obj.get(shape.label)) if shape.label else None
    return Record(
        file, line, unit, tuple(texts(obj)), "\n".join(key), tuple(must), label, group, shape.leak
    )


def generic(obj: dict[str, Any], file: str, line: int, unit: str) -> Record:
    """A record of any shape: its key is every string outside label and id fields."""
    label_fields, id_fields = generic_fields()
    label = next(
        (scalar_text(obj[name]) for name in obj if name in label_fields and obj[name] is not None),
        None,
    )
    key = [
        text
        for name in obj
        if name not in label_fields and name not in id_fields
        for _, text in _strings(obj, name)
    ]
    joined = "\n".join(key)
    return Record(file, line, unit, tuple(texts(obj)), joined, (("record", joined),), label)


def _strings(obj: dict[str, Any], name: str) -> list[tuple[str, str]]:
    return texts(obj[name], name)
