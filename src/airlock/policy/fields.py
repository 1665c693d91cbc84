"""Convert one YAML node of a policy to a typed value; a ValueError says what is wrong with it."""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable
from typing import Any, TypeVar

import yaml

from airlock.findings import Severity
from airlock.policy.metrics import Metric
from airlock.scan.context import Kind
from airlock.suggest import did_you_mean

T = TypeVar("T")


class ItemError(ValueError):
    """A list item that breaks the schema; the error points at the item, not the list."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise ValueError("must be a single value")
    return yaml.safe_load(yaml.serialize(node))


def boolean(node: yaml.Node) -> bool:
    value = scalar(node)
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {node.value!r}")
    return value


def whole(node: yaml.Node) -> int:
    value = scalar(node)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"must be a whole number, not {node.value!r}")
    return value


def positive(node: yaml.Node) -> int:
    value = whole(node)
    if value < 1:
        raise ValueError(f"must be at least 1, not {value}")
    return value


def number(node: yaml.Node) -> float:
    value = scalar(node)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"must be a positive number, not {node.value!r}")
    return float(value)


def text(node: yaml.Node) -> str:
    value = scalar(node)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be text, not {node.value!r}")
    return value.strip()


def severity(node: yaml.Node) -> Severity:
    value = text(node)
    try:
        return Severity.parse(value)
    except ValueError as exc:
        hint = did_you_mean(value, [s.label for s in Severity])
        raise ValueError(f"{exc}{hint}") from None


def accelerator(node: yaml.Node) -> str:
    from airlock.fit.accelerators import catalog, find

    value = text(node)
    try:
        return find(value).id
    except KeyError as exc:
        names = {name: a.id for a in catalog() for name in (a.id, *a.aliases)}
        raise ValueError(f"{exc.args[0]}{did_you_mean(value, names)}") from None


def kind(node: yaml.Node) -> str:
    value = text(node).lower()
    known = [k.value for k in Kind if k not in (Kind.TEXT, Kind.UNKNOWN)]
    if value not in known:
        hint = did_you_mean(value, known) or f" (choose from {', '.join(known)})"
        raise ValueError(f"names an unknown format {value!r}{hint}")
    return value


def real(node: yaml.Node) -> float:
    value = scalar(node)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"must be a number, not {node.value!r}")
    return float(value)


def eval_metric(node: yaml.Node) -> Metric:
    from airlock.policy.metrics import resolve, spellings

    value = text(node)
    found = resolve(value)
    if found is None:
        hint = did_you_mean(value, spellings(value)) or " (docs/eval.md lists them)"
        raise ValueError(f"names a metric `airlock eval` does not report: {value!r}{hint}")
    return found


def on_missing(node: yaml.Node) -> str:
    value = text(node).lower()
    if value not in ("refuse", "conditional"):
        raise ValueError(f"must be refuse or conditional, not {node.value!r}")
    return value


def license_id(node: yaml.Node) -> str:
    """A license the knowledge base knows, by id, SPDX id, name or alias: its canonical id.

    A name that resolves to nothing is an error, never kept as typed: a deny list entry that
    matches no license would silently deny nothing.
    """
    from airlock.license import knowledge

    value = text(node)
    terms = knowledge.lookup(value)
    if terms is None:
        names = {
            name: t.id for t in knowledge.entries() for name in (t.id, t.spdx, *t.aliases) if name
        }
        hint = did_you_mean(value, names) or " (`airlock license PATH` prints a model's id)"
        raise ValueError(f"names a license Airlock does not know: {value!r}{hint}")
    return terms.id


def rule_id(node: yaml.Node) -> str:
    from airlock.rules import RULES

    value = text(node)
    names = {name.lower(): r.id for r in RULES.values() for name in (r.id, r.name)}
    if value.lower() not in names:  # an id (AIR101) or a name (pickle-dangerous-callable)
        hint = did_you_mean(value, names) or " (see docs/rules.md)"
        raise ValueError(f"names an unknown rule {value!r}{hint}")
    return names[value.lower()]


_SHA256 = re.compile(r"[0-9a-f]{64}")


def sha256(node: yaml.Node) -> str:
    value = text(node).lower().removeprefix("sha256:")
    if not _SHA256.fullmatch(value):
        raise ValueError(
            f"must be the finding's evidence digest as reports show it (sha256:<64 hex>), "
            f"not {node.value!r}"
        )
    return value


def data_sha256(node: yaml.Node) -> str:
    value = text(node).lower().removeprefix("sha256:")
    if not _SHA256.fullmatch(value):
        raise ValueError(
            f"must be the dataset's sha256 as `airlock eval` reports it (64 hex digits), "
            f"not {node.value!r}"
        )
    return value


def day(node: yaml.Node) -> datetime.date:
    value = scalar(node)  # YAML reads 2027-03-31 as a date already
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"must be a date such as 2027-03-31, not {node.value!r}") from None


def model_file(node: yaml.Node) -> str:
    value = text(node).replace("\\", "/").removeprefix("./")
    if value.startswith("/") or ".." in value.split("/"):
        raise ValueError(f"must be a path within the model folder, not {value!r}")
    return value


def dotted(node: yaml.Node) -> str:
    value = text(node)
    if "." not in value or not all(part.isidentifier() for part in value.split(".")):
        raise ValueError(f"must be a dotted name such as `collections.OrderedDict`: {value!r}")
    return value


def optional(convert: Callable[[yaml.Node], T]) -> Callable[[yaml.Node], T | None]:
    def read(node: yaml.Node) -> T | None:
        return None if node.tag == "tag:yaml.org,2002:null" else convert(node)

    return read


def items(convert: Callable[[yaml.Node], T]) -> Callable[[yaml.Node], tuple[T, ...]]:
    def read(node: yaml.Node) -> tuple[T, ...]:
        if not isinstance(node, yaml.SequenceNode):
            raise ValueError("must be a list")
        items = []
        for item in node.value:
            try:
                items.append(convert(item))
            except ValueError as exc:
                raise ItemError(item.start_mark.line + 1, f"item {exc}") from None
        return tuple(items)

    return read
