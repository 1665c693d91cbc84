"""What loading a YAML config imports and calls: PyYAML `python/` tags under an unsafe loader,
and `_target_` / `class_path` under a config instantiator. Names are judged with the pickle
allowlist and denylist (`data/pickle_allowlist.toml`, `data/pickle_dangerous.toml`): the same
callables run commands whichever deserializer reaches them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from airlock.findings import Severity
from airlock.formats.pickle.policy import GlobalsPolicy, Status

# The multi-constructors of PyYAML's UnsafeConstructor (ruamel's is the same), and what each
# does with the name after the colon.
_PYTHON_TAG = re.compile(
    r"tag:yaml\.org,2002:python/(object/apply|object/new|object|name|module):(.+)", re.DOTALL
)
_ACTIONS = {
    "object/apply": "calls `{}` with arguments from the file",
    "object/new": "creates an instance of `{}` (`__new__`) with arguments from the file",
    "object": "creates an instance of `{}` and sets its state from the file",
    "name": "imports `{}`",
    "module": "imports the module `{}`",
}
# Keys whose value is imported and called when the config is instantiated: Hydra/OmegaConf
# `instantiate` (NeMo and many research configs), LightningCLI / jsonargparse.
INSTANTIATE_KEYS = frozenset({"_target_", "class_path"})


@dataclass(frozen=True)
class Judged:
    dotted: str
    severity: Severity
    consequence: str  # what the loader does with it, and why that matters


def python_tag(tag: str) -> Judged | None:
    """What an unsafe loader does with `tag`, or None for tags that name nothing to import
    (`!!python/tuple` and the other plain-value tags build builtin values only)."""
    match = _PYTHON_TAG.fullmatch(tag)
    if match is None:
        return None
    kind, name = match[1], match[2]
    # PyYAML looks a name without a dot up in builtins (`!!python/name:eval`).
    dotted = name if kind == "module" or "." in name else f"builtins.{name}"
    action = _ACTIONS[kind].format(dotted)
    verdict = GlobalsPolicy.default().judge(dotted)
    if verdict.status is Status.DANGEROUS:
        return Judged(dotted, Severity.CRITICAL, f"{action}, which {verdict.why}. Do not load it.")
    if verdict.status is Status.ALLOWED:
        return Judged(
            dotted,
            Severity.LOW,
            f"{action}, which ordinary model files use; harmless, but only an unsafe loader "
            "reads the file (`yaml.safe_load` refuses it).",
        )
    # Like a pickle import: a call or an instance is high, a bare import medium.
    severity = Severity.MEDIUM if kind in ("name", "module") else Severity.HIGH
    return Judged(
        dotted,
        severity,
        f"{action}; it is not on the list of what ordinary model files need. Load it only "
        "if you trust its source.",
    )


def target_danger(target: str) -> str | None:
    """Why instantiating `target` (a dotted name) runs commands or code, or None."""
    verdict = GlobalsPolicy.default().judge(target.strip())
    return verdict.why if verdict.status is Status.DANGEROUS else None
