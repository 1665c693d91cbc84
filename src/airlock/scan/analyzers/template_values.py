"""What a Jinja expression may evaluate to, known without rendering it.

A `Value` says where a value may come from: literal constants (their possible values, folded
through string operations, so that `'%c'|format(95)`, `'__ssalc__'[::-1]` or `['_','_']|join`
are seen as the names they build), the conversation (plain data the caller passes in), a string
the template built at render time whose text cannot be known, a number, or one of Jinja's or
Python's objects (a global function, `loop`, a namespace, a bound method...). Only data and
numbers are safe to look members up by; a name built by the template is not.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from itertools import product

MAX_CONSTS = 64  # possible values tracked per expression; more becomes "built, unknown"
MAX_BUILT = 10_000  # longest string folded
MAX_NESTING = 3  # containers in containers tracked apart; deeper ones are merged
_WIDTH = re.compile(r"\d{4,}|\*")  # a format width (or `*`) that could allocate megabytes


class NotFolded(Exception):
    """Computing this constant could take much memory or time: the result is built text."""


class ConstDict(tuple[Hashable, ...]):
    """A dict literal or `dict(...)` call, kept as its keys (what iterating it gives)."""


@dataclass(frozen=True)
class Value:
    consts: frozenset[Hashable] = frozenset()
    data: bool = False  # conversation data, or derived from it alone
    number: bool = False
    built: bool = False  # a string built at render time, text unknown
    objects: frozenset[str] = frozenset()  # kinds of non-data objects it may be
    members: Value | None = field(default=None, compare=True)  # what containers built here hold

    def join(self, other: Value) -> Value:
        consts = self.consts | other.consts
        built = self.built or other.built or len(consts) > MAX_CONSTS
        members = _join_optional(self.members, other.members)
        return Value(
            consts if len(consts) <= MAX_CONSTS else frozenset(),
            self.data or other.data,
            self.number or other.number,
            built,
            self.objects | other.objects,
            members,
        )

    @property
    def only_consts(self) -> bool:
        return bool(self.consts) and not (self.data or self.built or self.objects or self.number)

    def strings(self) -> list[str]:
        return [c for c in self.consts if isinstance(c, str)]


NOTHING = Value()
DATA = Value(data=True)
NUMBER = Value(number=True)
BUILT = Value(built=True)


def obj(kind: str) -> Value:
    return Value(objects=frozenset({kind}))


def const(value: Hashable) -> Value:
    if isinstance(value, str) and len(value) > MAX_BUILT:
        return BUILT
    return Value(consts=frozenset({value}))


def join_all(values: Iterable[Value]) -> Value:
    result = NOTHING
    for value in values:
        result = result.join(value)
    return result


def _join_optional(a: Value | None, b: Value | None) -> Value | None:
    if a is None:
        return b
    return a if b is None else a.join(b)


def fold(operation: Callable[..., object], *args: Value, numeric: bool = False) -> Value:
    """Apply `operation` to every combination of the arguments' constants. Anything not known
    (data, numbers, built strings, objects) makes the result a built string (or a number)."""
    mixed = any(not arg.only_consts for arg in args)
    result = NOTHING
    if all(arg.consts for arg in args) and all(
        _size(c) <= 2 * MAX_BUILT for a in args for c in a.consts
    ):
        combos = list(product(*(sorted(arg.consts, key=repr) for arg in args)))
        if len(combos) > MAX_CONSTS:
            return NUMBER if numeric else BUILT
        for combo in combos:
            try:
                folded = operation(*combo)
            except NotFolded:
                result = result.join(BUILT)
                continue
            except Exception:
                continue
            if isinstance(folded, list):
                folded = tuple(folded)
            if not isinstance(folded, Hashable) or _too_big(folded):
                result = result.join(BUILT)
                continue
            result = result.join(const(folded))
    if mixed:
        result = result.join(NUMBER if numeric else BUILT)
    return result


def _size(value: object) -> int:
    """Characters in a constant: operations on bigger ones are not folded (their result, or
    the work to compute it, could be large)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, tuple):
        return len(value) + sum(_size(item) for item in value[:MAX_BUILT])
    return 1


def _too_big(value: object) -> bool:
    if isinstance(value, str):
        return len(value) > MAX_BUILT
    if isinstance(value, tuple):
        return len(value) > MAX_BUILT or any(_too_big(item) for item in value)
    return False


def safe_percent(template: object, args: object) -> str:
    """`template % args` when it cannot allocate much (no wide or `*` fields)."""
    if not isinstance(template, str):
        raise TypeError(template)
    if _WIDTH.search(template):
        raise NotFolded
    return template % args


def safe_repeat(a: object, b: object) -> object:
    if isinstance(a, (str, tuple)) and isinstance(b, int) and len(a) * b <= MAX_BUILT:
        return a * b
    if isinstance(b, (str, tuple)) and isinstance(a, int) and len(b) * a <= MAX_BUILT:
        return b * a
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a * b
    raise NotFolded


def safe_format(template: object, *args: object) -> str:
    """`template.format(*args)` for plain `{}`/`{0}` fields: no attribute or item reads, no
    nested or wide format specs."""
    if not isinstance(template, str):
        raise TypeError(template)
    for _, field_name, spec, _ in string.Formatter().parse(template):
        if field_name and not field_name.isdigit():
            raise NotFolded
        if spec and ("{" in spec or _WIDTH.search(spec)):
            raise NotFolded
    return template.format(*args)


def safe_replace(text: object, old: object, new: object) -> str:
    """`text.replace(old, new)` when its result stays small."""
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        raise TypeError(old)
    if not old or len(text) + text.count(old) * max(len(new) - len(old), 0) > MAX_BUILT:
        raise NotFolded
    return text.replace(old, new)


