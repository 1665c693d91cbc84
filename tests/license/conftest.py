from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from airlock.checks.license.template import render


def reference_text(name: str) -> str:
    """A shipped reference text as a copy reads: `texts/<name>.txt` without template markup."""
    folder = resources.files("airlock.data").joinpath("licenses", "texts")
    return render(folder.joinpath(f"{name}.txt").read_text("utf-8"))


def write_model(
    root: Path, front_matter: str | None = None, license_text: str | None = None
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if front_matter is not None:
        card = f"---\n{front_matter}\n---\n# A model\n\nSome words about it.\n"
        (root / "README.md").write_text(card, encoding="utf-8")
    if license_text is not None:
        (root / "LICENSE").write_text(license_text, encoding="utf-8")
    return root


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return tmp_path / "model"
