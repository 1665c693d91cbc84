"""The JSON copies of the knowledge files (what scans read) must equal their TOML sources."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

import pytest

from airlock.data import COMPILED, compiled_path, load_compiled

ROOT = Path(__file__).resolve().parents[1]


def _tool() -> object:
    spec = importlib.util.spec_from_file_location("compile", ROOT / "tools" / "compile_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", COMPILED)
def test_compiled_copy_is_current(name: str) -> None:
    source = tomllib.loads((ROOT / "src" / "airlock" / "data" / name).read_text("utf-8"))
    assert load_compiled(name) == source, "run: .venv/bin/python tools/compile_data.py"
    written = Path(compiled_path(name)).read_text("utf-8")
    assert written == _tool().render(name), "run: .venv/bin/python tools/compile_data.py"  # type: ignore[attr-defined]


def test_only_compiled_files_load() -> None:
    with pytest.raises(ValueError, match="no compiled copy"):
        load_compiled("prices.toml")