def safe_join(separator: object, items: object) -> str:
    if not isinstance(separator, str) or not isinstance(items, (str, tuple)):
        raise TypeError(separator)
    if len(separator) * len(items) + _size(items) > MAX_BUILT:
        raise NotFolded
    return separator.join(str(item) for item in items)


def bounded(value: Value, depth: int = MAX_NESTING) -> Value:
    """`value` with containers nested at most `depth` deep (a recursive macro building
    `[x]` or `x|items` of its own argument would otherwise never stop growing)."""
    consts = frozenset(c for c in value.consts if _nesting(c) < depth)
    lost = len(consts) != len(value.consts)
    if value.members is None:
        members = None
    elif depth <= 1:
        members = _flat(value.members)
    else:
        members = bounded(value.members, depth - 1)
    result = Value(consts, value.data, value.number, value.built or lost, value.objects, members)
    return result


def _flat(value: Value) -> Value:
    """Everything `value` and all it holds may be, as one value that holds nothing."""
    inner = NOTHING if value.members is None else _flat(value.members)
    consts = frozenset(c for c in value.consts if not isinstance(c, tuple))
    lost = len(consts) != len(value.consts)
    own = Value(consts, value.data, value.number, value.built or lost, value.objects)
    return own.join(inner)


def _nesting(item: object) -> int:
    if isinstance(item, tuple) and item:
        return 1 + max(_nesting(part) for part in item)
    return 1 if isinstance(item, tuple) else 0


def widen(value: Value, *, texts: bool) -> Value:
    """`value` with its numbers given up (a number), and its other constants too when `texts`
    (built text)."""
    numbers = {c for c in value.consts if isinstance(c, (int, float))}
    dropped = set(value.consts) if texts else numbers
    if not dropped:
        return value
    members = value.members if value.members is None else widen(value.members, texts=texts)
    return Value(
        value.consts - dropped,
        value.data,
        value.number or bool(numbers),
        value.built or bool(dropped - numbers),
        value.objects,
        members,
    )


def elements(value: Value) -> Value:
    """What iterating `value` gives (`for x in value`, `|first`, `|list`...)."""
    result = Value(data=value.data, built=value.built)
    if value.objects - {"number"}:
        result = result.join(obj("unknown"))
    if value.members is not None:
        result = result.join(value.members)
    for item in value.consts:
        if isinstance(item, (str, tuple)):
            for element in item if len(item) <= MAX_CONSTS else ():
                result = result.join(const(element))
            if len(item) > MAX_CONSTS:
                result = result.join(BUILT)
    return result


# String methods that mix template text in, computed only while their result stays small.
COMBINING: dict[str, Callable[..., object]] = {
    "format": safe_format,
    "replace": safe_replace,
    "join": safe_join,
}


# What `str()` of Jinja's globals gives, known to the character (lipsum's address aside): the
# text `(lipsum|string)[18]` picks a `_` from.
_REPRS = {
    "global lipsum": "<function generate_lorem_ipsum at 0x0000000000000000>",
    "global cycler": "<class 'jinja2.utils.Cycler'>",
    "global joiner": "<class 'jinja2.utils.Joiner'>",
    "global namespace": "<class 'jinja2.utils.Namespace'>",
    "global range": "<class 'range'>",
    "global dict": "<class 'dict'>",
}


def as_text(value: Value) -> Value:
    """`value` as `str()` would write it, where that is known: Jinja's globals' reprs."""
    known = [const(_REPRS[kind]) for kind in value.objects if kind in _REPRS]
    if not known:
        return value
    rest = value.objects - _REPRS.keys()
    return Value(value.consts, value.data, value.number, value.built or bool(rest),
                 frozenset(), value.members).join(join_all(known))  # fmt: skip


def string_method(name: str) -> Callable[..., object]:
    def call(receiver: object, *args: object) -> object:
        if not isinstance(receiver, str):
            raise TypeError(name)
        return getattr(str, name)(receiver, *args)

    return call


def pure(function: Callable[[str], object], base: Value) -> Value:
    """A filter that maps one string to another: constants are folded, conversation data
    stays data, anything else is a built string (`|string` of an object is its repr)."""
    folded = fold(function, Value(consts=base.consts)) if base.consts else NOTHING
    return folded.join(Value(data=base.data, built=base.built or bool(base.objects)))


def mapping_items(base: Value) -> Value:
    """`.items()` / `|items` / `|dictsort`: pairs whose parts are the keys and the values."""
    keys = [const(key) for c in base.consts if isinstance(c, ConstDict) for key in c]
    parts = join_all(keys).join(Value(data=base.data, built=base.built, members=None))
    if base.members is not None:
        parts = parts.join(base.members)
    pair = Value(data=base.data, members=parts)
    return Value(data=base.data, built=base.built, members=pair)


def hashable_const(value: object) -> bool:
    return isinstance(value, (str, int, float, bool, type(None), tuple))


def single(value: Value) -> object:
    return next(iter(value.consts)) if value.only_consts and len(value.consts) == 1 else _UNKNOWN


_UNKNOWN = object()


def container(items: list[Value], literal: tuple[object, ...]) -> Value:
    members = join_all(items)
    if all(item is not _UNKNOWN for item in literal):
        return Value(consts=frozenset({literal}), members=members)
    return Value(members=members)


def is_number(value: Value) -> bool:
    if value.data or value.built or value.objects or value.members is not None:
        return False
    known = all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in value.consts)
    return known and (value.number or bool(value.consts))
