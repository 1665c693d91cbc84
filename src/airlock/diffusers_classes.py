"""Which classes a diffusers pipeline may name without custom code: the public classes of
diffusers and transformers and of diffusers' pipeline submodules, from
`data/diffusers_classes.toml` (written by tools/generate_diffusers_classes.py)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

# The libraries diffusers imports by name (pipeline_loading_utils.LOADABLE_CLASSES); any other
# library a model_index.json names is resolved from custom code or from what the caller imported.
LIBRARIES = ("diffusers", "transformers")


@dataclass(frozen=True)
class KnownClasses:
    diffusers_version: str
    transformers_version: str
    by_library: dict[str, frozenset[str]]  # diffusers, transformers, and pipeline submodules

    def library(self, name: str) -> bool:
        return name in self.by_library

    def has(self, library: str, cls: str) -> bool:
        return cls in self.by_library.get(library, frozenset())

    def anywhere(self, cls: str) -> bool:
        """Whether any of the libraries exports `cls` (a config's `_class_name` names no
        library: the component's entry in model_index.json does)."""
        return any(cls in classes for classes in self.by_library.values())


@cache
def known_classes() -> KnownClasses:
    text = resources.files("airlock.data").joinpath("diffusers_classes.toml").read_text("utf-8")
    data = tomllib.loads(text)
    by_library = {name: frozenset(map(str, data[name]["classes"])) for name in LIBRARIES}
    for module, classes in data["pipeline_modules"].items():
        by_library[str(module)] = frozenset(map(str, classes))
    versions = (str(data["diffusers"]["version"]), str(data["transformers"]["version"]))
    return KnownClasses(*versions, by_library)
