from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from airlock.license.template import render


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


def write_gguf(
    path: Path, license_id: str | None = None, name: str | None = None, link: str | None = None
) -> Path:
    """A GGUF file with no tensors, only the `general.license*` keys given, written by the
    `gguf` package as llama.cpp's converter writes a card's `license`, `license_name` and
    `license_link`."""
    gguf = pytest.importorskip("gguf")
    writer = gguf.GGUFWriter(str(path), "llama")
    if license_id is not None:
        writer.add_license(license_id)
    if name is not None:
        writer.add_license_name(name)
    if link is not None:
        writer.add_license_link(link)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
