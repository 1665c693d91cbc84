"""Generation items: a chat (`messages`) or a raw `prompt`, and what to score the answer
against: `reference` (one string or several), `choices` + `answer` (an index or one of the
choices), `schema` (a JSON schema the answer must meet) and/or `pattern` (a regular
expression the answer must contain a match of). An item with none of them is scored by the
judge model alone."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from airlock.eval.datasets.interface import GenerationItem
from airlock.eval.jsonl import Record, text_field, text_list

FIELDS = frozenset({"messages", "prompt", "reference", "choices", "answer", "schema", "pattern"})
ROLES = frozenset({"system", "user", "assistant", "developer"})


def parse_generation(record: Record) -> GenerationItem:
    data = record.data
    if ("messages" in data) == ("prompt" in data):
        raise record.error("give either 'messages' (a chat) or 'prompt' (a completion)")
    choices = text_list(record, "choices", required=False)
    if choices and len(choices) < 2:
        raise record.error("'choices' needs at least two options")
    if bool(choices) != ("answer" in data):
        raise record.error("'choices' and 'answer' go together")
    return GenerationItem(
        where=f"{record.path}:{record.line}",
        messages=_messages(record) if "messages" in data else None,
        prompt=text_field(record, "prompt", required=False),
        references=text_list(record, "reference", required=False),
        choices=choices,
        answer=_answer(record, choices) if choices else None,
        schema=_schema(record),
        pattern=_pattern(record),
    )


def _messages(record: Record) -> tuple[Mapping[str, str], ...]:
    messages = record.data["messages"]
    if not isinstance(messages, list) or not messages:
        raise record.error("'messages' must be a non-empty list of {role, content} objects")
    out = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or set(message) != {"role", "content"}:
            raise record.error(f"messages[{i}] must be an object with 'role' and 'content' only")
        role, content = message["role"], message["content"]
        if role not in ROLES:
            raise record.error(
                f"messages[{i}].role must be one of {', '.join(sorted(ROLES))}, got {role!r}"
            )
        if not isinstance(content, str):
            raise record.error(f"messages[{i}].content must be a string")
        out.append({"role": role, "content": content})
    return tuple(out)


def _answer(record: Record, choices: tuple[str, ...]) -> int:
    answer = record.data["answer"]
    if isinstance(answer, int) and not isinstance(answer, bool):
        if 0 <= answer < len(choices):
            return answer
        raise record.error(
            f"'answer' {answer} is not an index into 'choices' (0 to {len(choices) - 1})"
        )
    if isinstance(answer, str) and answer in choices:
        return choices.index(answer)
    raise record.error("'answer' must be one of 'choices' or its index (counting from 0)")


def _schema(record: Record) -> Mapping[str, Any] | None:
    schema = record.data.get("schema")
    if schema is None:
        return None
    if not isinstance(schema, dict):
        raise record.error("'schema' must be a JSON schema object")
    from jsonschema import SchemaError, validators  # type: ignore[import-untyped]

    try:
        validators.validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        raise record.error(f"'schema' is not a valid JSON schema: {exc.message}") from None
    return schema


def _pattern(record: Record) -> str | None:
    pattern = text_field(record, "pattern", required=False)
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise record.error(f"'pattern' is not a regular expression: {exc}") from None
    return pattern
