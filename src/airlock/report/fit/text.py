"""`airlock fit` for people: the model's figures, then one line per accelerator."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from airlock.fit.checkpoint import Contents
from airlock.fit.estimate import FitReport
from airlock.fit.families import ENCODER, ENCODER_DECODER, Filled
from airlock.fit.fit import Option
from airlock.fit.kv_cache import KvCache
from airlock.fit.machine import Machine
from airlock.fit.media import MediaFit
from airlock.fit.quant_layout import Quantization
from airlock.fit.tensor_roles import not_parameter
from airlock.report.console import rendered, string_console


def size(value: int | float) -> str:
    """Binary units, as memory is sold and reported by drivers: 16.0 GiB."""
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(amount) < 1024 or unit == "TiB":
            return f"{amount:,.0f} {unit}" if unit == "B" else f"{amount:,.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def count(value: int) -> str:
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if value >= scale:
            return f"{value / scale:.2f}{suffix} ({value:,})"
    return f"{value:,}"


def render_fit_text(report: FitReport, *, color: bool = False, width: int | None = 100) -> str:
    console, buffer = string_console(color=color, width=width)
    if report.media is not None:
        _media(console, report, report.media)
        return rendered(buffer)
    model, kv, arch = report.model, report.kv, report.arch
    how = "exact, from file headers" if model.exact else "from config.json by formula"
    kind = (
        f"{arch.model_type} ({arch.kind}), {model.kind}"
        if arch
        else f"{model.kind}, no config.json"
    )
    console.print(f"[bold]{escape(model.source)}[/]  {kind} ({how})")
    console.print(f"  parameters        {count(report.counts.parameters)}")
    if len(report.towers) > 1 and arch is not None:
        towers = ", ".join(f"{name} {count(value)}" for name, value in report.towers.items())
        reads = "decoder" if arch.kind == ENCODER_DECODER else "language"
        console.print(f"  towers            {towers} (a generated token reads the {reads} alone)")
    if model.not_counted:
        console.print(f"  not counted       {escape('; '.join(model.not_counted))}")
    if arch is not None and arch.filled:
        console.print(f"  not in config     {escape(_filled(arch.filled))}")
    for label, text in _checkpoint_lines(model.contents):
        console.print(f"  {label:<18}{escape(text)}")
    active, lookup = report.active_parameters, report.active_without_input_embedding
    if active is not None and active != report.counts.parameters:
        without = ""
        if lookup is not None and lookup != active:  # an untied embedding: one row per token
            without = f"; {count(lookup)} without the input embedding"
        console.print(f"  active per token  {count(active)} (mixture of experts{without})")
    dtypes = ", ".join(sorted(report.counts.by_dtype))
    console.print(
        f"  weights (stored)  {size(report.counts.stored_bytes)} "
        f"({dtypes}, {report.stored_bits:.2f} bits/parameter)"
    )
    if kv is not None and report.overhead_bytes is not None and report.total_bytes is not None:
        console.print(f"  KV cache          {_kv_line(kv, arch.kind if arch else '')}")
        console.print(f"  runtime overhead  {size(report.overhead_bytes)}")
        console.print(f"  [bold]total             {size(report.total_bytes)}[/] (stored weights)")
    items = [f"{name} {size(value)}" for name, value in report.weights_by_quant.items()]
    for start in range(0, len(items), 5):  # five per line keeps 100 columns
        label = "weights at" if start == 0 else ""
        console.print(f"  {label:<18}{'   '.join(items[start : start + 5])}")
    tune = report.finetune
    console.print(
        f"  fine-tuning       full AdamW {size(tune.full_adamw_bytes)}, "
        f"LoRA r{tune.lora_rank} {size(tune.lora_bytes)}, QLoRA {size(tune.qlora_bytes)}"
        " (+ activations)"
    )
    for warning in report.warnings:
        console.print(f"  [yellow]warning[/]           {escape(warning)}")
    if report.not_estimated:
        console.print(
            f"  not estimated     KV cache, memory total, fit and speed: "
            f"{escape(report.not_estimated)}"
        )
        return rendered(buffer)
    if report.machine is not None:
        _machine_lines(console, report.machine)
    encoder = arch is not None and arch.kind == ENCODER
    speeds = ("sequences/s ≤", "tokens/s ≤") if encoder else ("decode tok/s ≤", "prefill ≥")
    owned = "this machine" if report.machine else f"you have {report.devices} device(s) of each"
    table = Table(title=f"Fit ({owned})", title_justify="left")
    for header in ("accelerator", "precision", "devices", "fits", *speeds, "per month"):
        table.add_column(
            header, justify="left" if header in ("accelerator", "precision") else "right"
        )
    context = kv.context if kv else 0
    for fit in report.fits:
        # One target asked about: every precision tried, so the format can be chosen.
        shown = fit.options if len(report.fits) == 1 else (fit.best,)
        for option in shown:
            table.add_row(escape(fit.accelerator.name), *_cells(option, encoder, context))
    console.print(table)
    if encoder:
        console.print(
            f"Encoders generate nothing: throughput is a compute bound at {context:,} tokens per "
            "sequence (FLOPs per sequence vs the peak: BF16 on GPUs, FP32 on CPUs; expect well "
            "under it). Prices are examples unless set in config.toml. See docs/fit.md."
        )
    else:
        console.print(
            "Decode speed is a bandwidth bound (expect 60-80%); prefill assumes the peak "
            "(BF16 on GPUs, FP32 on CPUs). Prices are examples unless set in config.toml. "
            "See docs/fit.md."
        )
    return rendered(buffer)


def _filled(items: tuple[Filled, ...]) -> str:
    """`key value, key value (basis); ...`, grouped by where the values came from."""
    groups: dict[str, list[str]] = {}
    for item in items:
        value = str(item.value).lower() if isinstance(item.value, bool) else f"{item.value:,}"
        groups.setdefault(item.basis, []).append(f"{item.key} {value}")
    return "; ".join(f"{', '.join(keys)} ({basis})" for basis, keys in groups.items())


def _kv_line(kv: KvCache, kind: str) -> str:
    if kind == ENCODER:
        return "none (an encoder reads whole sequences and generates nothing)"
    window = (
        f", {kv.windowed_layers} of {kv.layers} layers windowed at {kv.window}" if kv.window else ""
    )
    latent = ", latent attention" if kv.latent else ""
    cross = (
        f", + cross-attention {size(kv.cross_bytes)} per sequence over "
        f"{kv.cross_tokens:,} encoder positions"
        if kind == ENCODER_DECODER
        else ""
    )
    return (
        f"{kv.bytes_per_token:,} bytes/token{latent}{window}{cross}; "
        f"{size(kv.total_bytes)} at context {kv.context:,} x batch {kv.batch}"
    )


def _machine_lines(console: Console, found: Machine) -> None:
    console.print(f"  machine           {escape(found.cpu)}, {found.cores} cores")
    console.print(f"    RAM             {size(found.memory_bytes)} ({escape(found.memory_basis)})")
    bandwidth = f"{found.bandwidth_bytes_s / 1e9:,.1f} GB/s " if found.bandwidth_bytes_s else ""
    console.print(f"    bandwidth       {bandwidth}({escape(found.bandwidth_basis)})")
    flops = f"{found.fp32_flops / 1e9:,.0f} GFLOP/s " if found.fp32_flops else ""
    console.print(f"    FP32 peak       {flops}({escape(found.flops_basis)})")


def _checkpoint_lines(contents: Contents) -> list[tuple[str, str]]:
    """The scheme found, why the count may be off, and what is stored but not counted."""
    lines = []
    if contents.quantization is not None:
        lines.append(("quantization", _scheme(contents.quantization)))
    for number, doubt in enumerate(contents.doubts):
        lines.append(("count uncertain" if number == 0 else "", doubt))
    if contents.mtp:
        parameters = count(sum(t.elements for t in contents.mtp))
        stored = size(sum(t.nbytes for t in contents.mtp))
        layers = ", ".join(map(str, contents.mtp_layers))
        where = f"multi-token-prediction layer {layers}"
        lines.append(("not counted", f"{parameters} parameters, {stored} in {where}: "
                      "loaded only for speculative decoding"))  # fmt: skip
    if contents.buffers:
        tensors = len(contents.buffers)
        stored = size(sum(t.nbytes for t in contents.buffers))
        kinds = sorted({not_parameter(t) or "quantization metadata" for t in contents.buffers})
        plural = "s" if tensors > 1 else ""
        lines.append(("not parameters", f"{tensors} stored tensor{plural}, {stored}: "
                      + "; ".join(kinds)))  # fmt: skip
    return lines


def _scheme(quant: Quantization) -> str:
    parts = [quant.method]
    if quant.bits:
        parts.append(f"{quant.bits}-bit")
    if quant.group_size:
        parts.append(f"group size {quant.group_size}")
    parts += [f"{key} {value}" for key, value in quant.settings.items()]
    unpacked = f", {quant.tensors:,} tensors unpacked" if quant.tensors else ""
    return f"{', '.join(parts)} (from {quant.found_in}{unpacked})"


def _media(console: Console, report: FitReport, media: MediaFit) -> None:
    """A pipeline or voice: each component's weights, each stage's activations, the total."""
    how = "exact, from file headers" if report.model.exact else "weights sized by file length"
    console.print(
        f"[bold]{escape(report.model.source)}[/]  {escape(media.family)} ({media.kind}, {how})"
    )
    for part in media.components:
        counted = count(part.parameters) if part.parameters else "-"
        console.print(
            f"  {escape(part.name):<18}{escape(part.cls)}: {size(part.weight_bytes)}, "
            f"{counted} parameters"
        )
    console.print(f"  weights (stored)  {size(media.weights_bytes)} in all")
    stages = ", ".join(f"{name} {size(value)}" for name, value in media.activations.items())
    console.print(
        f"  activations       {size(media.activation_bytes)} at {escape(media.setting)} "
        f"(the largest stage; {escape(stages) or 'not estimated'})"
    )
    console.print(f"  runtime overhead  {size(media.runtime_bytes)} (a CPU process)")
    console.print(f"  [bold]total             {size(media.total_bytes)}[/]")
    for note in report.warnings:
        console.print(f"  [yellow]note[/]              {escape(note)}")
    if report.fits:
        owned = "this machine" if report.machine else f"you have {report.devices} device(s) of each"
        table = Table(title=f"Fit ({owned})", title_justify="left")
        for header in ("accelerator", "needs", "devices", "fits", "per month"):
            table.add_column(header, justify="left" if header == "accelerator" else "right")
        for fit in report.fits:
            option = fit.best
            table.add_row(
                escape(fit.accelerator.name),
                size(option.required_bytes),
                str(option.devices) if option.devices is not None else "-",
                "yes" if option.fits else "no",
                f"${option.monthly_usd:,.0f}" if option.monthly_usd is not None else "-",
            )
        console.print(table)
    console.print(
        "Activations are estimated from the configs' shapes (docs/vetting-images-speech.md); "
        "weights are what the folder stores."
    )


def _cells(option: Option, encoder: bool, context: int) -> tuple[str, ...]:
    devices = str(option.devices) if option.devices is not None else "-"
    if encoder:
        sequences = option.sequences_s
        speeds = (
            f"{sequences:,.1f}" if sequences else "-",
            f"{sequences * context:,.0f}" if sequences else "-",
        )
    else:
        speeds = (
            f"{option.decode_tokens_s:,.0f}" if option.decode_tokens_s else "-",
            f"{option.prefill_s:.2f} s" if option.prefill_s is not None else "-",
        )
    return (
        option.plan.quant,
        devices,
        "yes" if option.fits else "no",
        *speeds,
        f"${option.monthly_usd:,.0f}" if option.monthly_usd is not None else "-",
    )
