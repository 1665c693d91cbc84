"""The `airlock license` JSON document; fields are only ever added, never changed.

Top level: schema_version, tool, path, snapshot, license {id, name, confidence, sources},
commercial_use (yes | no | conditional | unknown), conditions, obligations, restrictions,
terms (the knowledge-base entries that bind: the model's own, then inherited), lineage (the
declared base models: repo, relation, declared_in, license_ids, certainty, evidence),
components (per component when the code is licensed apart from the weights; empty otherwise),
openness (MOF), findings, summary.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from airlock import __version__
from airlock.findings import Severity
from airlock.license import LicenseAssessment
from airlock.license.knowledge import LicenseTerms
from airlock.license.sources import Claim

SCHEMA_VERSION = 1


def license_document(result: LicenseAssessment, fail_on: Severity) -> dict[str, Any]:
    worst = max((f.severity for f in result.findings), default=None)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "airlock", "version": __version__},
        "path": result.path,
        "snapshot": result.snapshot or None,
        "license": {
            "id": result.license_id,
            "name": result.name,
            "confidence": result.confidence,
            "sources": [_claim(claim) for claim in result.sources],
        },
        "commercial_use": result.commercial_use,
        "conditions": list(result.conditions),
        "obligations": list(result.obligations),
        "restrictions": list(result.restrictions),
        "terms": [_terms(terms) for terms in result.terms],
        "lineage": [ancestor.to_dict() for ancestor in result.lineage],
        "components": [asdict(component) for component in result.components],
        "openness": {
            "components": list(result.openness.present),
            "mof_class": result.openness.mof_class or None,
            "missing_for_next_class": list(result.openness.missing),
            "open_license": result.openness.license_open,
        },
        "findings": [finding.to_dict() for finding in result.findings],
        "summary": {
            "findings": len(result.findings),
            "worst_severity": worst.label if worst is not None else None,
            "fail_on": fail_on.label,
            "failed": worst is not None and worst >= fail_on,
        },
    }


def render_license_json(result: LicenseAssessment, fail_on: Severity) -> str:
    return json.dumps(license_document(result, fail_on), indent=2, ensure_ascii=False) + "\n"


def _claim(claim: Claim) -> dict[str, Any]:
    found: dict[str, Any] = {
        "source": claim.source,
        "file": claim.file,
        "role": claim.role,
        "component": claim.component,
        "value": claim.value,
        "license_ids": list(claim.applies),
        "named": list(claim.named),
        "unknown": list(claim.unknown),
        "confidence": claim.confidence,
    }
    if claim.match is not None:
        found["text_match"] = {
            "license_id": claim.match.license_id,
            "variant": claim.match.variant or None,
            "score": claim.match.score,
            "reference_found": claim.match.covered,
            "not_in_reference": claim.match.extra,
            "edited": claim.match.edited,
            "edits": list(claim.match.edits),
            "alternatives": list(claim.match.alternatives),
        }
    return found


def _terms(terms: LicenseTerms) -> dict[str, Any]:
    found = asdict(terms)
    found["restrictions"] = list(terms.restrictions())
    return found
