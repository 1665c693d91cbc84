"""`airlock fit --format json`: every figure in bytes, counts and seconds, for pipelines."""

from __future__ import annotations

import json
from typing import Any

from airlock.fit.checkpoint import Contents
from airlock.fit.estimate import FitReport
from airlock.fit.families import Filled
from airlock.fit.fit import AcceleratorFit, Option
from airlock.fit.kv_cache import KvCache
from airlock.fit.machine import Machine
from airlock.fit.media import MediaFit
from airlock.fit.quant_layout import Quantization

SCHEMA = "airlock.fit/1"


def _media(media: MediaFit | None) -> dict[str, Any] | None:
    """An image pipeline's or speech model's components and stages; None for other models."""
    if media is None:
        return None
    return {
        "kind": media.kind,
        "family": media.family,
        "setting": media.setting,
        "components": [
            {
                "name": part.name,
                "class": part.cls,
                "parameters": part.parameters,
                "weights_bytes": part.weight_bytes,
                "files": list(part.files),
                "exact": part.exact,
            }
            for part in media.components
        ],
        "activation_bytes_by_stage": media.activations,
        "activation_bytes": media.activation_bytes,
        "runtime_bytes": media.runtime_bytes,
        "total_bytes": media.total_bytes,
    }


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
            "model_kind": arch.kind if arch else None,
            "config_filled": [_filled(item) for item in arch.filled] if arch else [],
            "not_counted": list(report.model.not_counted),
        },
        "not_estimated": report.not_estimated,
        "warnings": list(report.warnings),
        "parameters": counts.parameters,
        "parameters_by_tower": report.towers,
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
        "media": _media(report.media),
        "machine": _machine(report.machine),
        "fits": [_fit(fit, kv.context if kv else 0) for fit in report.fits],
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
        "cross_attention_tokens": kv.cross_tokens,
        "cross_attention_bytes_per_sequence": kv.cross_bytes,
    }


def _filled(item: Filled) -> dict[str, Any]:
    return {"key": item.key, "value": item.value, "from": item.basis, "source": item.source or None}


def _machine(found: Machine | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {
        "cpu": found.cpu,
        "cores": found.cores,
        "memory_bytes": found.memory_bytes,
        "memory_basis": found.memory_basis,
        "bandwidth_bytes_per_s": found.bandwidth_bytes_s,
        "bandwidth_basis": found.bandwidth_basis,
        "fp32_flops": found.fp32_flops,
        "flops_basis": found.flops_basis,
        "sources": list(found.sources),
    }


def _fit(fit: AcceleratorFit, context: int) -> dict[str, Any]:
    acc = fit.accelerator
    return {
        "accelerator": acc.id,
        "name": acc.name,
        "kind": acc.kind,
        "memory_bytes": acc.memory_bytes,
        "usable_bytes": acc.usable_bytes,
        "runtime_bytes": acc.runtime.bytes,
        "runtime_source": acc.runtime.source,
        "bandwidth_bytes_per_s": acc.bandwidth_bytes_s or None,
        "bf16_tflops": (acc.tflops or None) if acc.tflops_precision == "bf16" else None,
        "tflops": acc.tflops or None,
        "tflops_precision": acc.tflops_precision,
        "source": acc.source,
        "price_usd_per_hour": fit.price.usd_per_hour if fit.price else None,
        "price_basis": fit.price.basis if fit.price else None,
        "fits": fit.best.fits,
        "best": _option(fit.best, context),
        "options": [_option(option, context) for option in fit.options],
    }


def _option(option: Option, context: int) -> dict[str, Any]:
    sequences = option.sequences_s
    return {
        "quant": option.plan.quant,
        "bits_per_parameter": round(option.plan.bits, 4),
        "weights_bytes": option.plan.weights_bytes,
        "required_bytes": option.required_bytes,
        "devices": option.devices,
        "fits": option.fits,
        "decode_tokens_per_s_max": _round(option.decode_tokens_s, 1),
        "prefill_seconds_min": _round(option.prefill_s, 4),
        "sequences_per_s_max": _round(sequences, 2),
        "encode_tokens_per_s_max": _round(sequences * context if sequences else None, 1),
        "monthly_usd": _round(option.monthly_usd, 2),
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def render_fit_json(report: FitReport) -> str:
    return json.dumps(fit_dict(report), indent=2) + "\n"
