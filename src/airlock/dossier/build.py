"""Build a dossier: run the scan, license, fit and provenance checks on one model.

Each check answers on its own; a check that cannot answer (a model that cannot be sized, no
signature) is recorded as such, never guessed, so the policy decides what doubt means.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from airlock import __version__
from airlock.dossier.model import (
    AcceleratorNeed,
    AcceleratorOption,
    Dossier,
    FitSection,
    LicenseSection,
    ProvenanceSection,
    ScanSection,
)
from airlock.dossier.options import DossierOptions
from airlock.dossier.provenance import (
    find_signature,
    hash_manifest,
    manifest_digest,
    verify_signature,
)
from airlock.license import assess_path
from airlock.scan.formats.pickle_reader import PickleReader
from airlock.scan.names.pickle_globals import GlobalsPolicy
from airlock.scan.registry import default_readers, json_reader
from airlock.scan.scanner import Scanner

if TYPE_CHECKING:
    from airlock.fit.estimate import FitReport


def build_dossier(
    path: str | Path,
    options: DossierOptions,
    signature: Path | None = None,
    jobs: int | None = None,
) -> Dossier:
    """Raises airlock.artifact.ArtifactError for a path that does not exist."""
    path = Path(path)
    return Dossier(
        source=str(path),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        tool_version=__version__,
        scan=_scan(path, options, jobs),
        license=_license(path),
        fit=_fit(path, options),
        provenance=_provenance(path, options, signature),
    )


def _scan(path: Path, options: DossierOptions, jobs: int | None) -> ScanSection:
    # The organization's extra globals replace the default pickle reader, for nested pickles too,
    # and are trusted as config targets (Hydra, LightningCLI, Keras modules) as well.
    from airlock.scan.formats.yaml_reader import YamlReader  # imports libyaml and Jinja: only here

    trusted = options.trusted_globals
    pickles = PickleReader(GlobalsPolicy.default().allowing(trusted))
    configs = [YamlReader(trusted), json_reader(trusted)]
    report = Scanner([*default_readers(), pickles, *configs]).scan_paths([path], jobs=jobs)
    return ScanSection(
        # The dossier records what was found, not which cache snapshot it came from.
        tuple(replace(r, snapshot=None) for r in report.files)
    )


def _license(path: Path) -> LicenseSection:
    result = assess_path(path)
    return LicenseSection(
        id=result.license_id,
        name=result.name,
        commercial_use=result.commercial_use,
        outputs_restricted=any(t.outputs_training != "free" for t in result.terms),
        conditions=result.conditions,
        obligations=result.obligations,
        restrictions=result.restrictions,
        findings=result.findings,
        lineage=result.lineage,
    )


def _fit(path: Path, options: DossierOptions) -> FitSection:
    from airlock.fit.estimate import FitRequest, estimate

    request = FitRequest(devices=options.max_devices)
    try:
        report = estimate(path, request)
    except (ValueError, KeyError, OSError) as exc:
        # InputError, ConfigError, HeaderError, GgufError and PriceConfigError are ValueErrors:
        # a model Airlock cannot size is recorded as unknown, and the policy decides.
        detail = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        return FitSection(sized=False, detail=detail or type(exc).__name__)
    if report.media is not None:  # an image pipeline or speech model: sized per component
        return FitSection(
            sized=True,
            detail=f"{report.media.family}, {report.media.kind}",
            parameters=report.counts.parameters,
            total_bytes=report.media.total_bytes,
            accelerators=_needs(report),
        )
    if report.arch is None or report.total_bytes is None:  # weights only: memory unknown
        return FitSection(sized=False, detail=report.not_estimated or "no architecture")
    return FitSection(
        sized=True,
        detail=f"{report.arch.model_type}, {report.model.kind}",
        parameters=report.counts.parameters,
        total_bytes=report.total_bytes,
        accelerators=_needs(report),
    )


def _needs(report: FitReport) -> tuple[AcceleratorNeed, ...]:
    return tuple(
        AcceleratorNeed(
            fit.accelerator.id,
            fit.accelerator.name,
            tuple(
                AcceleratorOption(o.plan.quant, o.devices, o.required_bytes) for o in fit.options
            ),
        )
        for fit in report.fits
    )


def _provenance(path: Path, options: DossierOptions, signature: Path | None) -> ProvenanceSection:
    files = hash_manifest(path)
    digest = manifest_digest(files)
    signature = signature or find_signature(path)
    keys = options.trusted_keys
    if signature is None:
        status = "absent" if options.signature_required else "not_checked"
        return ProvenanceSection(digest, files, status, "no signature file")
    if not keys:
        return ProvenanceSection(
            digest, files, "not_checked", f"{signature}: no trusted key to check it against"
        )
    verified, detail = verify_signature(path, signature, keys)
    return ProvenanceSection(digest, files, "verified" if verified else "invalid", detail)
