"""diffusers pipelines: `model_index.json` and each component's config, judged like `auto_map`.

`DiffusionPipeline.from_pretrained` reads `model_index.json`: `_class_name` is the pipeline
class (looked up in diffusers; a `[file, Class]` pair loads `file.py` from the folder), and
every other `[library, Class]` entry is a component in the folder of that name. The library is
diffusers, transformers or one of diffusers' pipeline submodules, or else custom code: a
`<component>/<library>.py` beside the component's files is imported under
`trust_remote_code`, and any other module is resolved from whatever the caller imported
(diffusers/pipelines/pipeline_loading_utils.py: `get_class_obj_and_candidates`,
`_get_library_or_raise`, `_resolve_custom_pipeline_and_cls`). A component config's
`_class_name` is read the same way by `AutoModel`. So a class outside the lists of
`data/diffusers_classes.toml` means code that diffusers does not ship: AIR711 when it is in the
folder, AIR712 when it is fetched from elsewhere, AIR713 when it is nowhere to inspect.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airlock.diffusers_classes import KnownClasses, known_classes
from airlock.findings import Finding, Severity
from airlock.scan.context import Blob, ScanContext
from airlock.scan.names.config_targets import judge_target
from airlock.scan.names.pickle_globals import Status

_INDEX_NAMES = ("model_index.json", "modular_model_index.json")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
# A Hub repository id (`org/name`): diffusers fetches `pipeline.py` from it.
_REPO_ID = re.compile(r"[\w.-]+/[\w.-]+")
_MAX_ENTRIES = 64
_LIBRARY = re.compile(r"[a-z_][\w.]*")
_CLASS = re.compile(r"[A-Z]\w*")


class DiffusersConfigAnalyzer:
    """A JsonAnalyzer for `model_index.json` and diffusers component configs."""

    def applies(self, document: Any, blob: Blob) -> bool:
        return isinstance(document, dict) and (
            "_class_name" in document
            or "_diffusers_version" in document
            or "custom_pipeline" in document
        )

    def analyze(self, document: Any, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        known = known_classes()
        folder = _folder(blob)
        yield from _pipeline_class(document.get("_class_name"), known, folder, blob, ctx)
        custom = document.get("custom_pipeline")
        if isinstance(custom, str):
            yield from _custom_pipeline(custom, folder, blob, ctx)
        if not _is_index(document, blob):
            return
        components = [
            (str(name), value)
            for name, value in document.items()
            if not str(name).startswith("_") and isinstance(value, list) and len(value) == 2
        ]
        for name, (library, cls) in components[:_MAX_ENTRIES]:
            if library is None and cls is None:
                continue  # an optional component left out (safety_checker: [null, null])
            yield from _component(name, library, cls, known, folder, blob, ctx)


def _is_index(document: dict[str, Any], blob: Blob) -> bool:
    """model_index.json by name, or by its shape under another name: a component as a
    `[library, Class]` pair (a module name, then a class name; component configs hold pairs
    of class names, such as `down_block_types`)."""
    if blob.name.rpartition("/")[2] in _INDEX_NAMES:
        return True
    return "_class_name" in document and any(
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], str)
        and _LIBRARY.fullmatch(value[0]) is not None
        and _CLASS.fullmatch(value[1]) is not None
        for key, value in document.items()
        if not str(key).startswith("_")
    )


def _pipeline_class(
    value: Any, known: KnownClasses, folder: Path | None, blob: Blob, ctx: ScanContext
) -> Iterator[Finding]:
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        module, cls = value
        evidence = f"_class_name: [{module}, {cls}]"
        yield ctx.finding(
            "AIR711",
            blob,
            blob.location,
            f"`_class_name` names the custom pipeline `{cls}` in `{module}.py`: loading with "
            "`trust_remote_code=True` runs that code.",
            evidence,
        )
        yield from _missing(f"{module}.py", folder, "_class_name", evidence, blob, ctx)
        return
    if not isinstance(value, str):
        if value is not None:
            yield ctx.finding(
                "AIR711",
                blob,
                blob.location,
                f"`_class_name` is {type(value).__name__} {str(value)[:80]!r}, a form Airlock "
                "cannot read; a loader may resolve it to custom code.",
                f"_class_name: {str(value)[:200]}",
            )
        return
    if known.anywhere(value):
        return  # a class of diffusers, transformers or a pipeline submodule (IFWatermarker)
    code = sorted(path.name for path in folder.glob("*.py")) if folder is not None else []
    if code:
        yield ctx.finding(
            "AIR711",
            blob,
            blob.location,
            f"`_class_name` names `{value}`, a class neither diffusers nor transformers exports; "
            f"the folder's own code ({', '.join(code[:5])}) defines it, and loading with "
            "`trust_remote_code=True` runs that code.",
            f"_class_name: {value}",
        )
        return
    yield ctx.finding(
        "AIR713",
        blob,
        blob.location,
        f"`_class_name` names `{value}`, a class neither diffusers {known.diffusers_version} nor "
        "transformers exports: it loads only from custom code (a `custom_pipeline`, a "
        "community pipeline or the folder's own `.py`), which is not named here to inspect "
        "(or it comes from another diffusers release).",
        f"_class_name: {value}",
    )


def _custom_pipeline(
    value: str, folder: Path | None, blob: Blob, ctx: ScanContext
) -> Iterator[Finding]:
    evidence = f"custom_pipeline: {value}"
    local = _local_pipeline(value, folder)
    if local is not None:
        yield ctx.finding(
            "AIR711",
            blob,
            blob.location,
            f"`custom_pipeline` names `{local}` in the folder: loading runs that code.",
            evidence,
        )
        return
    where = (
        f"the Hub repository `{value}`"
        if _REPO_ID.fullmatch(value)
        else "diffusers' community pipelines (downloaded from GitHub) or the Hub"
    )
    yield ctx.finding(
        "AIR712",
        blob,
        blob.location,
        f"`custom_pipeline` asks for `{value}`, which diffusers fetches from {where}: that code is "
        "not in this folder and could not be inspected.",
        evidence,
    )


def _local_pipeline(value: str, folder: Path | None) -> str | None:
    """The file in the folder that a `custom_pipeline` value names, if there is one."""
    if folder is None:
        return None
    name = value.removesuffix(".py")
    for candidate in (f"{name}.py", f"{name}/pipeline.py"):
        if _IDENTIFIER.fullmatch(name) and (folder / candidate).is_file():
            return candidate
    return None


def _component(
    name: str,
    library: Any,
    cls: Any,
    known: KnownClasses,
    folder: Path | None,
    blob: Blob,
    ctx: ScanContext,
) -> Iterator[Finding]:
    evidence = f"{name}: [{library}, {cls}]"
    if not isinstance(library, str) or not isinstance(cls, str):
        yield ctx.finding(
            "AIR711",
            blob,
            blob.location,
            f"Component `{name}` is named as {evidence!r}, a form Airlock cannot read; a "
            "loader may resolve it to custom code.",
            evidence,
        )
        return
    local = _IDENTIFIER.fullmatch(library) is not None and _component_file(folder, name, library)
    if local:
        yield ctx.finding(
            "AIR711",
            blob,
            blob.location,
            f"Component `{name}` is the class `{cls}` from `{name}/{library}.py`: loading with "
            "`trust_remote_code=True` runs that code.",
            evidence,
        )
        return
    if known.library(library):
        return  # diffusers, transformers or a pipeline submodule: nothing runs but theirs
    verdict = judge_target(f"{library}.{cls}")
    if verdict.status is Status.DANGEROUS:
        yield ctx.finding(
            "AIR711",
            blob,
            blob.location,
            f"Component `{name}` names `{library}.{cls}` ({verdict.why}): a loader that "
            "resolves it calls it with the component's folder.",
            evidence,
            severity=Severity.CRITICAL,
        )
        return
    yield ctx.finding(
        "AIR713",
        blob,
        blob.location,
        f"Component `{name}` comes from the library `{library}`, which is neither diffusers nor "
        f"transformers, and no `{name}/{library}.py` is in the folder: the code that builds "
        "it is custom and not here to inspect.",
        evidence,
    )


def _component_file(folder: Path | None, component: str, library: str) -> bool:
    if folder is None or not _IDENTIFIER.fullmatch(component):
        return False
    return (folder / component / f"{library}.py").is_file()


def _missing(
    file: str, folder: Path | None, key: str, evidence: str, blob: Blob, ctx: ScanContext
) -> Iterator[Finding]:
    if folder is None or (folder / file).is_file():
        return
    yield ctx.finding(
        "AIR713",
        blob,
        blob.location,
        f"`{key}` names `{file}`, which is not in the folder: the code that would run is not "
        "here to inspect.",
        evidence,
    )


def _folder(blob: Blob) -> Path | None:
    """The folder this config sits in (None inside archives, where nothing is looked up)."""
    if blob.location.members:
        return None
    return Path(blob.file).parent
