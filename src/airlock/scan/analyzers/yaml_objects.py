"""What an unsafe YAML loader imports and calls: PyYAML `python/` tags (ruamel's unsafe loader
reads the same tags). Names are judged by allowlist (`names.config_targets`): a tag that
imports or builds an object is high at least, critical when what it names is denylisted (the
same callables run commands whichever deserializer reaches them)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from airlock.findings import Severity
from airlock.scan.names.config_targets import judge_target
from airlock.scan.names.pickle_globals import Status

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
    verdict = judge_target(dotted)
    if verdict.status is Status.DANGEROUS:
        return Judged(dotted, Severity.CRITICAL, f"{action}, which {verdict.why}. Do not load it.")
    # Even a listed name is high: only an unsafe loader reads the file, and a file that needs
    # one can make it import anything; real configs do not carry such tags.
    known = "a name ordinary configs use" if verdict.status is Status.ALLOWED else "unknown code"
    return Judged(
        dotted,
        Severity.HIGH,
        f"{action} ({known}); a file that needs an unsafe loader can make it import and call "
        "anything. Load it only with `yaml.safe_load`, or not at all if you do not trust its "
        "source.",
    )
