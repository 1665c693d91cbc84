"""Each policy rule, triggered by changing one fact of an otherwise admitted dossier."""

from __future__ import annotations

from dataclasses import replace

from airlock.dossier.model import (
    AcceleratorNeed,
    AcceleratorOption,
    Dossier,
    FitSection,
    ScanSection,
)
from airlock.findings import Finding, Location, Severity
from airlock.policy.evaluate import Decision, Verdict, evaluate
from airlock.policy.model import (
    FormatRules,
    LicenseRules,
    Policy,
    ResourceRules,
    SignatureRules,
)
from airlock.scan.results import FileResult

GIB = 2**30


def _rules(verdict: Verdict) -> set[str]:
    return {r.rule for r in verdict.reasons}


def test_default_policy_admits_the_clean_example(clean_dossier: Dossier, policy: Policy) -> None:
    verdict = evaluate(clean_dossier, policy)
    # Apache-2.0 obliges attribution: those duties are the conditions.
    assert verdict.decision is Decision.ADMIT_WITH_CONDITIONS
    assert any("Apache License 2.0" in c for c in verdict.conditions)
    assert verdict.reasons == ()


def test_default_policy_refuses_the_malicious_example(
    malicious_dossier: Dossier, policy: Policy
) -> None:
    verdict = evaluate(malicious_dossier, policy)
    assert verdict.decision is Decision.REFUSE
    assert _rules(verdict) == {"findings.max_severity"}
    # The sentence says what would happen and where; the rule id rides beside it.
    reason = verdict.reasons[0]
    assert reason.message == "a file would run code when loaded: builtins.exec in pytorch_model.bin"
    assert reason.rule_id == "AIR101" and reason.file.endswith(
        "suspicious-upload/pytorch_model.bin"
    )


def test_no_conditions_is_a_plain_admit(clean_dossier: Dossier, policy: Policy) -> None:
    lic = replace(clean_dossier.license, obligations=())
    assert evaluate(replace(clean_dossier, license=lic), policy).decision is Decision.ADMIT


def _license(dossier: Dossier, **changes: object) -> Dossier:
    return replace(dossier, license=replace(dossier.license, **changes))


def test_license_rules(clean_dossier: Dossier, policy: Policy) -> None:
    unknown = _license(clean_dossier, id="unknown", commercial_use="unknown")
    assert _rules(evaluate(unknown, policy)) == {"license.allow_unknown"}
    lenient = replace(policy, license=LicenseRules(allow_unknown=True))
    assert _rules(evaluate(unknown, lenient)) == {"license.require_commercial_use"}

    non_commercial = _license(clean_dossier, id="cc-by-nc-4.0", commercial_use="no")
    assert _rules(evaluate(non_commercial, policy)) == {"license.allow_non_commercial"}
    research = replace(
        policy, license=LicenseRules(require_commercial_use=False, allow_non_commercial=True)
    )
    assert evaluate(non_commercial, research).admitted

    capped = _license(clean_dossier, commercial_use="conditional", conditions=("< 700M MAU",))
    verdict = evaluate(capped, policy)
    assert verdict.decision is Decision.ADMIT_WITH_CONDITIONS and "< 700M MAU" in verdict.conditions

    outputs = _license(clean_dossier, outputs_restricted=True)
    assert evaluate(outputs, policy).admitted
    no_outputs = replace(policy, license=LicenseRules(allow_output_restrictions=False))
    assert _rules(evaluate(outputs, no_outputs)) == {"license.allow_output_restrictions"}

    denied = replace(policy, license=LicenseRules(denied=("apache-2.0",)))
    assert _rules(evaluate(clean_dossier, denied)) == {"license.denied"}
    allowed = replace(policy, license=LicenseRules(allowed=("mit",)))
    assert _rules(evaluate(clean_dossier, allowed)) == {"license.allowed"}
    assert evaluate(
        clean_dossier, replace(policy, license=LicenseRules(allowed=("apache-2.0",)))
    ).admitted


def test_finding_severity_limit(clean_dossier: Dossier, policy: Policy) -> None:
    medium = Finding("AIR102", Severity.MEDIUM, "model.pt", Location(), "unknown global")
    # The finding goes on the model file; a dossier of the README alone has no model to admit.
    files = tuple(
        replace(f, findings=(medium,)) if f.kind == "zip" else f for f in clean_dossier.scan.files
    )
    dossier = replace(clean_dossier, scan=ScanSection(files))
    assert _rules(evaluate(dossier, policy)) == {"findings.max_severity"}
    assert evaluate(dossier, replace(policy, max_severity=Severity.MEDIUM)).admitted


def test_signature_required(clean_dossier: Dossier, policy: Policy) -> None:
    required = replace(policy, signature=SignatureRules(required=True))
    for status in ("absent", "invalid", "not_checked"):
        prov = replace(clean_dossier.provenance, signature=status)
        verdict = evaluate(replace(clean_dossier, provenance=prov), required)
        assert _rules(verdict) == {"signature.required"}
    signed = replace(clean_dossier.provenance, signature="verified")
    assert evaluate(replace(clean_dossier, provenance=signed), required).admitted


def test_refused_formats(clean_dossier: Dossier, policy: Policy) -> None:
    no_zip = replace(policy, formats=FormatRules(refused=("zip",)))
    assert _rules(evaluate(clean_dossier, no_zip)) == {"formats.refused"}
    both = ScanSection(
        (*clean_dossier.scan.files, FileResult("model.safetensors", "safetensors", 8, True))
    )
    dossier = replace(clean_dossier, scan=both)
    assert _rules(evaluate(dossier, policy)) == {"formats.refuse_pickle_beside_safetensors"}
    allow = replace(policy, formats=FormatRules(refuse_pickle_beside_safetensors=False))
    assert evaluate(dossier, allow).admitted


def _sized(dossier: Dossier, total_gib: float, h100_devices: tuple[int | None, ...]) -> Dossier:
    options = tuple(
        AcceleratorOption(precision, devices, int(total_gib * GIB))
        for precision, devices in zip(("stored (BF16)", "int8", "int4"), h100_devices, strict=False)
    )
    need = AcceleratorNeed("h100", "NVIDIA H100", options)
    fit = FitSection(True, "llama, safetensors", 7_000_000_000, int(total_gib * GIB), (need,))
    return replace(dossier, fit=fit)


def test_resource_limits(clean_dossier: Dossier, policy: Policy) -> None:
    assert not clean_dossier.fit.sized  # a bare .pt cannot be sized
    memory = replace(policy, resources=ResourceRules(max_memory_gib=16))
    assert _rules(evaluate(clean_dossier, memory)) == {"resources.allow_unknown_size"}
    unknown_ok = replace(
        policy, resources=ResourceRules(max_memory_gib=16, allow_unknown_size=True)
    )
    assert evaluate(clean_dossier, unknown_ok).decision is Decision.ADMIT_WITH_CONDITIONS

    assert _rules(evaluate(_sized(clean_dossier, 20, (1,)), memory)) == {"resources.max_memory_gib"}
    assert evaluate(_sized(clean_dossier, 10, (1,)), memory).admitted

    on_h100 = replace(policy, resources=ResourceRules(accelerator="h100", max_devices=1))
    too_big = _sized(clean_dossier, 300, (4, 2, None))
    assert _rules(evaluate(too_big, on_h100)) == {"resources.accelerator"}
    quantized = evaluate(_sized(clean_dossier, 100, (2, 1)), on_h100)
    assert quantized.admitted and any("int8" in c for c in quantized.conditions)
