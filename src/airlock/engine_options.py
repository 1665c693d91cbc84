"""Options for the engine processes Airlock starts (vLLM, llama.cpp) and the flags each engine
takes for them, from `data/managed_engines.toml`: checked when recorded (`airlock models
configure`) and again when an engine starts, so a bad value never reaches an engine."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

OptionValue = int | float | str


class OptionError(ValueError):
    """An option that is unknown, badly typed or out of range; the message says which."""


@dataclass(frozen=True)
class EngineKind:
    name: str
    executable: tuple[str, ...]  # "python" stands for the running interpreter
    args: tuple[str, ...]  # with {folder}, {gguf}, {port}, {name} to fill in
    api_key_env: str
    env: dict[str, str]
    flags: dict[str, str]
    gpus_from: tuple[str, ...]


@cache
def _table() -> dict[str, Any]:
    text = resources.files("airlock.data").joinpath("managed_engines.toml").read_text()
    return tomllib.loads(text)


def option_names() -> list[str]:
    return sorted(_table()["options"])


def option_help(name: str) -> str:
    return str(_table()["options"][name]["help"])


def kinds() -> list[str]:
    return sorted(_table()["engines"])


def kind(name: str) -> EngineKind:
    try:
        entry = _table()["engines"][name]
    except KeyError:
        raise OptionError(f"unknown engine {name!r}; known engines: {', '.join(kinds())}") from None
    return EngineKind(
        name,
        tuple(entry["executable"].split()),
        tuple(entry["args"]),
        entry["api_key_env"],
        dict(entry["env"]),
        dict(entry["flags"]),
        tuple(entry["gpus_from"]),
    )


def parse(spec: str) -> tuple[str, OptionValue]:
    """`KEY=VALUE` as the option's typed value; raises OptionError."""
    key, sep, raw = spec.partition("=")
    key = key.strip().replace("-", "_")
    if not sep or not key:
        raise OptionError(f"{spec!r}: expected KEY=VALUE, e.g. tensor_parallel_size=2")
    return key, check(key, raw.strip())


def check(key: str, value: object) -> OptionValue:
    """`value` (text or already typed) as option `key` takes it; raises OptionError."""
    spec = _table()["options"].get(key)
    if spec is None:
        raise OptionError(f"unknown engine option {key!r}; known: {', '.join(option_names())}")
    kind_ = spec["type"]
    if kind_ == "choice":
        if str(value) not in spec["choices"]:
            choices = ", ".join(spec["choices"])
            raise OptionError(f"engine option {key}={value!r}: expected one of {choices}")
        return str(value)
    number = _number(value, integer=kind_ == "int")
    if number is None:
        wanted = "an integer" if kind_ == "int" else "a number"
        raise OptionError(f"engine option {key}={value!r}: expected {wanted}")
    if not spec["min"] <= number <= spec["max"]:
        raise OptionError(f"engine option {key}={value!r}: expected {spec['min']} to {spec['max']}")
    return number


def flags(engine: EngineKind, options: dict[str, OptionValue]) -> list[str]:
    """The engine's command-line flags for `options`; raises OptionError for an option the
    engine has no flag for (dropping it would run the engine other than as configured)."""
    argv: list[str] = []
    for key, value in sorted(options.items()):
        check(key, value)
        flag = engine.flags.get(key)
        if flag is None:
            raise OptionError(
                f"engine option {key!r} does not apply to {engine.name} (it takes: "
                f"{', '.join(sorted(engine.flags)) or 'none'}); remove it with "
                f"`airlock models configure NAME --unset {key}`"
            )
        argv += [flag, str(value)]
    return argv


def gpus_per_process(engine: EngineKind, options: dict[str, OptionValue]) -> int:
    """GPUs one process of `engine` uses with `options` (0: a CPU engine)."""
    if not engine.gpus_from:
        return 0
    count = 1
    for key in engine.gpus_from:
        count *= int(options.get(key, 1))
    return count


def _number(value: object, *, integer: bool) -> int | float | None:
    """`value` (text, or a number from the record) as an int or a float; None if it is not one
    (a bool, a fraction where an integer is wanted, NaN)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if number != number:  # NaN
        return None
    if not integer:
        return number
    return int(number) if number.is_integer() and "." not in str(value) else None
