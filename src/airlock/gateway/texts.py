"""Every string of a request body is checked before the request reaches a tokenizer, a batch or
an upstream: one a model cannot take is a 400 that names its field (`input[3]`,
`messages[0].content`), so it can never fail other requests batched with it.

The one kind of text that breaks the engines is a lone UTF-16 surrogate, which JSON's `"\\ud800"`
escape puts in a Python string: it cannot be encoded as UTF-8, and every tokenizer (and the
response encoder, and an upstream relay) raises on it. Everything else a JSON string can hold is
valid Unicode that the tokenizers take, and is served: NUL and other control characters,
noncharacters, emoji, CJK, right-to-left text (tests/gateway/test_hostile_input.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from airlock.gateway.errors import InvalidText


def check_texts(body: BaseModel) -> None:
    """400 `invalid_text` for the first string in `body` (its extras and nested parts
    included, dictionary keys too) that cannot be encoded as UTF-8."""
    for param, text in _strings(body, ""):
        if text.isascii():
            continue
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidText(
                f"Invalid text in '{param}': character {exc.start} is a lone UTF-16 surrogate "
                f"(U+{ord(text[exc.start]):04X}), which is not Unicode text; a JSON \\u escape "
                "must pair a high surrogate with a low one.",
                param=param,
            ) from None


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, BaseModel | dict):
        # Declared fields, then extras; the names of extras and of dict keys are the client's.
        for name, item in value if isinstance(value, BaseModel) else value.items():
            where = f"{path}.{name}" if path else str(name)
            yield where, str(name)
            yield from _strings(item, where)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")
