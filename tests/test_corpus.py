"""Peer scanners' labelled samples: every malicious file flagged, no benign file flagged.

The corpus (shared/corpora/peer-samples, beside the repository) holds the test files of
picklescan and modelaudit with labels in labels.json. Nothing here loads them: they are only
handed to the scanner, which reads bytes.

Scope: the pickle family. A labelled file is in scope when
  * its name does not end in a suffix another check covers (.h5, .keras, .safetensors, .pb,
    .onnx, .gguf, .tflite, .json, .j2, .jinja), and
  * its detected kind (airlock.scan.formats.detect.detect on its first bytes) is pickle, numpy, zip,
    compressed or 7z, or its name ends in a pickle-family suffix (.pkl, .pt, .bin, .npy, ...),
    so that corrupt files named like pickles are in scope too.
Expectations, at the default threshold (high):
  * malicious: at least one finding >= high;
  * benign: no finding >= high;
  * neutral (corrupt, encrypted, not a model): the scanner says it could not inspect the file,
    either with a finding AIR001/AIR002/AIR003/AIR004 or by marking the file not inspected.
Run `pytest -s tests/test_corpus.py` to see the confusion counts.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from airlock.findings import Severity
from airlock.scan.context import Kind
from airlock.scan.formats.detect import HEAD_BYTES, detect
from airlock.scan.results import FileResult
from airlock.scan.scanner import Scanner

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "peer-samples"

pytestmark = pytest.mark.skipif(
    not (CORPUS / "labels.json").is_file(),
    reason=f"peer-samples corpus not found at {CORPUS} (it sits in shared/ beside the repo)",
)

OTHER_FORMAT_SUFFIXES = (
    ".h5", ".hdf5", ".keras", ".safetensors", ".pb", ".onnx", ".gguf", ".tflite",
    ".json", ".j2", ".jinja",
)  # fmt: skip
PICKLE_FAMILY_SUFFIXES = (
    ".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt", ".joblib", ".npy", ".npz", ".zip",
    ".7z", ".dat", ".data", ".p", ".dill", ".sav", ".skops", ".pkl.gz", ".gz", ".bz2", ".xz",
)  # fmt: skip
PICKLE_FAMILY_KINDS = frozenset(
    {Kind.PICKLE, Kind.NUMPY, Kind.ZIP, Kind.COMPRESSED, Kind.SEVEN_ZIP}
)
NOT_INSPECTABLE_RULES = frozenset({"AIR001", "AIR002", "AIR003", "AIR004"})
THRESHOLD = Severity.HIGH
# Labelled benign by the peers, flagged by Airlock on purpose (reviewed, issue 12): a pickle that
# instantiates a class outside the allowlist runs that class's code while loading, so it is
# high until the organization allows the name in its policy.
REVIEWED_DISAGREEMENTS = {
    "modelaudit/tests/assets/scenarios/license_scenarios/agpl_component/agpl_model.pkl":
        "instantiates __main__.AGPLNeuralNetwork, a class outside the allowlist",
}  # fmt: skip


@dataclass(frozen=True)
class Verdict:
    path: str
    label: str
    kind: str
    result: FileResult

    @property
    def flagged(self) -> bool:
        return any(f.severity >= THRESHOLD for f in self.result.findings)

    @property
    def not_inspectable(self) -> bool:
        rules = {f.rule_id for f in self.result.findings}
        return bool(rules & NOT_INSPECTABLE_RULES) or not self.result.inspected

    def describe(self) -> str:
        shown = ", ".join(f"{f.rule_id}/{f.severity.label}" for f in self.result.findings[:6])
        return f"    {self.path} [{self.kind}] -> {shown or 'no findings'}"


def in_scope(name: str, kind: Kind) -> bool:
    lowered = name.lower()
    if lowered.endswith(OTHER_FORMAT_SUFFIXES):
        return False
    return kind in PICKLE_FAMILY_KINDS or lowered.endswith(PICKLE_FAMILY_SUFFIXES)


@pytest.fixture(scope="session")
def verdicts() -> list[Verdict]:
    labels: dict[str, str] = json.loads((CORPUS / "labels.json").read_text())
    chosen: list[tuple[str, str, Kind]] = []
    for rel, label in sorted(labels.items()):
        path = CORPUS / rel
        with path.open("rb") as handle:
            kind = detect(handle.read(HEAD_BYTES), path.name)
        if label in ("malicious", "benign", "neutral") and in_scope(path.name, kind):
            chosen.append((rel, label, kind))
    report = Scanner().scan_paths([CORPUS / rel for rel, _, _ in chosen])
    out = [
        Verdict(rel, label, kind.value, result)
        for (rel, label, kind), result in zip(chosen, report.files, strict=True)
    ]
    print("\n" + summary(out))
    return out


def summary(verdicts: list[Verdict]) -> str:
    counts: Counter[str] = Counter()
    for v in verdicts:
        if v.label == "malicious":
            counts["TP" if v.flagged else "FN"] += 1
        elif v.label == "benign":
            counts["FP" if v.flagged else "TN"] += 1
        else:
            counts["neutral-ok" if v.not_inspectable else "neutral-missed"] += 1
    per_label = Counter(v.label for v in verdicts)
    return (
        f"peer corpus, pickle family ({len(verdicts)} files: "
        + ", ".join(f"{n} {label}" for label, n in sorted(per_label.items()))
        + f"): malicious TP={counts['TP']} FN={counts['FN']}; "
        f"benign TN={counts['TN']} FP={counts['FP']}; "
        f"neutral ok={counts['neutral-ok']} missed={counts['neutral-missed']}"
    )


def _failure(title: str, bad: list[Verdict], verdicts: list[Verdict]) -> str:
    return "\n".join([summary(verdicts), title, *(v.describe() for v in bad)])


def test_scope_is_the_pickle_family(verdicts: list[Verdict]) -> None:
    assert len(verdicts) >= 100, summary(verdicts)
    assert not [v for v in verdicts if v.path.endswith((".safetensors", ".h5", ".pb"))]
    labels = {v.label for v in verdicts}
    assert labels == {"malicious", "benign", "neutral"}, labels


def test_every_malicious_file_is_flagged(verdicts: list[Verdict]) -> None:
    missed = [v for v in verdicts if v.label == "malicious" and not v.flagged]
    assert not missed, _failure("malicious files not flagged (>= high):", missed, verdicts)


def test_no_benign_file_is_flagged(verdicts: list[Verdict]) -> None:
    flagged = [
        v
        for v in verdicts
        if v.label == "benign" and v.flagged and v.path not in REVIEWED_DISAGREEMENTS
    ]
    assert not flagged, _failure("benign files flagged (>= high):", flagged, verdicts)


def test_neutral_files_are_reported_not_inspectable(verdicts: list[Verdict]) -> None:
    missed = [v for v in verdicts if v.label == "neutral" and not v.not_inspectable]
    assert not missed, _failure("neutral files not reported as uninspectable:", missed, verdicts)


# The whole corpus, every format (issue: scan for every other model format). -----------------
@pytest.fixture(scope="session")
def all_verdicts() -> list[Verdict]:
    labels: dict[str, str] = json.loads((CORPUS / "labels.json").read_text())
    chosen = sorted(labels.items())
    report = Scanner().scan_paths([CORPUS / rel for rel, _ in chosen])
    out = [
        Verdict(rel, label, result.kind, result)
        for (rel, label), result in zip(chosen, report.files, strict=True)
    ]
    counts = Counter((v.label, v.flagged) for v in out)
    print(
        f"\npeer corpus, all formats ({len(out)} files): "
        + ", ".join(f"{label} flagged={flag}: {n}" for (label, flag), n in sorted(counts.items()))
    )
    return out


def test_whole_corpus_malicious_flagged(all_verdicts: list[Verdict]) -> None:
    missed = [v for v in all_verdicts if v.label == "malicious" and not v.flagged]
    assert not missed, _failure("malicious files not flagged:", missed, all_verdicts)


def test_whole_corpus_benign_and_meta_suspicious_clean(all_verdicts: list[Verdict]) -> None:
    # meta-suspicious: safetensors metadata that looks like code; the format cannot run it.
    flagged = [
        v
        for v in all_verdicts
        if v.label in ("benign", "meta-suspicious")
        and v.flagged
        and v.path not in REVIEWED_DISAGREEMENTS
    ]
    assert not flagged, _failure("benign files flagged:", flagged, all_verdicts)


def test_whole_corpus_neutral_not_inspectable(all_verdicts: list[Verdict]) -> None:
    missed = [v for v in all_verdicts if v.label == "neutral" and not v.not_inspectable]
    assert not missed, _failure("neutral files not reported:", missed, all_verdicts)


def test_reviewed_disagreements_are_still_flagged(all_verdicts: list[Verdict]) -> None:
    """Each reviewed disagreement is still in the corpus and still flagged: the list must not
    silently hide files that would pass anyway."""
    by_path = {v.path: v for v in all_verdicts}
    for path in REVIEWED_DISAGREEMENTS:
        assert path in by_path and by_path[path].flagged, path
