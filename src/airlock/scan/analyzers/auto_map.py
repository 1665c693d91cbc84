"""Hugging Face configs that point at custom code (config.json, tokenizer_config.json,
preprocessor_config.json, ...): `auto_map` and `custom_pipelines` entries name the Python module
that `trust_remote_code=True` imports; a `repo--module.Class` entry fetches it from another
repository. `trust_remote_code` and `code_revision` keys are reported too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airlock.findings import Finding, Severity
from airlock.scan.context import Blob, ScanContext

# transformers splits "module.Class" (after an optional "org/repo--") and imports module + ".py".
_REFERENCE = re.compile(r"(?:(?P<repo>[^\s]+?)--)?(?P<module>[\w./-]+)\.(?P<cls>\w+)")
_MODULE = re.compile(r"[A-Za-z_]\w*(?:[./][A-Za-z_]\w*)*")
_MAX_ENTRIES = 64
_MAX_DEPTH = 3
# AutoImageProcessor also reads `repo--path/to/file.py::ClassName`.
_FILE_REFERENCE = re.compile(
    r"(?:(?P<repo>[^\s]+?)--)?(?P<module>[\w./-]+?)(?:\.py)?::(?P<cls>\w+)"
)


class AutoMapAnalyzer:
    """A JsonAnalyzer for configs that name custom code or ask for it to be trusted."""

    def applies(self, document: Any, blob: Blob) -> bool:
        return isinstance(document, dict) and any(
            key in document
            for key in ("auto_map", "custom_pipelines", "trust_remote_code", "code_revision")
        )

    def analyze(self, document: Any, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        entries = list(_auto_map(document.get("auto_map")))
        entries += _pipelines(document.get("custom_pipelines"))
        missing: set[str] = set()
        for key, reference in dict.fromkeys(entries[:_MAX_ENTRIES]):
            yield from _entry(key, reference, blob, ctx, missing)
        if document.get("trust_remote_code") is True:
            yield ctx.finding(
                "AIR714",
                blob,
                blob.location,
                "The config sets `trust_remote_code: true`; a loader that honours it runs the "
                "folder's custom code without the user asking for it.",
                "trust_remote_code: true",
            )
        revision = document.get("code_revision")
        if isinstance(revision, str):
            yield ctx.finding(
                "AIR714",
                blob,
                blob.location,
                f"The config pins `code_revision` {revision!r}: the custom code is fetched at "
                "that revision.",
                f"code_revision: {revision}",
                severity=Severity.INFO,
            )


def _auto_map(value: Any, key: str = "auto_map", depth: int = 0) -> Iterator[tuple[str, str]]:
    """Every class reference under `auto_map`, in each form transformers reads: a string, a
    [slow, fast] pair (either may be null), the legacy top-level pair that AutoTokenizer still
    honours (`"auto_map": ["tokenization_x.XTokenizer", null]`), and per-backend dicts that
    AutoImageProcessor reads."""
    if isinstance(value, str):
        yield key, value
    elif depth < _MAX_DEPTH and isinstance(value, dict):
        for name, target in value.items():
            yield from _auto_map(target, f"{key}.{name}", depth + 1)
    elif depth < _MAX_DEPTH and isinstance(value, list):
        for target in value:
            yield from _auto_map(target, key, depth + 1)


def _pipelines(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, dict):
        return []
    return [
        (f"custom_pipelines.{task}", spec["impl"])
        for task, spec in value.items()
        if isinstance(spec, dict) and isinstance(spec.get("impl"), str)
    ]


def _entry(
    key: str, reference: str, blob: Blob, ctx: ScanContext, missing: set[str]
) -> Iterator[Finding]:
    evidence = f"{key}: {reference}"
    match = _FILE_REFERENCE.fullmatch(reference.strip()) or _REFERENCE.fullmatch(reference.strip())
    if match is None:
        yield ctx.finding(
            "AIR711",
            blob,
            blob.location,
            f"`{key}` names custom code as {reference!r}, in a form Airlock cannot read; "
            "loading with `trust_remote_code=True` imports whatever it resolves to.",
            evidence,
        )
        return
    repo, module = match.group("repo"), match.group("module")
    if repo is not None:
        yield ctx.finding(
            "AIR712",
            blob,
            blob.location,
            f"`{key}` loads `{module}.py` from the Hub repository `{repo}`: that code comes from "
            "elsewhere, is not in this folder, and could not be inspected.",
            evidence,
        )
        return
    yield ctx.finding(
        "AIR711",
        blob,
        blob.location,
        f"`{key}` maps to `{module}.py`: loading with `trust_remote_code=True` runs that code.",
        evidence,
    )
    path = _module_path(module, blob)
    if path is not None and not path.is_file() and module not in missing:
        missing.add(module)
        yield ctx.finding(
            "AIR713",
            blob,
            blob.location,
            f"`{key}` names `{module}.py`, which is not in the folder: the code that would run "
            "(fetched from wherever the model is loaded from) is not here to inspect.",
            evidence,
        )


def _module_path(module: str, blob: Blob) -> Path | None:
    """Where the module's file would be next to this config (None inside archives)."""
    if blob.location.members or not _MODULE.fullmatch(module):
        return None
    return Path(blob.file).parent / (module.replace(".", "/") + ".py")
