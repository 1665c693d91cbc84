"""Calls in a Jinja template: macros (bound to what they are given), Jinja's globals
(`range`, `namespace`, `dict`, ...), methods of conversation data and anything else, which
reaches Python objects. A judge of the template walk (template_walk)."""

from __future__ import annotations

from jinja2 import nodes

from airlock.findings import Severity
from airlock.scan.analyzers.template_values import (
    BUILT,
    COMBINING,
    DATA,
    NOTHING,
    NUMBER,
    ConstDict,
    Value,
    elements,
    fold,
    join_all,
    mapping_items,
    obj,
    string_method,
)
from airlock.scan.analyzers.template_walker import (
    CALLER_ARGS,
    LOOP_ARGS,
    NAMESPACE,
    OBJECT_NAMES,
    SHOWN_NAME,
    STORED,
    Walker,
)

MAX_RANGE = 100_000  # Jinja's sandbox cap; a bigger range() is a memory bomb elsewhere


class CallJudge:
    def __init__(self, walk: Walker) -> None:
        self.walk = walk

    def call(self, node: nodes.Call) -> Value:
        args = [self.walk.expr(arg) for arg in node.args]
        kwargs = {str(kw.key): self.walk.expr(kw.value) for kw in node.kwargs}
        extras = (node.dyn_args, node.dyn_kwargs)  # f(*a, **k): what a and k hold
        spread = [elements(self.walk.expr(extra)) for extra in extras if extra is not None]
        callee = node.node
        if isinstance(callee, nodes.Name) and callee.name not in self.walk.env:
            return self._call_name(callee.name, args, kwargs, spread)
        passed = [*args, *spread]
        if isinstance(callee, nodes.Getattr):
            base = self.walk.expr(callee.node)
            if self.walk.name_risk(callee.attr, "method", member=True):
                return obj("python")
            return self._call_method(base, callee.attr, passed)
        value = self.walk.expr(callee)
        return self._call_value(value, "a call", [*passed, *kwargs.values()])

    def _call_name(
        self, name: str, args: list[Value], kwargs: dict[str, Value], spread: list[Value]
    ) -> Value:
        if name in self.walk.macros:
            macro = self.walk.macros[name]
            for param, arg in zip(macro.args, args, strict=False):
                self.walk.bind(param.name, arg)
            for key, value in kwargs.items():
                self.walk.bind(key, value)
            if spread:  # which parameter gets what is known only rendering: all get all
                self._bind_macro(name, [*args, *spread, *kwargs.values()])
            self.walk.bind("varargs", join_all([*args, *spread]))
            self.walk.bind("kwargs", join_all(kwargs.values()))
            return self._macro_output(name)
        if spread and name in ("namespace", "dict"):
            self.walk.hit("AIR506", Severity.HIGH, f"`{name}()` given `*`/`**` arguments", name)
        if name == "range":
            sizes = [c for arg in args for c in arg.consts if isinstance(c, int)]
            if any(abs(size) > MAX_RANGE for size in sizes):
                reason = f"a range over {MAX_RANGE} items (memory exhaustion outside a sandbox)"
                self.walk.hit("AIR502", Severity.MEDIUM, reason, "range")
            return Value(number=True, members=NUMBER)
        if name == "namespace":
            if args:
                self.walk.hit("AIR506", Severity.HIGH, "`namespace()` given a positional object",
                          "namespace-args")  # fmt: skip
            for key, value in kwargs.items():
                self.walk.bind(f"{STORED}.{key}", value)
            return obj(NAMESPACE)
        if name == "dict":
            if args:
                self.walk.hit(
                    "AIR506", Severity.HIGH, "`dict()` given a positional object", "dict-args"
                )
            keys = ConstDict(kwargs)
            return Value(consts=frozenset({keys}), members=join_all(kwargs.values()))
        if name in ("raise_exception", "strftime_now"):
            return DATA
        if name == "loop":  # a recursive for loop running its body again
            self.walk.bind(LOOP_ARGS, join_all([*args, *spread]))
            return BUILT.join(DATA)
        if name == "caller":
            self.walk.bind(CALLER_ARGS, join_all([*args, *spread, *kwargs.values()]))
            return BUILT.join(DATA)
        if name == "chr":  # not Jinja's, but a custom environment may add it: fold it too
            self.walk.name_risk(name, "the function", member=False)
            return fold(chr, *args[:1])
        if name in self.walk.allow.gadget_globals or name in OBJECT_NAMES:
            return self._call_value(self.walk.free_name(name), "a call", [*args, *spread])
        if not self.walk.name_risk(name, "the function", member=False):
            reason = f"the function `{name[:SHOWN_NAME]}`, which Jinja does not define"
            self.walk.hit("AIR504", Severity.HIGH, reason, name)
        return BUILT.join(obj("python"))

    def _call_method(self, base: Value, name: str, args: list[Value]) -> Value:
        result = NOTHING
        for kind in sorted(base.objects):
            if kind == NAMESPACE:
                stored = self.walk.env.get(f"{STORED}.{name}", NOTHING)
                result = result.join(self._call_value(stored, "a call", args))
            elif kind == "loop" and name in ("cycle", "changed"):
                result = result.join(join_all(args))
            else:
                self.walk.hit("AIR506", Severity.HIGH, f"`.{name}()` of {kind}", f"{kind}.{name}")
                result = result.join(obj("python"))
        plain = Value(base.consts, base.data, base.number, base.built, members=base.members)
        if plain == NOTHING:
            return result
        if name not in self.walk.allow.data_methods:
            reason = f"a call to `.{name[:SHOWN_NAME]}()`, which chat templates do not use"
            self.walk.hit("AIR506", Severity.HIGH, reason, f"call.{name}")
            return result.join(obj("python"))
        if name == "format" and (base.data or base.built):
            reason = "`.format()` on a string that is not in the template"
            self.walk.hit("AIR506", Severity.HIGH, reason, "format")
        if name in self.walk.allow.number_methods:
            return result.join(NUMBER)
        if name in ("items", "keys", "values", "get"):
            pairs = mapping_items(base)
            if name == "get":
                return result.join(elements(elements(pairs)))
            return result.join(pairs if name == "items" else elements(pairs))
        strings = Value(consts=frozenset(c for c in base.consts if isinstance(c, str)))
        if name in self.walk.allow.combining_methods:
            receiver = Value(strings.consts, base.data, built=base.built)
            call = COMBINING.get(name) or string_method(name)
            return result.join(fold(call, receiver, *args))
        folded = fold(string_method(name), strings, *args) if strings.consts else NOTHING
        # Strip, split, lower...: conversation data stays data (substrings of it).
        return result.join(folded).join(Value(data=base.data, built=base.built))

    def _macro_output(self, name: str) -> Value:
        """The text macro `name` renders: `{% macro u() %}_{% endmacro %}` gives `_`. Once a
        walk (so nested macros cost linear time); recursion gives built text."""
        if name not in self.walk.outputs:
            self.walk.outputs[name] = BUILT.join(DATA)
            self.walk.outputs[name] = self.walk.output_of(self.walk.macros[name].body)
        return self.walk.outputs[name]

    def _bind_macro(self, name: str, passed: list[Value]) -> None:
        macro = self.walk.macros[name]
        for param in macro.args:
            self.walk.bind(param.name, join_all(passed))
        self.walk.bind("varargs", join_all(passed))
        self.walk.bind("kwargs", join_all(passed))

    def _call_value(self, value: Value, what: str, passed: list[Value]) -> Value:
        """A call of a value (`macros[i](...)`): fine for macros (given what is passed), `loop`
        and `caller`; anything else is a Python object being called."""
        for kind in sorted(value.objects):
            macro = kind.removeprefix("global ")
            if macro in self.walk.macros:
                self._bind_macro(macro, passed)
                continue
            if kind == "loop":
                self.walk.bind(LOOP_ARGS, join_all(passed))
                continue
            if kind == "global caller":
                self.walk.bind(CALLER_ARGS, join_all(passed))
                continue
            self.walk.hit("AIR506", Severity.HIGH, f"{what} of {kind}", f"call:{kind}")
        return BUILT.join(DATA).join(obj("python") if value.objects - {"loop"} else NOTHING)
