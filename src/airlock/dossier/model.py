"""The dossier: everything known about one model version, as frozen data with a JSON form.

The JSON form is versioned (`SCHEMA_VERSION`) and described by `airlock/data/dossier.schema.json`;
fields are only ever added. `Dossier.from_dict(d.to_dict()) == d` for every dossier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airlock.dossier.evals import RecordedEval
from airlock.findings import Finding, Severity
from airlock.license.knowledge import CommercialUse
from airlock.license.lineage import Ancestor
from airlock.provenance.manifest import FileDigest
from airlock.scan.results import FileResult

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ScanSection:
    files: tuple[FileResult, ...]

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for file in self.files for f in file.findings)

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(file.kind for file in self.files)

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)


@dataclass(frozen=True)
class LicenseSection:
    id: str  # a license id, an expression, or "unknown"
    name: str
    commercial_use: CommercialUse
    outputs_restricted: bool  # the license limits what outputs may be used for
    conditions: tuple[str, ...]
    obligations: tuple[str, ...]
    restrictions: tuple[str, ...]
    findings: tuple[Finding, ...]
    # Declared base models and the licenses that bind through them (the duties above already
    # include theirs, each marked with the ancestor it comes from).
    lineage: tuple[Ancestor, ...] = ()


@dataclass(frozen=True)
class AcceleratorOption:
    precision: str
    devices: int | None  # None: more than this accelerator can be ganged
    required_bytes: int


@dataclass(frozen=True)
class AcceleratorNeed:
    id: str
    name: str
    options: tuple[AcceleratorOption, ...]  # stored precision first, then smaller ones


@dataclass(frozen=True)
class FitSection:
    sized: bool
    detail: str  # why it could not be sized, or the kind of model that was sized
    parameters: int = 0
    total_bytes: int = 0  # stored weights + KV cache + runtime overhead
    accelerators: tuple[AcceleratorNeed, ...] = ()


@dataclass(frozen=True)
class ProvenanceSection:
    digest: str  # sha256 over the sorted (path, sha256) pairs
    files: tuple[FileDigest, ...]
    signature: str  # not_checked | absent | verified | invalid
    signature_detail: str = ""


@dataclass(frozen=True)
class Dossier:
    source: str
    created_at: str  # ISO 8601, UTC
    tool_version: str
    scan: ScanSection
    license: LicenseSection
    fit: FitSection
    provenance: ProvenanceSection
    # The eval results the registry held for these exact files (manifest digest) when the
    # dossier was made, by dataset and metric, newest first; empty without a registry.
    evals: tuple[RecordedEval, ...] = ()
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "tool_version": self.tool_version,
            "source": self.source,
            "created_at": self.created_at,
            "scan": {"files": [f.to_dict() for f in self.scan.files]},
            "license": {
                "id": self.license.id,
                "name": self.license.name,
                "commercial_use": self.license.commercial_use.value,
                "outputs_restricted": self.license.outputs_restricted,
                "conditions": list(self.license.conditions),
                "obligations": list(self.license.obligations),
                "restrictions": list(self.license.restrictions),
                "findings": [f.to_dict() for f in self.license.findings],
                "lineage": [ancestor.to_dict() for ancestor in self.license.lineage],
            },
            "fit": {
                "sized": self.fit.sized,
                "detail": self.fit.detail,
                "parameters": self.fit.parameters,
                "total_bytes": self.fit.total_bytes,
                "accelerators": [
                    {
                        "id": need.id,
                        "name": need.name,
                        "options": [vars(option) for option in need.options],
                    }
                    for need in self.fit.accelerators
                ],
            },
            "provenance": {
                "digest": self.provenance.digest,
                "files": [vars(f) for f in self.provenance.files],
                "signature": self.provenance.signature,
                "signature_detail": self.provenance.signature_detail,
            },
            "evals": [result.to_dict() for result in self.evals],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Dossier:
        """Raises KeyError or ValueError for a document that is not a dossier."""
        version = data["schema_version"]
        if version > SCHEMA_VERSION:
            raise ValueError(f"dossier schema {version} is newer than this Airlock reads")
        lic, fit, prov = data["license"], data["fit"], data["provenance"]
        return cls(
            source=data["source"],
            created_at=data["created_at"],
            tool_version=data["tool_version"],
            scan=ScanSection(tuple(FileResult.from_dict(f) for f in data["scan"]["files"])),
            license=LicenseSection(
                id=lic["id"],
                name=lic["name"],
                commercial_use=CommercialUse(lic["commercial_use"]),
                outputs_restricted=lic["outputs_restricted"],
                conditions=tuple(lic["conditions"]),
                obligations=tuple(lic["obligations"]),
                restrictions=tuple(lic["restrictions"]),
                findings=tuple(Finding.from_dict(f) for f in lic["findings"]),
                lineage=tuple(Ancestor.from_dict(a) for a in lic.get("lineage", ())),
            ),
            fit=FitSection(
                sized=fit["sized"],
                detail=fit["detail"],
                parameters=fit["parameters"],
                total_bytes=fit["total_bytes"],
                accelerators=tuple(
                    AcceleratorNeed(
                        need["id"],
                        need["name"],
                        tuple(AcceleratorOption(**option) for option in need["options"]),
                    )
                    for need in fit["accelerators"]
                ),
            ),
            provenance=ProvenanceSection(
                digest=prov["digest"],
                files=tuple(FileDigest(**f) for f in prov["files"]),
                signature=prov["signature"],
                signature_detail=prov["signature_detail"],
            ),
            evals=tuple(RecordedEval.from_dict(r) for r in data.get("evals", ())),
            schema_version=version,
        )
