"""How many accelerators a model needs at each precision, and how fast it can run.

Memory needed = weights at that precision + KV cache at context x batch + activations + the
target's runtime (a GPU's CUDA context, a CPU process); devices = what fits in each device's
usable memory, rounded to a tensor-parallel size.
Single-stream decode reads every weight a generated token runs through and the sequence's KV
cache once per token, so tokens/s <= devices x bandwidth / (those weight bytes + KV bytes at the
context); real engines reach 60-80% of it. Prefill >= 2 x active parameters x tokens /
(devices x FLOP/s). An encoder generates nothing: it is compute-bound, so sequences/s <=
devices x FLOP/s / FLOPs per sequence (2 x multiplied parameters x tokens + the attention's
4 x layers x tokens^2 x hidden).
"""

from __future__ import annotations

from dataclasses import dataclass

from airlock.fit.accelerators import Accelerator, devices_needed
from airlock.fit.arch import Arch
from airlock.fit.cost import Price, monthly_usd
from airlock.fit.families import DECODER, ENCODER
from airlock.fit.kv_cache import KvCache

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
class Workload:
    """What runs, the same on every target."""

    kind: str  # decoder, encoder or encoder-decoder
    kv: KvCache
    activation_bytes: int  # one prefill chunk's activations and one step's logits
    active_parameters: int  # prefill compute per token
    sequence_flops: int  # an encoder's FLOPs per sequence at the context; 0 otherwise


@dataclass(frozen=True)
class Option:
    plan: Plan
    required_bytes: int
    devices: int | None  # None: more than this accelerator can be ganged (one Mac)
    fits: bool  # within the devices the user has
    decode_tokens_s: float | None  # None for encoders, or with no known bandwidth
    prefill_s: float | None
    monthly_usd: float | None
    sequences_s: float | None = None  # encoders: sequences encoded per second, at most


@dataclass(frozen=True)
class AcceleratorFit:
    accelerator: Accelerator
    options: tuple[Option, ...]
    best: Option
    price: Price | None


def activation_bytes(arch: Arch, context: int, batch: int) -> int:
    """One prefill chunk's activations + the logits of one step."""
    tokens = min(context * batch, _PREFILL_CHUNK)
    activations = tokens * (4 * arch.hidden + 2 * arch.intermediate) * 4
    return activations + batch * arch.vocab * 4


def sequence_flops(arch: Arch, matmul_parameters: int, context: int) -> int:
    """FLOPs to encode one sequence of `context` tokens (dense attention in every layer)."""
    return 2 * matmul_parameters * context + 4 * arch.layers * context * context * arch.hidden


def fit_on(
    accelerator: Accelerator,
    plans: list[Plan],
    work: Workload,
    price: Price | None,
    have_devices: int,
) -> AcceleratorFit:
    options = tuple(_option(accelerator, plan, work, price, have_devices) for plan in plans)
    fitting = [option for option in options if option.fits]
    best = fitting[0] if fitting else min(options, key=_fewest_devices)
    return AcceleratorFit(accelerator, options, best, price)


def _fewest_devices(option: Option) -> tuple[float, float]:
    devices = option.devices if option.devices is not None else float("inf")
    return devices, -option.plan.bits


def _option(
    accelerator: Accelerator,
    plan: Plan,
    work: Workload,
    price: Price | None,
    have_devices: int,
) -> Option:
    kv = work.kv
    required = (
        plan.weights_bytes + kv.total_bytes + work.activation_bytes + accelerator.runtime.bytes
    )
    devices: int | None = devices_needed(required, accelerator)
    if accelerator.max_devices is not None and devices and devices > accelerator.max_devices:
        devices = None
    if devices is None:
        return Option(plan, required, None, False, None, None, None)
    flops_s = devices * accelerator.tflops * 1e12
    decode = prefill = sequences = None
    if work.kind == ENCODER:
        # At least one FLOP: a model of empty tensors must not divide by zero.
        sequences = flops_s / max(1, work.sequence_flops) if flops_s else None
    else:
        # At least a byte, likewise.
        per_token = max(1, plan.active_weights_bytes + kv.total_bytes // max(kv.batch, 1))
        if accelerator.bandwidth_bytes_s:
            decode = devices * accelerator.bandwidth_bytes_s / per_token
        if flops_s and work.kind == DECODER:
            prefill = 2 * work.active_parameters * kv.context * kv.batch / flops_s
    return Option(
        plan=plan,
        required_bytes=required,
        devices=devices,
        fits=devices <= have_devices,
        decode_tokens_s=decode,
        prefill_s=prefill,
        monthly_usd=monthly_usd(devices, price),
        sequences_s=sequences,
    )
