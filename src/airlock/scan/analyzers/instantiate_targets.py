"""What a config instantiator calls: Hydra's `instantiate` (`_target_`, NeMo and most research
configs) and LightningCLI / jsonargparse (`class_path`), in YAML and JSON configs.

Hydra's `_locate` imports the first dotted part and follows the rest attribute by attribute
(importing submodules where an attribute is missing), so `_target_` may name any callable
reachable from any module: `torch.os.system` *is* `os.system`. The result is called with the
mapping's other keys (`_args_` positionally; `_partial_: true` defers the call to whoever uses
the result, which is still a call). Nested `_target_`s are instantiated first (unless
`_recursive_: false`, which only defers them to the parent). Every target is therefore judged by
allowlist (`names.config_targets`): listed is info, denylisted is critical, anything else high.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from airlock.findings import Severity
from airlock.scan.names.config_targets import DOTTED, judge_target
from airlock.scan.names.pickle_globals import GlobalsPolicy, Status

# Keys whose value is imported and called when the config is instantiated.
INSTANTIATE_KEYS = frozenset({"_target_", "class_path"})
# OmegaConf resolvers that projects register to evaluate Python (`register_new_resolver("eval",
# eval)`, common in diffusion and speech repositories): `${eval:...}` runs its text.
_EVAL_RESOLVER = re.compile(r"\$\{\s*(eval|exec|python|py|pyeval)\s*:", re.IGNORECASE)
# What real configs compute with `${eval:...}`: arithmetic on numbers and other interpolations.
_ARITHMETIC = re.compile(r"[\s\d.+\-*/%()<>=,]*")
_INTERPOLATION = re.compile(r"\$\{[^${}]*\}")
_DOTTED_IN_TEXT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
# A plain node reference: `${a.b}`, `${a.b[0]}`, relative `${.x}` / `${..x}`.
_REFERENCE = re.compile(r"\$\{\s*(\.*)([A-Za-z0-9_\-]+(?:(?:\.[A-Za-z0-9_\-]+)|\[\d+\])*)\s*\}")
_MAX_REFERENCES = 16
_TRUE = frozenset({"true", "yes", "on", "1", "y"})
_SHORT_CLASS = re.compile(r"[A-Z][A-Za-z0-9_]*")
# A target spelled inside a string that OmegaConf turns into a node when it resolves it
# (`${oc.create:'{"_target_": "os.system"}'}`, `${oc.decode:...}`).
_EMBEDDED_TARGET = re.compile(r"""(_target_|class_path)\W{0,4}:\s*["']?([^"',}\]\s]+)""")


@dataclass(frozen=True)
class TargetJudgement:
    target: str
    rule: str
    severity: Severity
    why: str  # what happens, for a finding's message ("" for allowed targets)


def judge_instantiate(
    key: str, value: str, trusted: frozenset[str] = frozenset()
) -> TargetJudgement:
    """How dangerous instantiating `key: value` is (`key` is `_target_` or `class_path`);
    `trusted`: exact names the organization's policy allows (its own classes)."""
    target = value.strip()
    if "${" in target:
        danger = dangerous_name_in(target)
        if danger is not None:
            return TargetJudgement(target, "AIR633", Severity.CRITICAL, danger)
        return TargetJudgement(
            target,
            "AIR635",
            Severity.HIGH,
            "is an OmegaConf interpolation: the callable is chosen when the config is resolved "
            "(from another key, an environment variable or a resolver), so it cannot be judged "
            "from the file",
        )
    if DOTTED.fullmatch(target) is None:
        return TargetJudgement(
            target,
            "AIR635",
            Severity.HIGH,
            "is not a plain dotted name, so what it resolves to cannot be judged",
        )
    if "." not in target and key == "class_path" and _SHORT_CLASS.fullmatch(target):
        # jsonargparse resolves a short name only among the already imported subclasses of
        # the parameter's declared type (`class_path: EarlyStopping`).
        return TargetJudgement(target, "AIR633", Severity.INFO, "")
    verdict = judge_target(target, trusted)
    if verdict.status is Status.DANGEROUS:
        return TargetJudgement(target, "AIR633", Severity.CRITICAL, verdict.why)
    if verdict.status is Status.ALLOWED:
        return TargetJudgement(target, "AIR633", Severity.INFO, "")
    return TargetJudgement(
        target,
        "AIR634",
        Severity.HIGH,
        "is not on the list of what ordinary configs instantiate: its code is imported and "
        "called with values from this file",
    )


def embedded_target(value: str, trusted: frozenset[str] = frozenset()) -> TargetJudgement | None:
    """A `_target_` / `class_path` inside an interpolation that builds a config node when it
    is resolved, which `instantiate` then calls like any other: judged, and at least high."""
    if "${" not in value:
        return None
    worst: TargetJudgement | None = None
    for match in _EMBEDDED_TARGET.finditer(value[:4096]):
        judged = judge_instantiate(match[1], match[2], trusted)
        if worst is None or judged.severity > worst.severity:
            worst = judged
    if worst is None:
        return None
    if worst.severity is Severity.CRITICAL:
        return worst
    return TargetJudgement(
        value.strip(),
        "AIR635",
        Severity.HIGH,
        "builds a node with a target when the config is resolved (`oc.create` / `oc.decode`), "
        "so what it calls is not a plain key of the file",
    )


def resolve_references(text: str, node: list[str], values: Mapping[str, str]) -> str | None:
    """`text` with its OmegaConf node references replaced by the scalars they name in the same
    file (`values`: dotted path -> text; `node`: the path of the mapping `text` sits in); None
    when something is left that the file alone does not decide (a resolver such as `oc.env`,
    a missing key, which a command-line override would supply)."""
    for _ in range(_MAX_REFERENCES):
        match = _REFERENCE.search(text)
        if match is None:
            break
        dots, path = match[1], re.sub(r"\[(\d+)\]", r".\1", match[2])
        base = node[: len(node) - max(len(dots) - 1, 0)] if dots else []
        if len(dots) - 1 > len(node):
            return None
        value = values.get(".".join([*base, path]) if base else path)
        if value is None:
            return None
        text = text[: match.start()] + value + text[match.end() :]
    return None if "${" in text else text


def dangerous_name_in(text: str) -> str | None:
    """Why a dotted name spelled inside `text` is dangerous (e.g. an interpolation's default,
    `${oc.env:X,os.system}`, or a path handed to `hydra.utils.get_method`), or None."""
    policy = GlobalsPolicy.default()
    for match in _DOTTED_IN_TEXT.finditer(text[:4096]):
        verdict = policy.judge(match[0])
        if verdict.status is Status.DANGEROUS:
            return f"names `{match[0]}`, which {verdict.why}"
    return None


def dangerous_string(value: str) -> str | None:
    """Why a plain string value that is exactly a dotted name is a dangerous callable: values
    a config instantiator may turn into callables (jsonargparse resolves `Callable` parameters
    from import paths; `hydra.utils.get_method`/`get_class` take a `path`)."""
    text = value.strip()
    if "." not in text or len(text) > 200 or DOTTED.fullmatch(text) is None:
        return None
    verdict = GlobalsPolicy.default().judge(text)
    return verdict.why if verdict.status is Status.DANGEROUS else None


def eval_resolver(value: str) -> Severity | None:
    """Severity of an `${eval:...}`-style interpolation in `value`, or None: high when the
    expression is more than arithmetic, medium for arithmetic on numbers and interpolations."""
    match = _EVAL_RESOLVER.search(value)
    if match is None:
        return None
    expression = value[match.end() :]
    while (inner := _INTERPOLATION.sub("0", expression)) != expression:
        expression = inner
    expression = expression.strip().strip("'\"").rstrip("}").strip().strip("'\"")
    return Severity.MEDIUM if _ARITHMETIC.fullmatch(expression) else Severity.HIGH


def is_true(value: str) -> bool:
    return value.strip().lower() in _TRUE
