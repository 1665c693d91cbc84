"""The layering docs/architecture.md describes holds: the import contracts in pyproject.toml
(`[tool.importlinter]`) are checked with import-linter over the `airlock` this test imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import airlock

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    source = str(Path(airlock.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[done.stdout.find("Contracts") :] + done.stderr
    assert "0 broken" in done.stdout
