"""The CPU as a target: will it run in the machine's RAM, in what format, how fast."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fit_helpers import LLAMA_31_8B, write_config, write_sparse_checkpoint
from kind_helpers import BGE_BASE_EN_15

from airlock.cli import main
from airlock.fit import machine
from airlock.fit.accelerators import GIB, runtimes
from airlock.fit.estimate import CpuRequest, FitReport, FitRequest, estimate
from airlock.fit.machine import Probe, describe, read_local
from airlock.fit.quant import QUANTS

# A two-socket AMD EPYC 9654 server as /proc/cpuinfo describes one socket's CPU.
GENOA = Probe(
    cpu="AMD EPYC 9654 96-Core Processor",
    vendor="AuthenticAMD",
    flags=frozenset({"avx2", "fma", "avx512f"}),
    logical_cpus=192,
    physical_cores=96,
    clock_hz=2.4e9,
    memory_bytes=768 * GIB,
    memory_basis="read from this machine",
)
UNKNOWN = Probe("Some CPU", "", frozenset(), 8, 8, 0.0, 32 * GIB, "read from this machine")
LLAMA_8B = 8_030_261_248


def test_table_and_instruction_sets_give_the_figures() -> None:
    found = describe(GENOA)
    # AMD's 12 channels of DDR5-4800 per socket: 12 x 4800 MT/s x 8 bytes.
    assert found.bandwidth_bytes_s == 460.8e9
    assert found.bandwidth_basis.startswith("table: AMD EPYC 9004")
    # Zen 4 runs AVX-512 on two 256-bit FMA units: 32 FP32 FLOP per cycle per core.
    assert found.fp32_flops == 96 * 2.4e9 * 32
    assert found.flops_basis.startswith("estimated: 96 cores x 2.40 GHz x 32 FLOP/cycle")
    assert found.memory_bytes == 768 * GIB


def test_what_the_user_gives_wins() -> None:
    found = describe(GENOA, ram_gib=64, bandwidth_gb_s=100, gflops=1500)
    assert (found.memory_bytes, found.bandwidth_bytes_s, found.fp32_flops) == (
        64 * GIB,
        100e9,
        1500e9,
    )
    assert found.memory_basis == "given with --ram"
    assert found.bandwidth_basis == "given with --memory-bandwidth"
    assert found.flops_basis == "given with --cpu-gflops" and found.sources == ()


def test_an_unknown_cpu_says_what_is_missing() -> None:
    found = describe(UNKNOWN)
    assert found.bandwidth_bytes_s is None and found.fp32_flops is None
    assert found.bandwidth_basis == "unknown for Some CPU: pass --memory-bandwidth GB/s"


def _cpu(
    tmp_path: Path, config: dict[str, object], cpu: CpuRequest, probe: Probe, context: int = 0
) -> FitReport:
    request = FitRequest(context=context or None, cpu=cpu)
    return estimate(write_config(tmp_path, config), request, probe=probe)


def test_llama_8b_in_16_gib_runs_at_q8_0(tmp_path: Path) -> None:
    """16 GiB of RAM: bf16 (15.0 GiB of weights) does not fit in 90% of it, Q8_0 does."""
    report = _cpu(tmp_path, LLAMA_31_8B, CpuRequest(16, 100, None), UNKNOWN, context=4096)
    (fit,) = report.fits
    assert fit.accelerator.kind == "cpu" and fit.accelerator.usable_bytes == int(16 * GIB * 0.9)
    assert [o.plan.quant for o in fit.options] == ["stored (BF16)", "Q8_0", "Q4_K_M"]
    assert [o.fits for o in fit.options] == [False, True, True]
    assert fit.best.plan.quant == "Q8_0"
    q8 = round(LLAMA_8B * QUANTS["q8_0"].bits / 8)
    kv = 131_072 * 4096
    assert fit.best.required_bytes == q8 + kv + report.overhead_bytes
    assert fit.best.decode_tokens_s == pytest.approx(100e9 / (q8 + kv))
    # A CPU process's runtime, not a CUDA context.
    assert report.overhead_bytes - runtimes()["cpu"].bytes < runtimes()["gpu"].bytes


def test_the_runtime_is_per_target(tmp_path: Path) -> None:
    path = write_config(tmp_path, LLAMA_31_8B)
    on_cpu = estimate(path, FitRequest(cpu=CpuRequest(64, 100, 1000)), probe=UNKNOWN)
    on_gpu = estimate(path, FitRequest(gpu="h100"))
    gap = runtimes()["gpu"].bytes - runtimes()["cpu"].bytes
    assert on_gpu.overhead_bytes is not None and on_cpu.overhead_bytes is not None
    assert on_gpu.overhead_bytes - on_cpu.overhead_bytes == gap
    assert (
        on_gpu.fits[0].options[0].required_bytes - on_cpu.fits[0].options[0].required_bytes == gap
    )


def test_cli_exit_codes_on_the_cpu(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(write_config(tmp_path, LLAMA_31_8B))
    facts = ["--memory-bandwidth", "100", "--cpu-gflops", "1000"]
    assert main(["fit", path, "--cpu", "--ram", "16", *facts]) == 0  # Q8_0 fits
    assert main(["fit", path, "--cpu", "--ram", "4", *facts]) == 1  # not even Q4_K_M
    capsys.readouterr()
    assert main(["fit", path, "--ram", "16"]) == 2  # a CPU figure without --cpu
    assert main(["fit", path, "--cpu", "--gpu", "h100"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert errors == [
        "airlock: error: --ram describe(s) the CPU target: add --cpu",
        "airlock: error: --gpu and --cpu: choose one target",
    ]


def test_cli_shows_every_format_and_the_bases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(write_config(tmp_path, LLAMA_31_8B))
    args = ["fit", path, "--cpu", "--ram", "16", "--memory-bandwidth", "100", "--context", "4096"]
    assert main([*args, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["machine"]["memory_bytes"] == 16 * GIB
    assert data["machine"]["bandwidth_basis"] == "given with --memory-bandwidth"
    (fit,) = data["fits"]
    assert fit["kind"] == "cpu" and fit["tflops_precision"] == "fp32"
    assert fit["runtime_bytes"] == runtimes()["cpu"].bytes
    assert [o["quant"] for o in fit["options"]] == ["stored (BF16)", "Q8_0", "Q4_K_M"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "RAM             16.0 GiB (given with --ram)" in out
    assert out.count("CPU: ") == 3  # one row per format
    assert "Fit (this machine)" in out


def test_unknown_bandwidth_gives_no_decode_speed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = _cpu(tmp_path, LLAMA_31_8B, CpuRequest(64, None, None), UNKNOWN)
    assert all(option.decode_tokens_s is None for option in report.fits[0].options)
    assert report.fits[0].accelerator.bandwidth_bytes_s == 0


def test_encoder_on_the_cpu_reports_sequences_per_second(tmp_path: Path) -> None:
    report = _cpu(tmp_path, BGE_BASE_EN_15, CpuRequest(8, 50, 1000), UNKNOWN)
    best = report.fits[0].best
    matmul = 109_482_240 - (30522 + 512 + 2) * 768
    flops = 2 * matmul * 512 + 4 * 12 * 512 * 512 * 768
    assert best.sequences_s == pytest.approx(1000e9 / flops)
    assert best.decode_tokens_s is None and best.prefill_s is None
    assert best.plan.quant == "stored (F32)"  # 418 MiB: the most precise format fits


def test_reading_the_local_machine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = read_local()
    assert 1 <= found.physical_cores <= found.logical_cpus <= (os.cpu_count() or 1)
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert 0 < found.memory_bytes <= total
    path = str(write_config(tmp_path, BGE_BASE_EN_15))
    assert main(["fit", path, "--cpu", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["machine"]["memory_bytes"] == found.memory_bytes
    assert data["machine"]["cores"] == found.physical_cores
    assert data["fits"][0]["fits"] is True  # a 110M encoder fits any machine running tests


def test_cpuinfo_of_an_intel_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """/proc/cpuinfo as a 2-thread-per-core Xeon Platinum 8480+ writes it (first processor)."""
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nvendor_id\t: GenuineIntel\n"
        "model name\t: Intel(R) Xeon(R) Platinum 8480+\ncpu MHz\t\t: 2000.000\n"
        "siblings\t: 112\ncpu cores\t: 56\nflags\t\t: fpu avx2 fma avx512f amx_tile\n\n"
        "processor\t: 1\nvendor_id\t: GenuineIntel\n"
    )
    monkeypatch.setattr(machine, "_CPUINFO", info)
    monkeypatch.setattr(machine, "_MAX_FREQ", tmp_path / "absent")
    monkeypatch.setattr(machine, "_logical_cpus", lambda: 224)
    monkeypatch.setattr(machine.sys, "platform", "linux")
    probe = read_local()
    assert (probe.vendor, probe.physical_cores, probe.clock_hz) == ("GenuineIntel", 112, 2.0e9)
    found = describe(probe)
    assert found.bandwidth_bytes_s == 307.2e9  # 8 channels of DDR5-4800
    assert found.fp32_flops == 112 * 2.0e9 * 64  # two AVX-512 FMA units per core


# --- a context longer than the model supports --------------------------------------------------


def test_over_context_is_a_warning_not_an_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(write_config(tmp_path, BGE_BASE_EN_15))
    assert main(["fit", path, "--gpu", "l4", "--context", "2048", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["warnings"] == [
        "context 2,048 is longer than the model supports (512 positions): runtimes refuse it "
        "or the output degrades past that point"
    ]
    assert main(["fit", path, "--gpu", "l4", "--context", "2048"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "warning context 2,048 is longer than the model supports (512 positions)" in out
    assert main(["fit", path, "--gpu", "l4", "--context", "512", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == []


def test_cpu_without_config_cannot_say_it_fits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Neither 0 nor 1, as with --gpu: the memory total needs the architecture."""
    write_sparse_checkpoint(tmp_path, LLAMA_31_8B, shards=1)
    (tmp_path / "config.json").unlink()
    assert main(["fit", str(tmp_path), "--cpu", "--ram", "64"]) == 2
    assert capsys.readouterr().err.startswith(
        "airlock: error: cannot tell whether it fits on this machine's CPU: no config.json"
    )
