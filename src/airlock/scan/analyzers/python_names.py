"""What a name in custom model code refers to: the dotted path it reaches through imports,
aliases, `getattr`, `__import__`, `vars()` and namespace lookups (`sys.modules[...]`,
`globals()[...]`). Only the syntax tree is read; nothing is imported."""

from __future__ import annotations

import ast
import builtins

from airlock.scan.analyzers import python_ast as pyast
from airlock.scan.analyzers import python_risks as risks

BUILTIN_NAMES = frozenset(dir(builtins)) | {"__builtins__"}
# Pseudo-names: a module's own globals (`globals()`, `f.__globals__`), and one step of a dotted
# path whose name is computed at run time (`getattr(os, name)` resolves to "os.?").
GLOBALS = "<globals>"
COMPUTED = "?"
# Mappings from names to modules or callables: a key looked up in them is a name being resolved.
NAMESPACES = frozenset({"builtins", "__builtins__", "sys.modules", GLOBALS})
LOOKUP_METHODS = frozenset({"get", "__getitem__", "pop", "setdefault"})


class NameResolver:
    """The names bound so far in one module (or one exec'd literal), and what they resolve to."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        self.star_modules: list[str] = []  # `from os import *`: bare names may come from there
        self._cache: dict[int, str | None] = {}

    def forget(self) -> None:
        """An import or assignment changed what names mean: resolve everything afresh."""
        self._cache.clear()

    def resolve(self, node: ast.expr) -> str | None:
        """The dotted name an expression refers to, through imports, aliases and lookups; a step
        whose name is computed at run time is `?` (`getattr(os, name)` is "os.?")."""
        # Remembered until the next import or assignment (each node is asked several times).
        key = id(node)
        if key in self._cache:
            return self._cache[key]
        found = self._resolve(node)
        self._cache[key] = found
        return found

    def _resolve(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            # Unbound names are builtins or locals: a local `requests` list is not the module.
            found = self.aliases.get(node.id)
            if found is None and node.id in BUILTIN_NAMES:
                return node.id
            if found is None and self.star_modules:
                return f"{self.star_modules[-1]}.{node.id}"
            return found
        if isinstance(node, ast.Attribute):
            # Any function's globals and any frame's globals or builtins: somebody's namespace.
            if node.attr in ("__globals__", "f_globals", "func_globals"):
                return GLOBALS
            if node.attr in ("__builtins__", "f_builtins"):
                return "__builtins__"
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base is not None else None
        if isinstance(node, ast.Call):
            return self._resolve_call(node)
        if isinstance(node, ast.NamedExpr):
            return self.resolve(node.value)
        if isinstance(node, ast.Subscript):
            namespace = self.namespace(node.value)
            if namespace is not None and not own_module(namespace, node.slice):
                return self.member(namespace, pyast.fold(node.slice))
        return None

    def _resolve_call(self, node: ast.Call) -> str | None:
        func = self.resolve(node.func)
        if func in ("globals", "locals", "vars") and not node.args and not node.keywords:
            return GLOBALS
        if isinstance(node.func, ast.Call) and node.args:
            # operator.attrgetter(name)(obj) is getattr(obj, name).
            maker = self.resolve(node.func.func)
            base = self.resolve(node.args[0])
            if maker == "operator.attrgetter" and node.func.args and base is not None:
                return self.member(base, pyast.fold(node.func.args[0]))
        if not node.args:
            return None
        if func == "vars":
            base = self.resolve(node.args[0])
            return f"{base}.__dict__" if base is not None else None
        if func in risks.IMPORTERS:
            return pyast.fold(node.args[0]) or COMPUTED
        if func == "getattr" and len(node.args) >= 2:
            base = self.resolve(node.args[0])
            return self.member(base, pyast.fold(node.args[1])) if base is not None else None
        if isinstance(node.func, ast.Attribute) and node.func.attr in LOOKUP_METHODS:
            namespace = self.namespace(node.func.value)
            if namespace is not None:
                return self.member(namespace, pyast.fold(node.args[0]))
        return None

    def namespace(self, node: ast.expr) -> str | None:
        """The module (or pseudo-namespace) whose names an expression maps, as `os.__dict__`,
        `vars(os)`, `globals()`, `sys.modules` or `__builtins__` do."""
        return namespace_of(self.resolve(node))

    def member(self, namespace: str, key: str | None) -> str:
        if key is None:
            return f"{namespace}.{COMPUTED}"
        if namespace in ("builtins", "__builtins__", "sys.modules"):
            return key
        if namespace == GLOBALS:
            # Our own globals, or another module's (`f.__globals__`): fail closed, a name there
            # is the module or builtin of that name.
            return self.aliases.get(key, key)
        return f"{namespace}.{key}"


def namespace_of(name: str | None) -> str | None:
    if name is None:
        return None
    if name.endswith(".__dict__"):
        return name.removesuffix(".__dict__")
    # Also through a re-export: `os.sys.modules` is `sys.modules`, `torch.builtins` is builtins.
    return next((n for n in NAMESPACES if name == n or name.endswith("." + n)), None)


def own_module(namespace: str, key: ast.expr) -> bool:
    # sys.modules[__name__] is this very module, the usual way to set up lazy attributes.
    return namespace == "sys.modules" and isinstance(key, ast.Name) and key.id == "__name__"
