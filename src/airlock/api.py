"""Airlock from Python: what the commands do, for pipelines that embed it.

    from airlock.api import scan_path, assess_license, estimate_fit, vet

    report = scan_path("./downloads/some-model")
    if report.worst() is not None and report.worst() >= Severity.HIGH:
        ...
    result = vet("./downloads/some-model", policy="policy.yaml")
    print(result.verdict.decision, [r.message for r in result.verdict.reasons])

Each function answers one question and returns the same types the commands render (their
`to_dict()` forms are the commands' JSON). Nothing here prints, exits or reads the command line;
errors are exceptions: `ArtifactError` for a path that is not there, `PolicyError` for a policy
that does not load, `ProvenanceError` for a signature that cannot be read, and `fit`'s
`InputError`/`ConfigError` (ValueErrors) for a model it cannot size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from airlock.dossier.build import build_dossier
from airlock.dossier.evals import RecordedEval
from airlock.dossier.model import Dossier
from airlock.fit.estimate import FitReport, FitRequest, estimate
from airlock.license import LicenseAssessment, assess_path
from airlock.policy.evaluate import Verdict, evaluate
from airlock.policy.model import Policy
from airlock.policy.schema import default_policy, load_policy
from airlock.scan.results import ScanReport
from airlock.scan.scanner import Scanner

__all__ = ["Vetted", "assess_license", "estimate_fit", "load_policy", "scan_path", "vet"]


def scan_path(*paths: str | Path, jobs: int | None = None) -> ScanReport:
    """`airlock scan`: every file under `paths`, inspected without loading it.

    `jobs` processes share the work (default: one per core once there are enough files)."""
    return Scanner().scan_paths(paths, jobs=jobs)


def assess_license(path: str | Path) -> LicenseAssessment:
    """`airlock license`: which license binds (inherited ones included) and what it obliges."""
    return assess_path(path)


def estimate_fit(path: str | Path, request: FitRequest | None = None) -> FitReport:
    """`airlock fit`: parameters, memory, fit and speed from headers alone (no weights read)."""
    return estimate(Path(path), request or FitRequest())


@dataclass(frozen=True)
class Vetted:
    dossier: Dossier  # every fact found about the model
    verdict: Verdict  # the policy's decision on those facts, with its reasons
    policy: Policy


def vet(
    path: str | Path,
    policy: Policy | str | Path | None = None,
    signature: str | Path | None = None,
    jobs: int | None = None,
    evals: Callable[[str], tuple[RecordedEval, ...]] | None = None,
) -> Vetted:
    """`airlock vet`: one verdict by the organization's policy (a Policy, a policy file, or
    None for the default policy). Nothing is recorded: `airlock admit` records.

    `evals` looks up the eval results recorded for a manifest digest (what a policy's quality
    requirements judge; `airlock.registry.evals.for_files`); without it there are none."""
    chosen = _policy(policy)
    sig = Path(signature) if signature is not None else None
    dossier = build_dossier(path, chosen.dossier_options(), sig, jobs)
    if evals is not None:
        dossier = replace(dossier, evals=evals(dossier.provenance.digest))
    return Vetted(dossier, evaluate(dossier, chosen), chosen)


def _policy(policy: Policy | str | Path | None) -> Policy:
    if policy is None:
        return default_policy()
    if isinstance(policy, Policy):
        return policy
    return load_policy(policy)
