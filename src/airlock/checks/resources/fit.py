"""How many accelerators a model needs at each precision, and how fast it can decode.

Memory needed = weights at that precision + KV cache at context x batch + runtime overhead;
devices = what fits in each device's usable memory, rounded to a tensor-parallel size.
Single-stream decode reads every active weight and the sequence's KV cache once per token, so
tokens/s <= devices x bandwidth / (active weight bytes + KV bytes at the context); real engines
reach 60-80% of it. Prefill >= 2 x active parameters x tokens / (devices x BF16 FLOP/s).
"""

from __future__ import annotations

from dataclasses import dataclass

from airlock.checks.resources.accelerators import GIB, Accelerator, devices_needed
from airlock.checks.resources.arch import Arch
from airlock.checks.resources.cost import Price, monthly_usd
from airlock.checks.resources.kv_cache import KvCache

# CUDA context, allocator and engine workspace: an allowance, not a measurement.
RUNTIME_RESERVE = GIB
# Prefill runs in chunks (llama.cpp ubatch 512); activations are kept in f32.
_PREFILL_CHUNK = 512


@dataclass(frozen=True)
class Plan:
    """One precision to run the weights at."""

    quant: str
    bits: float
    weights_bytes: int
    active_weights_bytes: int  # read per decoded token


@dataclass(frozen=True)
class Option:
    plan: Plan
    required_bytes: int
    devices: int | None  # None: more than this accelerator can be ganged (one Mac)
    fits: bool  # within the devices the user has
    decode_tokens_s: float | None
    prefill_s: float | None
    monthly_usd: float | None


@dataclass(frozen=True)
class AcceleratorFit:
    accelerator: Accelerator
    options: tuple[Option, ...]
    best: Option
    price: Price | None


def overhead_bytes(arch: Arch, context: int, batch: int) -> int:
    """Runtime reserve + one prefill chunk's activations + the logits of one step."""
    tokens = min(context * batch, _PREFILL_CHUNK)
    activations = tokens * (4 * arch.hidden + 2 * arch.intermediate) * 4
    return RUNTIME_RESERVE + activations + batch * arch.vocab * 4


def fit_on(
    accelerator: Accelerator,
    plans: list[Plan],
    kv: KvCache,
    overhead: int,
    active_parameters: int,
    price: Price | None,
    have_devices: int,
) -> AcceleratorFit:
    options = tuple(
        _option(accelerator, plan, kv, overhead, active_parameters, price, have_devices)
        for plan in plans
    )
    fitting = [option for option in options if option.fits]
    best = fitting[0] if fitting else min(options, key=_fewest_devices)
    return AcceleratorFit(accelerator, options, best, price)


def _fewest_devices(option: Option) -> tuple[float, float]:
    devices = option.devices if option.devices is not None else float("inf")
    return devices, -option.plan.bits


def _option(
    accelerator: Accelerator,
    plan: Plan,
    kv: KvCache,
    overhead: int,
    active_parameters: int,
    price: Price | None,
    have_devices: int,
) -> Option:
    required = plan.weights_bytes + kv.total_bytes + overhead
    devices: int | None = devices_needed(required, accelerator)
    if accelerator.max_devices is not None and devices and devices > accelerator.max_devices:
        devices = None
    if devices is None:
        return Option(plan, required, None, False, None, None, None)
    # At least a byte: a model of empty tensors must not divide by zero.
    per_token = max(1, plan.active_weights_bytes + kv.total_bytes // max(kv.batch, 1))
    prefill = None
    if accelerator.bf16_tflops:
        flops = 2 * active_parameters * kv.context * kv.batch
        prefill = flops / (devices * accelerator.bf16_tflops * 1e12)
    return Option(
        plan=plan,
        required_bytes=required,
        devices=devices,
        fits=devices <= have_devices,
        decode_tokens_s=devices * accelerator.bandwidth_bytes_s / per_token,
        prefill_s=prefill,
        monthly_usd=monthly_usd(devices, price),
    )
