"""The Jinja that real chat templates use (`airlock/data/chat_template_jinja.toml`)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class JinjaAllowlist:
    nodes: frozenset[str]
    filters: frozenset[str]
    combining_filters: frozenset[str]
    number_filters: frozenset[str]
    attribute_filters: dict[str, int]  # filter -> positional index of its attribute (-1: kw only)
    tests: frozenset[str]
    functions: frozenset[str]
    gadget_globals: frozenset[str]
    data_methods: frozenset[str]
    combining_methods: frozenset[str]
    number_methods: frozenset[str]
    loop_members: frozenset[str]
    loop_number_members: frozenset[str]
    critical_names: frozenset[str]
    critical_members: frozenset[str]
    high_names: frozenset[str]
    high_members: frozenset[str]


@cache
def allowlist() -> JinjaAllowlist:
    text = resources.files("airlock.data").joinpath("chat_template_jinja.toml").read_text("utf-8")
    data = tomllib.loads(text)
    sets = {key: frozenset(value) for key, value in data.items() if isinstance(value, list)}
    return JinjaAllowlist(attribute_filters=dict(data["attribute_filters"]), **sets)
