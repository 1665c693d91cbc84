"""Proof that an adversarial sample is live, and proof that scanning it ran nothing.

Every sample in this suite is built to create a canary file when the *real* loader reads it
(`torch.load`, `pickle.load`, `joblib.load`, `numpy.load(allow_pickle=True)`, a Jinja render,
`AutoTokenizer.from_pretrained(trust_remote_code=True)`, Hydra's `instantiate`, ...). A sample
that does not fire under its loader proves nothing about the scanner, so each one is loaded
once, in a child process, with the library that would load it in production; the scan must
then flag it and the canary must not exist after the scan.

The payload only ever writes its canary (see `canary_code` and `canary_shell`).
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from airlock.artifact import ArtifactFile
from airlock.findings import Finding, Severity
from airlock.scan.scanner import Scanner

# How each loader reads the file at `path` (a str); the snippet runs in a fresh interpreter.
LOADERS = {
    "pickle": "import pickle\nwith open(path, 'rb') as f: pickle.load(f)",
    "torch": "import torch\ntorch.load(path, weights_only=False)",
    "joblib": "import joblib\njoblib.load(path)",
    "numpy": "import numpy\nnumpy.load(path, allow_pickle=True)",
    "numpy_npz": ("import numpy\nz = numpy.load(path, allow_pickle=True)\nfor k in z.files: z[k]"),
}
# The module each loader needs; a loader whose library is missing skips its live proof only.
LOADER_MODULES = {"pickle": None, "torch": "torch", "joblib": "joblib", "numpy": "numpy",
                  "numpy_npz": "numpy"}  # fmt: skip


def canary_code(canary: Path) -> str:
    """Python source that would create the canary file, and do nothing else."""
    return f"open({str(canary)!r}, 'w').write('fired')"


def canary_shell(canary: Path) -> str:
    """A shell command that would create the canary file, and do nothing else."""
    return f"touch {shlex.quote(str(canary))}"


def run_snippet(code: str, path: Path, cwd: Path | None = None, timeout: float = 120) -> str:
    """Run `code` with `path` bound to the sample's path in a fresh interpreter; its output."""
    program = f"path = {str(path)!r}\n" + textwrap.dedent(code)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=cwd or path.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return done.stdout + done.stderr


def prove_live(loader: str, path: Path, canary: Path, *, code: str | None = None) -> None:
    """Load `path` with the real `loader` (or `code`) in a child process: the canary must fire.

    Skips (only this proof) when the loader's library is not installed. The canary is removed
    afterwards, so the scan that follows starts from a clean slate.
    """
    module = LOADER_MODULES.get(loader)
    if module is not None and importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed: cannot prove the sample live")
    assert not canary.exists(), "canary already present before the live proof"
    output = run_snippet(code if code is not None else LOADERS[loader], path)
    assert canary.exists(), (
        f"the sample did not fire under the real loader ({loader}); it proves nothing.\n"
        f"loader output:\n{output[-2000:]}"
    )
    canary.unlink()


def scan(path: Path) -> list[Finding]:
    """Findings of a default scan of a file or a folder."""
    if path.is_dir():
        return Scanner().scan_paths([path]).findings
    return list(Scanner().scan_file(ArtifactFile(path, str(path))).findings)


def describe(findings: list[Finding]) -> str:
    lines = [
        f"  {f.rule_id} {f.severity.label} at {f.location.describe() or '-'}: "
        f"{f.message[:120]} | {f.evidence[:160]}"
        for f in findings
    ]
    return "\n".join(lines) or "  (no findings)"


def assert_blocked(
    path: Path, canary: Path, at_least: Severity = Severity.HIGH, rule: str | None = None
) -> list[Finding]:
    """The default scan flags `path` at `at_least` or above (with `rule` when given), and the
    scan itself did not fire the canary."""
    findings = scan(path)
    loud = [f for f in findings if f.severity >= at_least and (rule is None or f.rule_id == rule)]
    assert loud, (
        f"{path.name}: expected a finding at >= {at_least.label}"
        + (f" ({rule})" if rule else "")
        + f", got:\n{describe(findings)}"
    )
    assert not canary.exists(), f"{path.name}: scanning ran the payload"
    return findings


def assert_clean(path: Path, below: Severity = Severity.HIGH) -> list[Finding]:
    """A benign file made with the real library stays under `below` (default: nothing high)."""
    findings = scan(path)
    loud = [f for f in findings if f.severity >= below]
    assert not loud, f"{path.name}: benign file flagged:\n{describe(loud)}"
    return findings
