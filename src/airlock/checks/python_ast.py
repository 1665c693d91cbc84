"""Reading Python syntax trees without running them: literal folding and argument helpers."""

from __future__ import annotations

import ast

from airlock.checks.python_risks import MALICIOUS_TEXT, WRITE_MODES

# Where a command or code argument is passed by keyword.
_CODE_KEYWORDS = frozenset({"args", "cmd", "command", "source", "code", "name", "path"})


def fold(node: ast.expr) -> str | None:
    """The string an expression always evaluates to, when it is built from literals only."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bytes):
            return value.decode("latin-1")
        return value if isinstance(value, str) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = fold(node.left), fold(node.right)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.JoinedStr):
        parts = [fold(value) for value in node.values]
        return None if None in parts else "".join(p for p in parts if p is not None)
    return None


def arguments(node: ast.Call) -> list[ast.expr]:
    return [*node.args, *(keyword.value for keyword in node.keywords)]


def exprs(node: ast.expr) -> list[ast.expr]:
    return [sub for sub in ast.walk(node) if isinstance(sub, ast.expr)]


def harmless_code(node: ast.Call) -> bool:
    """Whether the command or code argument is fixed text that does not look like an attack."""
    code = node.args[0] if node.args else None
    if code is None:
        code = next((kw.value for kw in node.keywords if kw.arg in _CODE_KEYWORDS), None)
    if code is None:
        return True
    items = code.elts if isinstance(code, ast.List | ast.Tuple) else [code]
    values = [fold(item) for item in items]
    return all(value is not None and not MALICIOUS_TEXT.search(value) for value in values)


def hidden_reach(func: ast.expr) -> bool:
    """Whether a called function is reached through a call or lookup (`__import__('os').x`)."""
    while isinstance(func, ast.Attribute):
        func = func.value
    return isinstance(func, ast.Call | ast.Subscript)


def keyword(node: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in node.keywords if kw.arg == name), None)


def keyword_is(node: ast.Call, name: str, value: object) -> bool:
    found = keyword(node, name)
    return isinstance(found, ast.Constant) and found.value is value


def outside(path: str) -> bool:
    return path.startswith(("/", "~", "\\")) or path[1:3] in (":\\", ":/")


def opened_for_writing(node: ast.Call) -> str | None:
    """The path outside the model folder that `open(path, mode)` writes, when both are literals."""
    path = fold(node.args[0]) if node.args else None
    mode = node.args[1] if len(node.args) > 1 else keyword(node, "mode")
    text = fold(mode) if mode is not None else "r"
    writes = text is None or bool(WRITE_MODES & set(text))
    return path if path is not None and outside(path) and writes else None
