"""The vet verdict and the policy use inherited terms as they use the model's own: a deny list,
an allow list, the non-commercial and outputs rules and unknown terms all see the licenses that
bind through a base model, and the report says where each duty comes from.

A LoRA adapter's card says `license: apache-2.0` while its base is Llama 3.1: the Llama 3.1
agreement still binds it (§1.b.i: a distributed derivative carries the agreement), so a policy
that denies llama3.1 must refuse it.
"""

from __future__ import annotations

import json
import struct
from dataclasses import replace
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from tests.license.conftest import write_model

from airlock.cli import main
from airlock.dossier.build import build_dossier
from airlock.dossier.model import Dossier
from airlock.policy.evaluate import Decision, Verdict, evaluate
from airlock.policy.model import LicenseRules, Policy

LLAMA_31 = "meta-llama/Llama-3.1-8B-Instruct"


def _adapter(root: Path, front_matter: str, base: str = LLAMA_31) -> Path:
    write_model(root, front_matter)
    config = {"base_model_name_or_path": base, "peft_type": "LORA", "r": 16}
    (root / "adapter_config.json").write_text(json.dumps(config), encoding="utf-8")
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    (root / "adapter_model.safetensors").write_bytes(
        struct.pack("<Q", len(header)) + header + bytes(4)
    )
    return root


def _verdict(dossier: Dossier, policy: Policy, **rules: object) -> Verdict:
    return evaluate(dossier, replace(policy, license=replace(LicenseRules(), **rules)))


def _reason(verdict: Verdict, rule: str) -> str:
    (reason,) = [r for r in verdict.reasons if r.rule == rule]
    return reason.message


@pytest.fixture
def llama_adapter(tmp_path: Path, policy: Policy) -> Dossier:
    card = f"license: apache-2.0\nbase_model: {LLAMA_31}\nlibrary_name: peft"
    return build_dossier(_adapter(tmp_path / "adapter", card), policy.dossier_options())


def test_policy_denying_llama31_refuses_the_adapter(llama_adapter: Dossier, policy: Policy) -> None:
    verdict = _verdict(llama_adapter, policy, denied=("llama3.1",))
    assert verdict.decision is Decision.REFUSE
    assert _reason(verdict, "license.denied") == (
        f"the license is on your policy's deny list: llama3.1, inherited from base model {LLAMA_31}"
    )
    # The control: the same dossier under the default rules is admitted, with Llama's duties.
    admitted = _verdict(llama_adapter, policy)
    assert admitted.decision is Decision.ADMIT_WITH_CONDITIONS
    assert any("Built with Llama" in c and LLAMA_31 in c for c in admitted.conditions)


def test_allow_list_sees_the_inherited_license(llama_adapter: Dossier, policy: Policy) -> None:
    verdict = _verdict(llama_adapter, policy, allowed=("apache-2.0", "mit"))
    assert _reason(verdict, "license.allowed") == (
        "the license is not on your policy's allow list: llama3.1, inherited from base model "
        f"{LLAMA_31}; allowed: apache-2.0, mit"
    )


def test_outputs_rule_sees_a_llama3_base(tmp_path: Path, policy: Policy) -> None:
    # Meta Llama 3 §1.b.v: outputs may not improve any other large language model.
    card = "license: mit\nbase_model: meta-llama/Meta-Llama-3-8B-Instruct"
    dossier = build_dossier(
        _adapter(tmp_path / "a", card, "meta-llama/Meta-Llama-3-8B-Instruct"),
        policy.dossier_options(),
    )
    assert dossier.license.outputs_restricted
    verdict = _verdict(dossier, policy, allow_output_restrictions=False)
    assert _reason(verdict, "license.allow_output_restrictions").endswith(
        "such limits: Meta Llama 3 Community License Agreement, inherited from base model "
        "meta-llama/Meta-Llama-3-8B-Instruct"
    )


def test_non_commercial_base_refuses_a_commercial_gate(tmp_path: Path, policy: Policy) -> None:
    # Qwen2.5-3B carries the Qwen RESEARCH license: research or evaluation use only.
    card = "license: apache-2.0\nbase_model: Qwen/Qwen2.5-3B-Instruct"
    dossier = build_dossier(
        _adapter(tmp_path / "a", card, "Qwen/Qwen2.5-3B-Instruct"), policy.dossier_options()
    )
    assert dossier.license.commercial_use == "no"
    verdict = _verdict(dossier, policy)
    assert _reason(verdict, "license.allow_non_commercial") == (
        "the license forbids commercial use: Qwen Research License Agreement, inherited from "
        "base model Qwen/Qwen2.5-3B-Instruct allows research or non-commercial use only"
    )


def test_unknown_base_refuses_as_unknown_terms(tmp_path: Path, policy: Policy) -> None:
    card = "license: apache-2.0\nbase_model: SomeLab/HelpfulChat-7B-v2"
    dossier = build_dossier(
        _adapter(tmp_path / "a", card, "SomeLab/HelpfulChat-7B-v2"), policy.dossier_options()
    )
    verdict = _verdict(dossier, policy)
    assert verdict.decision is Decision.REFUSE
    reason = next(r for r in verdict.reasons if r.rule == "license.allow_unknown")
    assert reason.rule_id == "AIR811" and "SomeLab/HelpfulChat-7B-v2" in reason.message


def test_dossier_records_the_lineage(llama_adapter: Dossier) -> None:
    (ancestor,) = llama_adapter.license.lineage
    assert (ancestor.repo, ancestor.license_ids) == (LLAMA_31, ("llama3.1",))
    document = json.loads(json.dumps(llama_adapter.to_dict()))
    schema = resources.files("airlock.data").joinpath("dossier.schema.json").read_text("utf-8")
    jsonschema.validate(document, json.loads(schema))
    assert document["license"]["lineage"][0]["declared_in"] == "README.md: base_model"
    assert Dossier.from_dict(document) == llama_adapter
    # A dossier stored before lineage was recorded still reads, with none.
    del document["license"]["lineage"]
    assert Dossier.from_dict(document).license.lineage == ()


def test_vet_report_says_where_each_duty_comes_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = _adapter(tmp_path / "adapter", "library_name: peft")  # no license of its own
    assert main(["vet", str(model)]) == 0
    out = capsys.readouterr().out
    assert "ADMIT WITH CONDITIONS" in out
    assert (
        f"Built from base model {LLAMA_31} (adapter_config.json: base_model_name_or_path): "
        "its license binds this model too (llama3.1)."
    ) in out
    conditions = out.split("Conditions:\n", 1)[1].split("\n\n", 1)[0]
    duties = [line for line in conditions.splitlines() if line.startswith("  - ")]
    assert duties and all(d.startswith(f"  - from base model {LLAMA_31} (") for d in duties)
