"""Evaluate the string-building parts of a Jinja expression without rendering it, so that
names assembled from pieces (`'__cla' ~ 'ss__'`, `['_','_']|join`, `chr(95)`) are seen."""

from __future__ import annotations

from collections.abc import Callable

from jinja2 import nodes

MAX_BUILT = 10_000
_MAX_DEPTH = 64
_STRING_FILTERS: dict[str, Callable[[str], str]] = {
    "reverse": lambda s: s[::-1],
    "lower": str.lower,
    "upper": str.upper,
    "string": str,
    "trim": str.strip,
    "title": str.title,
    "capitalize": str.capitalize,
}
_STRING_METHODS: dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "upper": str.upper,
    "strip": str.strip,
    "title": str.title,
    "capitalize": str.capitalize,
}


class StringFolder:
    """Folds the expressions of one template; each node is folded once, so cost stays linear."""

    def __init__(self, assigned: dict[str, nodes.Node]) -> None:
        self.assigned = assigned  # `{% set name = ... %}` targets, followed like constants
        self._memo: dict[int, str | None] = {}
        self._depth = 0

    def fold(self, node: nodes.Node) -> str | None:
        """The string `node` always evaluates to, or None when it depends on render-time data."""
        key = id(node)
        if key in self._memo:
            return self._memo[key]
        if self._depth >= _MAX_DEPTH:
            return None
        self._memo[key] = None  # a name defined through itself folds to None
        self._depth += 1
        try:
            result = self._fold(node)
        finally:
            self._depth -= 1
        self._memo[key] = result if result is None or len(result) <= MAX_BUILT else None
        return self._memo[key]

    def _fold(self, node: nodes.Node) -> str | None:
        sub = self.fold
        if isinstance(node, nodes.Const):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, nodes.Name) and node.name in self.assigned:
            return sub(self.assigned[node.name])
        if isinstance(node, nodes.Concat):
            return _join("", [sub(part) for part in node.nodes])
        if isinstance(node, nodes.Add):
            return _join("", [sub(node.left), sub(node.right)])
        if isinstance(node, nodes.Mod):
            args = node.right.items if isinstance(node.right, nodes.Tuple) else [node.right]
            return _substitute(sub(node.left), "%s", [sub(arg) for arg in args])
        if isinstance(node, nodes.Filter) and node.node is not None:
            return _filter(node, node.node, sub)
        if isinstance(node, nodes.Call):
            return _call(node, sub)
        return None


def pieces(node: nodes.Node) -> list[str]:
    """Every string literal inside `node`."""
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        if isinstance(current, nodes.Const) and isinstance(current.value, str):
            found.append(current.value)
        stack.extend(current.iter_child_nodes())
    return found


def _filter(
    node: nodes.Filter, base: nodes.Node, sub: Callable[[nodes.Node], str | None]
) -> str | None:
    if node.name == "join":
        items = _items(base, sub)
        separator = sub(node.args[0]) if node.args else ""
        return None if items is None else _join(separator, items)
    value = sub(base)
    if value is None:
        return None
    if node.name in _STRING_FILTERS:
        return _STRING_FILTERS[node.name](value)
    if node.name == "replace" and len(node.args) >= 2:
        return _replace(value, sub(node.args[0]), sub(node.args[1]))
    if node.name == "format":
        return _substitute(value, "%s", [sub(arg) for arg in node.args])
    return None


def _call(node: nodes.Call, sub: Callable[[nodes.Node], str | None]) -> str | None:
    callee = node.node
    if isinstance(callee, nodes.Name) and callee.name == "chr" and len(node.args) == 1:
        code = node.args[0]
        if isinstance(code, nodes.Const) and isinstance(code.value, int):
            return chr(code.value) if 0 <= code.value <= 0x10FFFF else None
        return None
    if not isinstance(callee, nodes.Getattr):
        return None
    if callee.attr == "join" and len(node.args) == 1:
        items = _items(node.args[0], sub)
        return None if items is None else _join(sub(callee.node), items)
    base = sub(callee.node)
    if base is None:
        return None
    if callee.attr in _STRING_METHODS and not node.args:
        return _STRING_METHODS[callee.attr](base)
    if callee.attr == "replace" and len(node.args) >= 2:
        return _replace(base, sub(node.args[0]), sub(node.args[1]))
    if callee.attr == "format":
        return _substitute(base, "{}", [sub(arg) for arg in node.args])
    return None


def _items(node: nodes.Node, sub: Callable[[nodes.Node], str | None]) -> list[str | None] | None:
    if isinstance(node, (nodes.List, nodes.Tuple)):
        return [sub(item) for item in node.items]
    value = sub(node)  # a string joins its characters
    return None if value is None else list(value)


def _join(separator: str | None, parts: list[str | None]) -> str | None:
    if separator is None or any(part is None for part in parts):
        return None
    total = sum(len(part or "") for part in parts) + len(separator) * len(parts)
    return separator.join(part or "" for part in parts) if total <= MAX_BUILT else None


def _replace(value: str, old: str | None, new: str | None) -> str | None:
    if old is None or new is None or not old:
        return None
    # Bound the result before building it: replace() can multiply the length.
    if len(value) + value.count(old) * max(len(new) - len(old), 0) > MAX_BUILT:
        return None
    return value.replace(old, new)


def _substitute(template: str | None, marker: str, args: list[str | None]) -> str | None:
    """Placeholders filled in order: enough to see a name, without a format mini-language."""
    if template is None or any(arg is None for arg in args):
        return None
    result = template
    for arg in args:
        result = result.replace(marker, arg or "", 1)
    return result if len(result) <= MAX_BUILT else None
