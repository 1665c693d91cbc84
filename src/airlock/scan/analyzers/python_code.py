"""Custom model code (what `trust_remote_code=True` imports): the calls and imports that run
commands, execute or fetch code, reach the network, read secrets or hide what they do.

The source is only parsed (`ast.parse`), never run. Names are resolved through imports and
assignments (`import subprocess as sp`, `run = __import__('os').system`, `getattr(os, 'sys' +
'tem')`), so a call is judged by what it reaches, not by how it is spelled.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from airlock.findings import Severity
from airlock.rules import rule
from airlock.scan.analyzers import python_ast as pyast
from airlock.scan.analyzers import python_risks as risks
from airlock.scan.analyzers.python_names import (
    BUILTIN_NAMES,
    COMPUTED,
    GLOBALS,
    LOOKUP_METHODS,
    NAMESPACES,
    NameResolver,
    namespace_of,
    own_module,
)
from airlock.scan.names.pickle_globals import GlobalsPolicy, Status

# Calls that take an object and an attribute name: the object is not handed on by them.
_HANDING_ON = (ast.Call, ast.keyword, ast.Assign, ast.List, ast.Tuple, ast.Dict, ast.Set)
_ATTRIBUTE_CALLS = frozenset({"getattr", "hasattr", "setattr", "delattr", "vars", "dir", "id"})
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
    visitor.run(ast.parse(source))
    return Analysis(list(dict.fromkeys(visitor.imports)), visitor.issues, visitor.truncated)


class _Visitor(ast.NodeVisitor):
    def __init__(self, depth: int = 0, line: int = 0) -> None:
        self.names = NameResolver()
        self.tainted: set[str] = set()  # variables holding decoded bytes
        self.imports: list[str] = []
        self.issues: list[Issue] = []
        self.truncated = False
        self._depth = depth
        self._line = line  # when analysing an exec'd literal: the line of that exec
        self._seen: set[tuple[str, int, str]] = set()
        self._quiet: set[int] = set()  # called functions and docstrings: not reported alone
        self._parents: dict[int, ast.AST] = {}
        self._tree: ast.AST | None = None
        self._bindings: dict[str, int] | None = None  # how often each name is assigned

    def run(self, tree: ast.AST) -> None:
        self._tree = tree
        self.visit(tree)

    def generic_visit(self, node: ast.AST) -> None:
        # NodeVisitor's own walk, noting each child's parent before the child is visited.
        for _, value in ast.iter_fields(node):
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST):
                    self._parents[id(child)] = node
                    self.visit(child)

    def report(
        self, node: ast.AST, rule_id: str, message: str, severity: Severity | None = None
    ) -> None:
        severity = severity if severity is not None else rule(rule_id).default_severity
        line = self._line or getattr(node, "lineno", 0)
        key = (rule_id, line, message)
        if key in self._seen:
            return
        self._seen.add(key)
        issue = Issue(rule_id, severity, line, message)
        if len(self.issues) < _MAX_ISSUES:
            self.issues.append(issue)
            return
        # Over the cap, the worst findings are kept: a flood of medium lines cannot push a
        # critical one out of the report.
        self.truncated = True
        mildest = min(range(len(self.issues)), key=lambda i: self.issues[i].severity)
        if self.issues[mildest].severity < severity:
            self.issues[mildest] = issue

    def visit_Import(self, node: ast.Import) -> None:
        self.names.forget()  # the names below change what expressions refer to
        for alias in node.names:
            self.imports.append(alias.name)
            bound = alias.asname or alias.name.partition(".")[0]
            self.names.aliases[bound] = alias.name if alias.asname else bound

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = "." * node.level + (node.module or "")
        self.imports.append(module)
        self.names.forget()
        for alias in node.names:
            if alias.name == "*":
                self.names.aliases.update(risks.star_names(module))
                if risks.command_module(module):
                    self.names.star_modules.append(module)
                continue
            name = f"{module}.{alias.name}"
            self.names.aliases[alias.asname or alias.name] = name
            risk = risks.exact(name)
            if risk is not None:
                self.report(node, risk.rule_id, f"imports `{name}`; it {risk.what}", risk.severity)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.generic_visit(node)
        target = node.targets[0] if len(node.targets) == 1 else None
        if isinstance(target, ast.Tuple | ast.List) and isinstance(
            node.value, ast.Tuple | ast.List
        ):
            # `run, name = os.system, 'id'`: each name is bound as if assigned alone.
            for sub_target, value in zip(target.elts, node.value.elts, strict=False):
                self._bind(sub_target, value)
        elif target is not None:
            self._bind(target, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.generic_visit(node)
        if node.value is not None:
            self._bind(node.target, node.value)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.generic_visit(node)
        self._bind(node.target, node.value)

    def _bind(self, target: ast.expr, value: ast.expr) -> None:
        if not isinstance(target, ast.Name):
            return
        resolved = self.names.resolve(value)
        if self.names.aliases.get(target.id) != resolved:
            self.names.forget()  # the name now refers to something else
        self.names.aliases.pop(target.id, None)
        self.tainted.discard(target.id)
        if resolved is not None:
            self.names.aliases[target.id] = resolved
        if self._decodes(value):
            self.tainted.add(target.id)

    def visit_Call(self, node: ast.Call) -> None:
        self._quiet.add(id(node.func))
        name = self.names.resolve(node.func)
        if name is not None:
            self._call(node, name.removeprefix("builtins.").removeprefix("__builtins__."))
        elif isinstance(node.func, ast.Attribute) and node.func.attr in risks.PATH_WRITERS:
            self._path_method(node, node.func)
        method = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        if risks.runner_method(method) and (name is None or risks.classify(name) is None):
            # spec.loader.exec_module(m), __loader__.load_module('os'): whatever the object is.
            self.report(
                node,
                "AIR703",
                f"calls `.{method}` on an object it obtained at run time: that method "
                "runs code or a command",
            )
        self._lookups(node)
        self._escape(node)
        self.generic_visit(node)

    def _lookups(self, node: ast.Call) -> None:
        """Names looked up in a module or namespace through a call: `vars(os).get(name)`,
        `operator.attrgetter(name)(os)`, `operator.methodcaller(name, arg)(os)`."""
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in LOOKUP_METHODS and node.args:
            namespace = self.names.namespace(func.value)
            if namespace is not None and pyast.fold(node.args[0]) is None:
                self._computed_lookup(node, namespace)
        if not isinstance(func, ast.Call):
            return
        maker = self.names.resolve(func.func)
        if maker not in ("operator.attrgetter", "operator.methodcaller") or not func.args:
            return
        attr = pyast.fold(func.args[0])
        base = self.names.resolve(node.args[0]) if node.args else None
        if attr is None and base is not None:
            self._computed_lookup(node, base)
        elif maker == "operator.methodcaller" and attr is not None and base is not None:
            self._call(node, f"{base}.{attr}".removeprefix("builtins."))

    def _computed_lookup(self, node: ast.AST, namespace: str) -> None:
        if namespace in BUILTIN_NAMES and namespace not in NAMESPACES:
            return  # getattr(str, name): a method of a builtin type
        shown = "this module's globals" if namespace == GLOBALS else f"`{namespace}`"
        if namespace.startswith(COMPUTED):
            shown = "a module imported by a computed name"
        self.report(
            node,
            "AIR715",
            f"looks up a name computed at run time in {shown}: what it reaches is decided only "
            "when the code runs",
            _lookup_severity(namespace),
        )

    def _escape(self, node: ast.expr) -> None:
        """A module that runs commands or code (os, builtins, sys, ...) or a namespace of names
        (`os.__dict__`, `globals()`, `sys.modules`) handed to other code as a value: whatever
        receives it can reach anything in it, by any name."""
        ctx = getattr(node, "ctx", None)
        if ctx is not None and not isinstance(ctx, ast.Load):
            return
        name = self.names.resolve(node)
        if name is None or COMPUTED in name:
            return
        namespace = namespace_of(name)
        if namespace is None and not risks.command_module(name):
            return
        if self._contained(node, name):
            return
        critical = namespace is None or namespace in NAMESPACES or risks.command_module(namespace)
        shown = "this module's globals" if name == GLOBALS else f"`{name}`"
        self.report(
            node,
            "AIR716",
            f"hands {shown} itself to other code, which can reach any function in it by a name "
            "chosen at run time",
            Severity.CRITICAL if critical else Severity.HIGH,
        )

    def _bound_once(self, target: ast.Name) -> bool:
        if self._bindings is None:  # counted only when a module is aliased (rare)
            self._bindings = {}
            for node in ast.walk(self._tree) if self._tree is not None else ():
                if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                    self._bindings[node.id] = self._bindings.get(node.id, 0) + 1
        return self._bindings.get(target.id, 0) <= 1

    def _contained(self, node: ast.expr, name: str) -> bool:
        """Whether the value is only used where its names are resolved here (attribute by a
        constant name, lookup, alias, membership test), not handed on."""
        parent = self._parents.get(id(node))
        if isinstance(parent, ast.Attribute):
            if name in (GLOBALS, "sys.modules") or name.endswith(".__dict__"):
                return parent.attr in LOOKUP_METHODS
            attr = parent.attr
            return not attr.startswith("__") or attr == "__dict__" or risks.module_data(attr)
        if isinstance(parent, ast.Subscript | ast.Compare | ast.Expr):
            return True
        if isinstance(parent, ast.Assign):
            # An alias in a class body is reached as `Class.name`, which is not followed; and
            # aliases are followed flow-insensitively (the last one wins), so a name bound more
            # than once may still hold this module where it is used.
            in_class = isinstance(self._parents.get(id(parent)), ast.ClassDef)
            target = parent.targets[0] if len(parent.targets) == 1 else None
            return not in_class and isinstance(target, ast.Name) and self._bound_once(target)
        if isinstance(parent, ast.NamedExpr):
            return self._bound_once(parent.target)
        if isinstance(parent, ast.Call):
            if parent.func is node:
                return True
            first = parent.args[0] if parent.args else None
            return first is node and self.names.resolve(parent.func) in _ATTRIBUTE_CALLS
        return False

    def _call(self, node: ast.Call, name: str) -> None:
        while name.endswith(".__call__"):  # `exec.__call__(code)` is `exec(code)`
            name = name.removesuffix(".__call__")
        if COMPUTED in name:
            self._computed_call(node, name)
            return
        if name in ("setattr", "delattr") and node.args:
            self._replaces(node, name)
        risk, how = risks.classify(name), ""
        if name == "torch.load" and not pyast.keyword_is(node, "weights_only", True):
            risk, how = risks.DESERIALIZE, " without `weights_only=True`"
        if name == "getattr":
            self._getattr(node)
        elif name in ("open", "io.open") and (path := pyast.opened_for_writing(node)):
            self._writes_outside(node, f"opens `{path}` for writing")
        elif any(risks.refers_to(name, env) for env in risks.ENV_READERS) and node.args:
            self._secret(node, node.args[0])
        if risk is None:
            return
        hidden = pyast.hidden_reach(node.func)
        # `o.system`, `s(...)` after `from os import system as s`, `torch.os.system`: spelled
        # otherwise than what it reaches, which ordinary code has no reason to do.
        spelled = _spelling(node.func)
        renamed = not hidden and (spelled not in (name, f"builtins.{name}") or risks.rerouted(name))
        severity = risk.severity
        if risk.escalates and (hidden or renamed or not pyast.harmless_code(node)):
            severity = Severity.CRITICAL
        if risk is risks.DESERIALIZE and node.args and self._embedded(node.args[0]):
            severity, how = Severity.CRITICAL, how + " on data embedded in the code"
        how += " (reached through a dynamic import or lookup)" if hidden else ""
        how += f" (spelled `{spelled}`)" if renamed and not how else ""
        self.report(node, risk.rule_id, f"calls `{name}`{how}, which {risk.what}", severity)
        if name in ("exec", "eval", "compile") and node.args:
            self._exec(node, name, node.args[0])
        values = (sub for arg in pyast.arguments(node) for sub in pyast.exprs(arg))
        if risk.rule_id == "AIR704" and any(
            risks.refers_to(self.names.resolve(sub), "os.environ") for sub in values
        ):
            self.report(node, "AIR705", f"sends environment variables (tokens, keys) via `{name}`")

    def _embedded(self, data: ast.expr) -> bool:
        """Bytes written into the code itself (a literal, or decoded from one): a payload, not a
        file the model ships."""
        return pyast.fold(data) is not None or self._decodes(data)

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
        inner.names.aliases = dict(self.names.aliases)
        inner.run(tree)
        for issue in inner.issues:
            self.report(node, issue.rule_id, f"{issue.message} (in {name} text)", issue.severity)

    def _computed_call(self, node: ast.Call, name: str) -> None:
        leaf = name.rpartition(".")[2]
        if leaf != COMPUTED and risks.risky_leaf(leaf):
            self.report(
                node,
                "AIR715",
                f"calls `{leaf}` on something looked up by a name computed at run time: "
                "it can run a command or code",
                Severity.CRITICAL,
            )

    def _replaces(self, node: ast.Call, name: str) -> None:
        target = self.names.resolve(node.args[0])
        if target is None or (target in BUILTIN_NAMES and target not in NAMESPACES):
            return
        attr = pyast.fold(node.args[1]) if len(node.args) > 1 else None
        if risks.command_module(target):
            self.report(
                node,
                "AIR715",
                f"uses `{name}` on `{target}`: code that changes what a module of commands or "
                "code exports",
                Severity.CRITICAL,
            )
        elif attr is None:
            self._computed_lookup(node, target)

    def _getattr(self, node: ast.Call) -> None:
        if len(node.args) < 2:
            return
        target, attr = self.names.resolve(node.args[0]), node.args[1]
        literal = pyast.fold(attr)
        if literal is not None and risks.escape_attribute(literal):
            self._escape_step(node, literal)
        # 'sys' + 'tem' spells a constant the long way round.
        spelled = literal is not None and not isinstance(attr, ast.Constant)
        if spelled or self._decodes(attr):
            reached = f" (`{target}.{literal}`)" if literal and target else ""
            self.report(node, "AIR706", f"reads an attribute named at run time{reached}")
        if literal is None and target is not None:
            self._computed_lookup(node, target)

    def _escape_step(self, node: ast.AST, attr: str) -> None:
        self.report(
            node,
            "AIR717",
            f"reaches `{attr}`, a step from an ordinary object to globals, builtins, frames or "
            "every loaded class (how sandboxes are escaped)",
        )

    def _path_method(self, node: ast.Call, func: ast.Attribute) -> None:
        # Path('/etc/x').write_text(...), (Path.home() / '.bashrc').write_text(...)
        path = pyast.outside_path(func.value)
        if path is not None:
            self._writes_outside(node, f"calls `{func.attr}` on `{path}`")

    def _writes_outside(self, node: ast.AST, what: str) -> None:
        # Writing outside the folder is how code persists (cron, shell profiles, site-packages).
        message = f"{what}, outside the model folder, where other programs' files are"
        self.report(node, "AIR708", message, Severity.HIGH)

    def _secret(self, node: ast.AST, key: ast.expr) -> None:
        name = pyast.fold(key)
        if name is not None and risks.SECRET_NAME.search(name):
            self.report(node, "AIR705", f"reads the environment variable `{name}`, a secret")

    def visit_Subscript(self, node: ast.Subscript) -> None:
        base = self.names.resolve(node.value) if isinstance(node.ctx, ast.Load) else None
        if risks.refers_to(base, "os.environ"):
            self._secret(node, node.slice)
        namespace = namespace_of(base)
        computed = pyast.fold(node.slice) is None
        if namespace is not None and computed and not own_module(namespace, node.slice):
            self._computed_lookup(node, namespace)
        self._escape(node)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute | ast.Name) -> None:
        if isinstance(node, ast.Attribute) and risks.escape_attribute(node.attr):
            self._escape_step(node, node.attr)
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store | ast.Del):
            owner = self.names.resolve(node.value)
            if risks.command_module(owner):
                self.report(
                    node,
                    "AIR715",
                    f"replaces `{owner}.{node.attr}`: code that changes what a module of commands "
                    "or code provides, for everything that uses it later",
                    Severity.HIGH,
                )
        self._escape(node)
        # A risky function used as a value (aliased, handed to map or a thread) still runs.
        name = self.names.resolve(node) if isinstance(node.ctx, ast.Load) else None
        risk = risks.exact(name) if name is not None and id(node) not in self._quiet else None
        # Bare eval/exec/compile are also common variable and parameter names: as values they
        # count only when handed on (`map(exec, codes)`, `run = exec`, `[eval]`).
        handed_on = isinstance(self._parents.get(id(node)), _HANDING_ON)
        if risk is not None and (name not in ("compile", "eval", "exec") or handed_on):
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
            name = self.names.resolve(sub.func) if isinstance(sub, ast.Call) else None
            if name is not None and risks.is_decoder(name):
                return True
        return False


def _lookup_severity(namespace: str) -> Severity:
    """How much a name computed at run time may reach in `namespace`."""
    base = namespace.partition("." + COMPUTED)[0]
    if namespace.startswith(COMPUTED) or base in NAMESPACES or risks.command_module(base):
        return Severity.CRITICAL
    if COMPUTED in namespace or GlobalsPolicy.default().judge(base).status is Status.DANGEROUS:
        return Severity.HIGH
    return Severity.LOW if risks.computed_idiom(base) else Severity.HIGH


def _spelling(func: ast.expr) -> str:
    """The dotted text of a called name as written (`o.system`), or "" for anything else."""
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return ""
    return ".".join([func.id, *reversed(parts)])
