"""Declared lineage: the base models a folder names (card `base_model`, PEFT adapter config,
mergekit recipes, GGUF `general.base_model.*`, config.json `_name_or_path`), the licenses that
bind through them, and the answer for the model as the combination of all of them.

Expected answers come from the license texts: Llama 3.1 §1.b.i (a distributed derivative
carries the agreement, "Built with Llama", a name beginning with "Llama") and §2 (700 million
monthly active users); Meta Llama 3 §1.b.v (outputs may not improve another LLM); Gemma §3.1
and §3.2 (the use restrictions bind Model Derivatives); the Qwen RESEARCH license (research or
evaluation use only).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from tests.license.conftest import write_model

from airlock.license import assess_path, base_models
from airlock.license.assess import LicenseAssessment
from airlock.license.knowledge import by_id

LLAMA_31 = "meta-llama/Llama-3.1-8B-Instruct"
LLAMA_31_NAME = "Llama 3.1 Community License Agreement"


def _rules(result: LicenseAssessment) -> dict[str, str]:
    return {f.rule_id: f.severity.label for f in result.findings}


def _safetensors(path: Path) -> Path:
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(4))
    return path


def _lora(root: Path, front_matter: str | None, base: str = LLAMA_31) -> Path:
    """A PEFT LoRA adapter as `save_pretrained` writes it, with the card the Hub generates."""
    write_model(root, front_matter)
    config = {"base_model_name_or_path": base, "peft_type": "LORA", "r": 16, "lora_alpha": 32}
    (root / "adapter_config.json").write_text(json.dumps(config), encoding="utf-8")
    _safetensors(root / "adapter_model.safetensors")
    return root


def _gguf(path: Path, **keys: str) -> Path:
    gguf = pytest.importorskip("gguf")
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_base_model_count(1)
    if "repo_url" in keys:
        writer.add_base_model_repo_url(0, keys["repo_url"])
    writer.add_base_model_name(0, keys["name"])
    writer.add_base_model_organization(0, keys["organization"])
    if "license" in keys:
        writer.add_license(keys["license"])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_lora_adapter_over_llama_carries_llama_terms(model_dir: Path) -> None:
    card = f"license: apache-2.0\nbase_model: {LLAMA_31}\nlibrary_name: peft"
    result = assess_path(_lora(model_dir, card))
    (ancestor,) = result.lineage
    assert (ancestor.repo, ancestor.relation, ancestor.license_ids, ancestor.certainty) == (
        LLAMA_31, "adapter", ("llama3.1",), "declared")  # fmt: skip
    assert ancestor.declared_in == "README.md: base_model"
    assert "also in adapter_config.json: base_model_name_or_path" in ancestor.evidence
    # The card's Apache-2.0 does not lift Llama 3.1 §2: the 700M MAU threshold still applies.
    assert result.commercial_use == "conditional"
    assert [t.id for t in result.terms] == ["apache-2.0", "llama3.1"]
    origin = f"from base model {LLAMA_31} ({LLAMA_31_NAME}): "
    assert any(c.startswith(origin) and "700 million" in c for c in result.conditions)
    # §1.b.i: "Built with Llama" and the "Llama" name prefix, each said to come from the base.
    built_with = [o for o in result.obligations if "Built with Llama" in o]
    assert built_with and all(o.startswith(origin) for o in built_with)
    assert any(o.startswith(origin) and 'with "Llama"' in o for o in result.obligations)
    assert _rules(result)["AIR809"] == "high"
    assert result.license_id == "apache-2.0"  # what the card says, beside what binds


def test_adapter_without_a_license_reports_its_base_terms(model_dir: Path) -> None:
    result = assess_path(_lora(model_dir, "library_name: peft"))
    assert (result.license_id, result.commercial_use, result.confidence) == (
        "llama3.1", "conditional", "low")  # fmt: skip
    assert "AIR801" not in _rules(result)
    assert any("Built with Llama" in o for o in result.obligations)
    assert all(d.startswith(f"from base model {LLAMA_31} (") for d in result.obligations)
    assert result.lineage[0].declared_in == "adapter_config.json: base_model_name_or_path"


def test_fine_tune_without_a_license_stays_unlicensed(model_dir: Path) -> None:
    # Not an adapter or a quantization: the fine-tuner's weights carry no grant of their own.
    write_model(model_dir, f"base_model: {LLAMA_31}\nbase_model_relation: finetune")
    _safetensors(model_dir / "model.safetensors")
    result = assess_path(model_dir)
    assert result.commercial_use == "unknown"
    assert "AIR801" in _rules(result)
    assert any("Built with Llama" in o for o in result.obligations)


def test_fine_tune_card_with_a_base_model_list(model_dir: Path) -> None:
    card = (
        "license: apache-2.0\nbase_model_relation: finetune\n"
        "base_model:\n- Qwen/Qwen2.5-7B-Instruct\n- meta-llama/Meta-Llama-3-8B-Instruct"
    )
    result = assess_path(write_model(model_dir, card))
    lineage = {a.repo: a for a in result.lineage}
    assert {r: (a.relation, a.license_ids) for r, a in lineage.items()} == {
        "Qwen/Qwen2.5-7B-Instruct": ("finetune", ("apache-2.0",)),
        "meta-llama/Meta-Llama-3-8B-Instruct": ("finetune", ("llama3",)),
    }
    # Meta Llama 3 §1.b.v: outputs may not improve another LLM; Qwen2.5-7B's Apache-2.0 adds
    # nothing the card does not already say, so only the Llama base is an omission.
    llama = "from base model meta-llama/Meta-Llama-3-8B-Instruct (Meta Llama 3 Community"
    assert any(r.startswith(llama) and "improve any other" in r for r in result.restrictions)
    omitted = [f for f in result.findings if f.rule_id == "AIR809"]
    assert [f.evidence for f in omitted] == ["meta-llama/Meta-Llama-3-8B-Instruct: llama3"]


def test_unsloth_fine_tune_of_llama3_declared_apache(model_dir: Path) -> None:
    # The card Unsloth generates: "License: apache-2.0, Finetuned from model:
    # unsloth/llama-3-8b-bnb-4bit" (a 4-bit copy of Meta Llama 3 8B).
    card = (
        "base_model: unsloth/llama-3-8b-bnb-4bit\nlanguage:\n- en\nlicense: apache-2.0\n"
        "tags:\n- text-generation-inference\n- transformers\n- unsloth\n- llama\n- trl\n- sft"
    )
    write_model(model_dir, card)
    config = {"_name_or_path": "unsloth/llama-3-8b-bnb-4bit", "model_type": "llama"}
    (model_dir / "config.json").write_text(json.dumps(config), encoding="utf-8")
    _safetensors(model_dir / "model.safetensors")
    result = assess_path(model_dir)
    (ancestor,) = result.lineage
    assert (ancestor.relation, ancestor.license_ids) == ("finetune", ("llama3",))
    assert "also in config.json: _name_or_path" in ancestor.evidence
    # Meta Llama 3 §2 (700M MAU) and §1.b.i ("Built with Meta Llama 3", a "Llama 3" name).
    assert result.commercial_use == "conditional"
    assert any("Built with Meta Llama 3" in o for o in result.obligations)
    assert _rules(result)["AIR809"] == "high"


def test_card_listing_several_bases_is_a_merge(model_dir: Path) -> None:
    card = (
        "license: llama3.1\nbase_model:\n- meta-llama/Llama-3.1-8B\n"
        "- meta-llama/Llama-3.1-8B-Instruct"
    )
    result = assess_path(write_model(model_dir, card))
    assert {a.relation for a in result.lineage} == {"merge"}
    # Both bases carry the card's own license: nothing is omitted, nothing labelled twice.
    assert "AIR809" not in _rules(result)
    assert not any(d.startswith("from ") for d in result.obligations)


MERGEKIT = """\
slices:
  - sources:
      - model: meta-llama/Llama-3.1-8B-Instruct
        layer_range: [0, 32]
      - model: Qwen/Qwen2.5-3B-Instruct
        layer_range: [0, 32]
