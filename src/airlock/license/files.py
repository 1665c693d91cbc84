"""Which files at the top of a model folder state a license, and what each covers: the weights,
the code, or everything (data/licenses/files.toml)."""

from __future__ import annotations

import fnmatch
import functools
import tomllib
from dataclasses import dataclass
from importlib import resources

WEIGHTS, CODE, UNSPECIFIED = "weights", "code", "unspecified"
_SOURCE = {"license": "license file", "notice": "notice file", "policy": "use policy"}


@dataclass(frozen=True)
class LicenseFile:
    source: str  # license file | notice file | use policy
    role: str  # model | code | notice | policy: only model claims decide the model's answer
    component: str  # weights | code | unspecified


@functools.cache
def _patterns() -> tuple[tuple[str, str, str], ...]:
    source = resources.files("airlock.data").joinpath("licenses", "files.toml")
    rows = tomllib.loads(source.read_text("utf-8"))["file"]
    return tuple((row["glob"], row["kind"], row["component"]) for row in rows)


def classify(name: str) -> LicenseFile | None:
    """What the file called `name` is, or None when it states no license."""
    lowered = name.lower()
    for glob, kind, component in _patterns():
        if fnmatch.fnmatchcase(lowered, glob):
            role = {"license": "code" if component == CODE else "model"}.get(kind, kind)
            return LicenseFile(_SOURCE[kind], role, component)
    return None
