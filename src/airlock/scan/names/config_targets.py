"""Whether a callable that a config names may be imported and called: decided by allowlist.

Hydra's `instantiate` (`_target_`), LightningCLI / jsonargparse (`class_path`), PyYAML python
tags and Keras model configs all import a dotted name and call it with values from the file.
A name is judged by what it resolves to first (the pickle denylist, through re-exports such as
`torch.os.system`: critical), then against `data/config_targets.toml` and the pickle allowlist
(allowed); everything else is unknown code, which is high.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from airlock.scan.names.pickle_globals import GlobalsPolicy, Status

# A dotted path as an importer reads one: identifiers separated by single dots.
DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_CLASS_NAME = re.compile(r"[A-Z][A-Za-z0-9_]*")


@dataclass(frozen=True)
class TargetVerdict:
    status: Status
    why: str = ""  # for DANGEROUS: what the callable does


@dataclass(frozen=True)
class TargetLists:
    names: frozenset[str]
    namespaces: frozenset[str]
    keras_names: frozenset[str]
    keras_functions: frozenset[str]  # bare names Keras resolves `"module": "builtins"` to


def judge_target(dotted: str, extra: frozenset[str] = frozenset()) -> TargetVerdict:
    """What calling the callable at `dotted` (a config's target) amounts to.

    `extra`: exact names an organization trusts (its own classes)."""
    name = dotted.strip()
    verdict = GlobalsPolicy.default().judge(name)
    if verdict.status is Status.DANGEROUS:
        return TargetVerdict(Status.DANGEROUS, verdict.why)
    if verdict.status is Status.ALLOWED or name in extra or is_listed(name):
        return TargetVerdict(Status.ALLOWED)
    return TargetVerdict(Status.UNKNOWN)


def is_listed(dotted: str) -> bool:
    """On config_targets.toml: an exact name, or a class directly inside a namespace."""
    lists = target_lists()
    if dotted in lists.names or dotted in lists.keras_names:
        return True
    module, _, member = dotted.rpartition(".")
    return module in lists.namespaces and _CLASS_NAME.fullmatch(member) is not None


@cache
def target_lists() -> TargetLists:
    text = resources.files("airlock.data").joinpath("config_targets.toml").read_text("utf-8")
    data = tomllib.loads(text)
    names: set[str] = set()
    namespaces: set[str] = set()
    for key, section in data.items():
        if key == "keras_generated":
            continue
        expansions = {
            "{pl}": [str(p) for p in section.get("packages", [])],
            "{auto}": [str(a) for a in section.get("autos", [])],
        }
        for entry in section.get("names", []):
            names.update(_expand(str(entry), expansions))
        namespaces.update(str(n) for n in section.get("namespaces", []))
    keras = data.get("keras_generated", {})
    return TargetLists(
        frozenset(names),
        frozenset(namespaces),
        frozenset(str(n) for n in keras.get("names", [])),
        frozenset(str(n) for n in keras.get("builtin_functions", [])),
    )


def _expand(entry: str, expansions: dict[str, list[str]]) -> list[str]:
    for placeholder, values in expansions.items():
        if placeholder in entry:
            return [entry.replace(placeholder, value) for value in values]
    return [entry]
