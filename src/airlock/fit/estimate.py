"""`airlock fit` as a library call: one model, one request, every figure in one report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from airlock.fit import accelerators, machine, quant
from airlock.fit.accelerators import Accelerator, devices_needed
from airlock.fit.active import active_parameters
from airlock.fit.arch import Arch
from airlock.fit.checkpoint import Contents
from airlock.fit.cost import monthly_usd, prices
from airlock.fit.families import ENCODER
from airlock.fit.finetune import FineTune, finetune
from airlock.fit.fit import (
    AcceleratorFit,
    Option,
    Plan,
    Workload,
    activation_bytes,
    fit_on,
    sequence_flops,
)
from airlock.fit.inputs import Model, load
from airlock.fit.kv_cache import KvCache, kv_cache
from airlock.fit.machine import Machine, Probe
from airlock.fit.media import MediaFit, size_media
from airlock.fit.params import Counts, count
from airlock.fit.tensor_roles import input_embedding
from airlock.fit.towers import matmul_parameters, off_path_parameters, tower_parameters

DEFAULT_CONTEXT = 8192


@dataclass(frozen=True)
class CpuRequest:
    """The CPU as the target: the local machine, with what the user gave instead."""

    ram_gib: float | None = None
    bandwidth_gb_s: float | None = None
    gflops: float | None = None


@dataclass(frozen=True)
class FitRequest:
    context: int | None = None  # None: the model's maximum, capped at DEFAULT_CONTEXT
    batch: int = 1
    gpu: str | None = None  # one accelerator id, or every accelerator in the catalog
    quant: str | None = None  # one precision, or the stored one and lower ones
    devices: int = 1  # how many of an accelerator the user has, for `fits`
    cpu: CpuRequest | None = None  # the CPU instead of accelerators
    resolution: int | None = None  # image pipelines: the side in pixels (default: the model's)


@dataclass(frozen=True)
class FitReport:
    """What needs the architecture (active parameters, KV cache, overhead, fits) is None or
    empty when the model has none (safetensors without config.json): `not_estimated` says why."""

    model: Model
    counts: Counts
    active_parameters: int | None
    kv: KvCache | None
    overhead_bytes: int | None  # activations + the runtime of the target (of a GPU for many)
    weights_by_quant: dict[str, int]
    fits: tuple[AcceleratorFit, ...]
    finetune: FineTune
    devices: int
    towers: dict[str, int] = field(default_factory=dict)  # parameters per tower
    warnings: tuple[str, ...] = ()
    machine: Machine | None = None  # the CPU target's figures and their bases
    media: MediaFit | None = None  # an image pipeline or speech model: sized per component

    @property
    def arch(self) -> Arch | None:
        return self.model.arch

    @property
    def not_estimated(self) -> str | None:
        return self.model.no_arch or None

    @property
    def active_without_input_embedding(self) -> int | None:
        """The convention of publishers that leave the embedding lookup out (gpt-oss)."""
        if self.active_parameters is None:
            return None
        return self.active_parameters - input_embedding(self.model.tensors)

    @property
    def stored_bits(self) -> float:
        return self.counts.stored_bytes * 8 / max(self.counts.parameters, 1)

    @property
    def total_bytes(self) -> int | None:
        if self.media is not None:
            return self.media.total_bytes
        if self.kv is None or self.overhead_bytes is None:
            return None
        return self.counts.stored_bytes + self.kv.total_bytes + self.overhead_bytes


def estimate(
    path: Path, request: FitRequest, home: Path | None = None, probe: Probe | None = None
) -> FitReport:
    """Raises InputError, ConfigError, HeaderError, GgufError, PriceConfigError, KeyError.
    `probe` stands in for the local machine with --cpu (read_local() when None)."""
    cpu = _machine(request.cpu, probe) if request.cpu is not None else None
    if cpu is not None:
        chosen = [machine.as_target(cpu)]
    else:
        chosen = [accelerators.find(request.gpu)] if request.gpu else list(accelerators.catalog())
    media = size_media(path, request.resolution, request.batch)
    if media is not None:
        return _media_report(path, media, request, chosen, cpu, home)
    model = load(path)
    counts = count(model.tensors, model.contents.buffers)
    if request.quant is not None and request.quant.lower() != "stored":
        quant.lookup(request.quant)  # an unknown --quant is a usage error with or without arch
    if model.arch is None:
        return _report(model, counts, request, None, None, None, ())
    arch = model.arch
    active = active_parameters(model.tensors, arch)
    context = request.context or min(DEFAULT_CONTEXT, arch.max_context or DEFAULT_CONTEXT)
    kv = kv_cache(arch, context, request.batch)
    activations = activation_bytes(arch, context, request.batch)
    work = Workload(
        kind=arch.kind,
        kv=kv,
        activation_bytes=activations,
        active_parameters=active,
        sequence_flops=(
            sequence_flops(arch, matmul_parameters(model.tensors), context)
            if arch.kind == ENCODER
            else 0
        ),
    )
    # A generated token runs through the language model (or decoder) alone.
    per_token = max(0, active - off_path_parameters(model.tensors, arch))
    ladder = machine.ladder() if cpu is not None else quant.LADDER
    plans = _plans(counts, per_token, request.quant, ladder)
    price_table = prices(home)
    fits = tuple(
        fit_on(acc, plans, work, price_table.get(acc.id), request.devices) for acc in chosen
    )
    # The total is for the target asked about; for the whole catalog, a GPU's runtime.
    runtime = chosen[0].runtime if len(chosen) == 1 else accelerators.runtimes()["gpu"]
    return _report(
        model,
        counts,
        request,
        active,
        kv,
        activations + runtime.bytes,
        fits,
        towers=tower_parameters(model.tensors, arch),
        warnings=_warnings(arch, request.context),
        machine=cpu,
    )


def _media_report(
    path: Path,
    media: MediaFit,
    request: FitRequest,
    chosen: list[Accelerator],
    cpu: Machine | None,
    home: Path | None,
) -> FitReport:
    """A pipeline or voice: every component's weights + one request's activations + the
    target's runtime, at the stored precision (diffusers and speech engines run as stored)."""
    parameters = count(media.tensors)
    counts = Counts(parameters.parameters, media.weights_bytes, parameters.by_dtype)
    exact = all(component.exact for component in media.components if component.weight_bytes)
    files = sum(len(component.files) for component in media.components)
    model = Model(str(path), media.kind, exact, files, Contents(media.tensors), None)
    # ONNX and .pth weights are sized by length: no dtype to name.
    label = f"stored ({counts.main_dtype})" if counts.by_dtype else "stored"
    stored = Plan(label, 0.0, media.weights_bytes, media.weights_bytes)
    price_table = prices(home)
    fits = []
    for accelerator in chosen:
        required = media.weights_bytes + media.activation_bytes + accelerator.runtime.bytes
        devices = devices_needed(required, accelerator)
        price = price_table.get(accelerator.id)
        option = Option(
            stored, required, devices, devices <= request.devices, None, None,
            monthly_usd(devices, price),
        )  # fmt: skip
        fits.append(AcceleratorFit(accelerator, (option,), option, price))
    return _report(
        model,
        counts,
        request,
        None,
        None,
        media.activation_bytes + media.runtime_bytes,
        tuple(fits),
        warnings=media.notes,
        machine=cpu,
        media=media,
    )


