"""`airlock fit --format json`: every figure in bytes, counts and seconds, for pipelines."""

from __future__ import annotations

import json
from typing import Any

from airlock.checks.resources.estimate import FitReport
from airlock.checks.resources.fit import AcceleratorFit, Option
from airlock.checks.resources.kv_cache import KvCache

SCHEMA = "airlock.fit/1"


def fit_dict(report: FitReport) -> dict[str, Any]:
    arch, kv, counts = report.arch, report.kv, report.counts
    return {
        "schema": SCHEMA,
        "source": {
            "path": report.model.source,
            "kind": report.model.kind,
            "exact": report.model.exact,
            "files": report.model.files,
            "architecture": arch.model_type if arch else None,
        },
        "not_estimated": report.not_estimated,
        "parameters": counts.parameters,
        "active_parameters": report.active_parameters,
        "parameters_by_dtype": counts.by_dtype,
        "weights_bytes": counts.stored_bytes,
        "weights_bits_per_parameter": round(report.stored_bits, 4),
        "weights_bytes_by_quant": report.weights_by_quant,
        "kv_cache_bytes_per_token": kv.bytes_per_token if kv else None,
        "kv_cache": _kv(kv),
        "overhead_bytes": report.overhead_bytes,
        "total_bytes": report.total_bytes,
        "devices_available": report.devices,
        "fits": [_fit(fit) for fit in report.fits],
        "finetune": {
            "full_adamw_bytes": report.finetune.full_adamw_bytes,
            "lora_bytes": report.finetune.lora_bytes,
            "qlora_bytes": report.finetune.qlora_bytes,
            "lora_rank": report.finetune.lora_rank,
            "adapter_parameters": report.finetune.adapter_parameters,
            "activations_included": False,
        },
    }


def _kv(kv: KvCache | None) -> dict[str, Any] | None:
    if kv is None:
        return None
    return {
        "context": kv.context,
        "batch": kv.batch,
        "bytes": kv.total_bytes,
        "dtype_bytes": kv.dtype_bytes,
        "layers": kv.layers,
        "windowed_layers": kv.windowed_layers,
        "window": kv.window,
        "latent_attention": kv.latent,
    }


def _fit(fit: AcceleratorFit) -> dict[str, Any]:
    acc = fit.accelerator
    return {
        "accelerator": acc.id,
        "name": acc.name,
        "memory_bytes": acc.memory_bytes,
        "usable_bytes": acc.usable_bytes,
        "bandwidth_bytes_per_s": acc.bandwidth_bytes_s,
        "bf16_tflops": acc.bf16_tflops or None,
        "source": acc.source,
        "price_usd_per_hour": fit.price.usd_per_hour if fit.price else None,
        "price_basis": fit.price.basis if fit.price else None,
        "fits": fit.best.fits,
        "best": _option(fit.best),
        "options": [_option(option) for option in fit.options],
    }


def _option(option: Option) -> dict[str, Any]:
    return {
        "quant": option.plan.quant,
        "bits_per_parameter": round(option.plan.bits, 4),
        "weights_bytes": option.plan.weights_bytes,
        "required_bytes": option.required_bytes,
        "devices": option.devices,
        "fits": option.fits,
        "decode_tokens_per_s_max": _round(option.decode_tokens_s, 1),
        "prefill_seconds_min": _round(option.prefill_s, 4),
        "monthly_usd": _round(option.monthly_usd, 2),
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def render_fit_json(report: FitReport) -> str:
    return json.dumps(fit_dict(report), indent=2) + "\n"
