"""`airlock fit` for people: the model's figures, then one line per accelerator."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from airlock.checks.resources.checkpoint import Contents
from airlock.checks.resources.estimate import FitReport
from airlock.checks.resources.fit import Option
from airlock.checks.resources.quant_layout import Quantization
from airlock.checks.resources.tensor_roles import not_parameter
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
    model, kv, arch = report.model, report.kv, report.arch
    how = "exact, from file headers" if model.exact else "from config.json by formula"
    kind = f"{arch.model_type}, {model.kind}" if arch else f"{model.kind}, no config.json"
    console.print(f"[bold]{escape(model.source)}[/]  {kind} ({how})")
    console.print(f"  parameters        {count(report.counts.parameters)}")
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
        window = (
            f", {kv.windowed_layers} of {kv.layers} layers windowed at {kv.window}"
            if kv.window
            else ""
        )
        latent = ", latent attention" if kv.latent else ""
        console.print(
            f"  KV cache          {kv.bytes_per_token:,} bytes/token{latent}{window}; "
            f"{size(kv.total_bytes)} at context {kv.context:,} x batch {kv.batch}"
        )
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
    if report.not_estimated:
        console.print(
            f"  not estimated     KV cache, memory total, fit and speed: "
            f"{escape(report.not_estimated)}"
        )
        return rendered(buffer)
    table = Table(title=f"Fit (you have {report.devices} device(s) of each)", title_justify="left")
    for header in (
        "accelerator",
        "precision",
        "devices",
        "fits",
        "decode tok/s ≤",
        "prefill ≥",
        "per month",
    ):
        table.add_column(
            header, justify="left" if header in ("accelerator", "precision") else "right"
        )
    for fit in report.fits:
        table.add_row(fit.accelerator.name, *_cells(fit.best))
    console.print(table)
    console.print(
        "Decode speed is a bandwidth bound (expect 60-80%); prefill assumes full BF16 "
        "throughput. Prices are examples unless set in config.toml. See docs/fit.md."
    )
    return rendered(buffer)


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


def _cells(option: Option) -> tuple[str, ...]:
    devices = str(option.devices) if option.devices is not None else "-"
    return (
        option.plan.quant,
        devices,
        "yes" if option.fits else "no",
        f"{option.decode_tokens_s:,.0f}" if option.decode_tokens_s else "-",
        f"{option.prefill_s:.2f} s" if option.prefill_s is not None else "-",
        f"${option.monthly_usd:,.0f}" if option.monthly_usd is not None else "-",
    )