def _machine(wanted: CpuRequest, probe: Probe | None) -> Machine:
    found = probe if probe is not None else machine.read_local()
    return machine.describe(found, wanted.ram_gib, wanted.bandwidth_gb_s, wanted.gflops)


def _warnings(arch: Arch, context: int | None) -> tuple[str, ...]:
    if context is None or arch.max_context is None or context <= arch.max_context:
        return ()
    return (
        f"context {context:,} is longer than the model supports ({arch.max_context:,} "
        "positions): runtimes refuse it or the output degrades past that point",
    )


def _report(
    model: Model,
    counts: Counts,
    request: FitRequest,
    active: int | None,
    kv: KvCache | None,
    overhead: int | None,
    fits: tuple[AcceleratorFit, ...],
    towers: dict[str, int] | None = None,
    warnings: tuple[str, ...] = (),
    machine: Machine | None = None,
    media: MediaFit | None = None,
) -> FitReport:
    return FitReport(
        model=model,
        counts=counts,
        active_parameters=active,
        kv=kv,
        overhead_bytes=overhead,
        weights_by_quant={
            quant.QUANTS[name].name: quant.weight_bytes(counts.parameters, quant.QUANTS[name].bits)
            for name in quant.TABLE
        },
        fits=fits,
        finetune=finetune(model.tensors, counts.parameters),
        devices=request.devices,
        towers=towers or {},
        warnings=warnings,
        machine=machine,
        media=media,
    )


def _plans(counts: Counts, active: int, wanted: str | None, ladder: tuple[str, ...]) -> list[Plan]:
    """`active`: the parameters a generated token reads (their bytes bound decode speed)."""
    stored_bits = counts.stored_bytes * 8 / max(counts.parameters, 1)
    stored = Plan(
        f"stored ({counts.main_dtype})",
        stored_bits,
        counts.stored_bytes,
        round(counts.stored_bytes * active / max(counts.parameters, 1)),
    )
    if wanted is not None and wanted.lower() == "stored":
        return [stored]
    if wanted is not None:
        chosen = [quant.lookup(wanted)]
    else:
        tried = [quant.QUANTS[name] for name in ladder]
        chosen = [q for q in tried if q.bits < stored_bits - 0.01]
    plans = [] if wanted is not None else [stored]
    for q in chosen:
        plans.append(
            Plan(
                q.name,
                q.bits,
                quant.weight_bytes(counts.parameters, q.bits),
                quant.weight_bytes(active, q.bits),
            )
        )
    return plans
