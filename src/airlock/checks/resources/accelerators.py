"""The accelerator catalog (`airlock/data/accelerators.toml`): memory, bandwidth, BF16 TFLOPS."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

GIB = 2**30
# Tensor parallelism splits attention heads evenly, so engines take 1, 2, 4 or 8 devices in a
# node; beyond one node, whole 8-device nodes.
_NODE = 8


@dataclass(frozen=True)
class Accelerator:
    id: str
    name: str
    aliases: tuple[str, ...]
    memory_bytes: int
    bandwidth_bytes_s: float
    bf16_tflops: float  # 0 when not published
    usable: float  # share of memory a serving engine fills
    max_devices: int | None  # None: any number of nodes
    source: str

    @property
    def usable_bytes(self) -> int:
        return int(self.memory_bytes * self.usable)

    def matches(self, name: str) -> bool:
        wanted = name.strip().lower().replace(" ", "-").replace("_", "-")
        return wanted == self.id or wanted in self.aliases


def _accelerator(row: dict[str, Any]) -> Accelerator:
    return Accelerator(
        id=row["id"],
        name=row["name"],
        aliases=tuple(row.get("aliases", ())),
        memory_bytes=int(row["memory_gib"] * GIB),
        bandwidth_bytes_s=float(row["bandwidth_gb_s"]) * 1e9,
        bf16_tflops=float(row["bf16_tflops"]),
        usable=float(row["usable"]),
        max_devices=row.get("max_devices"),
        source=row["source"],
    )


@cache
def catalog() -> tuple[Accelerator, ...]:
    text = resources.files("airlock.data").joinpath("accelerators.toml").read_text("utf-8")
    return tuple(_accelerator(row) for row in tomllib.loads(text)["accelerator"])


def find(name: str) -> Accelerator:
    """The accelerator called `name` (id or alias, any case); KeyError lists the choices."""
    for accelerator in catalog():
        if accelerator.matches(name):
            return accelerator
    choices = ", ".join(a.id for a in catalog())
    raise KeyError(f"unknown accelerator {name!r} (choose from: {choices})")


def devices_needed(required_bytes: int, accelerator: Accelerator) -> int:
    """Devices whose usable memory holds `required_bytes`, rounded to a tensor-parallel size."""
    raw = max(1, -(-required_bytes // accelerator.usable_bytes))
    if raw <= _NODE:
        return 1 << (raw - 1).bit_length()
    return -(-raw // _NODE) * _NODE
