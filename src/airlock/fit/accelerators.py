"""The accelerator catalog (`airlock/data/accelerators.toml`): memory, bandwidth, BF16 TFLOPS,
and the runtime memory each kind of target takes (a GPU's CUDA context is not a CPU process)."""

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
class Runtime:
    bytes: int
    source: str


@dataclass(frozen=True)
class Accelerator:
    """A target to run on: a GPU from the catalog, or the CPU of a machine (machine.py)."""

    id: str
    name: str
    aliases: tuple[str, ...]
    memory_bytes: int
    bandwidth_bytes_s: float  # 0 when unknown (a CPU without a known bandwidth)
    tflops: float  # dense matrix throughput at `tflops_precision`; 0 when not published
    usable: float  # share of memory a serving engine fills
    max_devices: int | None  # None: any number of nodes
    source: str
    kind: str = "gpu"  # gpu, unified (Apple silicon) or cpu
    tflops_precision: str = "bf16"  # a CPU's figure is FP32

    @property
    def usable_bytes(self) -> int:
        return int(self.memory_bytes * self.usable)

    @property
    def runtime(self) -> Runtime:
        return runtimes()[self.kind]

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
        tflops=float(row["bf16_tflops"]),
        usable=float(row["usable"]),
        max_devices=row.get("max_devices"),
        source=row["source"],
        kind=row.get("kind", "gpu"),
    )


@cache
def data() -> dict[str, Any]:
    text = resources.files("airlock.data").joinpath("accelerators.toml").read_text("utf-8")
    return tomllib.loads(text)


@cache
def catalog() -> tuple[Accelerator, ...]:
    return tuple(_accelerator(row) for row in data()["accelerator"])


@cache
def runtimes() -> dict[str, Runtime]:
    return {
        kind: Runtime(round(row["gib"] * GIB), row["source"])
        for kind, row in data()["runtime"].items()
    }


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
