"""Request fields the embedded engines do not implement are refused by name, never ignored:
what each endpoint accepts, allows at its default only, or refuses is data
(airlock/data/openai_request_fields.toml); anything else is unknown. Upstream requests are
relayed unchanged and never pass through here."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel

from airlock.gateway.errors import (
    BadRequest,
    UnknownParameter,
    UnsupportedParameter,
    UnsupportedValue,
)
from airlock.gateway.protocol import ChatMessage


@dataclass(frozen=True)
class FieldPolicy:
    accepted: frozenset[str]
    only: dict[str, list[Any]]
    unsupported: frozenset[str]


@cache
def policy(endpoint: str) -> FieldPolicy:
    text = resources.files("airlock.data").joinpath("openai_request_fields.toml").read_text()
    table = tomllib.loads(text)[endpoint]
    return FieldPolicy(
        frozenset(table["accepted"]), dict(table["only"]), frozenset(table["unsupported"])
    )


def check_fields(body: BaseModel, endpoint: str, *, prefix: str = "") -> None:
    """400 for the first field of `body` (its pydantic extras) the gateway does not honour."""
    _check(list((body.model_extra or {}).items()), endpoint, prefix)


def check_form(fields: list[tuple[str, str]], implemented: set[str], endpoint: str) -> None:
    """The same for a multipart form: every value of a repeated name is checked."""
    _check([(k, v) for k, v in fields if k not in implemented], endpoint, "")


def _check(fields: list[tuple[str, Any]], endpoint: str, prefix: str) -> None:
    rules = policy(endpoint)
    for name, value in fields:
        param = prefix + name
        if value is None or name in rules.accepted:  # null: as if left out
            continue
        if name in rules.only:
            allowed = rules.only[name]
            if any(_same(value, a) for a in allowed):
                continue
            raise UnsupportedValue(
                f"Unsupported value: '{param}' does not support {_show(value)} on this "
                f"gateway's embedded models; supported: {', '.join(_show(a) for a in allowed)}.",
                param=param,
            )
        if name in rules.unsupported:
            raise UnsupportedParameter(
                f"Unsupported parameter: '{param}' is not supported by this gateway's embedded "
                "models; leave it out, or serve the model through an upstream server that "
                "supports it (airlock serve --upstream).",
                param=param,
            )
        raise UnknownParameter(f"Unknown parameter: '{param}'.", param=param)


def _same(value: Any, allowed: Any) -> bool:
    # bool is an int in Python: `logprobs: true` must not equal 1, nor `n: true` equal 1.
    return bool(value == allowed) and isinstance(value, bool) == isinstance(allowed, bool)


def _show(value: Any) -> str:
    return json.dumps(value)


def check_sampling(body: BaseModel, endpoint: str) -> None:
    """Chat and completions: the body's fields, then those of its `stream_options`."""
    check_fields(body, endpoint)
    options = getattr(body, "stream_options", None)
    if options is not None:
        if not getattr(body, "stream", False):  # it would be ignored: OpenAI's answer too
            raise BadRequest(
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                param="stream_options",
            )
        check_fields(options, "stream_options", prefix="stream_options.")


def check_messages(messages: Sequence[ChatMessage]) -> None:
    """Text and tool turns only: no legacy function turns, images or audio in a message."""
    for i, message in enumerate(messages):
        if message.role == "function":
            raise UnsupportedValue(
                f"Unsupported value: messages[{i}] has role 'function' (the deprecated "
                "functions API); send tool calls with 'tools' and answer them with role 'tool'.",
                param="messages",
            )
        if message.role == "tool" and not message.tool_call_id:
            raise BadRequest(
                f"messages[{i}] has role 'tool' but no 'tool_call_id'", param="messages"
            )
        for name, value in (message.model_extra or {}).items():
            if value not in (None, [], ""):  # what a client echoing a reply back leaves empty
                raise UnsupportedParameter(
                    f"Unsupported parameter: messages[{i}].{name} is not supported by this "
                    "gateway's embedded models.",
                    param="messages",
                )
        for j, part in enumerate(message.content if isinstance(message.content, list) else []):
            if part.get("type") != "text":
                raise UnsupportedValue(
                    f"Unsupported value: messages[{i}].content[{j}] is of type "
                    f"{_show(part.get('type'))}; this gateway's embedded models read text "
                    "parts only.",
                    param="messages",
                )
