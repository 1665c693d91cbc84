"""YAML read through PyYAML's safe scanner and parser: the event stream, never a loader.

Events carry each node's tag as the parser resolved it (`!!`, `%TAG` handles, `!<...>`,
%-escapes) and each scalar's text. Nothing is constructed and aliases are never expanded, so a
billion-laughs file costs what its text costs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote

import yaml

try:  # libyaml emits the same events as the pure-Python parser, about 20 times faster
    from yaml import CSafeLoader as _Loader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

# Configs nest a few dozen levels; every level costs the parser memory, so a file of `[[[[`
# stops here instead of growing it. libyaml refuses deeper files too (PyYAML's own loader
# already runs out of recursion at about 500), so no PyYAML loader reads past this point.
MAX_NESTING = 1000
PYTHON_TAG_PREFIX = "tag:yaml.org,2002:python/"
_MAX_KEY = 80
_MAX_PREFIXES = 32


@dataclass(frozen=True)
class KeyPath:
    """Where a node sits (keys and `[index]`es), linked to its parent so that building it costs
    nothing per node; spelled out only when a finding needs it."""

    parent: KeyPath | None
    label: str

    def labels(self) -> list[str]:
        out: list[str] = []
        node: KeyPath | None = self
        while node is not None:
            out.append(node.label)
            node = node.parent
        return out[::-1]


@dataclass(frozen=True)
class Tag:
    """A node's tag, fully resolved; `index` is a character offset into the text."""

    tag: str
    index: int
    from_text: bool = False  # found by searching the text after the parser stopped


@dataclass(frozen=True)
class Value:
    """A scalar that is a value, not a mapping key (None `where`: the document itself)."""

    text: str
    where: KeyPath | None
    index: int


@dataclass(frozen=True)
class Stop:
    """The stream ended early: a syntax error, or nesting past MAX_NESTING."""

    reason: str
    index: int


class _Frame:
    __slots__ = ("count", "key", "key_next", "mapping", "where")

    def __init__(self, where: KeyPath | None, mapping: bool) -> None:
        self.where = where
        self.mapping = mapping
        self.key_next = True
        self.key = "?"
        self.count = 0


def items(text: str) -> Iterator[Tag | Value | Stop]:
    """Every tag and value scalar of every document in `text`, in order; a Stop ends it early."""
    stack: list[_Frame] = []
    # Anchored scalars: an alias of one (`_target_: *name`) is that scalar wherever it is used,
    # as a key or a value. Collections are never expanded.
    scalars: dict[str, str] = {}
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent) and event.anchor in scalars:
                mark = event.start_mark
                event = yaml.ScalarEvent(None, None, (True, False), scalars[event.anchor], mark)
            elif isinstance(event, yaml.ScalarEvent) and event.anchor is not None:
                scalars[event.anchor] = event.value
            if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                stack.pop()
                continue
            if not isinstance(event, yaml.NodeEvent):  # stream and document markers
                continue
            index = event.start_mark.index if event.start_mark else 0
            tag = getattr(event, "tag", None)  # aliases have none
            if tag:
                yield Tag(tag, index)
            is_key, where = _enter(stack, event)
            if isinstance(event, yaml.ScalarEvent) and not is_key:
                yield Value(event.value, where, index)
            elif isinstance(event, yaml.CollectionStartEvent):
                if len(stack) >= MAX_NESTING:
                    yield Stop(f"nesting deeper than {MAX_NESTING} levels", index)
                    return
                stack.append(_Frame(where, isinstance(event, yaml.MappingStartEvent)))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = ", ".join(part for part in (exc.context, exc.problem) if part)
        yield Stop(reason or "syntax error", mark.index if mark else 0)
    except (yaml.YAMLError, ValueError) as exc:  # bad characters; ValueError: bad encodings
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        yield Stop(reason, getattr(exc, "position", 0))  # ReaderError: where the character is


def _enter(stack: list[_Frame], event: yaml.NodeEvent) -> tuple[bool, KeyPath | None]:
    """Whether the node `event` starts is a mapping key, and where it sits."""
    if not stack:
        return False, None
    parent = stack[-1]
    if not parent.mapping:
        parent.count += 1
        return False, KeyPath(parent.where, f"[{parent.count - 1}]")
    is_key = parent.key_next
    parent.key_next = not is_key
    if not is_key:
        return False, KeyPath(parent.where, parent.key)
    parent.key = event.value[:_MAX_KEY] if isinstance(event, yaml.ScalarEvent) else "?"
    return True, None


_DIRECTIVE = re.compile(r"^%TAG[ \t]+(![\w-]*!|!)[ \t]+(\S+)", re.MULTILINE)
# A tag as YAML 1.1 spells one: `!<uri>`, or a handle and a suffix of URI characters.
_TAG = re.compile(r"!<([^<>\s]*)>|(![\w-]*!|!)([\w;/?:@&=+$,.!~*'()\[\]%-]+)")


def tags_in_text(text: str) -> Iterator[Tag]:
    """`python/` tags spelled anywhere in `text` (comments included): where PyYAML gives up,
    another parser may read on, so a file that does not parse is searched this way."""
    handles: dict[str, set[str]] = {"!": {"!"}, "!!": {"tag:yaml.org,2002:"}}
    for match in _DIRECTIVE.finditer(text):
        prefix = unquote(match[2])
        prefixes = handles.setdefault(match[1], set())
        # Only a prefix that can begin a python tag matters; the cap keeps this linear.
        could_be = PYTHON_TAG_PREFIX.startswith(prefix) or prefix.startswith(PYTHON_TAG_PREFIX)
        if could_be and len(prefixes) < _MAX_PREFIXES:
            prefixes.add(prefix)
    for match in _TAG.finditer(text):
        if match[1] is not None:
            tags = [unquote(match[1])]
        else:
            tags = [prefix + unquote(match[3]) for prefix in handles.get(match[2], ())]
        for tag in tags:
            if tag.startswith(PYTHON_TAG_PREFIX):
                yield Tag(tag, match.start(), from_text=True)
