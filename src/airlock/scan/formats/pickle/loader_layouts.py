"""The knowledge in `data/loader_layouts.toml`, read once: what loaders read besides opcodes."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from airlock.data import load_compiled


@dataclass(frozen=True)
class NumpyKnowledge:
    constructors: frozenset[str]
    record_types: frozenset[str]
    flexible_kinds: frozenset[str]
    fixed_sizes: dict[str, tuple[int, ...]]


@dataclass(frozen=True)
class JoblibKnowledge:
    init_parameters: tuple[str, ...]
    init_required: int
    init_default_alignment: int
    instantiators: frozenset[str]


@dataclass(frozen=True)
class TorchLegacyKnowledge:
    storages_member: str
    tensors_member: str
    pickled_members: frozenset[str]
    storage_modules: frozenset[str]
    element_sizes: dict[str, int]


@dataclass(frozen=True)
class Layouts:
    numpy: NumpyKnowledge
    joblib: JoblibKnowledge
    torch_legacy: TorchLegacyKnowledge


@functools.cache
def layouts() -> Layouts:
    raw = load_compiled("loader_layouts.toml")  # the TOML, from its JSON copy (start-up)
    numpy, joblib, torch = raw["numpy"], raw["joblib"], raw["torch_legacy"]
    return Layouts(
        NumpyKnowledge(
            frozenset(numpy["constructors"]),
            frozenset(numpy["record_types"]),
            frozenset(numpy["flexible_kinds"]),
            {kind: tuple(sizes) for kind, sizes in numpy["fixed_sizes"].items()},
        ),
        JoblibKnowledge(
            tuple(joblib["init_parameters"]),
            int(joblib["init_required"]),
            int(joblib["init_default_alignment"]),
            frozenset(joblib["instantiators"]),
        ),
        TorchLegacyKnowledge(
            str(torch["storages_member"]),
            str(torch["tensors_member"]),
            frozenset(torch["pickled_members"]),
            frozenset(torch["storage_modules"]),
            {name: int(size) for name, size in torch["element_sizes"].items()},
        ),
    )
