"""Which license a well-known base model repository carries, from data/licenses/base_models.toml.

A repository no row names is unknown: the caller says so and never assumes a permissive license.
"""

from __future__ import annotations

import fnmatch
import functools
import tomllib
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class BaseModel:
    patterns: tuple[str, ...]  # hub repo ids or globs, compared without regard to case
    licenses: tuple[str, ...]  # knowledge ids that bind derivatives
    source: str
    note: str = ""


@functools.cache
def rows() -> tuple[BaseModel, ...]:
    text = resources.files("airlock.data").joinpath("licenses", "base_models.toml")
    return tuple(
        BaseModel(tuple(r["patterns"]), tuple(r["licenses"]), r["source"], r.get("note", ""))
        for r in tomllib.loads(text.read_text("utf-8"))["base"]
    )


def lookup(repo: str) -> BaseModel | None:
    """The first row whose pattern matches `repo` (rows list exceptions before the rule)."""
    wanted = repo.strip().lower()
    for row in rows():
        if any(fnmatch.fnmatchcase(wanted, p.lower()) for p in row.patterns):
            return row
    return None
