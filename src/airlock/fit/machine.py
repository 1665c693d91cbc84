"""The CPU as a target: a machine's RAM, cores, memory bandwidth and FP32 throughput.

What the local machine says about itself is read cheaply (no benchmark): RAM from the OS (and a
container's cgroup limit, if lower), cores and instruction sets from /proc/cpuinfo (sysctl on
macOS). Memory bandwidth cannot be read: it comes from `--memory-bandwidth`, else from a table of
CPU families in accelerators.toml matched on the model name, else it is unknown and the decode
speed is not estimated. FP32 peak is cores x clock x FLOPs per cycle for the instruction sets the
CPU lists (or `--cpu-gflops`). Every figure carries where it came from.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from airlock.fit.accelerators import GIB, Accelerator, data

_CPUINFO = Path("/proc/cpuinfo")
_CGROUP_LIMITS = (Path("/sys/fs/cgroup/memory.max"),
                  Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))  # fmt: skip
_MAX_FREQ = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")  # kHz


@dataclass(frozen=True)
class Probe:
    """What a machine says about itself."""

    cpu: str  # model name, "" when not reported
    vendor: str
    flags: frozenset[str]
    logical_cpus: int  # this process may run on
    physical_cores: int
    clock_hz: float  # 0 when not reported
    memory_bytes: int
    memory_basis: str


@dataclass(frozen=True)
class Machine:
    """A CPU target's figures, each with its basis (read, given, table, or unknown)."""

    cpu: str
    cores: int  # physical
    memory_bytes: int
    memory_basis: str
    bandwidth_bytes_s: float | None
    bandwidth_basis: str
    fp32_flops: float | None
    flops_basis: str
    sources: tuple[str, ...] = ()  # where the table figures come from


def describe(
    probe: Probe,
    ram_gib: float | None = None,
    bandwidth_gb_s: float | None = None,
    gflops: float | None = None,
) -> Machine:
    """The machine `probe` read, with what the user gave (--ram, --memory-bandwidth,
    --cpu-gflops) taking precedence."""
    memory, memory_basis = probe.memory_bytes, probe.memory_basis
    if ram_gib is not None:
        memory, memory_basis = int(ram_gib * GIB), "given with --ram"
    bandwidth, bandwidth_basis, bandwidth_source = _bandwidth(probe.cpu)
    if bandwidth_gb_s is not None:
        bandwidth, bandwidth_basis = bandwidth_gb_s * 1e9, "given with --memory-bandwidth"
        bandwidth_source = ""
    flops, flops_basis, flops_source = _peak_flops(probe)
    if gflops is not None:
        flops, flops_basis, flops_source = gflops * 1e9, "given with --cpu-gflops", ""
    return Machine(
        cpu=probe.cpu or "unknown CPU",
        cores=probe.physical_cores,
        memory_bytes=memory,
        memory_basis=memory_basis,
        bandwidth_bytes_s=bandwidth,
        bandwidth_basis=bandwidth_basis,
        fp32_flops=flops,
        flops_basis=flops_basis,
        sources=tuple(found for found in (bandwidth_source, flops_source) if found),
    )


def as_target(machine: Machine) -> Accelerator:
    cpu = data()["cpu"]
    source = "; ".join(
        (
            f"RAM: {machine.memory_basis}",
            f"bandwidth: {machine.bandwidth_basis}",
            f"FP32 peak: {machine.flops_basis}",
            *machine.sources,
        )
    )
    return Accelerator(
        id="cpu",
        name=f"CPU: {machine.cpu}, {machine.cores} cores",
        aliases=(),
        memory_bytes=machine.memory_bytes,
        bandwidth_bytes_s=machine.bandwidth_bytes_s or 0.0,
        tflops=(machine.fp32_flops or 0.0) / 1e12,
        usable=float(cpu["usable"]),
        max_devices=1,  # one machine
        source=source,
        kind="cpu",
        tflops_precision="fp32",
    )


def ladder() -> tuple[str, ...]:
    """Precisions tried on a CPU after the stored one."""
    return tuple(data()["cpu"]["ladder"])


def _bandwidth(cpu: str) -> tuple[float | None, str, str]:
    """(bytes/s, basis in words, source url) from the table of CPU families."""
    for row in data()["cpu"]["bandwidth"]:
        if cpu and re.search(row["match"], cpu):
            return row["gb_s"] * 1e9, f"table: {row['name']}, theoretical peak", row["source"]
    shown = cpu or "this CPU"
    return None, f"unknown for {shown}: pass --memory-bandwidth GB/s", ""


def _peak_flops(probe: Probe) -> tuple[float | None, str, str]:
    """(FLOP/s, basis in words, source url): cores x clock x FLOPs per cycle."""
    if not probe.clock_hz:
        return None, "unknown (no clock reported): pass --cpu-gflops", ""
    for row in data()["cpu"]["flops"]:
        vendor = row.get("vendor")
        if set(row["flags"]) <= probe.flags and (vendor is None or vendor == probe.vendor):
            per_cycle = row["per_cycle"]
            flops = probe.physical_cores * probe.clock_hz * per_cycle
            basis = (
                f"estimated: {probe.physical_cores} cores x {probe.clock_hz / 1e9:.2f} GHz x "
                f"{per_cycle} FLOP/cycle ({'+'.join(row['flags'])})"
            )
            return flops, basis, row["source"]
    return None, "unknown for these instruction sets: pass --cpu-gflops", ""


def read_local() -> Probe:
    """This machine (Linux from /proc and /sys, macOS from sysctl); nothing is benchmarked."""
    fields = _cpuinfo()
    logical = _logical_cpus()
    memory, basis = _memory()
    if sys.platform == "darwin":
        brand = _sysctl("machdep.cpu.brand_string")
        cores = _int(_sysctl("hw.physicalcpu")) or logical
        return Probe(brand, "", frozenset(), logical, cores, 0.0, memory, basis)
    flags = frozenset((fields.get("flags") or fields.get("Features") or "").split())
    threads = max(1, _int(fields.get("siblings")) // max(1, _int(fields.get("cpu cores"))))
    return Probe(
        cpu=fields.get("model name", ""),
        vendor=fields.get("vendor_id", ""),
        flags=flags,
        logical_cpus=logical,
        physical_cores=max(1, logical // threads),
        clock_hz=_clock_hz(fields),
        memory_bytes=memory,
        memory_basis=basis,
    )


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields (they repeat for every logical CPU)."""
    try:
        text = _CPUINFO.read_text("utf-8", errors="replace")
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def _logical_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _memory() -> tuple[int, str]:
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    for path in _CGROUP_LIMITS:
        try:
            limit = int(path.read_text().strip())
        except (OSError, ValueError):  # absent, or "max": no limit
            continue
        if 0 < limit < total:
            return limit, f"read: this container's limit, {path}"
    return total, "read from this machine"


def _clock_hz(fields: dict[str, str]) -> float:
    try:
        return int(_MAX_FREQ.read_text().strip()) * 1e3
    except (OSError, ValueError):
        pass
    try:
        return float(fields.get("cpu MHz", "")) * 1e6
    except ValueError:
        return 0.0


def _sysctl(name: str) -> str:
    try:
        done = subprocess.run(
            ["sysctl", "-n", name], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def _int(text: str | None) -> int:
    try:
        return int(text or "")
    except ValueError:
        return 0