merge_method: slerp
base_model: meta-llama/Llama-3.1-8B-Instruct
parameters:
  t: 0.5
dtype: bfloat16
"""


def test_mergekit_merge_of_llama_and_qwen_research(model_dir: Path) -> None:
    card = (
        "license: llama3.1\nbase_model:\n- meta-llama/Llama-3.1-8B-Instruct\n"
        "- Qwen/Qwen2.5-3B-Instruct\nlibrary_name: transformers\ntags:\n- mergekit\n- merge"
    )
    write_model(model_dir, card)
    (model_dir / "mergekit_config.yml").write_text(MERGEKIT, encoding="utf-8")
    _safetensors(model_dir / "model.safetensors")
    result = assess_path(model_dir)
    lineage = {a.repo: a for a in result.lineage}
    assert lineage["Qwen/Qwen2.5-3B-Instruct"].license_ids == ("qwen-research",)
    assert lineage["Qwen/Qwen2.5-3B-Instruct"].relation == "merge"
    assert "also in mergekit_config.yml: slices[0].sources[1].model" in (
        lineage["Qwen/Qwen2.5-3B-Instruct"].evidence
    )
    # The most restrictive answer: Qwen RESEARCH (research use only) beats Llama's threshold.
    assert result.commercial_use == "no"
    assert _rules(result)["AIR805"] == "medium" and _rules(result)["AIR809"] == "high"
    qwen = [f for f in result.findings if f.rule_id == "AIR809"]
    assert qwen[0].evidence == "Qwen/Qwen2.5-3B-Instruct: qwen-research"


def test_merge_recipe_named_config_yml_without_a_card(model_dir: Path) -> None:
    model_dir.mkdir()
    recipe = (
        "models:\n  - model: mistralai/Mistral-7B-v0.1\n"
        "  - model: google/gemma-2-9b-it+someone/lora-adapter\n    parameters:\n"
        "      weight: 0.5\nmerge_method: ties\nbase_model: mistralai/Mistral-7B-v0.1\n"
    )
    (model_dir / "config.yml").write_text(recipe, encoding="utf-8")
    result = assess_path(model_dir)
    assert {a.repo: a.license_ids for a in result.lineage} == {
        "mistralai/Mistral-7B-v0.1": ("apache-2.0",),
        "google/gemma-2-9b-it": ("gemma",),
        "someone/lora-adapter": (),  # the LoRA applied in the merge: unknown, said so
    }
    assert result.commercial_use == "unknown"
    assert "AIR811" in _rules(result)


def test_gguf_quantization_with_base_model_keys(model_dir: Path) -> None:
    card = "base_model: google/gemma-2-9b-it\nbase_model_relation: quantized\nlibrary_name: gguf"
    write_model(model_dir, card)
    # convert_hf_to_gguf copies the original's own `base_model` (gemma-2-9b) into the header.
    _gguf(
        model_dir / "gemma-2-9b-it-Q4_K_M.gguf",
        repo_url="https://huggingface.co/google/gemma-2-9b",
        name="Gemma 2 9b",
        organization="Google",
    )
    result = assess_path(model_dir)
    assert [(a.repo, a.relation, a.license_ids) for a in result.lineage] == [
        ("google/gemma-2-9b-it", "quantized", ("gemma",)),
        ("google/gemma-2-9b", "base", ("gemma",)),
    ]
    assert result.lineage[1].declared_in == (
        "gemma-2-9b-it-Q4_K_M.gguf: general.base_model.0.repo_url"
    )
    # No license of its own: a quantization is the same weights, under Gemma's terms (§3.2 use
    # restrictions, passed on to whoever receives it, §3.1).
    assert (result.license_id, result.commercial_use) == ("gemma", "yes")
    assert "AIR801" not in _rules(result)
    origin = "from original model google/gemma-2-9b-it, base model google/gemma-2-9b (Gemma"
    assert any(r.startswith(origin) and "Prohibited Use" in r for r in result.restrictions)


def test_gguf_base_model_named_without_a_url(tmp_path: Path) -> None:
    # gguf-py titles the repo id ("Meta-Llama-3.1-8B-Instruct" -> "Meta Llama 3.1 8B Instruct").
    path = _gguf(
        tmp_path / "model.gguf",
        name="Meta Llama 3.1 8B Instruct",
        organization="Meta Llama",
        license="mit",
    )
    result = assess_path(path)
    (ancestor,) = result.lineage
    assert (ancestor.repo, ancestor.relation, ancestor.license_ids) == (
        "Meta-Llama/Meta-Llama-3.1-8B-Instruct", "base", ("llama3.1",))  # fmt: skip
    assert ancestor.declared_in == "model.gguf: general.base_model.0.name"
    assert _rules(result)["AIR809"] == "high"  # `general.license: mit` over a Llama 3.1 base


def test_name_or_path_naming_a_known_base(model_dir: Path) -> None:
    write_model(model_dir, "license: mit")
    config = {"_name_or_path": "meta-llama/Llama-2-7b-hf", "model_type": "llama"}
    (model_dir / "config.json").write_text(json.dumps(config), encoding="utf-8")
    result = assess_path(model_dir)
    (ancestor,) = result.lineage
    assert (ancestor.relation, ancestor.license_ids, ancestor.certainty) == (
        "unknown", ("llama2",), "declared")  # fmt: skip
    assert ancestor.declared_in == "config.json: _name_or_path"
    assert _rules(result)["AIR809"] == "high"
    assert result.commercial_use == "conditional"  # Llama 2 §2: 700M MAU


@pytest.mark.parametrize("named", ["/home/me/checkpoints/run-3", "./output", "outputs/sft/final"])
def test_name_or_path_that_is_a_local_path_is_no_ancestor(model_dir: Path, named: str) -> None:
    write_model(model_dir, "license: mit")
    (model_dir / "config.json").write_text(json.dumps({"_name_or_path": named}), "utf-8")
    result = assess_path(model_dir)
    assert result.lineage == () and result.commercial_use == "yes"


def test_name_or_path_unknown_hub_id_is_likely_and_not_counted(model_dir: Path) -> None:
    # Often the model's own repo: listed, but an unknown name there does not make it unknown.
    write_model(model_dir, "license: mit")
    (model_dir / "config.json").write_text(json.dumps({"_name_or_path": "acme/my-model"}), "utf-8")
    result = assess_path(model_dir)
    (ancestor,) = result.lineage
    assert (ancestor.certainty, ancestor.license_ids) == ("likely", ())
    assert result.commercial_use == "yes" and "AIR811" not in _rules(result)


def test_a_cached_model_is_not_its_own_ancestor(tmp_path: Path) -> None:
    repo = tmp_path / "hub" / "models--acme--chat-7b"
    snapshot = repo / "snapshots" / "abc"
    write_model(snapshot, "license: mit\nbase_model: acme/chat-7b")
    (snapshot / "config.json").write_text(json.dumps({"_name_or_path": "acme/chat-7b"}), "utf-8")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc", encoding="utf-8")
    result = assess_path(repo)
    assert result.lineage == () and result.commercial_use == "yes"


def test_unknown_ancestor_is_never_assumed_permissive(model_dir: Path) -> None:
    write_model(model_dir, "license: apache-2.0\nbase_model: SomeLab/HelpfulChat-7B-v2")
    result = assess_path(model_dir)
    (ancestor,) = result.lineage
    assert ancestor.license_ids == () and ancestor.relation == "finetune"
    assert any("license unknown" in e for e in ancestor.evidence)
    assert result.commercial_use == "unknown"
    assert _rules(result)["AIR811"] == "high"


def test_mit_card_over_a_gemma_base(model_dir: Path) -> None:
    write_model(model_dir, "license: mit\nbase_model: google/gemma-2-2b-it")
    result = assess_path(model_dir)
    # Gemma §3.1: the §3.2 use restrictions bind Model Derivatives whatever their card says.
    assert _rules(result)["AIR809"] == "high"
    assert any(
        r.startswith("from base model google/gemma-2-2b-it (Gemma Terms of Use): ")
        for r in result.restrictions
    )
    assert result.openness.mof_class == "" and not result.openness.license_open


def test_permissive_base_under_another_permissive_license_is_no_omission(
    model_dir: Path,
) -> None:
    # Apache-2.0 §4 lets a derivative carry its own terms: an MIT fine-tune of Mistral 7B.
    result = assess_path(
        write_model(model_dir, "license: mit\nbase_model: mistralai/Mistral-7B-v0.1")
    )
    assert result.commercial_use == "yes"
    assert not {"AIR809", "AIR811"} & set(_rules(result))
    assert any(
        o.startswith("from base model mistralai/Mistral-7B-v0.1 (") for o in result.obligations
    )


def test_base_model_url_is_read_as_its_repo_id(model_dir: Path) -> None:
    card = "license: llama3.3\nbase_model: https://huggingface.co/meta-llama/Llama-3.3-70B-Instruct"
    result = assess_path(write_model(model_dir, card))
    assert [(a.repo, a.license_ids) for a in result.lineage] == [
        ("meta-llama/Llama-3.3-70B-Instruct", ("llama3.3",))
    ]
    assert "AIR809" not in _rules(result)


def test_unreadable_configs_are_no_ancestors(model_dir: Path) -> None:
    write_model(model_dir, "license: mit")
    (model_dir / "adapter_config.json").write_text("{not json", encoding="utf-8")
    (model_dir / "mergekit_config.yml").write_text("- just\n- a list\n", encoding="utf-8")
    # A recipe larger than any real one is not parsed at all (YAML of unbounded size).
    big = "merge_method: ties\nmodels:\n" + "  - model: meta-llama/Llama-2-7b-hf\n" * 9000
    (model_dir / "merge.yaml").write_text(big, encoding="utf-8")
    result = assess_path(model_dir)
    assert result.lineage == () and result.commercial_use == "yes"


def test_lineage_in_the_json_report(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from airlock.cli import main

    _lora(model_dir, f"license: apache-2.0\nbase_model: {LLAMA_31}")
    assert main(["license", str(model_dir), "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["lineage"] == [
        {
            "repo": LLAMA_31,
            "relation": "adapter",
            "declared_in": "README.md: base_model",
            "license_ids": ["llama3.1"],
            "certainty": "declared",
            "evidence": document["lineage"][0]["evidence"],
        }
    ]
    assert [t["id"] for t in document["terms"]] == ["apache-2.0", "llama3.1"]
    assert main(["license", str(model_dir)]) == 1
    out = capsys.readouterr().out
    assert f"{LLAMA_31} (adapter): llama3.1; declared in README.md: base_model" in out


# --- the data file --------------------------------------------------------------------------


@pytest.mark.parametrize("row", base_models.rows(), ids=lambda r: r.patterns[0])
def test_every_base_model_row_names_known_licenses_and_a_source(row: base_models.BaseModel) -> None:
    assert row.licenses and all(by_id(i) for i in row.licenses)
    assert row.source.startswith("https://")


@pytest.mark.parametrize(
    ("repo", "expected"),
    [
        # Qwen2.5 README: "All our open-source models, except for the 3B and 72B variants, are
        # licensed under Apache 2.0."
        ("Qwen/Qwen2.5-3B-Instruct", ("qwen-research",)),
        ("Qwen/Qwen2.5-32B-Instruct", ("apache-2.0",)),
        ("Qwen/Qwen2.5-72B-Instruct-AWQ", ("qwen",)),
        ("qwen/qwen2.5-7b-instruct", ("apache-2.0",)),  # repo ids compare without case
        # Qwen2 blog: "Qwen2-72B ... still uses the original Qianwen License" (the 2023 text).
        ("Qwen/Qwen2-72B-Instruct", ("tongyi-qianwen",)),
        ("Qwen/Qwen-7B-Chat", ("tongyi-qianwen",)),
        ("meta-llama/Meta-Llama-3.1-8B-Instruct", ("llama3.1",)),  # the repo's former name
        ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", ("mit", "llama3.1")),
        ("mistralai/Mistral-Large-Instruct-2411", ("mrl",)),
        ("microsoft/Phi-3-mini-4k-instruct", ("mit",)),
        # What Unsloth fine-tunes name as base: Meta's weights, quantized, under Meta's terms.
        ("unsloth/llama-3-8b-bnb-4bit", ("llama3",)),
        ("unsloth/meta-llama-3.1-8b-instruct-bnb-4bit", ("llama3.1",)),
        ("unsloth/Qwen2.5-3B-Instruct-bnb-4bit", ("qwen-research",)),
        ("unsloth/Llama-3.1-Nemotron-Nano-8B-v1", None),  # NVIDIA's derivative: not a copy
        # mistral.ai/news/codestral: "licensed under the new Mistral AI Non-Production License".
        ("mistralai/Codestral-22B-v0.1", ("mnpl",)),
        ("tiiuae/falcon-180B", ("falcon-180b-tii-license-1.0",)),
        ("black-forest-labs/FLUX.1-dev", ("flux-1-dev-non-commercial-license",)),
        # Not confirmed from the publisher: unknown, never guessed.
        ("Qwen/Qwen-Image-2.1", None),
        ("google/gemma-4-31b-it", None),
    ],
)
def test_well_known_bases(repo: str, expected: tuple[str, ...] | None) -> None:
    row = base_models.lookup(repo)
    assert (row.licenses if row else None) == expected
