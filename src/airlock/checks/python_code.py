"""Custom model code (what `trust_remote_code=True` imports): the calls and imports that run
commands, execute or fetch code, reach the network, read secrets or hide what they do.

The source is only parsed (`ast.parse`), never run. Names are resolved through imports and
assignments (`import subprocess as sp`, `run = __import__('os').system`, `getattr(os, 'sys' +
'tem')`), so a call is judged by what it reaches, not by how it is spelled.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass

from airlock.checks import python_ast as pyast
from airlock.checks import python_risks as risks
from airlock.findings import Severity
from airlock.rules import rule

_BUILTIN_NAMES = frozenset(dir(builtins)) | {"__builtins__"}
_MAX_ISSUES = 200
_MAX_EXEC_DEPTH = 4  # exec("...") of a literal is parsed and analysed too, this deep at most


@dataclass(frozen=True)
class Issue:
    rule_id: str
    severity: Severity
    line: int
    message: str


@dataclass(frozen=True)
class Analysis:
    imports: list[str]
    issues: list[Issue]
    truncated: bool  # more issues than are listed


def analyze(source: bytes | str) -> Analysis:
    """Parse and inspect `source`; SyntaxError, ValueError, RecursionError, MemoryError escape."""
    visitor = _Visitor()
    visitor.visit(ast.parse(source))
    return Analysis(list(dict.fromkeys(visitor.imports)), visitor.issues, visitor.truncated)


class _Visitor(ast.NodeVisitor):
    def __init__(self, depth: int = 0, line: int = 0) -> None:
        self.aliases: dict[str, str] = {}
        self.tainted: set[str] = set()  # variables holding decoded bytes
        self.imports: list[str] = []
        self.issues: list[Issue] = []
        self.truncated = False
        self._depth = depth
        self._line = line  # when analysing an exec'd literal: the line of that exec
        self._seen: set[tuple[str, int, str]] = set()
        self._quiet: set[int] = set()  # called functions and docstrings: not reported alone

    def report(
        self, node: ast.AST, rule_id: str, message: str, severity: Severity | None = None
    ) -> None:
        severity = severity if severity is not None else rule(rule_id).default_severity
        line = self._line or getattr(node, "lineno", 0)
        key = (rule_id, line, message)
        if key in self._seen:
            return
        self._seen.add(key)
        if len(self.issues) < _MAX_ISSUES:
            self.issues.append(Issue(rule_id, severity, line, message))
        else:
            self.truncated = True

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.imports.append(alias.name)
            bound = alias.asname or alias.name.partition(".")[0]
            self.aliases[bound] = alias.name if alias.asname else bound

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = "." * node.level + (node.module or "")
        self.imports.append(module)
        for alias in node.names:
            if alias.name == "*":
                self.aliases.update(risks.star_names(module))
                continue
            name = f"{module}.{alias.name}"
            self.aliases[alias.asname or alias.name] = name
            risk = risks.exact(name)
            if risk is not None:
                self.report(node, risk.rule_id, f"imports `{name}`; it {risk.what}", risk.severity)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.generic_visit(node)
        target = node.targets[0] if len(node.targets) == 1 else None
        if not isinstance(target, ast.Name):
            return
        self.aliases.pop(target.id, None)
        self.tainted.discard(target.id)
        resolved = self.resolve(node.value)
        if resolved is not None:
            self.aliases[target.id] = resolved
        if self._decodes(node.value):
            self.tainted.add(target.id)

    def resolve(self, node: ast.expr) -> str | None:
        """The dotted name an expression refers to, through imports and aliases."""
        if isinstance(node, ast.Name):
            # Unbound names are builtins or locals: a local `requests` list is not the module.
            found = self.aliases.get(node.id)
            return node.id if found is None and node.id in _BUILTIN_NAMES else found
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base is not None else None
        if isinstance(node, ast.Call) and node.args:
            func = self.resolve(node.func)
            if func in risks.IMPORTERS:
                return pyast.fold(node.args[0])
            if func == "getattr" and len(node.args) >= 2:
                base, attr = self.resolve(node.args[0]), pyast.fold(node.args[1])
                return f"{base}.{attr}" if base is not None and attr is not None else None
        if isinstance(node, ast.Subscript):
            base, key = self.resolve(node.value), pyast.fold(node.slice)
            if base in risks.NAMESPACES and key is not None:
                return key
        return None

    def visit_Call(self, node: ast.Call) -> None:
        self._quiet.add(id(node.func))
        name = self.resolve(node.func)
        if name is not None:
            self._call(node, name.removeprefix("builtins.").removeprefix("__builtins__."))
        elif isinstance(node.func, ast.Attribute) and node.func.attr in risks.PATH_WRITERS:
            self._path_method(node, node.func)
        self.generic_visit(node)

    def _call(self, node: ast.Call, name: str) -> None:
        risk, how = risks.classify(name), ""
        if name == "torch.load" and not pyast.keyword_is(node, "weights_only", True):
            risk, how = risks.DESERIALIZE, " without `weights_only=True`"
        if name == "getattr":
            self._getattr(node)
        elif name in ("open", "io.open") and (path := pyast.opened_for_writing(node)):
            self.report(node, "AIR708", f"opens `{path}` for writing, outside the model folder")
        elif any(risks.refers_to(name, env) for env in risks.ENV_READERS) and node.args:
            self._secret(node, node.args[0])
        if risk is None:
            return
        hidden = pyast.hidden_reach(node.func)
        severity = risk.severity
        if risk.escalates and (hidden or not pyast.harmless_code(node)):
            severity = Severity.CRITICAL
        how += " (reached through a dynamic import or lookup)" if hidden else ""
        self.report(node, risk.rule_id, f"calls `{name}`{how}, which {risk.what}", severity)
        if name in ("exec", "eval", "compile") and node.args:
            self._exec(node, name, node.args[0])
        values = (sub for arg in pyast.arguments(node) for sub in pyast.exprs(arg))
        if risk.rule_id == "AIR704" and any(
            risks.refers_to(self.resolve(sub), "os.environ") for sub in values
        ):
            self.report(node, "AIR705", f"sends environment variables (tokens, keys) via `{name}`")

    def _exec(self, node: ast.Call, name: str, code: ast.expr) -> None:
        if self._decodes(code):
            self.report(node, "AIR706", f"runs decoded data with `{name}`: the code is hidden")
        literal = pyast.fold(code)
        if literal is None or self._depth >= _MAX_EXEC_DEPTH:
            return
        try:
            tree = ast.parse(literal)
        except (SyntaxError, ValueError):
            return  # not code this Python would run either; the call itself is reported
        inner = _Visitor(self._depth + 1, self._line or node.lineno)
        inner.aliases = dict(self.aliases)
        inner.visit(tree)
        for issue in inner.issues:
            self.report(node, issue.rule_id, f"{issue.message} (in {name} text)", issue.severity)

    def _getattr(self, node: ast.Call) -> None:
        if len(node.args) < 2:
            return
        target, attr = self.resolve(node.args[0]), node.args[1]
        literal = pyast.fold(attr)
        # 'sys' + 'tem' spells a constant the long way round; any computed name on os & co.
        spelled = literal is not None and not isinstance(attr, ast.Constant)
        sensitive = target in risks.SENSITIVE_MODULES and not isinstance(attr, ast.Constant)
        if spelled or sensitive or self._decodes(attr):
            reached = f" (`{target}.{literal}`)" if literal and target else ""
            self.report(node, "AIR706", f"reads an attribute named at run time{reached}")

    def _path_method(self, node: ast.Call, func: ast.Attribute) -> None:
        owner = func.value
        if not (isinstance(owner, ast.Call) and owner.args):
            return
        path = pyast.fold(owner.args[0]) if self.resolve(owner.func) in risks.PATH_CLASSES else None
        if path is not None and pyast.outside(path):
            self.report(node, "AIR708", f"calls `{func.attr}` on `{path}`, outside the folder")

    def _secret(self, node: ast.AST, key: ast.expr) -> None:
        name = pyast.fold(key)
        if name is not None and risks.SECRET_NAME.search(name):
            self.report(node, "AIR705", f"reads the environment variable `{name}`, a secret")

    def visit_Subscript(self, node: ast.Subscript) -> None:
        base = self.resolve(node.value) if isinstance(node.ctx, ast.Load) else None
        if risks.refers_to(base, "os.environ"):
            self._secret(node, node.slice)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute | ast.Name) -> None:
        # A risky function used as a value (aliased, handed to map or a thread) still runs.
        name = self.resolve(node) if isinstance(node.ctx, ast.Load) else None
        risk = risks.exact(name) if name is not None and id(node) not in self._quiet else None
        # Bare eval/exec/compile are also common variable and parameter names.
        if risk is not None and name not in ("compile", "eval", "exec"):
            self.report(node, risk.rule_id, f"uses `{name}` as a value: {risk.what}", risk.severity)
        self.generic_visit(node)

    visit_Name = visit_Attribute

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Constant):
            self._quiet.add(id(node.value))  # a docstring: prose, not a path being used
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if not isinstance(value, str):
            return
        if risks.looks_encoded(value):
            self.report(node, "AIR706", f"holds a {len(value)}-character encoded literal")
        match = None if id(node) in self._quiet else risks.SECRET_PATH.search(value)
        if match is not None:
            self.report(node, "AIR705", f"names `{match.group()}`, where credentials are kept")

    def _decodes(self, node: ast.expr) -> bool:
        for sub in pyast.exprs(node):
            if isinstance(sub, ast.Name) and sub.id in self.tainted:
                return True
            name = self.resolve(sub.func) if isinstance(sub, ast.Call) else None
            if name is not None and risks.is_decoder(name):
                return True
        return False
