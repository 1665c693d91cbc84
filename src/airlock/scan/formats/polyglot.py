"""One file, several formats: the finding that says which ones, and which loaders read which.

Each loader picks a format by its own rules (see `detect.readings`), so bytes valid as two
formats are loaded as one by one tool and as the other by another; a scanner that checks only
one reading misses what the other runs. Honest tools never write such files, so the overlap
itself is evidence of evasion, whatever each reading holds.
"""

from __future__ import annotations

from collections.abc import Sequence

from airlock.findings import Finding
from airlock.scan.context import Blob, Kind, ScanContext

# What each reading is, and who reads the bytes that way (their sources: torch/serialization.py
# `_is_zipfile` then `_legacy_load` (tarfile, then pickle); numpy/lib/_npyio_impl.py `load`;
# zipfile `_EndRecData`; PyYAML, Jinja2 and importlib read what they are handed by name).
_LOADERS: dict[Kind, str] = {
    Kind.PICKLE: "a pickle stream (pickle.load, joblib.load, torch.load and "
    "numpy.load(allow_pickle=True) unpickle it and run what it imports)",
    Kind.TAR: "a tar archive (torch.load reads it as a legacy tar checkpoint; tar tools "
    "extract it)",
    Kind.ZIP: "a zip archive (zipfile-based loaders such as Keras read it from its end, "
    "whatever precedes it)",
    Kind.YAML: "YAML by its name (yaml.load and config loaders read it)",
    Kind.PYTHON: "Python by its name (imported by trust_remote_code)",
    Kind.TEMPLATE: "a Jinja template by its name (rendered by chat-template code)",
    Kind.HDF5: "HDF5 (h5py and Keras find its superblock)",
    Kind.SAFETENSORS: "safetensors (safetensors loaders read its header)",
    Kind.GGUF: "GGUF (llama.cpp and the gguf package read it by its magic)",
    Kind.NUMPY: "a NumPy array (numpy.load reads it by its magic)",
}


def polyglot_finding(ctx: ScanContext, blob: Blob, kinds: Sequence[Kind]) -> Finding | None:
    """AIR005 when the blob has more than one reading; None otherwise."""
    if len(kinds) < 2:
        return None
    described = [_LOADERS.get(kind, f"{kind.value} data") for kind in kinds]
    message = (
        f"This file is valid as {len(kinds)} formats at once: "
        + "; ".join(described)
        + ". Each loader reads it its own way, so one file can look harmless to one reader "
        "and run code under another; it was scanned as each. Files written by ordinary "
        "tools are never two formats: do not load it, and ask its publisher how it was made."
    )
    evidence = " + ".join(kind.value for kind in kinds)
    return ctx.finding("AIR005", blob, blob.location, message, evidence)
