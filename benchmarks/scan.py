"""Benchmark `airlock scan` against picklescan and modelscan on the same models.

Usage (from the repository root, with the project venv)::

    .venv/bin/python benchmarks/scan.py [--workdir benchmarks/.work] [--big-gb 1.0]
                                        [--small-files 1500] [--repeat 3]

What it does:

1. Creates (once) a separate venv for the peers, benchmarks/.venv-peers, and pip-installs
   picklescan and modelscan into it from PyPI. A peer that cannot be installed is reported
   and left out; the others still run.
2. Generates a corpus under the workdir (once; regenerated when a parameter changes):
   a >= --big-gb GiB PyTorch zip checkpoint, the same weights in the legacy (non-zip)
   torch.save format (skipped, with a note, when the disk is short of space), and a folder of
   --small-files small files (default 1500, the mixed folder of the speed goal): torch
   state_dicts (.pt/.bin, zip and legacy), joblib and pickled scikit-learn models, raw
   pickles, numpy .npy/.npz, and a few malicious pickles that call os.system / exec on load
   (never loaded here), so "flagged" counts mean something.
3. Scans each scenario (big zip checkpoint, big legacy checkpoint, folder of small files) with
   every tool, all on the same path: one warm-up run per tool (the page cache is then warm
   for everyone; dropping it needs root and would mostly measure the disk), then --repeat
   rounds that run each tool once in turn, so background load is shared out evenly.
4. Prints a table (median and best wall time, median CPU time, peak RSS, files flagged, and
   each peer's time and memory as a multiple of Airlock's: > 1 means Airlock is faster /
   smaller), PASS/FAIL lines for the goals, and writes everything to <workdir>/results.json.
   The goals: each big checkpoint in under 1 s and 200 MB (scan cost flat in tensor bytes),
   and the folder of small files at least 2x faster than picklescan (median wall time).

How it measures: each run is one fresh process. A minimal launcher (`python -I -S`, about 8 MB)
spawns it, reaps it with os.wait4(pid) and records the wall time from spawn to reap and the
ru_maxrss (peak resident set size) of that one child, so no polling is needed and short runs
are not missed; CPU time (user + system) comes from the same rusage and is the figure to trust
on a busy machine (the script warns when the load average is high). The launcher exists because
Linux carries the spawning process's own peak RSS into the child's ru_maxrss (the memory it had
when it forked or vforked is counted before exec replaces it): spawned straight from this
script, which has held a 1 GiB state_dict while generating the corpus, every tool would report
this script's peak instead of its own. The launcher's small footprint (about 10 MB) is the
floor of the measurement; it is measured (running `true`) and printed. Wall time includes
interpreter start-up and imports for every tool alike: it is what a user waits for. Airlock
runs as `<this python> -m airlock scan PATH --format json --no-progress`, the airlock package
this script imports (relative PYTHONPATH entries are made absolute, since the tools run in a
scratch folder); the peers run from their venv's console scripts (`picklescan -p PATH`,
`modelscan -p PATH -r json -o FILE`).

"Flagged" is each tool's own verdict: files picklescan counts as infected, distinct files in
modelscan's issues, files where Airlock reports a finding of severity high or above (the
count with any finding at all is in results.json).
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PEERS_VENV = HERE / ".venv-peers"
PEER_PACKAGES = ("picklescan", "modelscan")
# Bump when the generated corpus changes shape, so cached corpora are rebuilt.
CORPUS_VERSION = 2
GIB = 1 << 30
MIB = 1 << 20
GOAL_BIG_SECONDS = 1.0
GOAL_BIG_RSS_MB = 200.0
# The folder of small files: Airlock's median wall time at most picklescan's / this.
GOAL_SMALL_SPEEDUP = 2.0
DEFAULT_SMALL_FILES = 1500


# --------------------------------------------------------------------------- measuring


@dataclass
class Run:
    wall_s: float
    cpu_s: float  # user + system
    rss_mb: float
    exit_code: int
    timed_out: bool = False


# Started as `python -I -S -c LAUNCHER RESULT_FILE TIMEOUT CMD...`: spawns CMD, waits for it
# with wait4 and writes its wall time, exit status and rusage peak RSS to RESULT_FILE.
LAUNCHER = """
import json, os, signal, sys, time
result, timeout, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
timed_out = False
start = time.perf_counter()
pid = os.posix_spawnp(cmd[0], cmd, os.environ)
def on_alarm(signum, frame):
    global timed_out
    timed_out = True
    os.kill(pid, signal.SIGKILL)
signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, timeout)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
signal.setitimer(signal.ITIMER_REAL, 0)
maxrss = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
with open(result, "w") as out:
    cpu = usage.ru_utime + usage.ru_stime
    json.dump([wall, cpu, maxrss, os.waitstatus_to_exitcode(status), timed_out], out)
"""


def measure(cmd: list[str], stdout_path: Path, timeout: float, cwd: Path) -> Run:
    """Run `cmd` once through the launcher (see the module docstring); stderr goes to .err."""
    result = stdout_path.with_suffix(".run.json")
    launcher = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(result), str(timeout)]
    with open(stdout_path, "wb") as out, open(stdout_path.with_suffix(".err"), "wb") as err:
        subprocess.run([*launcher, *cmd], stdout=out, stderr=err, cwd=cwd, check=True)
    wall, cpu, rss_bytes, exit_code, timed_out = json.loads(result.read_text())
    return Run(wall, cpu, rss_bytes / MIB, exit_code, timed_out)


# --------------------------------------------------------------------------- tools


@dataclass
class Tool:
    name: str
    version: str
    command: Callable[[Path, Path], list[str]]  # (path to scan, report file) -> argv
    count_flagged: Callable[[str, Path], dict[str, int]]  # (stdout, report file) -> counts


def airlock_tool() -> Tool:
    def command(path: Path, report: Path) -> list[str]:
        scan = ["scan", str(path), "--format", "json", "--no-progress"]
        return [sys.executable, "-m", "airlock", *scan]

    version = _run_text([sys.executable, "-c", _VERSION_SNIPPET, "model-airlock"])
    # pip compiles an installed package's bytecode (the peers' too); an editable install under
    # PYTHONDONTWRITEBYTECODE never has any, and would pay ~25 ms compiling on every run.
    import airlock

    compileall.compile_dir(Path(airlock.__file__).parent, quiet=1)
    print(f"airlock measured from {Path(airlock.__file__).parent}")
    return Tool("airlock", version, command, _airlock_flagged)


_VERSION_SNIPPET = "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))"
_SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def _airlock_flagged(stdout: str, report: Path) -> dict[str, int]:
    """Files with a finding (any, and high or above) in `airlock scan --format json` output."""
    doc, _ = json.JSONDecoder().raw_decode(stdout[stdout.find("{") :])
    any_files: set[str] = set()
    high_files: set[str] = set()
    findings: list[dict[str, Any]] = []
    for entry in doc.get("files", []):
        for finding in entry.get("findings", []):
            findings.append({"file": entry.get("path"), **finding})
    findings.extend(doc.get("findings", []) if not findings else [])
    for finding in findings:
        name = str(finding.get("file") or finding.get("path"))
        any_files.add(name)
        if _SEVERITY_RANK.get(str(finding.get("severity", "")).lower(), 0) >= 3:
            high_files.add(name)
    summary = doc.get("summary", {})
    counts = {"flagged": len(high_files), "flagged_any": len(any_files)}
    for key in ("files", "inspected"):
        if isinstance(summary.get(key), int):
            counts[key] = summary[key]
    return counts


def peer_tools(python: Path) -> list[Tool]:
    bin_dir = python.parent
    tools: list[Tool] = []
    if (bin_dir / "picklescan").exists():
        tools.append(
            Tool(
                "picklescan",
                _run_text([str(python), "-c", _VERSION_SNIPPET, "picklescan"]),
                lambda path, report: [str(bin_dir / "picklescan"), "-p", str(path)],
                _picklescan_flagged,
            )
        )
    if (bin_dir / "modelscan").exists():
        tools.append(
            Tool(
                "modelscan",
                _run_text([str(python), "-c", _VERSION_SNIPPET, "modelscan"]),
                lambda path, report: [
                    *(str(bin_dir / "modelscan"), "-p", str(path)),
                    *("-r", "json", "-o", str(report)),
                ],
                _modelscan_flagged,
            )
        )
    return tools


def _picklescan_flagged(stdout: str, report: Path) -> dict[str, int]:
    counts = {"flagged": 0}
    for line in stdout.splitlines():
        if line.startswith("Infected files:"):
            counts["flagged"] = int(line.split(":")[1])
        elif line.startswith("Scanned files:"):
            counts["scanned"] = int(line.split(":")[1])
    return counts


def _modelscan_flagged(stdout: str, report: Path) -> dict[str, int]:
    doc = json.loads(report.read_text())
    sources = {str(issue.get("source")) for issue in doc.get("issues", [])}
    summary = doc.get("summary", {})
    scanned = summary.get("scanned", {}).get("total_scanned")
    counts = {"flagged": len(sources), "issues": len(doc.get("issues", []))}
    if isinstance(scanned, int):
        counts["scanned"] = scanned
    counts["errors"] = len(doc.get("errors", []))
    return counts


def _run_text(cmd: list[str]) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return done.stdout.strip() or "?"


def ensure_peers_venv() -> Path:
    """The peers' python, installing picklescan and modelscan on first use."""
    python = PEERS_VENV / "bin" / "python"
    stamp = PEERS_VENV / ".installed"
    if stamp.exists() and stamp.read_text().split() == list(PEER_PACKAGES):
        return python
    if not python.exists():
        print(f"creating {PEERS_VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    for package in PEER_PACKAGES:
        # A bare `torch` dependency would pull a multi-GB GPU build: pin the CPU wheel first.
        if "torch" in _would_install(python, package):
            subprocess.run([*pip, "torch==2.13.0"], check=False)
        print(f"installing {package} into {PEERS_VENV} ...", flush=True)
        done = subprocess.run([*pip, package], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"NOTE: could not install {package}; it is left out:\n{done.stderr[-2000:]}")
    stamp.write_text(" ".join(PEER_PACKAGES))
    return python


def _would_install(python: Path, package: str) -> set[str]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [str(python), "-m", "pip", "install", "--quiet", "--dry-run"]
        done = subprocess.run(
            [*cmd, "--report", str(report), package], capture_output=True, check=False
        )
        if done.returncode != 0 or not report.exists():
            return set()
        items = json.loads(report.read_text()).get("install", [])
        return {str(item["metadata"]["name"]).lower() for item in items}


# --------------------------------------------------------------------------- corpus


def _stamp_ok(stamp: Path, params: dict[str, Any]) -> bool:
    return stamp.exists() and json.loads(stamp.read_text()) == params


def big_state_dict(target_bytes: int) -> dict[str, Any]:
    """A transformer-shaped float32 state_dict of at least `target_bytes` (zeros, lazily paged)."""
    import torch

    hidden, vocab, mlp = 1024, 32000, 4096
    tensors: dict[str, Any] = {"embed.weight": torch.zeros(vocab, hidden)}
    total = vocab * hidden * 4
    layer = 0
    while total < target_bytes:
        shapes = {
            "attn.q.weight": (hidden, hidden),
            "attn.k.weight": (hidden, hidden),
            "attn.v.weight": (hidden, hidden),
            "attn.o.weight": (hidden, hidden),
            "attn.o.bias": (hidden,),
            "mlp.up.weight": (mlp, hidden),
            "mlp.up.bias": (mlp,),
            "mlp.down.weight": (hidden, mlp),
            "mlp.down.bias": (hidden,),
            "norm1.weight": (hidden,),
            "norm2.weight": (hidden,),
        }
        for name, shape in shapes.items():
            tensors[f"layers.{layer}.{name}"] = torch.zeros(*shape)
            total += tensors[f"layers.{layer}.{name}"].numel() * 4
        layer += 1
    tensors["lm_head.weight"] = torch.zeros(vocab, hidden)
    return tensors


def make_big(corpus: Path, big_gb: float, want_legacy: bool) -> dict[str, Path | None]:
    import torch

    target = int(big_gb * GIB)
    zip_path = corpus / "big-zip" / "model.pt"
    legacy_path = corpus / "big-legacy" / "pytorch_model.bin"
    paths: dict[str, Path | None] = {"big-zip": zip_path, "big-legacy": None}
    params = {"version": CORPUS_VERSION, "big_gb": big_gb}
    todo = []
    if not _stamp_ok(corpus / "big-zip.json", params):
        todo.append(("big-zip", zip_path, True))
    if want_legacy:
        paths["big-legacy"] = legacy_path
        if not _stamp_ok(corpus / "big-legacy.json", params):
            todo.append(("big-legacy", legacy_path, False))
    if not todo:
        return paths
    state = big_state_dict(target)
    for name, path, zipped in todo:
        shutil.rmtree(path.parent, ignore_errors=True)
        path.parent.mkdir(parents=True)
        print(f"writing {path} ({target / GIB:.2f} GiB) ...", flush=True)
        started = time.perf_counter()
        with open(path, "wb", buffering=16 * MIB) as handle:
            torch.save(state, handle, _use_new_zipfile_serialization=zipped)
        print(f"  {path.stat().st_size / GIB:.2f} GiB in {time.perf_counter() - started:.1f} s")
        (corpus / f"{name}.json").write_text(json.dumps(params))
    return paths


class _Payload:
    """Pickles to a call of `func(arg)` on load (os.system, exec...). Only ever written here."""

    def __init__(self, func: Callable[[str], object], arg: str) -> None:
        self.func, self.arg = func, arg

    def __reduce__(self) -> tuple[Callable[[str], object], tuple[str]]:
        return self.func, (self.arg,)


def make_small(corpus: Path, count: int) -> Path:
    """`count` small model files of mixed formats, four of them malicious."""
    folder = corpus / "small"
    params = {"version": CORPUS_VERSION, "small_files": count}
    if _stamp_ok(corpus / "small.json", params):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    print(f"writing {count} small files into {folder} ...", flush=True)

    import pickle

    import joblib  # type: ignore[import-untyped]
    import numpy as np
    import torch
    from sklearn.cluster import KMeans  # type: ignore[import-untyped]
    from sklearn.ensemble import RandomForestClassifier  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped]
    from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]
    from sklearn.tree import DecisionTreeClassifier  # type: ignore[import-untyped]

    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    x = rng.normal(size=(200, 8))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)

    def sklearn_model(i: int) -> Any:
        models = [
            lambda: LogisticRegression(max_iter=200),
            lambda: RandomForestClassifier(n_estimators=5, max_depth=4, random_state=i),
            lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=200)),
            lambda: KMeans(n_clusters=3, n_init=1, random_state=i),
            lambda: DecisionTreeClassifier(max_depth=5, random_state=i),
        ]
        return models[(i // len(writers)) % len(models)]().fit(x, y)

    def state_dict(i: int) -> dict[str, Any]:
        width = 16 + 8 * (i % 16)
        net = torch.nn.Sequential(
            torch.nn.Linear(width, width), torch.nn.LayerNorm(width), torch.nn.Linear(width, 4)
        )
        return net.state_dict()

    def raw_object(i: int) -> Any:
        return {
            "config": {"name": f"model-{i}", "layers": i % 12, "dropout": 0.1, "tags": ["a", "b"]},
            "vocab": {f"tok{j}": j for j in range(50 + i % 200)},
            "history": [float(j) / 3 for j in range(100)],
            "weights": rng.normal(size=(16, 16)),
        }

    writers: list[tuple[str, str, Callable[[Path, int], object]]] = [
        ("torch", "pt", lambda p, i: torch.save(state_dict(i), p)),
        ("torch", "bin", lambda p, i: torch.save(state_dict(i), p)),
        (
            "torch",
            "bin",
            lambda p, i: torch.save(state_dict(i), p, _use_new_zipfile_serialization=False),
        ),
        ("sklearn", "joblib", lambda p, i: joblib.dump(sklearn_model(i), p)),
        ("sklearn", "pkl", lambda p, i: p.write_bytes(pickle.dumps(sklearn_model(i), 4))),
        ("pickle", "pkl", lambda p, i: p.write_bytes(pickle.dumps(raw_object(i), i % 6))),
        ("numpy", "npy", lambda p, i: np.save(p, rng.normal(size=(32, 8 + i % 64)))),
        (
            "numpy",
            "npz",
            lambda p, i: np.savez(p, a=rng.normal(size=(64,)), b=np.arange(i + 10)),
        ),
        (
            "numpy",
            "npz",
            lambda p, i: np.savez_compressed(p, w=np.zeros((128, 16)), i=np.arange(i + 10)),
        ),
        (
            "numpy",
            "npy",
            lambda p, i: np.save(p, np.array([{"id": i}, "text", (1, 2)], dtype=object)),
        ),
    ]
    canary = "echo airlock-benchmark-canary"
    malicious: list[tuple[str, Callable[[Path], object]]] = [
        ("os_system.pkl", lambda p: p.write_bytes(pickle.dumps(_Payload(os.system, canary)))),
        ("exec.pkl", lambda p: p.write_bytes(pickle.dumps(_Payload(exec, f"print('{canary}')")))),
        (
            "os_system_in_checkpoint.pt",
            lambda p: torch.save({"w": torch.zeros(4), "x": _Payload(os.system, canary)}, p),
        ),
        ("os_system.joblib", lambda p: joblib.dump({"m": _Payload(os.system, canary)}, p)),
    ]
    benign = max(count - len(malicious), 0)
    for i in range(benign):
        group, ext, write = writers[i % len(writers)]
        path = folder / group / f"model_{i:04d}.{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path, i)
        if ext in ("npy", "npz") and not path.exists():  # numpy appends the suffix itself
            Path(f"{path}.{ext}").rename(path)
    (folder / "malicious").mkdir(parents=True, exist_ok=True)
    for name, write_bad in malicious[: count - benign]:
        write_bad(folder / "malicious" / name)
    (corpus / "small.json").write_text(json.dumps(params))
    return folder


def _tree_size(path: Path) -> tuple[int, int]:
    if path.is_file():
        return 1, path.stat().st_size
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


# --------------------------------------------------------------------------- running


@dataclass
class Result:
    tool: str
    runs: list[Run] = field(default_factory=list)
    warmup: Run | None = None
    counts: dict[str, int] = field(default_factory=dict)
    output_tail: str = ""

    @property
    def median_s(self) -> float:
        return statistics.median(r.wall_s for r in self.runs)

    @property
    def median_cpu_s(self) -> float:
        return statistics.median(r.cpu_s for r in self.runs)

    @property
    def best_s(self) -> float:
        return min(r.wall_s for r in self.runs)

    @property
    def peak_rss_mb(self) -> float:
        return max(r.rss_mb for r in self.runs)

    @property
    def exit_codes(self) -> list[int]:
        return sorted({r.exit_code for r in self.runs})

    @property
    def timed_out(self) -> bool:
        return any(r.timed_out for r in self.runs)


def run_scenario(
    path: Path, tools: list[Tool], repeat: int, timeout: float, scratch: Path
) -> list[Result]:
    """A warm-up run of every tool, then `repeat` rounds that run each tool once in turn.

    Interleaving the tools spreads any background load over all of them instead of
    penalising whichever tool happened to run while it lasted.
    """
    results = [Result(tool.name) for tool in tools]

    def once(tool: Tool) -> Run:
        out, report = scratch / f"{tool.name}.out", scratch / f"{tool.name}.json"
        report.unlink(missing_ok=True)
        return measure(tool.command(path, report), out, timeout, scratch)

    for tool, result in zip(tools, results, strict=True):
        result.warmup = once(tool)
    for _ in range(repeat):
        for tool, result in zip(tools, results, strict=True):
            if result.warmup is not None and result.warmup.timed_out:
                continue  # one timeout is enough to know
            result.runs.append(once(tool))
    for tool, result in zip(tools, results, strict=True):
        if not result.runs and result.warmup is not None:
            result.runs = [result.warmup]
        out = scratch / f"{tool.name}.out"
        text = out.read_text(errors="replace")
        err = out.with_suffix(".err").read_text(errors="replace")
        result.output_tail = (text[-1000:] + "\n--- stderr ---\n" + err[-1000:]).strip()
        try:
            result.counts = tool.count_flagged(text, scratch / f"{tool.name}.json")
        except (ValueError, OSError, AttributeError) as exc:
            print(f"  NOTE: could not read {tool.name}'s verdict ({type(exc).__name__}: {exc})")
        print(
            f"  {tool.name:<11} median {result.median_s:8.3f} s  CPU {result.median_cpu_s:.3f} s  "
            f"peak RSS "
            f"{result.peak_rss_mb:8.1f} MB  exit {result.exit_codes}  {result.counts}",
            flush=True,
        )
    return results


def print_table(scenarios: dict[str, list[Result]]) -> None:
    header = (
        f"{'scenario':<11} {'tool':<11} {'median s':>9} {'best s':>8} {'CPU s':>7} "
        f"{'peak RSS MB':>11} "
        f"{'exit':>6} {'flagged':>8} {'time x':>7} {'CPU x':>6} {'RSS x':>6}"
    )
    print()
    print(header)
    print("-" * len(header))
    for scenario, results in scenarios.items():
        base = next((r for r in results if r.tool == "airlock"), None)
        for r in results:
            time_x = cpu_x = rss_x = "-"
            if base is not None and r is not base:
                time_x = f"{r.median_s / base.median_s:.1f}"
                cpu_x = f"{r.median_cpu_s / base.median_cpu_s:.1f}"
                rss_x = f"{r.peak_rss_mb / base.peak_rss_mb:.1f}"
            median = f"{r.median_s:.3f}" + ("!" if r.timed_out else "")
            codes = ",".join(str(c) for c in r.exit_codes)
            flagged = str(r.counts.get("flagged", "?"))
            print(
                f"{scenario:<11} {r.tool:<11} {median:>9} {r.best_s:>8.3f} {r.median_cpu_s:>7.3f} "
                f"{r.peak_rss_mb:>11.1f} {codes:>6} {flagged:>8} {time_x:>7} {cpu_x:>6} {rss_x:>6}"
            )
    print(
        "CPU s: median user+system time, less sensitive to other load than wall time.\n"
        "time x / CPU x / RSS x: the peer's median wall time / CPU time / peak RSS divided by "
        "Airlock's (> 1: Airlock is faster / smaller). ! = hit the timeout."
    )


def goals(scenarios: dict[str, list[Result]]) -> list[dict[str, Any]]:
    verdicts: list[dict[str, Any]] = []
    for name in ("big-zip", "big-legacy"):
        results = {r.tool: r for r in scenarios.get(name, [])}
        if "airlock" not in results:
            continue
        a = results["airlock"]
        fast = a.median_s < GOAL_BIG_SECONDS and a.peak_rss_mb < GOAL_BIG_RSS_MB
        # A run that failed or skipped the file (not inspected) proves nothing about speed.
        scanned = set(a.exit_codes) <= {0, 1} and a.counts.get("inspected") == 1
        measured = f"{a.median_s:.3f} s, {a.peak_rss_mb:.1f} MB"
        if not scanned:
            measured += f", but exit {a.exit_codes}, inspected {a.counts.get('inspected', '?')}"
        verdicts.append(
            {
                "goal": f"{name}: scan < {GOAL_BIG_SECONDS:g} s, peak RSS < {GOAL_BIG_RSS_MB:g} MB",
                "passed": fast and scanned,
                "measured": measured,
            }
        )
    results = {r.tool: r for r in scenarios.get("small", [])}
    if "airlock" in results and "picklescan" in results:
        a, p = results["airlock"], results["picklescan"]
        files = a.counts.get("files", "?")
        speedup, cpu_ratio = p.median_s / a.median_s, p.median_cpu_s / a.median_cpu_s
        # Every file must have been read for the time to count.
        scanned = set(a.exit_codes) <= {0, 1} and a.counts.get("inspected") == files
        verdicts.append(
            {
                "goal": f"small files: at least {GOAL_SMALL_SPEEDUP:g}x faster than picklescan "
                f"on the {files}-file folder",
                "passed": speedup >= GOAL_SMALL_SPEEDUP and scanned,
                "measured": f"airlock {a.median_s:.3f} s vs picklescan {p.median_s:.3f} s: "
                f"{speedup:.2f}x; CPU {a.median_cpu_s:.3f} s vs {p.median_cpu_s:.3f} s: "
                f"{cpu_ratio:.2f}x",
            }
        )
    return verdicts


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gib": round(memory, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=HERE / ".work")
    parser.add_argument("--big-gb", type=float, default=1.0, help="checkpoint size in GiB")
    parser.add_argument(
        "--small-files",
        type=int,
        default=DEFAULT_SMALL_FILES,
        help=f"files in the mixed folder (default {DEFAULT_SMALL_FILES}, the speed goal's)",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--no-peers", action="store_true", help="measure Airlock alone")
    args = parser.parse_args(argv)
    # The tools run in a scratch folder: a relative PYTHONPATH would find another airlock there.
    if os.environ.get("PYTHONPATH"):
        entries = os.environ["PYTHONPATH"].split(os.pathsep)
        os.environ["PYTHONPATH"] = os.pathsep.join(str(Path(e).resolve()) for e in entries if e)

    corpus = args.workdir / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    have_zip = _stamp_ok(
        corpus / "big-zip.json", {"version": CORPUS_VERSION, "big_gb": args.big_gb}
    )
    needed = int(args.big_gb * GIB) * (1 if have_zip else 2) + 2 * GIB
    want_legacy = shutil.disk_usage(corpus).free >= needed
    if not want_legacy:
        print(f"NOTE: under {needed / GIB:.1f} GiB free; the legacy checkpoint is skipped.")
    big = make_big(corpus, args.big_gb, want_legacy)
    small = make_small(corpus, args.small_files)

    tools = [airlock_tool()]
    if not args.no_peers:
        tools += peer_tools(ensure_peers_venv())
    print("tools: " + ", ".join(f"{t.name} {t.version}" for t in tools))
    scratch = args.workdir / "scratch"
    scratch.mkdir(exist_ok=True)
    load_start = os.getloadavg()
    if load_start[0] > 0.5 * (os.cpu_count() or 1):
        print(f"NOTE: load average {load_start[0]:.1f}: other work is running; timings are noisy")
    floor = measure(["true"], scratch / "floor.out", 60, scratch)
    print(f"measurement floor (the launcher running `true`): {floor.rss_mb:.1f} MB")

    paths = {"big-zip": big["big-zip"], "big-legacy": big["big-legacy"], "small": small}
    scenarios: dict[str, list[Result]] = {}
    described: dict[str, Any] = {}
    for name, path in paths.items():
        if path is None:
            continue
        files, size = _tree_size(path)
        bad = len(list(path.glob("malicious/*"))) if path.is_dir() else 0
        print(
            f"\n{name}: {path} ({files} files, {size / MIB:.1f} MiB, {bad} known malicious)",
            flush=True,
        )
        described[name] = {"path": str(path), "files": files, "bytes": size, "malicious": bad}
        scenarios[name] = run_scenario(path, tools, args.repeat, args.timeout, scratch)

    print_table(scenarios)
    known = ", ".join(f"{name} {info['malicious']}" for name, info in described.items())
    print(f"flagged: files the tool reports (Airlock: high or above). Known malicious: {known}.")
    verdicts = goals(scenarios)
    print()
    for verdict in verdicts:
        status = "PASS" if verdict["passed"] else "FAIL"
        print(f"{status}  {verdict['goal']}  ({verdict['measured']})")

    results = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "rss_floor_mb": floor.rss_mb,
        "load_average": {"start": load_start, "end": os.getloadavg()},
        "params": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "tools": {
            t.name: {"version": t.version, "command": t.command(Path("PATH"), Path("OUT"))}
            for t in tools
        },
        "scenarios": {
            name: {
                **described[name],
                "results": [
                    {
                        "tool": r.tool,
                        "median_s": r.median_s,
                        "best_s": r.best_s,
                        "median_cpu_s": r.median_cpu_s,
                        "peak_rss_mb": r.peak_rss_mb,
                        "exit_codes": r.exit_codes,
                        "counts": r.counts,
                        "warmup": asdict(r.warmup) if r.warmup else None,
                        "runs": [asdict(run) for run in r.runs],
                        "output_tail": r.output_tail,
                    }
                    for r in results
                ],
            }
            for name, results in scenarios.items()
        },
        "goals": verdicts,
    }
    out = args.workdir / "results.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nresults written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
