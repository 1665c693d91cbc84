"""No published bypass gets through: every rebuilt sample is flagged, and nothing runs.

Each sample in `samples.bypasses` rebuilds one published scanner bypass (CVEs, advisories,
research reports) with a harmless canary payload. A sample must raise its expected rule at
its expected severity or above, and the canary file must not exist after the scan.
Samples whose `needs` names a container reader (zip, 7z, numpy) depend on that reader.
"""

from __future__ import annotations

import pickletools
from pathlib import Path

import pytest

from airlock.findings import Finding, Severity
from airlock.scan.results import ScanReport
from airlock.scan.scanner import Scanner
from samples.bypasses import SAMPLES, Sample


def _explain(report: ScanReport) -> str:
    lines = [
        f"  {f.rule_id} {f.severity.label} at {f.location.describe() or '-'}: {f.evidence[:160]}"
        for f in report.findings
    ]
    return "\n".join(lines) or "  (no findings)"


def _scan(sample: Sample, tmp_path: Path) -> tuple[Path, Path, ScanReport]:
    canary = tmp_path / "canary" / f"{sample.name}.fired"
    canary.parent.mkdir(parents=True)
    model_dir = tmp_path / "model"
    model_dir.mkdir(parents=True)
    path = sample.build(model_dir, canary)
    report = Scanner().scan_paths([path])
    return path, canary, report


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
def test_bypass_is_flagged(sample: Sample, tmp_path: Path) -> None:
    path, canary, report = _scan(sample, tmp_path)
    needs = f" (needs the {sample.needs} reader)" if sample.needs else ""
    header = f"{sample.name} [{sample.reference}] {path.name}{needs}"

    hits = [
        f for f in report.findings if f.rule_id == sample.rule and f.severity >= sample.severity
    ]
    assert hits, (
        f"{header}: expected {sample.rule} at >= {sample.severity.label}, got:\n" + _explain(report)
    )
    missing = set(sample.also) - {f.rule_id for f in report.findings}
    assert not missing, f"{header}: expected {sorted(missing)} as well, got:\n" + _explain(report)
    assert report.worst() is not None and report.worst() >= Severity.HIGH
    assert not canary.exists(), f"{header}: scanning ran the payload"


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s.nested], ids=lambda s: s.name)
def test_nested_payload_is_scanned(sample: Sample, tmp_path: Path) -> None:
    """A pickle handed to pickle.loads / torch.load / numpy.load is decoded and scanned too."""
    _, canary, report = _scan(sample, tmp_path)
    assert sample.nested is not None

    def from_inside(f: Finding) -> bool:
        return bool(f.location.members) and sample.nested in f.evidence

    inner = [f for f in report.findings if f.severity >= Severity.CRITICAL and from_inside(f)]
    assert inner, f"{sample.name}: the nested payload was not reported:\n" + _explain(report)
    assert not canary.exists()


def test_two_stage_payload_is_found_two_levels_down(tmp_path: Path) -> None:
    sample = next(s for s in SAMPLES if s.name == "nested-two-stages")
    _, _, report = _scan(sample, tmp_path)
    deep = [f for f in report.findings if len(f.location.members) >= 2 and f.rule_id == "AIR101"]
    assert any("builtins.exec" in f.evidence for f in deep), _explain(report)


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s.well_formed], ids=lambda s: s.name)
def test_sample_is_a_valid_pickle(sample: Sample, tmp_path: Path) -> None:
    """The samples are real pickles: pickletools (which never executes) walks them to STOP."""
    path = sample.build(tmp_path, tmp_path / "canary")
    pickletools.dis(path.read_bytes(), out=_Discard())


def test_broken_samples_report_the_break(tmp_path: Path) -> None:
    """nullifAI streams run their payload and then break: both facts are reported."""
    for name in ("nullifai-bad-opcode", "nullifai-truncated"):
        sample = next(s for s in SAMPLES if s.name == name)
        _, _, report = _scan(sample, tmp_path / name)
        rules = {f.rule_id for f in report.findings}
        assert {"AIR101", "AIR106"} <= rules, f"{name}:\n" + _explain(report)


def test_samples_have_unique_names() -> None:
    names = [s.name for s in SAMPLES]
    assert len(names) == len(set(names))


class _Discard:
    def write(self, text: str) -> int:
        return len(text)
