"""Refusal reasons in words a manager can act on: what would happen, in which file, because of
what. The rule id travels beside the sentence (in `Reason.rule_id`), never instead of it."""

from __future__ import annotations

import re
from collections.abc import Iterable

from airlock.dossier.model import ScanSection
from airlock.findings import Finding, Severity

# What a finding means, by rule family (the longest matching id prefix wins): (said of a critical
# finding, said of any other). The families are those of `airlock.rules`.
_FAMILIES: dict[str, tuple[str, str]] = {
    "AIR00": (
        "a file could not be checked, and a loader may still load it",
        "a file could not be checked, and a loader may still load it",
    ),
    "AIR005": (
        "a file reads as different content to different loaders",
        "a file reads as different content to different loaders",
    ),
    "AIR1": ("a file would run code when loaded", "a file may run code when loaded"),
    "AIR2": (
        "an archive would run or hide content",
        "an archive is malformed or could hide content",
    ),
    "AIR3": ("a file would run code when loaded", "a file may run code when loaded"),
    "AIR4": ("a weights file is malformed", "a weights file is malformed or carries odd metadata"),
    "AIR5": ("a chat template would run code when used", "a chat template may run code when used"),
    "AIR60": ("a Keras model would run code when loaded", "a Keras model may run code when loaded"),
    "AIR61": ("an ONNX model would reach outside itself", "an ONNX model may reach outside itself"),
    "AIR62": (
        "a TensorFlow graph would run risky operations",
        "a TensorFlow graph may run risky operations",
    ),
    "AIR63": ("a config file would run code when loaded", "a config file may run code when loaded"),
    "AIR7": (
        "code shipped with the model would run dangerous operations",
        "code shipped with the model may run when it is loaded",
    ),
    "AIR71": (
        "the model asks loaders to run its own code",
        "the model asks loaders to run its own code",
    ),
    "AIR9": ("a file is not a model file", "a file is not a model file"),
}
_GENERIC = ("a file would run code when loaded", "a file may run code or could not be checked")
# At most this many reasons name findings one by one; the report lists every finding anyway.
MAX_FINDING_REASONS = 10
_MAX_EXAMPLES = 3
_MAX_EVIDENCE = 60
_CALL = re.compile(r"^([\w.]+)\(")

# File kinds that hold something a loader would load as a model: weights, graphs, checkpoints,
# and the archives and compressed streams they are shipped in (PyTorch's legacy tar format,
# joblib's compressed pickles). Configs, templates, tokenizers, code and text are not models.
MODEL_KINDS = frozenset(
    {
        "pickle",
        "numpy",
        "zip",
        "compressed",
        "7z",
        "tar",
        "onnx",
        "tf-savedmodel",
        "tf-graphdef",
        "hdf5",
        "safetensors",
        "gguf",
    }
)
# Findings that mean a whole file could not be read at all (at its top level).
_UNREAD = frozenset({"AIR001", "AIR002", "AIR004"})
NO_MODEL_FILE = "no model file was found: nothing Airlock could inspect would be loaded"


def lead(finding: Finding) -> str:
    """What a finding means for whoever would load the model, in a few plain words."""
    family = max((p for p in _FAMILIES if finding.rule_id.startswith(p)), key=len, default=None)
    critical, other = _FAMILIES[family] if family else _GENERIC
    return critical if finding.severity is Severity.CRITICAL else other


def finding_sentences(findings: Iterable[Finding], source: str) -> list[tuple[str, Finding, int]]:
    """One sentence per (rule, file), worst first, each with the finding that decided it and
    how many findings it stands for: "a file would run code when loaded: builtins.exec in
    pytorch_model.bin"."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in sorted(findings, key=lambda f: (-f.severity, f.file, f.rule_id)):
        groups.setdefault((finding.rule_id, finding.file), []).append(finding)
    sentences = []
    for (_, file), group in groups.items():
        # A file that could not be read has no evidence worth quoting (its first bytes, in hex).
        unreadable = group[0].rule_id.startswith("AIR00")
        examples = [] if unreadable else list(dict.fromkeys(_short(f) for f in group if _short(f)))
        what = ", ".join(examples[:_MAX_EXAMPLES])
        if len(examples) > _MAX_EXAMPLES:
            what += f" and {len(examples) - _MAX_EXAMPLES} more"
        where = relative(file, source)
        meaning = lead(group[0])
        sentence = f"{meaning}: {what} in {where}" if what else f"{meaning}: {where}"
        sentences.append((sentence, group[0], len(group)))
    return sentences


def no_model_file(scan: ScanSection, source: str) -> tuple[str, str, str] | None:
    """(sentence, rule id, file) when no file holds a model Airlock inspected, else None: a
    folder of text files, or one whose only model-like files could not be read."""
    if any(_read_model(file.kind, file.inspected, file.findings) for file in scan.files):
        return None
    unread = [
        (finding, file.path)
        for file in scan.files
        for finding in file.findings
        if finding.rule_id in _UNREAD and not finding.location.members
    ]
    if unread:
        finding, path = unread[0]
        names = ", ".join(relative(p, source) for _, p in unread[:_MAX_EXAMPLES])
        more = f" and {len(unread) - _MAX_EXAMPLES} more" if len(unread) > _MAX_EXAMPLES else ""
        one = len(unread) == 1
        what = "is named like a model file" if one else "are named like model files"
        why = (
            f"{names}{more} {what}, but Airlock could not read {'its' if one else 'their'} content"
        )
        return f"{NO_MODEL_FILE} ({why})", finding.rule_id, path
    names = ", ".join(relative(f.path, source) for f in scan.files[:_MAX_EXAMPLES])
    more = ", ..." if len(scan.files) > _MAX_EXAMPLES else ""
    count = "1 file" if len(scan.files) == 1 else f"{len(scan.files)} files"
    held = f"{count}, none in a model format: {names}{more}" if scan.files else "no files"
    return f"{NO_MODEL_FILE} (it holds {held})", "", ""


def relative(path: str, source: str) -> str:
    """A file's name as the reader knows the model: relative to the folder that was vetted."""
    prefix = source.rstrip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


def _read_model(kind: str, inspected: bool, findings: tuple[Finding, ...]) -> bool:
    unread = any(f.rule_id in _UNREAD and not f.location.members for f in findings)
    return kind in MODEL_KINDS and inspected and not unread


def _short(finding: Finding) -> str:
    """The evidence a reader recognises: the callable a pickle calls, else its first words."""
    evidence = " ".join(finding.evidence.split())
    call = _CALL.match(evidence)
    if call:
        return call.group(1)
    return evidence if len(evidence) <= _MAX_EVIDENCE else evidence[:_MAX_EVIDENCE] + "..."
