"""`airlock fit --format json`: every figure in bytes, counts and seconds, for pipelines."""

from __future__ import annotations

import json
from typing import Any

from airlock.checks.resources.checkpoint import Contents
from airlock.checks.resources.estimate import FitReport
from airlock.checks.resources.fit import AcceleratorFit, Option
from airlock.checks.resources.kv_cache import KvCache
from airlock.checks.resources.quant_layout import Quantization

SCHEMA = "airlock.fit/1"


def fit_dict(report: FitReport) -> dict[str, Any]:
    arch, kv, counts, contents = report.arch, report.kv, report.counts, report.model.contents
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
        "parameters_uncertain": list(contents.doubts),
        "active_parameters": report.active_parameters,
        "active_parameters_without_input_embedding": report.active_without_input_embedding,
        "quantization": _quantization(contents.quantization),
        "multi_token_prediction": _mtp(contents),
        "buffers": _buffers(contents),
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


def _quantization(quant: Quantization | None) -> dict[str, Any] | None:
    if quant is None:
        return None
    return {
        "method": quant.method,
        "layout": quant.layout,
        "bits": quant.bits,
        "group_size": quant.group_size,
        "found_in": quant.found_in,
        "quantized_tensors": quant.tensors,
        "settings": quant.settings,
        "source": quant.source or None,
    }


def _mtp(contents: Contents) -> dict[str, Any] | None:
    """Stored, loaded only for speculative decoding: outside parameters and weights_bytes."""
    if not contents.mtp:
        return None
    return {
        "layers": list(contents.mtp_layers),
        "parameters": sum(tensor.elements for tensor in contents.mtp),
        "bytes": sum(tensor.nbytes for tensor in contents.mtp),
    }


def _buffers(contents: Contents) -> dict[str, int] | None:
    """Stored tensors that are not parameters (their bytes are in weights_bytes)."""
    if not contents.buffers:
        return None
    return {
        "tensors": len(contents.buffers),
        "elements": sum(tensor.elements for tensor in contents.buffers),
        "bytes": sum(tensor.nbytes for tensor in contents.buffers),
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
