"""Reading Python syntax trees without running them: literal folding and argument helpers."""

from __future__ import annotations

import ast

from airlock.scan.analyzers.python_risks import MALICIOUS_TEXT, WRITE_MODES

# Where a command or code argument is passed by keyword.
_CODE_KEYWORDS = frozenset({"args", "cmd", "command", "source", "code", "name", "path"})


_MAX_FOLDED = 4096
_REVERSING = (None, None, -1)


_HOME_LOOKUPS = frozenset({"expanduser", "home", "getuserbase", "getusersitepackages"})


def fold(node: ast.expr) -> str | None:
    """The string an expression always evaluates to, when it is built from literals only
    (concatenation, f-strings, `''.join([...])`, `chr(115)`, `b'..'.decode()`, `'..'[::-1]`,
    `'{}{}'.format(...)`, `'%s' % ...`)."""
    folded = _fold(node)
    return folded if folded is None or len(folded) <= _MAX_FOLDED else None


def _fold(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        return _fold_call(node)
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
        text = fold(node.value)
        steps = tuple(
            part.value if isinstance(part, ast.Constant) else part
            for part in (node.slice.lower, node.slice.upper, node.slice.step)
        )
        return text[::-1] if text is not None and steps == _REVERSING else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        template, values = fold(node.left), _fold_all(node.right)
        if template is None or values is None:
            return None
        try:
            return template % tuple(values)
        except (TypeError, ValueError):
            return None
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


def _fold_all(node: ast.expr) -> list[str] | None:
    items = node.elts if isinstance(node, ast.List | ast.Tuple) else [node]
    folded = [fold(item) for item in items]
    return None if None in folded else [f for f in folded if f is not None]


def _fold_call(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name) and func.id == "chr" and len(node.args) == 1:
        code = node.args[0]
        if isinstance(code, ast.Constant) and type(code.value) is int:
            return chr(code.value) if 0 <= code.value < 0x110000 else None
        return None
    if not isinstance(func, ast.Attribute):
        return None
    owner = fold(func.value)
    if owner is None:
        return None
    if func.attr in ("decode", "encode", "lower", "upper", "strip", "casefold") and not node.args:
        return getattr(owner, func.attr)() if func.attr not in ("decode", "encode") else owner
    if func.attr == "join" and len(node.args) == 1:
        parts = _fold_all(node.args[0])
        return owner.join(parts) if parts is not None else None
    if func.attr == "format" and not node.keywords:
        values = [fold(arg) for arg in node.args]
        if None in values:
            return None
        try:
            return owner.format(*values)
        except (IndexError, KeyError, ValueError):
            return None
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
    """The path outside the model folder that `open(path, mode)` writes: a literal one, or one
    built from a literal outside the folder or from the home folder (`expanduser('~/.bashrc')`)."""
    target = node.args[0] if node.args else keyword(node, "file")
    mode = node.args[1] if len(node.args) > 1 else keyword(node, "mode")
    text = fold(mode) if mode is not None else "r"
    writes = text is None or bool(WRITE_MODES & set(text))
    return outside_path(target) if target is not None and writes else None


def outside_path(node: ast.expr) -> str | None:
    """Where a path expression points when its start is outside the folder: a literal absolute
    path, or the home folder (`expanduser('~/.bashrc')`, `Path.home() / ...`)."""
    start = _path_start(node)
    if start is None:
        return None
    if start in _HOME_LOOKUPS:
        return f"~ (via {start})"
    return start if outside(start) else None


def _path_start(node: ast.expr, depth: int = 0) -> str | None:
    """The leading literal of a path built by +, /, f-strings, os.path.join or Path(...)."""
    folded = fold(node)
    if folded is not None or depth > 8:
        return folded
    if isinstance(node, ast.JoinedStr) and node.values:
        return fold(node.values[0])
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Div):
        return _path_start(node.left, depth + 1)
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in _HOME_LOOKUPS:
            return str(name)
        if isinstance(func, ast.Attribute) and func.attr in ("resolve", "absolute"):
            return _path_start(func.value, depth + 1)
        if node.args and (name == "join" or str(name).endswith("Path")):
            return _path_start(node.args[0], depth + 1)
    return None
