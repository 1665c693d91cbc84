"""`airlock fit` as a library call: one model, one request, every figure in one report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from airlock.checks.resources import accelerators, quant
from airlock.checks.resources.active import active_parameters
from airlock.checks.resources.arch import Arch
from airlock.checks.resources.cost import prices
from airlock.checks.resources.finetune import FineTune, finetune
from airlock.checks.resources.fit import AcceleratorFit, Plan, fit_on, overhead_bytes
from airlock.checks.resources.inputs import Model, load
from airlock.checks.resources.kv_cache import KvCache, kv_cache
from airlock.checks.resources.params import Counts, count
from airlock.checks.resources.tensor_roles import input_embedding

DEFAULT_CONTEXT = 8192


@dataclass(frozen=True)
class FitRequest:
    context: int | None = None  # None: the model's maximum, capped at DEFAULT_CONTEXT
    batch: int = 1
    gpu: str | None = None  # one accelerator id, or every accelerator in the catalog
    quant: str | None = None  # one precision, or the stored one and lower ones
    devices: int = 1  # how many of an accelerator the user has, for `fits`


@dataclass(frozen=True)
class FitReport:
    """What needs the architecture (active parameters, KV cache, overhead, fits) is None or
    empty when the model has none (safetensors without config.json): `not_estimated` says why."""

    model: Model
    counts: Counts
    active_parameters: int | None
    kv: KvCache | None
    overhead_bytes: int | None
    weights_by_quant: dict[str, int]
    fits: tuple[AcceleratorFit, ...]
    finetune: FineTune
    devices: int

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
        if self.kv is None or self.overhead_bytes is None:
            return None
        return self.counts.stored_bytes + self.kv.total_bytes + self.overhead_bytes


def estimate(path: Path, request: FitRequest, home: Path | None = None) -> FitReport:
    """Raises InputError, ConfigError, HeaderError, GgufError, PriceConfigError, KeyError."""
    chosen = [accelerators.find(request.gpu)] if request.gpu else list(accelerators.catalog())
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
    overhead = overhead_bytes(arch, context, request.batch)
    plans = _plans(counts, active, request.quant)
    price_table = prices(home)
    fits = tuple(
        fit_on(acc, plans, kv, overhead, active, price_table.get(acc.id), request.devices)
        for acc in chosen
    )
    return _report(model, counts, request, active, kv, overhead, fits)


def _report(
    model: Model,
    counts: Counts,
    request: FitRequest,
    active: int | None,
    kv: KvCache | None,
    overhead: int | None,
    fits: tuple[AcceleratorFit, ...],
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
    )


def _plans(counts: Counts, active: int, wanted: str | None) -> list[Plan]:
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
        ladder = [quant.QUANTS[name] for name in quant.LADDER]
        chosen = [q for q in ladder if q.bits < stored_bits - 0.01]
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
