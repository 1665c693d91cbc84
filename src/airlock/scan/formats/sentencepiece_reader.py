"""SentencePiece tokenizer models (`tokenizer.model`, `spiece.model`: Llama, Mistral, Gemma,
T5...): a protobuf ModelProto that the sentencepiece library parses as data. It runs no code;
what matters is that the file really is one, rather than a payload under a tokenizer's name."""

from __future__ import annotations

from collections.abc import Iterator

from airlock.findings import Finding
from airlock.scan.context import Blob, Buffer, Kind, Reader, ScanContext
from airlock.scan.formats.protobuf_wire import I32, LEN, VARINT, WireError, head_fields, iter_fields

# ModelProto: 1 pieces, 2 trainer_spec, 3 normalizer_spec, 4 self_test_data,
# 5 denormalizer_spec (sentencepiece_model.proto); all are messages. Both messages reserve
# field numbers 200 and up for extensions.
_MODEL_FIELDS = frozenset({1, 2, 3, 4, 5})
_FIRST_EXTENSION = 200
# SentencePiece: 1 piece (string), 2 score (float), 3 type (enum).
_PIECE_FIELDS = {1: LEN, 2: I32, 3: VARINT}


def looks_like_sentencepiece(head: Buffer) -> bool:
    """A ModelProto head: pieces first (field 1), the first piece made of piece/score/type."""
    fields = head_fields(head, 1)
    if not fields or (fields[0].number, fields[0].wire_type) != (1, LEN):
        return False
    first = fields[0]
    try:
        inner = list(iter_fields(head, first.start, min(first.end, len(head))))
    except WireError:
        return False
    return (
        bool(inner)
        and (inner[0].number, inner[0].wire_type) == (1, LEN)
        and all(_PIECE_FIELDS.get(f.number) == f.wire_type for f in inner)
        and any(f.number == 2 for f in inner)  # a score: what sets it apart from other protos
    )


class SentencePieceReader(Reader):
    kinds = (Kind.SENTENCEPIECE,)

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        try:
            for field in iter_fields(blob.data):
                if field.number >= _FIRST_EXTENSION:
                    continue
                if field.number not in _MODEL_FIELDS or field.wire_type != LEN:
                    raise WireError(
                        f"field {field.number} is not part of a ModelProto", field.start
                    )
                if field.number == 1:
                    _check_piece(blob.data, field.start, field.end)
        except WireError as exc:
            yield ctx.finding(
                "AIR001",
                blob,
                blob.location.at(exc.offset),
                f"`{blob.name}` starts like a SentencePiece model but is not one ({exc.reason}); "
                "it could not be inspected.",
                str(exc),
            )


def _check_piece(data: Buffer, start: int, end: int) -> None:
    for field in iter_fields(data, start, end):
        if field.number < _FIRST_EXTENSION and _PIECE_FIELDS.get(field.number) != field.wire_type:
            raise WireError(f"field {field.number} is not part of a vocabulary piece", field.start)
