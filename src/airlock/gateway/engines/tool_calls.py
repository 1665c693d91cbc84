"""How the embedded models write a tool call, and reading calls back out of the text.

One syntax for every model, Hermes's (also Qwen2.5's): `<tool_call>\n{"name": ..., "arguments":
{...}}\n</tool_call>`, calls one after another. The grammar (engines/grammar.py) forces it, so
what comes back always parses; the chat templates of Hermes and Qwen describe the same syntax to
the model, so such a model also means it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

OPEN = "<tool_call>\n"
CLOSE = "\n</tool_call>"
SEPARATOR = "\n"


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str  # the JSON text of the arguments object, as the API returns it


def call_schema(function: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema one call to `function` (an API `tools[].function`) must match."""
    parameters = dict(function.get("parameters") or {"type": "object", "properties": {}})
    # `#/$defs/...` references (Pydantic writes them) point at the root: the definitions move
    # there with the parameters nested one level down.
    definitions = {k: parameters.pop(k) for k in ("$defs", "definitions") if k in parameters}
    return {
        "type": "object",
        "properties": {"name": {"const": function["name"]}, "arguments": parameters},
        "required": ["name", "arguments"],
        "additionalProperties": False,
        **definitions,
    }


def split_calls(text: str) -> list[ToolCall] | None:
    """The complete calls of an answer that makes calls (an unfinished last call, cut by
    max_tokens, is left out); None for an answer in text (the grammar lets only calls start
    with OPEN)."""
    if not text.startswith(OPEN):
        return None
    calls: list[ToolCall] = []
    rest = text
    while rest.startswith(OPEN):
        end = rest.find(CLOSE)
        if end < 0:
            break
        body = json.loads(rest[len(OPEN) : end])
        arguments = json.dumps(body["arguments"], ensure_ascii=False)
        calls.append(ToolCall(name=str(body["name"]), arguments=arguments))
        rest = rest[end + len(CLOSE) :].removeprefix(SEPARATOR)
    return calls
