"""Filters and tests in a Jinja template: the allowlist, member lookups hidden in their
arguments (`map(attribute=...)`, `|attr`), and what each gives (a number, a list of what, the
folded text). A judge of the template walk (template_walk)."""

from __future__ import annotations

from jinja2 import nodes

from airlock.findings import Severity
from airlock.scan.analyzers.template_values import (
    BUILT,
    NOTHING,
    NUMBER,
    Value,
    as_text,
    const,
    elements,
    fold,
    join_all,
    mapping_items,
    obj,
    pure,
    safe_join,
    safe_percent,
    safe_replace,
)
from airlock.scan.analyzers.template_walker import NAMESPACE, SHOWN_NAME, STRING_FILTERS, Walker


class FilterJudge:
    def __init__(self, walk: Walker) -> None:
        self.walk = walk

    def filter(self, node: nodes.Filter, base: Value) -> Value:
        name = node.name
        args = [self.walk.expr(arg) for arg in node.args]
        kwargs = {str(kw.key): self.walk.expr(kw.value) for kw in node.kwargs}
        for extra in (node.dyn_args, node.dyn_kwargs):
            if extra is not None:
                self.walk.expr(extra)
                self.walk.hit(
                    "AIR504", Severity.HIGH, "`*args`/`**kwargs` in a filter", "dyn-filter"
                )
        if name not in self.walk.allow.filters:
            self.walk.hit("AIR504", Severity.HIGH, f"the filter `|{name[:SHOWN_NAME]}`", f"|{name}")
            return BUILT.join(obj("python"))
        if base.objects - {NAMESPACE}:
            self.walk.object_use(base, f"`|{name}`")
        if name == "attr":
            key = args[0] if args else BUILT
            if key.data or key.number or key.objects:  # getattr by a name only known rendering
                key = key.join(BUILT)
            return self.walk.member(base, key, "attribute (|attr)", False)
        looked_up = NOTHING
        if name in self.walk.allow.attribute_filters:
            looked_up = self._attribute_arguments(name, base, args, kwargs)
        if name in ("map", "select", "reject", "selectattr", "rejectattr"):
            self._named_callables(name, args)
        if name in self.walk.allow.number_filters:
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
        if name in self.walk.allow.combining_filters:
            return self._combining_filter(name, base, args)
        if name in STRING_FILTERS:
            return pure(STRING_FILTERS[name], as_text(base) if name == "string" else base)
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
        folded = pure(STRING_FILTERS[name], base) if name in STRING_FILTERS else NOTHING
        return shell.join(Value(members=items)).join(folded)

    def _mapped(self, name: str, items: Value) -> Value:
        """What `|map('name', ...)` makes of each item (`attr` is judged by the caller)."""
        if name in STRING_FILTERS:
            return pure(STRING_FILTERS[name], items)
        if name in self.walk.allow.number_filters:
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
        position = self.walk.allow.attribute_filters[name]
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
            result = result.join(self.walk.member(items, parts, how, False))
        return result

    def _named_callables(self, name: str, args: list[Value]) -> None:
        """`map('lower')`, `select('defined')`, `selectattr('x', 'equalto', y)`: the filter or
        test they name must be allowed too."""
        index = 1 if name in ("selectattr", "rejectattr") else 0
        if len(args) <= index:
            return
        chosen = args[index]
        table = self.walk.allow.filters if name == "map" else self.walk.allow.tests
        if chosen.built or chosen.data or chosen.objects:
            self.walk.hit("AIR505", Severity.HIGH, f"a filter or test name computed in |{name}",
                      f"|{name}-name")  # fmt: skip
        for picked in chosen.strings():
            if picked not in table:
                self.walk.hit("AIR504", Severity.HIGH, f"`{picked[:SHOWN_NAME]}` named in |{name}",
                          f"|{name}:{picked}")  # fmt: skip

    def test(self, node: nodes.Test) -> None:
        self.walk.expr(node.node)
        for arg in node.args:
            self.walk.expr(arg)
        for kw in node.kwargs:
            self.walk.expr(kw.value)
        if node.name not in self.walk.allow.tests:
            self.walk.hit("AIR504", Severity.HIGH, f"the test `is {node.name[:SHOWN_NAME]}`",
                      f"is {node.name}")  # fmt: skip
