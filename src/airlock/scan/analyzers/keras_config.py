"""Keras model configs (config.json in a .keras zip, `model_config` in a legacy .h5): what
loading the model would import, run or download.

Every serialized object in the config is visited: Lambda layers and `__lambda__` functions
(Python code, CVE-2024-3660), classes and functions named by a module outside Keras
(CVE-2025-1550), TFSMLayer (loads an external SavedModel), Keras utilities that download files
or turn safe mode off (CVE-2025-8747, CVE-2025-9906), custom objects of other packages, and
`safe_mode: false`.

A `module` and a name are judged together, as the loader combines them: Keras before 3.9
imports `module` and takes the name from it (`vars(module).get(name)`) whatever the module is.
A class (`class_name`) is only used through its `from_config`, which within Keras's own
packages means a Keras object; a function (`"class_name": "function"`) is handed back as it is
and called by the model, so functions are judged by allowlist (`data/config_targets.toml`).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator
from typing import Any

from airlock.findings import Finding, Severity
from airlock.scan.analyzers.lambda_code import code_names, dangerous
from airlock.scan.context import Blob, ScanContext
from airlock.scan.names.config_targets import judge_target, target_lists
from airlock.scan.names.pickle_globals import Status

KERAS_PACKAGES = frozenset({"keras", "tf_keras", "keras_hub", "keras_nlp", "keras_cv"})
UNSAFE_FUNCTIONS = {
    "get_file": (Severity.HIGH, "downloads a file from a URL named in the config"),
    "enable_unsafe_deserialization": (
        Severity.CRITICAL,
        "turns safe mode off, so Lambda code later in the config runs",
    ),
}
_MAX_SHOWN = 8
_MAX_STRINGS = 64


class KerasConfigAnalyzer:
    """A JsonAnalyzer for Keras model configs and .keras metadata."""

    def __init__(self, trusted: Iterable[str] = ()) -> None:
        # Exact `module.name`s the organization's policy trusts (its own layers).
        self.trusted = frozenset(trusted)

    def applies(self, document: Any, blob: Blob) -> bool:
        return isinstance(document, dict) and (
            {"class_name", "config"} <= document.keys() or "keras_version" in document
        )

    def analyze(self, document: Any, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        # Iterative, because json.loads already bounds nesting but recursion here would not.
        stack: list[Any] = [document]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                yield from _object(node, blob, ctx, self.trusted)
                stack.extend(reversed(list(node.values())))
            elif isinstance(node, list):
                stack.extend(reversed(node))


def _object(
    node: dict[str, Any], blob: Blob, ctx: ScanContext, trusted: frozenset[str]
) -> Iterator[Finding]:
    class_name, config, module = node.get("class_name"), node.get("config"), node.get("module")
    if class_name == "Lambda" and isinstance(config, dict):
        yield from _lambda_layer(config, blob, ctx, trusted)
    elif class_name == "__lambda__":
        yield from _code(_strings(config), "A serialized lambda function", blob, ctx)
    elif class_name == "TFSMLayer":
        path = config.get("filepath") if isinstance(config, dict) else None
        yield ctx.finding(
            "AIR603",
            blob,
            blob.location,
            f"{_layer(config)} loads the TensorFlow SavedModel at `{path}` when the model "
            "loads, outside Keras safe mode; its graph was not part of this file.",
            str(path),
        )
    if isinstance(class_name, str):
        function = class_name == "function" and isinstance(config, str)
        name = config if function and isinstance(config, str) else class_name
        if isinstance(module, str):
            yield from _module(module, name, function, blob, ctx, trusted)
        if class_name == "function":
            yield from _unsafe_function(name, blob, ctx)
    for value in (node.get("registered_name"), class_name):
        if isinstance(value, str) and ">" in value:
            yield from _custom_object(value, blob, ctx)
            break
    if node.get("safe_mode") is False:
        yield ctx.finding(
            "AIR605",
            blob,
            blob.location,
            "The Keras config or metadata sets `safe_mode` to false.",
            "safe_mode: false",
        )


def _lambda_layer(
    config: dict[str, Any], blob: Blob, ctx: ScanContext, trusted: frozenset[str]
) -> Iterator[Finding]:
    function = config.get("function")
    if isinstance(function, dict):
        return  # a serialized function object: visited on its own
    if config.get("function_type") == "function" and isinstance(function, str):
        module = config.get("module")
        if isinstance(module, str):
            yield from _module(module, function, True, blob, ctx, trusted)
        yield from _unsafe_function(function, blob, ctx)
        return
    strings = _strings(function)
    if config.get("output_shape_type") == "lambda":
        strings += _strings(config.get("output_shape"))
    yield from _code(strings, _layer(config), blob, ctx)


def _code(strings: list[str], what: str, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    names: list[str] = []
    for value in strings:
        names.extend(code_names(value) or ())
    names = list(dict.fromkeys(names))
    risky = dangerous(names)
    shown = ", ".join((risky or names)[:_MAX_SHOWN]) or "none readable"
    detail = (
        f"it names {shown}, which run commands, evaluate code or touch files"
        if risky
        else f"names it uses: {shown}"
    )
    yield ctx.finding(
        "AIR601",
        blob,
        blob.location,
        f"{what} holds Python code that runs when the model is loaded or called; {detail}.",
        shown,
        severity=Severity.CRITICAL if risky else None,
    )


def _module(
    module: str, name: str, function: bool, blob: Blob, ctx: ScanContext, trusted: frozenset[str]
) -> Iterator[Finding]:
    dotted = f"{module}.{name}"
    verdict = judge_target(dotted, trusted)
    if verdict.status is Status.DANGEROUS or (module == "builtins" and dangerous([name])):
        yield _foreign(module, name, Severity.CRITICAL, blob, ctx)
        return
    keras_own = module.split(".", 1)[0] in KERAS_PACKAGES
    if verdict.status is Status.ALLOWED or (keras_own and not function):
        return
    if module == "builtins" or keras_own:
        yield from _function(module, name, blob, ctx)
        return
    yield _foreign(module, name, Severity.HIGH, blob, ctx)


def _foreign(module: str, name: str, severity: Severity, blob: Blob, ctx: ScanContext) -> Finding:
    return ctx.finding(
        "AIR602",
        blob,
        blob.location,
        f"The config names `{name}` from module `{module}`, outside Keras; Keras before 3.9 "
        "imports that module and uses it while loading."
        + (" It runs commands or code. Do not load it." if severity is Severity.CRITICAL else ""),
        f"{module}.{name}",
        severity=severity,
    )


def _function(module: str, name: str, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """A function named within Keras or `builtins`: Keras's own built-ins are fine; Keras
    resolves other `builtins` names to Python's builtins, and other Keras functions are
    utilities, not model parts."""
    if name in target_lists().keras_functions or name in UNSAFE_FUNCTIONS:
        return  # a built-in activation/loss/metric, or a utility reported as AIR604
    if module == "builtins" and not hasattr(builtins, name):
        return  # a custom function saved by bare name: it loads only if registered
    yield ctx.finding(
        "AIR606",
        blob,
        blob.location,
        f"The config names the function `{module}.{name}`, which is not one of Keras's "
        "built-in activations, losses or metrics; loading hands it to the model, which calls "
        "it.",
        f"{module}.{name}",
    )


def _custom_object(registered: str, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    package = registered.split(">", 1)[0]
    if package in KERAS_PACKAGES:
        return
    yield ctx.finding(
        "AIR607",
        blob,
        blob.location,
        f"The config needs the custom object `{registered[:200]}`, registered by package "
        f"`{package[:100]}`, not by Keras: loading runs that package's code, which this file "
        "does not contain. Load it only if you trust that package.",
        registered[:200],
    )


def _unsafe_function(name: str, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    if name not in UNSAFE_FUNCTIONS:
        return
    severity, why = UNSAFE_FUNCTIONS[name]
    yield ctx.finding(
        "AIR604",
        blob,
        blob.location,
        f"The config calls Keras `{name}` while loading, which {why}.",
        name,
        severity=severity,
    )


def _layer(config: Any) -> str:
    name = config.get("name") if isinstance(config, dict) else None
    return f"Layer `{name}`" if isinstance(name, str) else "A layer"


def _strings(value: Any) -> list[str]:
    """The strings in a value (breadth-first, bounded): code, defaults and closure."""
    found: list[str] = []
    queue = [value]
    while queue and len(found) < _MAX_STRINGS:
        item = queue.pop(0)
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, list):
            queue.extend(item)
        elif isinstance(item, dict):
            queue.extend(item.values())
    return found
