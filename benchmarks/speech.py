"""Real-time factor of text to speech on this CPU: seconds of compute per second of audio, for a
VITS of MMS-TTS's architecture (VitsConfig's defaults: 36M parameters, 16 kHz; random weights,
since nothing is downloaded), in this process and through `airlock serve` (/v1/audio/speech,
WAV streamed by the openai client), same text, same run.

    PYTHONPATH=src .venv/bin/python benchmarks/speech.py [--rounds 3]

Below 1.0 the voice speaks faster than real time. Random weights make durations of their own,
so the audio's length is measured, not assumed (printed beside). Through the gateway, the time
to the first audio byte shows what streaming a sentence at a time buys: the first sentence is
heard while the rest is made. One torch thread on both sides, as the gateway's default.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import openai
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.media_gateway import gateway
from tests.gateway import tiny_media

TEXT = (
    "The gateway checks every file before a model is loaded. Keys are hashed and rate limited. "
    "Each sentence is spoken as soon as it is ready, so the first words arrive early. "
    "Nothing is downloaded while the server runs, and unknown voices are refused."
)
RATE = tiny_media.SPEECH_RATE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed runs per side")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from transformers import VitsModel, VitsTokenizer

    from airlock.gateway.engines.vits_speech import sentences

    with tempfile.TemporaryDirectory() as work:
        folder = tiny_media.make_vits(Path(work) / "mms-size-vits", full_size=True)
        model = VitsModel.from_pretrained(str(folder), local_files_only=True)
        tokenizer = VitsTokenizer.from_pretrained(str(folder), local_files_only=True)
        params = sum(p.numel() for p in model.parameters())

        def local() -> tuple[float, float]:
            start = time.perf_counter()
            samples = 0
            for sentence in sentences(TEXT):  # as the engine does: one pass per sentence
                with torch.inference_mode():
                    ids = tokenizer(sentence, return_tensors="pt").input_ids
                    samples += model(input_ids=ids).waveform.shape[1]
            return time.perf_counter() - start, samples / RATE

        with gateway(folder, "mms-size", Path(work) / "home") as (url, key):
            client = openai.OpenAI(base_url=url, api_key=key, max_retries=0, timeout=600)

            def served() -> tuple[float, float, float]:
                start = time.perf_counter()
                first = 0.0
                data = b""
                with client.audio.speech.with_streaming_response.create(
                    model="mms-size", voice="alloy", input=TEXT, response_format="wav"
                ) as response:
                    for chunk in response.iter_bytes():
                        if len(data) <= 44 < len(data) + len(chunk):
                            first = time.perf_counter() - start
                        data += chunk
                return time.perf_counter() - start, (len(data) - 44) / 2 / RATE, first

            served()  # warm-up: lazy load
            via_gateway = [served() for _ in range(args.rounds)]
        local()
        in_process = [local() for _ in range(args.rounds)]
    print(
        f"VITS, MMS-TTS architecture ({params / 1e6:.1f}M parameters, random weights), "
        f"{len(TEXT)} characters in {len(sentences(TEXT))} sentences, {args.rounds} rounds, "
        f"1 torch thread, {os.cpu_count()} CPUs"
    )
    print(f"{'':>12} | {'RTF p50':>7} {'audio s':>7} {'wall s':>7} {'first byte s':>12}")
    rtf_g = statistics.median(w / a for w, a, _ in via_gateway)
    rtf_p = statistics.median(w / a for w, a in in_process)
    print(
        f"{'gateway':>12} | {rtf_g:>7.3f} {statistics.median(a for _, a, _ in via_gateway):>7.2f} "
        f"{statistics.median(w for w, _, _ in via_gateway):>7.2f} "
        f"{statistics.median(f for _, _, f in via_gateway):>12.2f}"
    )
    print(
        f"{'in-process':>12} | {rtf_p:>7.3f} {statistics.median(a for _, a in in_process):>7.2f} "
        f"{statistics.median(w for w, _ in in_process):>7.2f} {'-':>12}"
    )
    print(f"gateway RTF / in-process RTF: {rtf_g / rtf_p:.2f}x")


if __name__ == "__main__":
    main()
