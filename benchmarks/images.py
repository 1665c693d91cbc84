"""Seconds per image through `airlock serve` (/v1/images/generations, the openai client) against
calling the same diffusers pipeline in this process, same size, steps and seeds, same run.

    PYTHONPATH=src .venv/bin/python benchmarks/images.py [--images 20] [--steps 10]

The pipeline is the tests' tiny Stable Diffusion (tests/gateway/tiny_media.py: random weights,
32x32 images), so what is measured is the gateway's cost per image (HTTP, queue, model thread,
PNG and base64) on top of the pipeline's own work; at real sizes the pipeline's minutes dwarf it.
Both sides run with one torch thread, as the gateway's default.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import openai
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.media_gateway import gateway
from tests.gateway import tiny_media

PROMPT = "a watercolour lighthouse on a cliff at dusk"


def timed(
    sides: tuple[Callable[[int], None], Callable[[int], None]], images: int
) -> tuple[list[float], list[float]]:
    """Seconds per image of each side, the two taking turns (a busy machine slows both alike)."""
    seconds: tuple[list[float], list[float]] = ([], [])
    for make in sides:
        make(0)  # warm-up: lazy load, first-call allocations
    for seed in range(images):
        for make, out in zip(sides, seconds, strict=True):
            start = time.perf_counter()
            make(seed)
            out.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=20, help="images timed per side")
    parser.add_argument("--steps", type=int, default=10, help="denoising steps per image")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from diffusers import DiffusionPipeline

    with tempfile.TemporaryDirectory() as work:
        folder = tiny_media.make_diffusion(Path(work) / "tiny-sd")
        pipe = DiffusionPipeline.from_pretrained(
            str(folder), use_safetensors=True, local_files_only=True
        )
        pipe.set_progress_bar_config(disable=True)

        def local(seed: int) -> None:
            generator = torch.Generator("cpu").manual_seed(seed)
            pipe(PROMPT, num_inference_steps=args.steps, generator=generator, output_type="pil")

        with gateway(folder, "tiny-sd", Path(work) / "home") as (url, key):
            client = openai.OpenAI(base_url=url, api_key=key, max_retries=0, timeout=600)

            def served(seed: int) -> None:
                client.images.generate(
                    model="tiny-sd",
                    prompt=PROMPT,
                    extra_body={"seed": seed, "num_inference_steps": args.steps},
                )

            via_gateway, in_process = timed((served, local), args.images)
    side = tiny_media.IMAGE_SIDE
    g, p = statistics.median(via_gateway), statistics.median(in_process)
    print(
        f"tiny Stable Diffusion, {side}x{side}, {args.steps} steps, {args.images} images per "
        f"side, 1 torch thread, {os.cpu_count()} CPUs"
    )
    print(f"{'':>12} | {'s/image p50':>11} {'min':>7} {'max':>7}")
    for label, values in (("gateway", via_gateway), ("in-process", in_process)):
        print(
            f"{label:>12} | {statistics.median(values):>11.4f} "
            f"{min(values):>7.4f} {max(values):>7.4f}"
        )
    print(f"gateway / in-process: {g / p:.2f}x (overhead {1000 * (g - p):.1f} ms per image)")


if __name__ == "__main__":
    main()
