"""Model names: what `airlock admit --name` accepts, and which names look alike.

A name is what apps send as `model` and what URLs carry (`/v1/models/{name}`), so it is one
plain ASCII segment, as Hugging Face repository names are without their `org/` prefix: 1 to 96
letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit, with no `--` or
`..`. No path separator, space, control, zero-width or other invisible character can get in,
and no letter from another script that passes for a Latin one.

A new name must also not look like a name already admitted. Two names look alike when their
keys are equal: NFKC, then the UTS #39 skeleton (each character replaced by its prototype from
Unicode's confusables table: `0` -> `O`, `1` and `I` -> `l`, `m` -> `rn`, Cyrillic `\u0430` -> `a`),
case folded, then the skeleton again (so `Ilama` and `llama`, `m0del` and `MODEL` meet).
Case counts as looking alike: `Minilm` beside `minilm` would send apps to the wrong model as
surely as a homoglyph.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable
from functools import cache
from importlib import resources

MAX_LENGTH = 96
_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
_ENDS = re.compile(r"[A-Za-z0-9](?:.*[A-Za-z0-9])?", re.DOTALL)
RULE = (
    "a model name is 1 to 96 ASCII letters, digits, '-', '_' and '.', starting and ending "
    "with a letter or digit, without '--' or '..'"
)


class NameRefused(ValueError):
    """A name that breaks the rule, or looks like one already admitted; one line."""


def problem(name: str) -> str | None:
    """Why `name` cannot be a model name (one line, the name quoted with ascii()), or None."""
    odd = next((c for c in name if c not in _ALLOWED), None)
    if odd is not None:
        why = f"it contains {_describe(odd)}"
    elif not 1 <= len(name) <= MAX_LENGTH:
        why = "it is empty" if not name else f"it is {len(name)} characters long"
    elif not _ENDS.fullmatch(name):
        why = "it starts or ends with '-', '_' or '.'"
    elif "--" in name or ".." in name:
        why = f"it contains {'--' if '--' in name else '..'}"
    else:
        return None
    return f"{name!a}: {why}; {RULE}"


def lookalike(name: str, admitted: Iterable[str]) -> str | None:
    """The admitted name (other than `name` itself) that `name` looks like, or None."""
    key = _key(name)
    return next((other for other in sorted(admitted) if other != name and _key(other) == key), None)


def check(name: str, admitted: Iterable[str]) -> None:
    """Raises NameRefused for a name that breaks the rule or looks like an admitted one."""
    why = problem(name)
    if why is not None:
        raise NameRefused(why)
    other = lookalike(name, admitted)
    if other is not None:
        raise NameRefused(
            f"{name!a} looks like {other!a}, a model already admitted; choose a name "
            f"that cannot be mistaken for it (or admit a new version of {other!a})"
        )


def _describe(char: str) -> str:
    if char == "/" or char == "\\":
        return f"{char!r} (a path separator)"
    if char == " ":
        return "a space"
    if char.isascii() and char.isprintable():
        return repr(char)
    return f"U+{ord(char):04X} {unicodedata.name(char, '(a control character)')}"


def _key(name: str) -> str:
    return _skeleton(_skeleton(unicodedata.normalize("NFKC", name)).casefold())


def _skeleton(text: str) -> str:
    table = _prototypes()
    mapped = "".join(table.get(c, c) for c in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFD", mapped)


@cache
def _prototypes() -> dict[str, str]:
    text = resources.files("airlock.data").joinpath("confusables.toml").read_text("utf-8")
    table: dict[str, str] = tomllib.loads(text)["prototype"]
    return table
