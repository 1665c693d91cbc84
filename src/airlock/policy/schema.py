"""Read a policy from YAML and validate it; every error names the file and line it is about.

PyYAML's composer keeps each node's position, so validation walks nodes, not plain values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TypeVar

import yaml

from airlock.findings import Severity
from airlock.policy.fields import (
    ItemError,
    accelerator,
    boolean,
    data_sha256,
    day,
    dotted,
    eval_metric,
    items,
    kind,
    license_id,
    model_file,
    number,
    on_missing,
    optional,
    positive,
    real,
    rule_id,
    severity,
    sha256,
    text,
    whole,
)
from airlock.policy.model import (
    FormatRules,
    LicenseRules,
    Policy,
    QualityRule,
    ResourceRules,
    SignatureRules,
    Waiver,
)
from airlock.suggest import did_you_mean

POLICY_VERSION = 1
DEFAULT_NAME = "default.yaml"
T = TypeVar("T")
_NONE: tuple[str, ...] = ()


class PolicyError(ValueError):
    """A policy file that cannot be read or breaks the schema: `file:line: what is wrong`."""


def default_policy() -> Policy:
    data = resources.files("airlock.data").joinpath("policy", DEFAULT_NAME).read_bytes()
    return parse_policy(data, "default")


def load_policy(path: str | Path) -> Policy:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy: {exc.strerror or exc}") from None
    return parse_policy(data, str(path), base=Path(path).parent)


def parse_policy(data: bytes, source: str, base: Path | None = None) -> Policy:
    """`base` is where relative key paths are resolved (the policy file's folder)."""
    try:
        root = yaml.compose(data.decode("utf-8"), Loader=yaml.SafeLoader)
    except UnicodeDecodeError:
        raise PolicyError(f"{source}: not UTF-8 text") from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise PolicyError(f"{source}:{line}: not valid YAML: {exc.problem}") from None
    if root is None:
        raise PolicyError(f"{source}:1: the policy is empty")
    top = _Section(root, source, "policy")
    version = top.get("version", whole, None)
    if version != POLICY_VERSION:
        raise PolicyError(f"{top.where('version')}: `version: {POLICY_VERSION}` is required")
    name = top.get("name", text, Path(source).stem)
    lic = top.section("license")
    sig = top.section("signature")
    fmt = top.section("formats")
    res = top.section("resources")
    keys = sig.get("trusted_keys", items(text), _NONE)
    return Policy(
        name=name,
        source=source,
        digest="sha256:" + hashlib.sha256(data).hexdigest(),
        license=LicenseRules(
            allow_unknown=lic.get("allow_unknown", boolean, False),
            require_commercial_use=lic.get("require_commercial_use", boolean, True),
            allow_non_commercial=lic.get("allow_non_commercial", boolean, False),
            allow_output_restrictions=lic.get("allow_output_restrictions", boolean, True),
            # Resolved to knowledge-base ids: `Llama 3.1` and `llama-3.1` both deny `llama3.1`.
            allowed=lic.get("allowed", items(license_id), _NONE),
            denied=lic.get("denied", items(license_id), _NONE),
        ),
        max_severity=top.section("findings").get("max_severity", severity, Severity.LOW),
        signature=SignatureRules(
            required=sig.get("required", boolean, False),
            trusted_keys=tuple(_key_path(k, base, sig) for k in keys),
        ),
        formats=FormatRules(
            refused=fmt.get("refused", items(kind), _NONE),
            refuse_pickle_beside_safetensors=fmt.get(
                "refuse_pickle_beside_safetensors", boolean, True
            ),
        ),
        resources=ResourceRules(
            max_memory_gib=res.get("max_memory_gib", optional(number), None),
            accelerator=res.get("accelerator", optional(accelerator), None),
            max_devices=res.get("max_devices", positive, 1),
            allow_unknown_size=res.get("allow_unknown_size", boolean, False),
        ),
        pickle_globals=top.section("pickle").get("allowed_globals", items(dotted), _NONE),
        waivers=_waivers(top.values.get("waivers"), source),
        quality=_quality(top.values.get("quality"), source),
    )


def _waivers(node: yaml.Node | None, source: str) -> tuple[Waiver, ...]:
    found = []
    for item in _list(node, source, "waivers"):
        waiver = _Section(item, source, "waivers")
        found.append(
            Waiver(
                rule=waiver.require("rule", rule_id),
                file=waiver.require("file", model_file),
                evidence=waiver.require("evidence", sha256),
                reason=waiver.require("reason", text),
                expires=waiver.require("expires", day),
                by=waiver.require("by", text),
                where=f"{source}:{waiver.line}",
            )
        )
    return tuple(found)


def _quality(node: yaml.Node | None, source: str) -> tuple[QualityRule, ...]:
    found = []
    for item in _list(node, source, "quality"):
        rule = _Section(item, source, "quality")
        metric = rule.require("metric", eval_metric)
        bounds = [key for key in ("min", "max") if key in rule.values]
        if len(bounds) != 1:
            what = "sets both `min` and `max`: set one" if bounds else "needs `min` or `max`"
            raise PolicyError(f"{source}:{rule.line}: `quality` entry {what}")
        bound = bounds[0]
        threshold = rule.require(bound, real)
        wanted = "min" if metric.higher_is_better else "max"
        if bound != wanted:
            better = "higher" if metric.higher_is_better else "lower"
            raise PolicyError(
                f"{rule.where(bound)}: `quality.{bound}` {metric.name} is better when {better}: "
                f"set `{wanted}`"
            )
        top = metric.highest
        if threshold < metric.lowest or (top is not None and threshold > top):
            scale = f"between {metric.lowest:g} and {top:g}" if top is not None else "at least 0"
            raise PolicyError(
                f"{rule.where(bound)}: `quality.{bound}` {metric.name} is {scale}, "
                f"not {threshold:g}"
            )
        found.append(
            QualityRule(
                dataset=rule.require("dataset", text),
                metric=metric.name,
                min=threshold if bound == "min" else None,
                max=threshold if bound == "max" else None,
                sha256=rule.get("sha256", data_sha256, None),
                on_missing=rule.get("on_missing", on_missing, "refuse"),
                where=f"{source}:{rule.line}",
            )
        )
    return tuple(found)


def _list(node: yaml.Node | None, source: str, name: str) -> list[yaml.Node]:
    if node is None or node.tag == "tag:yaml.org,2002:null":
        return []
    if not isinstance(node, yaml.SequenceNode):
        raise PolicyError(f"{source}:{node.start_mark.line + 1}: `{name}` must be a list")
    return list(node.value)


_KEYS = {
    "policy": {"version", "name", "license", "findings", "signature", "formats", "resources",
               "pickle", "waivers", "quality"},
    "license": {"allow_unknown", "require_commercial_use", "allow_non_commercial",
                "allow_output_restrictions", "allowed", "denied"},
    "findings": {"max_severity"},
    "signature": {"required", "trusted_keys"},
    "formats": {"refused", "refuse_pickle_beside_safetensors"},
    "resources": {"max_memory_gib", "accelerator", "max_devices", "allow_unknown_size"},
    "pickle": {"allowed_globals"},
    "waivers": {"rule", "file", "evidence", "reason", "expires", "by"},
    "quality": {"dataset", "sha256", "metric", "min", "max", "on_missing"},
}  # fmt: skip


_LISTS = ("waivers", "quality")  # sections that are lists of mappings


class _Section:
    """One mapping of the policy, its keys checked against the schema."""

    def __init__(self, node: yaml.Node | None, source: str, name: str) -> None:
        self.source = source
        self.name = name
        self.line = node.start_mark.line + 1 if node is not None else 1
        self.values: dict[str, yaml.Node] = {}
        if node is None:
            return
        if not isinstance(node, yaml.MappingNode):
            what = f"each of `{name}`" if name in _LISTS else f"`{name}`"
            raise PolicyError(f"{source}:{self.line}: {what} must be a mapping of settings")
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key not in _KEYS[name]:
                known = sorted(_KEYS[name])  # sorted: the same suggestion on every run
                hint = did_you_mean(key, known) or f" ({', '.join(known)})"
                raise PolicyError(f"{source}:{line}: unknown setting `{key}` in `{name}`{hint}")
            if key in self.values:
                raise PolicyError(f"{source}:{line}: `{key}` is set twice")
            self.values[key] = value_node

    def where(self, key: str) -> str:
        node = self.values.get(key)
        return f"{self.source}:{node.start_mark.line + 1 if node is not None else self.line}"

    def section(self, key: str) -> _Section:
        return _Section(self.values.get(key), self.source, key)

    def require(self, key: str, convert: Callable[[yaml.Node], T]) -> T:
        if key not in self.values:
            raise PolicyError(f"{self.source}:{self.line}: `{self.name}` entry needs `{key}`")
        return self._convert(key, convert)

    def get(self, key: str, convert: Callable[[yaml.Node], T], default: T) -> T:
        return self._convert(key, convert) if key in self.values else default

    def _convert(self, key: str, convert: Callable[[yaml.Node], T]) -> T:
        try:
            return convert(self.values[key])
        except ItemError as exc:
            raise PolicyError(f"{self.source}:{exc.line}: `{self.name}.{key}` {exc}") from None
        except ValueError as exc:
            raise PolicyError(f"{self.where(key)}: `{self.name}.{key}` {exc}") from None


def _key_path(text: str, base: Path | None, section: _Section) -> Path:
    from airlock.provenance.errors import ProvenanceError
    from airlock.provenance.keys import check_public_key

    path = Path(text).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    if not path.is_file():
        raise PolicyError(f"{section.where('trusted_keys')}: trusted key {text!r} is not a file")
    try:  # a key nothing can verify against would only show up later as "invalid signature"
        check_public_key(path)
    except ProvenanceError as exc:
        raise PolicyError(f"{section.where('trusted_keys')}: trusted key {exc}") from None
    return path
