"""`airlock fit`: what a model needs to run and what it costs, from its files' headers alone."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from airlock.cli.errors import USAGE_ERROR, print_error
from airlock.cli.options import float_range, int_range, text_style
from airlock.fit.arch import ConfigError
from airlock.fit.cost import PriceConfigError
from airlock.fit.estimate import CpuRequest, FitRequest, estimate
from airlock.fit.inputs import InputError
from airlock.fit.quant import choices
from airlock.headers.gguf_index import GgufError
from airlock.headers.safetensors import HeaderError

DOES_NOT_FIT = 1
# Upper bounds of the numeric options: beyond the largest deployments and context windows
# there are (10M tokens), so that a typo is a usage error, not a figure in exabytes.
MAX_DEVICES = 100_000
MAX_CONTEXT = 100_000_000
MAX_BATCH = 100_000
# The CPU target's figures: far above any machine (1 PiB of RAM, 100 TB/s, 10 PFLOP/s).
MAX_RAM_GIB = 1_048_576
MAX_BANDWIDTH_GB_S = 100_000
MAX_CPU_GFLOPS = 10_000_000
MAX_RESOLUTION = 16_384  # far past what diffusion models generate in one piece

_DESCRIPTION = """\
Size a model before anyone downloads or buys for it: parameters (and active parameters for
mixture-of-experts), weight memory at each precision, KV cache, how many of each accelerator
it takes, a decode-speed bound (for encoders: sequences per second), fine-tuning memory and
monthly cost; or, with --cpu, whether it runs on this machine's CPU and RAM, in what format and
how fast. Only headers are read (config.json, safetensors headers, the GGUF index), so a 400B
model takes about a second."""

_EPILOG = f"""\
inputs:
  a Hugging Face folder (config.json + safetensors, sharded or not), a Hugging Face cache
  repository, a .gguf file, a .safetensors file with its config.json beside it, or a
  config.json alone (counted by the architecture's formula). Safetensors without a
  config.json give the exact parameters and weight bytes only (no KV cache, fit or speed).
  A diffusers pipeline (model_index.json) is sized per component (weights + one image's
  activations at --resolution, batch --batch); a speech model (Piper .onnx + .onnx.json,
  Kokoro, VITS/MMS) as weights + voices + one request's audio.

exit codes:
  0  sized; with --gpu: it fits on --devices of that accelerator at some precision tried;
     with --cpu: it fits in the machine's RAM at some precision tried
  1  with --gpu or --cpu: it does not fit at any precision tried
  2  usage error: bad path, unreadable or unknown config, unknown --gpu or --quant, both
     --gpu and --cpu; with --gpu or --cpu: safetensors without config.json (whether it
     fits cannot be told)
  A --context longer than the model supports is a warning in the report, not an exit code.

precisions (--quant): {choices()}

examples:
  airlock fit ./Llama-3.1-8B-Instruct/
  airlock fit config.json --context 32768 --batch 8
  airlock fit ./Llama-3.1-70B/ --gpu h100 --devices 4     # exit 0 if 4x H100 hold it
  airlock fit model-Q4_K_M.gguf --gpu rtx-4090 --quant stored
  airlock fit ./Llama-3.1-8B-Instruct/ --cpu                 # this machine's CPU and RAM
  airlock fit ./bge-base-en-v1.5/ --cpu --ram 64 --memory-bandwidth 204.8 --cpu-gflops 2000
  airlock fit ./stable-diffusion-v1-5/ --resolution 768 --gpu l4
  airlock fit ./model/ --format json | jq '.fits[] | {{accelerator, best}}'

prices: example list prices ship with Airlock; set yours in $AIRLOCK_HOME/config.toml:
  [prices]
  h100 = 2.10    # USD per device-hour
"""


def register(commands: Any) -> None:
    """Add `fit` to the top-level parser's subcommands (argparse's action type is private)."""
    parser = commands.add_parser(
        "fit",
        help="what a model needs to run (memory, accelerators, speed) and what it costs",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "path", metavar="PATH", help="model folder, .gguf, .safetensors or config.json"
    )
    parser.add_argument(
        "--gpu", metavar="NAME", help="size for one accelerator (e.g. h100, l4, m3-max)"
    )
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="size for a CPU instead: this machine's RAM, cores and memory bandwidth "
        "(the options below describe another machine or fill in what cannot be read)",
    )
    parser.add_argument(
        "--ram",
        type=float_range(0, MAX_RAM_GIB),
        metavar="GIB",
        help="with --cpu: the machine's RAM in GiB (default: read from this machine)",
    )
    parser.add_argument(
        "--memory-bandwidth",
        type=float_range(0, MAX_BANDWIDTH_GB_S),
        metavar="GBPS",
        help="with --cpu: memory bandwidth in GB/s (default: a table of CPU families; "
        "unknown CPUs get no decode speed)",
    )
    parser.add_argument(
        "--cpu-gflops",
        type=float_range(0, MAX_CPU_GFLOPS),
        metavar="GFLOPS",
        help="with --cpu: peak FP32 GFLOP/s (default: cores x clock x FLOPs per cycle of the "
        "instruction sets it lists)",
    )
    parser.add_argument(
        "--devices",
        type=int_range(1, MAX_DEVICES),
        default=1,
        metavar="N",
        help=f"how many of each accelerator you have, 1 to {MAX_DEVICES:,} (default 1)",
    )
    parser.add_argument(
        "--context",
        type=int_range(1, MAX_CONTEXT),
        metavar="N",
        help=f"tokens of context per sequence, 1 to {MAX_CONTEXT:,} "
        "(default: model maximum, at most 8192)",
    )
    parser.add_argument(
        "--batch",
        type=int_range(1, MAX_BATCH),
        default=1,
        metavar="N",
        help=f"concurrent sequences, 1 to {MAX_BATCH:,} (default 1)",
    )
    parser.add_argument(
        "--resolution",
        type=int_range(8, MAX_RESOLUTION),
        metavar="PX",
        help="image pipelines: the image's side in pixels for the activation estimate "
        "(default: the pipeline's own, 512 for SD 1.x, 1024 for SDXL)",
    )
    parser.add_argument(
        "--quant",
        metavar="Q",
        help="only this precision (default: stored, then bf16/int8/int4 if smaller)",
    )
    parser.add_argument(
        "-f",
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people (default), json for pipelines",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.gpu is not None and not args.gpu.strip():  # "" would read as every accelerator
        print_error("--gpu needs an accelerator name (e.g. h100, l4, m3-max)")
        return USAGE_ERROR
    given = {"--ram": args.ram, "--memory-bandwidth": args.memory_bandwidth,
             "--cpu-gflops": args.cpu_gflops}  # fmt: skip
    stray = [name for name, value in given.items() if value is not None and not args.cpu]
    if stray:
        print_error(f"{', '.join(stray)} describe(s) the CPU target: add --cpu")
        return USAGE_ERROR
    if args.cpu and args.gpu:
        print_error("--gpu and --cpu: choose one target")
        return USAGE_ERROR
    cpu = CpuRequest(args.ram, args.memory_bandwidth, args.cpu_gflops) if args.cpu else None
    request = FitRequest(
        args.context, args.batch, args.gpu, args.quant, args.devices, cpu, args.resolution
    )
    try:
        report = estimate(Path(args.path), request)
    except KeyError as exc:  # unknown --gpu or --quant: the message lists the choices
        print_error(str(exc.args[0]))
        return USAGE_ERROR
    except (InputError, ConfigError, HeaderError, GgufError, PriceConfigError, OSError) as exc:
        print_error(str(exc))
        return USAGE_ERROR
    if args.format == "json":
        from airlock.report.fit.json_doc import render_fit_json

        sys.stdout.write(render_fit_json(report))
    else:
        from airlock.report.fit.text import render_fit_text

        color, width = text_style(None)
        sys.stdout.write(render_fit_text(report, color=color, width=width))
    target = "this machine's CPU" if args.cpu else args.gpu
    if target and report.not_estimated:
        # Neither 0 nor 1: whether it fits is not known, and a pipeline must not read a yes.
        print_error(
            f"cannot tell whether it fits on {target}: {report.not_estimated} (the memory "
            "total needs the architecture it describes: layers, attention heads, context)"
        )
        return USAGE_ERROR
    if target and not any(fit.best.fits for fit in report.fits):
        return DOES_NOT_FIT
    return 0
