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

from jinja2 import nodes

from airlock.findings import Severity
from airlock.scan.analyzers.template_allowlist import JinjaAllowlist, allowlist
from airlock.scan.analyzers.template_calls import CallJudge
from airlock.scan.analyzers.template_filters import FilterJudge
from airlock.scan.analyzers.template_values import (
    BUILT,
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
    obj,
    safe_percent,
    safe_repeat,
    single,
    widen,
)
from airlock.scan.analyzers.template_walker import (
    CALLER_ARGS,
    DUNDER,
    LOOP_ARGS,
    LOOP_ITEMS,
    NAMESPACE,
    OBJECT_NAMES,
    SHOWN_NAME,
    STORED,
    Hit,
)

MAX_PASSES = 12  # walks until variables stop growing; real templates need 2 or 3
_WIDEN_NUMBERS_AFTER = 2  # walks after which a growing variable's numbers are given up
_WIDEN_TEXT_AFTER = 6  # ... and its strings (then built text: looking members up by it is high)
_LOADS = (nodes.Import, nodes.FromImport, nodes.Include, nodes.Extends)


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
        self.calls = CallJudge(self)
        self.filters = FilterJudge(self)

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
            self.hit("AIR505", Severity.HIGH, reason, "passes")
        return sorted(self.hits.values(), key=lambda hit: (-hit.severity, hit.line))

    # -- reporting ---------------------------------------------------------------------------

    def hit(self, rule_id: str, severity: Severity, reason: str, subject: str) -> None:
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
                self.hit("AIR502", Severity.HIGH, f"{tag}, which loads another template", tag)
            elif kind not in self.allow.nodes:
                self.hit("AIR504", Severity.HIGH, f"the Jinja construct `{kind}`", kind)
            if isinstance(node, nodes.Const) and isinstance(node.value, str):
                for name in DUNDER.findall(node.value)[:3]:
                    self.hit("AIR501", Severity.CRITICAL, f"`{name}` in a string", name)
            if isinstance(node, nodes.Keyword) and DUNDER.search(node.key):
                self.hit("AIR501", Severity.CRITICAL, f"the argument name `{node.key}`", node.key)

    def name_risk(self, name: str, what: str, *, member: bool) -> bool:
        """Report a name that is dangerous whatever it is looked up on; True if reported."""
        shown = name[:SHOWN_NAME]
        dunder = DUNDER.search(name)
        if dunder or name.startswith("__"):
            subject = dunder[0] if dunder else shown
            self.hit("AIR501", Severity.CRITICAL, f"{what} `{shown}`", subject)
        elif name in self.allow.critical_names or (member and name in self.allow.critical_members):
            self.hit("AIR507", Severity.CRITICAL, f"{what} `{shown}`", name)
        elif name in (self.allow.high_members if member else self.allow.high_names):
            self.hit("AIR502", Severity.HIGH, f"{what} `{shown}`", name)
        elif member and name.startswith("_"):
            self.hit("AIR502", Severity.HIGH, f"private {what} `{shown}`", name)
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
            self.bind(LOOP_ITEMS, items)  # what `loop.previtem`/`loop.nextitem` may be
            if node.recursive:  # `loop(children)` runs the body again over what it is given
                self._assign(node.target, elements(self.env.get(LOOP_ARGS, NOTHING)))
            if node.test is not None:
                self.expr(node.test)
            self._statements(node.body)
            self._statements(node.else_)
        elif isinstance(node, nodes.Assign):
            self._assign(node.target, self.expr(node.node))
        elif isinstance(node, nodes.AssignBlock):
            value = self.output_of(node.body)
            if node.filter is not None:
                value = self._filter_chain(node.filter, value)
            self._assign(node.target, value)
        elif isinstance(node, nodes.Macro):
            with_defaults = node.args[len(node.args) - len(node.defaults) :]
            for arg, default in zip(with_defaults, node.defaults, strict=True):
                self.bind(arg.name, self.expr(default))
            self._statements(node.body)
        elif isinstance(node, nodes.CallBlock):
            self.calls.call(node.call)
            # `{% call(x) m() %}`: x is whatever the macro passes to `caller(...)`.
            for param in node.args:
                self.bind(param.name, self.env.get(CALLER_ARGS, NOTHING).join(BUILT))
            self._statements(node.body)
        elif isinstance(node, nodes.FilterBlock):
            self._filter_chain(node.filter, self.output_of(node.body))
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

    def output_of(self, body: list[nodes.Node]) -> Value:
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
            value = self.filters.filter(link, value)
        return value

    def bind(self, name: str, value: Value) -> None:
        if name in self.widened:  # given up enumerating: stays given up
            value = widen(value, texts=self.widened[name])
        self.env[name] = bounded(self.env.get(name, NOTHING).join(value))

    def _assign(self, target: nodes.Node, value: Value) -> None:
        if isinstance(target, nodes.Name):
            self.bind(target.name, value)
        elif isinstance(target, nodes.NSRef):
            if DUNDER.search(target.attr) or target.attr.startswith("_"):
                self.name_risk(target.attr, "namespace member", member=True)
            self.bind(f"{STORED}.{target.attr}", value)
        elif isinstance(target, (nodes.Tuple, nodes.List)):
            for item in target.items:
                self._assign(item, elements(value))

    # -- expressions -------------------------------------------------------------------------

    def expr(self, node: nodes.Node) -> Value:
        value = self._expr(node)
        for text in value.strings():  # a name assembled from pieces is that name
            match = DUNDER.search(text)
            if match and not isinstance(node, (nodes.Const, nodes.TemplateData)):
                reason = f"`{match[0][:SHOWN_NAME]}` built from pieces"
                self.hit("AIR501", Severity.CRITICAL, reason, match[0])
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
            return self.member(self.expr(node.node), const(node.attr), "attribute", False)
        if isinstance(node, nodes.Getitem):
            base = self.expr(node.node)
            if isinstance(node.arg, nodes.Slice):
                return self._slice(base, node.arg)
            return self.member(base, self.expr(node.arg), "key", False)
        if isinstance(node, nodes.Filter):
            return self.filters.filter(
                node, self.expr(node.node) if node.node is not None else BUILT
            )
        if isinstance(node, nodes.Test):
            self.filters.test(node)
            return NUMBER
        if isinstance(node, nodes.Call):
            return self.calls.call(node)
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
        return self.free_name(name) if bound is None else bound.join(DATA)

    def free_name(self, name: str) -> Value:
        if name == "loop":
            return obj("loop")
        if self.name_risk(name, "the name", member=False):
            return obj("python")
        if name in self.allow.gadget_globals:
            self.hit("AIR504", Severity.HIGH, f"Jinja's `{name}` global", name)
            return obj(f"global {name}")
        if name in self.allow.functions or name in OBJECT_NAMES or name in self.macros:
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
            self.object_use(value, "arithmetic")
        return NUMBER

    def _slice(self, base: Value, node: nodes.Slice) -> Value:
        parts = (node.start, node.stop, node.step)
        bounds = [self.expr(part) if part is not None else const(None) for part in parts]
        if base.objects - {NAMESPACE}:
            self.object_use(base, "a slice")
        result = Value(data=base.data, built=base.built or bool(base.objects), members=base.members)
        if base.consts:
            sliced = fold(lambda s, a, b, c: s[a:b:c], Value(consts=base.consts), *bounds)
            result = result.join(sliced)
        return result

    # -- members -----------------------------------------------------------------------------

    def member(self, base: Value, key: Value, how: str, called: bool) -> Value:
        """`base.key` / `base[key]`: what it reaches, and what it evaluates to."""
        result = NOTHING
        own = base.objects == {NAMESPACE}
        for name in key.strings():
            # A namespace's members are the template's own variables (`ns.system`): only the
            # names that reach its class matter.
            if own and not (DUNDER.search(name) or name.startswith("_")):
                result = result.join(self._named_member(base, name, called))
                continue
            if self.name_risk(name, how, member=True):
                result = result.join(obj("python"))
                continue
            result = result.join(self._named_member(base, name, called))
        for number in (c for c in key.consts if not isinstance(c, str)):
            result = result.join(self._indexed(base, number))
        if key.built:
            self.hit("AIR505", Severity.HIGH, f"an {how} name built while rendering", how)
            result = result.join(obj("python"))
        if key.data or key.objects:
            if base.objects - {NAMESPACE}:
                self.object_use(base, f"an {how} named by conversation data")
            result = result.join(self._indexed(base, None))
            if NAMESPACE in base.objects:
                stored = [v for k, v in self.env.items() if k.startswith(f"{STORED}.")]
                result = result.join(join_all(stored))
        if key.number:
            result = result.join(self._indexed(base, None))
        return result

    def _indexed(self, base: Value, index: object) -> Value:
        """`base[index]` for a number (or unknown data) index."""
        result = Value(data=base.data, built=base.built)
        if base.members is not None:
            result = result.join(base.members)
        if base.objects - {NAMESPACE}:
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
            if kind == NAMESPACE:
                result = result.join(self.env.get(f"{STORED}.{name}", NOTHING))
            elif kind == "loop" and name in ("previtem", "nextitem"):
                result = result.join(self.env.get(LOOP_ITEMS, NOTHING))
            elif kind == "loop" and name in self.allow.loop_members:
                number = name in self.allow.loop_number_members
                result = result.join(NUMBER if number else DATA)
            else:
                what = f"`.{name}()`" if called else f"`{name}`"
                subject = f"{kind}.{name}"
                self.hit("AIR506", Severity.HIGH, f"{what} of {kind}", subject)
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

    def object_use(self, base: Value, what: str) -> None:
        for kind in sorted(base.objects - {NAMESPACE}):
            self.hit("AIR506", Severity.HIGH, f"{what} on {kind}", f"{kind}:{what}")


def walk(tree: nodes.Template) -> list[Hit]:
    """Everything in `tree` an unsandboxed render could use to run code, worst first."""
    return TemplateWalk(tree).run()
