"""The `airlock vet` JSON document: the verdict, the policy it was made under, and the dossier.

Shape (schema_version 1; fields are only ever added):

    {
      "schema_version": 1,
      "tool": {"name": "airlock", "version": "0.1.0"},
      "verdict": {"decision": "admit | admit_with_conditions | refuse",
                  "reasons": [{"rule": "findings.max_severity",
                               "message": "a file would run code when loaded: builtins.exec in
                                           pytorch_model.bin",
                               "rule_id": "AIR101",          # when a finding decided
                               "file": "model/pytorch_model.bin"}],   # when one file decided
                  "conditions": ["..."],
                  "waived": [{"rule", "file", "evidence", "reason", "by", "expires", "where",
                              "message"}],
                  "expired_waivers": [{"rule", "file", "evidence", "reason", "by", "expires",
                                       "where"}],
                  "unused_waivers": [...same...]},
      "policy": {"name": "default", "source": "default", "digest": "sha256:..."},
      "dossier": {...}          # airlock/data/dossier.schema.json
    }
"""

from __future__ import annotations

import json
from typing import Any

from airlock import __version__
from airlock.dossier.model import Dossier
from airlock.policy.evaluate import Reason, Verdict
from airlock.policy.model import Policy, Waiver

SCHEMA_VERSION = 1


def vet_document(dossier: Dossier, verdict: Verdict, policy: Policy) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "airlock", "version": __version__},
        "verdict": verdict_dict(verdict),
        "policy": {"name": policy.name, "source": policy.source, "digest": policy.digest},
        "dossier": dossier.to_dict(),
    }


def verdict_dict(verdict: Verdict) -> dict[str, Any]:
    return {
        "decision": verdict.decision.value,
        "reasons": [_reason(r) for r in verdict.reasons],
        "conditions": list(verdict.conditions),
        "waived": [
            {**_waiver(w.waiver), "message": w.finding.message} for w in verdict.waivers.waived
        ],
        "expired_waivers": [_waiver(w) for w in verdict.waivers.expired],
        "unused_waivers": [_waiver(w) for w in verdict.waivers.unused],
    }


def _waiver(waiver: Waiver) -> dict[str, Any]:
    return {
        "rule": waiver.rule,
        "file": waiver.file,
        "evidence": f"sha256:{waiver.evidence}",
        "reason": waiver.reason,
        "by": waiver.by,
        "expires": waiver.expires.isoformat(),
        "where": waiver.where,
    }


def _reason(reason: Reason) -> dict[str, str]:
    """The policy setting and the sentence, plus the finding's rule id and file when one decided."""
    found = {"rule": reason.rule, "message": reason.message}
    if reason.rule_id:
        found["rule_id"] = reason.rule_id
    if reason.file:
        found["file"] = reason.file
    return found


def render_vet_json(dossier: Dossier, verdict: Verdict, policy: Policy) -> str:
    return json.dumps(vet_document(dossier, verdict, policy), indent=2) + "\n"
