"""Judge a parsed Jinja template by what an UNSANDBOXED renderer would let it reach.

Every expression is given a `Value` (constants, conversation data, a number, a string built at
render time, or a Jinja/Python object), flow-insensitively: a variable is everything it is ever
assigned, so the walk repeats until the variables stop growing. Then:
- a member (attribute, key, `|attr`, `map(attribute=)`...) whose name is or may be a dunder is
  critical (AIR501), and so is any name that reaches `os`, `popen`, `eval`, `exec`,
  `builtins`... (AIR507);
- a member named by a string the template built and that cannot be read statically, or by
  conversation data on a Jinja object, is high (AIR505);
- a member of a Jinja object, a method call, or an object handed to a filter that chat
  templates do not use is high (AIR506);
- a filter, test, global function or tag outside the allowlist is high (AIR504): a custom
  environment may register it, and Jinja's own `cycler`/`joiner`/`lipsum` lead to `__globals__`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from jinja2 import nodes

from airlock.findings import Severity
from airlock.scan.analyzers.template_allowlist import JinjaAllowlist, allowlist
from airlock.scan.analyzers.template_values import (
    BUILT,
    COMBINING,
    DATA,
    NOTHING,
    NUMBER,
    ConstDict,
    Value,
    as_text,
    bounded,
    const,
    container,
    elements,
    fold,
    hashable_const,
    is_number,
    join_all,
    mapping_items,
    obj,
    pure,
    safe_join,
    safe_percent,
    safe_repeat,
    safe_replace,
    single,
    string_method,
    widen,
)

# `__name__`: a letter inside, so `________` (a text rule) is not one.
DUNDER = re.compile(r"__(?=\w*[A-Za-z])\w+__")
MAX_PASSES = 12  # walks until variables stop growing; real templates need 2 or 3
_WIDEN_NUMBERS_AFTER = 2  # walks after which a growing variable's numbers are given up
_WIDEN_TEXT_AFTER = 6  # ... and its strings (then built text: looking members up by it is high)
MAX_RANGE = 100_000  # Jinja's sandbox cap; a bigger range() is a memory bomb elsewhere
_LOADS = (nodes.Import, nodes.FromImport, nodes.Include, nodes.Extends)
_SHOWN_NAME = 60
# Objects a template may read any member of: a namespace's members are the values stored in it.
_NAMESPACE = "namespace"
_STORED = "(namespace members)"  # the env key holding them; no Jinja name can clash
_CALLER_ARGS = "(caller arguments)"  # what macros pass to `caller(...)`
_LOOP_ARGS = "(recursive loop arguments)"  # what `loop(...)` is given in a recursive for
_LOOP_ITEMS = "(loop items)"  # everything any for loop iterates over
# Free names that are Jinja/Flask objects rather than conversation data.
_OBJECT_NAMES = {"self": "`self`", "caller": "`caller`", "varargs": "varargs", "kwargs": "kwargs",
                 "request": "`request`", "config": "`config`", "url_for": "`url_for`",
                 "g": "`g`", "get_flashed_messages": "`get_flashed_messages`"}  # fmt: skip
_STRING_FILTERS: dict[str, Callable[[str], object]] = {
    "lower": str.lower, "upper": str.upper, "title": str.title, "capitalize": str.capitalize,
    "trim": str.strip, "string": str, "reverse": lambda s: s[::-1], "e": str, "escape": str,
    "safe": str, "list": list, "first": lambda s: s[0], "last": lambda s: s[-1],
}  # fmt: skip


@dataclass(frozen=True)
class Hit:
    rule_id: str
    severity: Severity
    reason: str
    subject: str  # one issue per rule and subject
    line: int


class TemplateWalk:
    """One walk over one template's syntax tree."""

    def __init__(self, tree: nodes.Template) -> None:
        self.tree = tree
        self.allow: JinjaAllowlist = allowlist()
        self.env: dict[str, Value] = {}
        self.macros: dict[str, nodes.Macro] = {}
        self.widened: dict[str, bool] = {}  # variable -> its strings given up too
        self.outputs: dict[str, Value] = {}  # macro -> the text it renders (this walk)
        self.hits: dict[tuple[str, str], Hit] = {}
        self.line = 1

    def run(self) -> list[Hit]:
        for node in self.tree.find_all(nodes.Macro):
            self.macros[node.name] = node
        self._node_types()
        for walked in range(MAX_PASSES):
            before = dict(self.env)
            self.outputs.clear()
            self._statements(self.tree.body)
            if self.env == before:
                break
            # A counter or an accumulated string grows one value a walk: stop enumerating it.
            if walked >= _WIDEN_NUMBERS_AFTER:
                texts = walked >= _WIDEN_TEXT_AFTER
                for name, value in self.env.items():
                    if before.get(name) != value:
                        self.widened[name] = texts or self.widened.get(name, False)
                        self.env[name] = widen(value, texts=self.widened[name])
        else:  # still growing: what a variable may hold is not known, so it is not judged clean
            reason = f"variables that pass values along more than {MAX_PASSES} times"
            self._hit("AIR505", Severity.HIGH, reason, "passes")
        return sorted(self.hits.values(), key=lambda hit: (-hit.severity, hit.line))

    # -- reporting ---------------------------------------------------------------------------

    def _hit(self, rule_id: str, severity: Severity, reason: str, subject: str) -> None:
        self.hits.setdefault((rule_id, subject), Hit(rule_id, severity, reason, subject, self.line))

    def _node_types(self) -> None:
        stack: list[nodes.Node] = [self.tree]
        while stack:
            node = stack.pop()
            stack.extend(node.iter_child_nodes())
            self.line = node.lineno or self.line
            kind = type(node).__name__
            if isinstance(node, _LOADS):
                tag = f"{{% {kind.lower()} %}}"
                self._hit("AIR502", Severity.HIGH, f"{tag}, which loads another template", tag)
            elif kind not in self.allow.nodes:
                self._hit("AIR504", Severity.HIGH, f"the Jinja construct `{kind}`", kind)
            if isinstance(node, nodes.Const) and isinstance(node.value, str):
                for name in DUNDER.findall(node.value)[:3]:
                    self._hit("AIR501", Severity.CRITICAL, f"`{name}` in a string", name)
            if isinstance(node, nodes.Keyword) and DUNDER.search(node.key):
                self._hit("AIR501", Severity.CRITICAL, f"the argument name `{node.key}`", node.key)

    def _name_risk(self, name: str, what: str, *, member: bool) -> bool:
        """Report a name that is dangerous whatever it is looked up on; True if reported."""
        shown = name[:_SHOWN_NAME]
        dunder = DUNDER.search(name)
        if dunder or name.startswith("__"):
            subject = dunder[0] if dunder else shown
            self._hit("AIR501", Severity.CRITICAL, f"{what} `{shown}`", subject)
        elif name in self.allow.critical_names or (member and name in self.allow.critical_members):
            self._hit("AIR507", Severity.CRITICAL, f"{what} `{shown}`", name)
        elif name in (self.allow.high_members if member else self.allow.high_names):
            self._hit("AIR502", Severity.HIGH, f"{what} `{shown}`", name)
        elif member and name.startswith("_"):
            self._hit("AIR502", Severity.HIGH, f"private {what} `{shown}`", name)
        else:
            return False
        return True

    # -- statements --------------------------------------------------------------------------

    def _statements(self, body: list[nodes.Node]) -> None:
        for node in body:
            self.line = node.lineno or self.line
            self._statement(node)

    def _statement(self, node: nodes.Node) -> None:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                if not isinstance(child, nodes.TemplateData):
                    self.expr(child)
        elif isinstance(node, nodes.If):
            self.expr(node.test)
            self._statements(node.body)
            for branch in node.elif_:
                self._statement(branch)
            self._statements(node.else_)
        elif isinstance(node, nodes.For):
            items = elements(self.expr(node.iter))
            self._assign(node.target, items)
            self._bind(_LOOP_ITEMS, items)  # what `loop.previtem`/`loop.nextitem` may be
            if node.recursive:  # `loop(children)` runs the body again over what it is given
                self._assign(node.target, elements(self.env.get(_LOOP_ARGS, NOTHING)))
            if node.test is not None:
                self.expr(node.test)
            self._statements(node.body)
            self._statements(node.else_)
        elif isinstance(node, nodes.Assign):
            self._assign(node.target, self.expr(node.node))
        elif isinstance(node, nodes.AssignBlock):
            value = self._output_of(node.body)
            if node.filter is not None:
                value = self._filter_chain(node.filter, value)
            self._assign(node.target, value)
        elif isinstance(node, nodes.Macro):
            with_defaults = node.args[len(node.args) - len(node.defaults) :]
            for arg, default in zip(with_defaults, node.defaults, strict=True):
                self._bind(arg.name, self.expr(default))
            self._statements(node.body)
        elif isinstance(node, nodes.CallBlock):
            self._call(node.call)
            # `{% call(x) m() %}`: x is whatever the macro passes to `caller(...)`.
            for param in node.args:
                self._bind(param.name, self.env.get(_CALLER_ARGS, NOTHING).join(BUILT))
            self._statements(node.body)
        elif isinstance(node, nodes.FilterBlock):
            self._filter_chain(node.filter, self._output_of(node.body))
        elif isinstance(node, nodes.With):
            for target, given in zip(node.targets, node.values, strict=False):
                self._assign(target, self.expr(given))
            self._statements(node.body)
        elif isinstance(node, nodes.ExprStmt):
            self.expr(node.node)
        elif isinstance(node, (nodes.Scope, nodes.Template)):
            self._statements(node.body)
        elif isinstance(node, nodes.EvalContextModifier):
            for option in node.options:
                self.expr(option.value)
            if isinstance(node, nodes.ScopedEvalContextModifier):
                self._statements(node.body)

    def _output_of(self, body: list[nodes.Node]) -> Value:
        """The text a block of statements renders (`{% set x %}...{% endset %}`)."""
        parts: list[Value] = []
        for node in body:
            if isinstance(node, nodes.Output):
                for child in node.nodes:
                    if isinstance(child, nodes.TemplateData):
                        parts.append(const(child.data))
                    else:
                        parts.append(fold(str, self.expr(child)))
            else:  # branches, loops, calls: its text is not known statically
                self._statement(node)
                parts.append(BUILT)
        result = const("")
        for part in parts:
            result = fold(lambda a, b: str(a) + str(b), result, part)
        return result

    def _filter_chain(self, outer: nodes.Filter, value: Value) -> Value:
        """`{% set x | f | g %}` / `{% filter f | g %}`: the filters, innermost first, applied
        to the block's text (the innermost has no node of its own)."""
        chain: list[nodes.Filter] = []
        current: nodes.Node | None = outer
        while isinstance(current, nodes.Filter):
            chain.append(current)
            current = current.node
        for link in reversed(chain):
            value = self._filter(link, value)
        return value

    def _bind(self, name: str, value: Value) -> None:
        if name in self.widened:  # given up enumerating: stays given up
            value = widen(value, texts=self.widened[name])
        self.env[name] = bounded(self.env.get(name, NOTHING).join(value))

    def _assign(self, target: nodes.Node, value: Value) -> None:
        if isinstance(target, nodes.Name):
            self._bind(target.name, value)
        elif isinstance(target, nodes.NSRef):
            if DUNDER.search(target.attr) or target.attr.startswith("_"):
                self._name_risk(target.attr, "namespace member", member=True)
            self._bind(f"{_STORED}.{target.attr}", value)
        elif isinstance(target, (nodes.Tuple, nodes.List)):
            for item in target.items:
                self._assign(item, elements(value))

    # -- expressions -------------------------------------------------------------------------

    def expr(self, node: nodes.Node) -> Value:
        value = self._expr(node)
        for text in value.strings():  # a name assembled from pieces is that name
            match = DUNDER.search(text)
            if match and not isinstance(node, (nodes.Const, nodes.TemplateData)):
                reason = f"`{match[0][:_SHOWN_NAME]}` built from pieces"
                self._hit("AIR501", Severity.CRITICAL, reason, match[0])
        return value

    def _expr(self, node: nodes.Node) -> Value:
        self.line = node.lineno or self.line
        if isinstance(node, nodes.Const):
            return const(node.value) if hashable_const(node.value) else DATA
        if isinstance(node, nodes.TemplateData):
            return const(node.data)
        if isinstance(node, nodes.Name):
            return self._name(node.name)
        if isinstance(node, nodes.Getattr):
            return self._member(self.expr(node.node), const(node.attr), "attribute", False)
        if isinstance(node, nodes.Getitem):
            base = self.expr(node.node)
            if isinstance(node.arg, nodes.Slice):
                return self._slice(base, node.arg)
            return self._member(base, self.expr(node.arg), "key", False)
        if isinstance(node, nodes.Filter):
            return self._filter(node, self.expr(node.node) if node.node is not None else BUILT)
        if isinstance(node, nodes.Test):
            self._test(node)
            return NUMBER
        if isinstance(node, nodes.Call):
            return self._call(node)
        if isinstance(node, nodes.CondExpr):
            self.expr(node.test)
            other = self.expr(node.expr2) if node.expr2 is not None else NOTHING
            return self.expr(node.expr1).join(other)
        if isinstance(node, (nodes.And, nodes.Or)):
            return self.expr(node.left).join(self.expr(node.right))
        if isinstance(node, (nodes.Not, nodes.Compare)):
            for child in node.iter_child_nodes():
                self.expr(child)
            return NUMBER
        if isinstance(node, nodes.Operand):
            return self.expr(node.expr)
        if isinstance(node, (nodes.Neg, nodes.Pos)):
            return self._numeric(self.expr(node.node))
        if isinstance(node, nodes.Concat):
            result = const("")
            for part in node.nodes:
                result = fold(lambda a, b: str(a) + str(b), result, as_text(self.expr(part)))
            return result
        if isinstance(node, nodes.BinExpr):
            return self._binary(node)
        if isinstance(node, (nodes.List, nodes.Tuple)):
            items = [self.expr(item) for item in node.items]
            return container(items, tuple(single(item) for item in items))
        if isinstance(node, nodes.Dict):
            keys = [self.expr(pair.key) for pair in node.items]
            values = [self.expr(pair.value) for pair in node.items]
            return container(values, ConstDict(single(key) for key in keys)).join(
                Value(members=join_all(keys))
            )
        if isinstance(node, nodes.Slice):
            for child in node.iter_child_nodes():
                self.expr(child)
            return NUMBER
        for child in node.iter_child_nodes():  # a node type already reported by _node_types
            self.expr(child)
        return BUILT.join(obj("unknown"))

    def _name(self, name: str) -> Value:
        bound = self.env.get(name)
        # A variable the template sets may also come from the caller (`{% if x is not defined
        # %}{% set x = ... %}`): it is both.
        return self._free_name(name) if bound is None else bound.join(DATA)

    def _free_name(self, name: str) -> Value:
        if name == "loop":
            return obj("loop")
        if self._name_risk(name, "the name", member=False):
            return obj("python")
        if name in self.allow.gadget_globals:
            self._hit("AIR504", Severity.HIGH, f"Jinja's `{name}` global", name)
            return obj(f"global {name}")
        if name in self.allow.functions or name in _OBJECT_NAMES or name in self.macros:
            return obj(f"global {name}")
        return DATA  # a variable the caller passes in: the conversation

    def _binary(self, node: nodes.BinExpr) -> Value:
        left, right = self.expr(node.left), self.expr(node.right)
        numbers = is_number(left) and is_number(right)
        if isinstance(node, nodes.Add):
            if left.members is not None or right.members is not None:  # list + list
                members = join_all([elements(left), elements(right)])
                folded = fold(lambda a, b: a + b, left, right) if left.consts else NOTHING
                return Value(consts=folded.consts, members=members)
            return fold(lambda a, b: a + b, left, right, numeric=numbers)
        if isinstance(node, nodes.Mul):
            return fold(safe_repeat, left, right, numeric=numbers)
        if isinstance(node, nodes.Mod):
            return NUMBER if numbers else fold(safe_percent, left, right)
        return self._numeric(left.join(right))

    def _numeric(self, value: Value) -> Value:
        if value.objects:
            self._object_use(value, "arithmetic")
        return NUMBER

    def _slice(self, base: Value, node: nodes.Slice) -> Value:
        parts = (node.start, node.stop, node.step)
        bounds = [self.expr(part) if part is not None else const(None) for part in parts]
        if base.objects - {_NAMESPACE}:
            self._object_use(base, "a slice")
        result = Value(data=base.data, built=base.built or bool(base.objects), members=base.members)
        if base.consts:
            sliced = fold(lambda s, a, b, c: s[a:b:c], Value(consts=base.consts), *bounds)
            result = result.join(sliced)
        return result

    # -- members -----------------------------------------------------------------------------

    def _member(self, base: Value, key: Value, how: str, called: bool) -> Value:
        """`base.key` / `base[key]`: what it reaches, and what it evaluates to."""
        result = NOTHING
        own = base.objects == {_NAMESPACE}
        for name in key.strings():
            # A namespace's members are the template's own variables (`ns.system`): only the
            # names that reach its class matter.
            if own and not (DUNDER.search(name) or name.startswith("_")):
                result = result.join(self._named_member(base, name, called))
                continue
            if self._name_risk(name, how, member=True):
                result = result.join(obj("python"))
                continue
            result = result.join(self._named_member(base, name, called))
        for number in (c for c in key.consts if not isinstance(c, str)):
            result = result.join(self._indexed(base, number))
        if key.built:
            self._hit("AIR505", Severity.HIGH, f"an {how} name built while rendering", how)
            result = result.join(obj("python"))
        if key.data or key.objects:
            if base.objects - {_NAMESPACE}:
                self._object_use(base, f"an {how} named by conversation data")
            result = result.join(self._indexed(base, None))
            if _NAMESPACE in base.objects:
                stored = [v for k, v in self.env.items() if k.startswith(f"{_STORED}.")]
                result = result.join(join_all(stored))
        if key.number:
            result = result.join(self._indexed(base, None))
        return result

    def _indexed(self, base: Value, index: object) -> Value:
        """`base[index]` for a number (or unknown data) index."""
        result = Value(data=base.data, built=base.built)
        if base.members is not None:
            result = result.join(base.members)
        if base.objects - {_NAMESPACE}:
            result = result.join(obj("unknown"))
        for item in base.consts:
            if isinstance(item, (str, tuple)) and not isinstance(item, ConstDict):
                if isinstance(index, int):
                    result = result.join(fold(lambda s: s[index], const(item)))
                else:
                    result = result.join(elements(const(item)))
        return result

    def _named_member(self, base: Value, name: str, called: bool) -> Value:
        result = NOTHING
        for kind in sorted(base.objects):
            if kind == _NAMESPACE:
                result = result.join(self.env.get(f"{_STORED}.{name}", NOTHING))
            elif kind == "loop" and name in ("previtem", "nextitem"):
                result = result.join(self.env.get(_LOOP_ITEMS, NOTHING))
            elif kind == "loop" and name in self.allow.loop_members:
                number = name in self.allow.loop_number_members
                result = result.join(NUMBER if number else DATA)
            else:
                what = f"`.{name}()`" if called else f"`{name}`"
                subject = f"{kind}.{name}"
                self._hit("AIR506", Severity.HIGH, f"{what} of {kind}", subject)
                result = result.join(obj("python"))
        # On data, a plain name is a key or a method of str/list/dict: a bound method reaches
        # nothing without a dunder or computed name, which are judged on any base.
        if base.data or base.built:
            result = result.join(DATA if base.data else BUILT)
        if base.members is not None and any(isinstance(c, ConstDict) for c in base.consts):
            result = result.join(base.members)
        if base.members is not None and not base.consts:
            result = result.join(base.members)
        return result

    def _object_use(self, base: Value, what: str) -> None:
        for kind in sorted(base.objects - {_NAMESPACE}):
            self._hit("AIR506", Severity.HIGH, f"{what} on {kind}", f"{kind}:{what}")

    # -- calls -------------------------------------------------------------------------------

    def _call(self, node: nodes.Call) -> Value:
        args = [self.expr(arg) for arg in node.args]
        kwargs = {str(kw.key): self.expr(kw.value) for kw in node.kwargs}
        extras = (node.dyn_args, node.dyn_kwargs)  # f(*a, **k): what a and k hold
        spread = [elements(self.expr(extra)) for extra in extras if extra is not None]
        callee = node.node
        if isinstance(callee, nodes.Name) and callee.name not in self.env:
            return self._call_name(callee.name, args, kwargs, spread)
        passed = [*args, *spread]
        if isinstance(callee, nodes.Getattr):
            base = self.expr(callee.node)
            if self._name_risk(callee.attr, "method", member=True):
                return obj("python")
            return self._call_method(base, callee.attr, passed)
        value = self.expr(callee)
        return self._call_value(value, "a call", [*passed, *kwargs.values()])

    def _call_name(
        self, name: str, args: list[Value], kwargs: dict[str, Value], spread: list[Value]
    ) -> Value:
        if name in self.macros:
            macro = self.macros[name]
            for param, arg in zip(macro.args, args, strict=False):
                self._bind(param.name, arg)
            for key, value in kwargs.items():
                self._bind(key, value)
            if spread:  # which parameter gets what is known only rendering: all get all
                self._bind_macro(name, [*args, *spread, *kwargs.values()])
            self._bind("varargs", join_all([*args, *spread]))
            self._bind("kwargs", join_all(kwargs.values()))
            return self._macro_output(name)
        if spread and name in ("namespace", "dict"):
            self._hit("AIR506", Severity.HIGH, f"`{name}()` given `*`/`**` arguments", name)
        if name == "range":
            sizes = [c for arg in args for c in arg.consts if isinstance(c, int)]
            if any(abs(size) > MAX_RANGE for size in sizes):
                reason = f"a range over {MAX_RANGE} items (memory exhaustion outside a sandbox)"
                self._hit("AIR502", Severity.MEDIUM, reason, "range")
            return Value(number=True, members=NUMBER)
        if name == "namespace":
            if args:
                self._hit("AIR506", Severity.HIGH, "`namespace()` given a positional object",
                          "namespace-args")  # fmt: skip
            for key, value in kwargs.items():
                self._bind(f"{_STORED}.{key}", value)
            return obj(_NAMESPACE)
        if name == "dict":
            if args:
                self._hit(
                    "AIR506", Severity.HIGH, "`dict()` given a positional object", "dict-args"
                )
            keys = ConstDict(kwargs)
            return Value(consts=frozenset({keys}), members=join_all(kwargs.values()))
        if name in ("raise_exception", "strftime_now"):
            return DATA
        if name == "loop":  # a recursive for loop running its body again
            self._bind(_LOOP_ARGS, join_all([*args, *spread]))
            return BUILT.join(DATA)
        if name == "caller":
            self._bind(_CALLER_ARGS, join_all([*args, *spread, *kwargs.values()]))
            return BUILT.join(DATA)
        if name == "chr":  # not Jinja's, but a custom environment may add it: fold it too
            self._name_risk(name, "the function", member=False)
            return fold(chr, *args[:1])
        if name in self.allow.gadget_globals or name in _OBJECT_NAMES:
            return self._call_value(self._free_name(name), "a call", [*args, *spread])
        if not self._name_risk(name, "the function", member=False):
            reason = f"the function `{name[:_SHOWN_NAME]}`, which Jinja does not define"
            self._hit("AIR504", Severity.HIGH, reason, name)
        return BUILT.join(obj("python"))

    def _call_method(self, base: Value, name: str, args: list[Value]) -> Value:
        result = NOTHING
        for kind in sorted(base.objects):
            if kind == _NAMESPACE:
                stored = self.env.get(f"{_STORED}.{name}", NOTHING)
                result = result.join(self._call_value(stored, "a call", args))
            elif kind == "loop" and name in ("cycle", "changed"):
                result = result.join(join_all(args))
            else:
                self._hit("AIR506", Severity.HIGH, f"`.{name}()` of {kind}", f"{kind}.{name}")
                result = result.join(obj("python"))
        plain = Value(base.consts, base.data, base.number, base.built, members=base.members)
        if plain == NOTHING:
            return result
        if name not in self.allow.data_methods:
            reason = f"a call to `.{name[:_SHOWN_NAME]}()`, which chat templates do not use"
            self._hit("AIR506", Severity.HIGH, reason, f"call.{name}")
            return result.join(obj("python"))
        if name == "format" and (base.data or base.built):
            reason = "`.format()` on a string that is not in the template"
            self._hit("AIR506", Severity.HIGH, reason, "format")
        if name in self.allow.number_methods:
            return result.join(NUMBER)
        if name in ("items", "keys", "values", "get"):
            pairs = mapping_items(base)
            if name == "get":
                return result.join(elements(elements(pairs)))
            return result.join(pairs if name == "items" else elements(pairs))
        strings = Value(consts=frozenset(c for c in base.consts if isinstance(c, str)))
        if name in self.allow.combining_methods:
            receiver = Value(strings.consts, base.data, built=base.built)
            call = COMBINING.get(name) or string_method(name)
            return result.join(fold(call, receiver, *args))
        folded = fold(string_method(name), strings, *args) if strings.consts else NOTHING
        # Strip, split, lower...: conversation data stays data (substrings of it).
        return result.join(folded).join(Value(data=base.data, built=base.built))

    def _macro_output(self, name: str) -> Value:
        """The text macro `name` renders: `{% macro u() %}_{% endmacro %}` gives `_`. Once a
        walk (so nested macros cost linear time); recursion gives built text."""
        if name not in self.outputs:
            self.outputs[name] = BUILT.join(DATA)
            self.outputs[name] = self._output_of(self.macros[name].body)
        return self.outputs[name]

    def _bind_macro(self, name: str, passed: list[Value]) -> None:
        macro = self.macros[name]
        for param in macro.args:
            self._bind(param.name, join_all(passed))
        self._bind("varargs", join_all(passed))
        self._bind("kwargs", join_all(passed))

    def _call_value(self, value: Value, what: str, passed: list[Value]) -> Value:
        """A call of a value (`macros[i](...)`): fine for macros (given what is passed), `loop`
        and `caller`; anything else is a Python object being called."""
        for kind in sorted(value.objects):
            macro = kind.removeprefix("global ")
            if macro in self.macros:
                self._bind_macro(macro, passed)
                continue
            if kind == "loop":
                self._bind(_LOOP_ARGS, join_all(passed))
                continue
            if kind == "global caller":
                self._bind(_CALLER_ARGS, join_all(passed))
                continue
            self._hit("AIR506", Severity.HIGH, f"{what} of {kind}", f"call:{kind}")
        return BUILT.join(DATA).join(obj("python") if value.objects - {"loop"} else NOTHING)

    # -- filters and tests -------------------------------------------------------------------

    def _filter(self, node: nodes.Filter, base: Value) -> Value:
        name = node.name
        args = [self.expr(arg) for arg in node.args]
        kwargs = {str(kw.key): self.expr(kw.value) for kw in node.kwargs}
        for extra in (node.dyn_args, node.dyn_kwargs):
            if extra is not None:
                self.expr(extra)
                self._hit("AIR504", Severity.HIGH, "`*args`/`**kwargs` in a filter", "dyn-filter")
        if name not in self.allow.filters:
            self._hit("AIR504", Severity.HIGH, f"the filter `|{name[:_SHOWN_NAME]}`", f"|{name}")
            return BUILT.join(obj("python"))
        if base.objects - {_NAMESPACE}:
            self._object_use(base, f"`|{name}`")
        if name == "attr":
            key = args[0] if args else BUILT
            if key.data or key.number or key.objects:  # getattr by a name only known rendering
                key = key.join(BUILT)
            return self._member(base, key, "attribute (|attr)", False)
        looked_up = NOTHING
        if name in self.allow.attribute_filters:
            looked_up = self._attribute_arguments(name, base, args, kwargs)
        if name in ("map", "select", "reject", "selectattr", "rejectattr"):
            self._named_callables(name, args)
        if name in self.allow.number_filters:
            return NUMBER
        if name in ("default", "d"):
            return base.join(args[0] if args else NOTHING)
        if name in ("first", "last", "min", "max", "random"):
            return elements(base)
        if name in ("items", "dictsort"):
            return mapping_items(base)
        if name in ("map", "groupby", "batch", "slice", "list", "sort", "unique", "select",
                    "reject", "selectattr", "rejectattr", "reverse"):  # fmt: skip
            return self._sequence_filter(name, base, args, looked_up)
        if name in self.allow.combining_filters:
            return self._combining_filter(name, base, args)
        if name in _STRING_FILTERS:
            return pure(_STRING_FILTERS[name], as_text(base) if name == "string" else base)
        return Value(data=base.data, built=base.built or bool(base.consts))

    def _sequence_filter(
        self, name: str, base: Value, args: list[Value], looked_up: Value
    ) -> Value:
        """Filters that give a list: of what, shaped as Jinja shapes it (a list of lists for
        `|batch`, of (grouper, list) pairs for `|groupby`, of f(x) for `|map('f')`)."""
        items = elements(base)
        shell = Value(data=base.data, built=base.built)
        if name in ("batch", "slice"):
            return shell.join(Value(members=Value(data=base.data, members=items)))
        if name == "groupby":
            group = Value(data=base.data, members=items)
            return shell.join(Value(members=Value(members=looked_up.join(group))))
        if name == "map":
            if looked_up != NOTHING:
                mapped = looked_up
            elif args and args[0].strings() and not (args[0].built or args[0].data):
                mapped = join_all(self._mapped(f, items) for f in args[0].strings())
            else:
                mapped = BUILT.join(items)
            return shell.join(Value(members=mapped))
        folded = pure(_STRING_FILTERS[name], base) if name in _STRING_FILTERS else NOTHING
        return shell.join(Value(members=items)).join(folded)

    def _mapped(self, name: str, items: Value) -> Value:
        """What `|map('name', ...)` makes of each item (`attr` is judged by the caller)."""
        if name in _STRING_FILTERS:
            return pure(_STRING_FILTERS[name], items)
        if name in self.allow.number_filters:
            return NUMBER
        return Value(data=items.data, built=True, objects=items.objects)

    def _combining_filter(self, name: str, base: Value, args: list[Value]) -> Value:
        if name == "join":
            separator = args[0] if args else const("")
            if base.only_consts and separator.only_consts:
                return fold(lambda s, sep: safe_join(str(sep), s), base, separator)
            return BUILT
        if name == "replace" and len(args) >= 2:
            return fold(lambda s, a, b: safe_replace(str(s), a, b), base, args[0], args[1])
        if name == "format":
            return fold(lambda s, *a: safe_percent(s, a), base, *args)
        return BUILT

    def _attribute_arguments(
        self, name: str, base: Value, args: list[Value], kwargs: dict[str, Value]
    ) -> Value:
        """`map(attribute=...)`, `selectattr('x')`, `groupby('x')`, `sum('x')`...: member
        lookups on every element, by a dotted path (Jinja's make_attrgetter)."""
        position = self.allow.attribute_filters[name]
        names = [kwargs["attribute"]] if "attribute" in kwargs else []
        if position >= 0 and len(args) > position and "attribute" not in kwargs:
            names.append(args[position])
        if name == "map" and args and args[0].strings() == ["attr"] and len(args) > 1:
            names.append(args[1])  # map('attr', name)
        items = elements(base)
        result = NOTHING
        for key in names:
            how = f"attribute (|{name})"
            parts = Value(
                consts=frozenset(p for s in key.strings() for p in s.split(".")),
                data=key.data, built=key.built, objects=key.objects, number=key.number,
            )  # fmt: skip
            result = result.join(self._member(items, parts, how, False))
        return result

    def _named_callables(self, name: str, args: list[Value]) -> None:
        """`map('lower')`, `select('defined')`, `selectattr('x', 'equalto', y)`: the filter or
        test they name must be allowed too."""
        index = 1 if name in ("selectattr", "rejectattr") else 0
        if len(args) <= index:
            return
        chosen = args[index]
        table = self.allow.filters if name == "map" else self.allow.tests
        if chosen.built or chosen.data or chosen.objects:
            self._hit("AIR505", Severity.HIGH, f"a filter or test name computed in |{name}",
                      f"|{name}-name")  # fmt: skip
        for picked in chosen.strings():
            if picked not in table:
                self._hit("AIR504", Severity.HIGH, f"`{picked[:_SHOWN_NAME]}` named in |{name}",
                          f"|{name}:{picked}")  # fmt: skip

    def _test(self, node: nodes.Test) -> None:
        self.expr(node.node)
        for arg in node.args:
            self.expr(arg)
        for kw in node.kwargs:
            self.expr(kw.value)
        if node.name not in self.allow.tests:
            self._hit("AIR504", Severity.HIGH, f"the test `is {node.name[:_SHOWN_NAME]}`",
                      f"is {node.name}")  # fmt: skip


def walk(tree: nodes.Template) -> list[Hit]:
    """Everything in `tree` an unsandboxed render could use to run code, worst first."""
    return TemplateWalk(tree).run()
