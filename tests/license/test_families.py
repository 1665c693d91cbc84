"""Every license family: a model card and its LICENSE text give the right id, commercial use and
key obligations."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.license.conftest import reference_text, write_model

from airlock.license import assess_path, knowledge

# (card front matter, reference text or None, expected id, commercial use, an obligation or
# restriction fragment)
FAMILIES = [
    ("license: apache-2.0", "apache-2.0", "apache-2.0", "yes", "copy of the Apache License"),
    ("license: mit", "mit", "mit", "yes", "permission notice"),
    ("license: bsd-2-clause", "bsd-2-clause", "bsd-2-clause", "yes", "copyright notice"),
    ("license: bsd-3-clause", "bsd-3-clause", "bsd-3-clause", "yes", "endorse or promote"),
    ("license: cc0-1.0", "cc0-1.0", "cc0-1.0", "yes", None),
    ("license: cc-by-4.0", "cc-by-4.0", "cc-by-4.0", "yes", "Credit the creator"),
    ("license: cc-by-sa-4.0", "cc-by-sa-4.0", "cc-by-sa-4.0", "yes", "share-alike"),
    ("license: cc-by-nc-4.0", "cc-by-nc-4.0", "cc-by-nc-4.0", "no", "non-commercial"),
    ("license: cc-by-nc-sa-4.0", "cc-by-nc-sa-4.0", "cc-by-nc-sa-4.0", "no", "share-alike"),
    ("license: cc-by-nc-nd-4.0", "cc-by-nc-nd-4.0", "cc-by-nc-nd-4.0", "no", "adapted material"),
    ("license: gpl-3.0", "gpl-3.0", "gpl-3.0", "yes", "copyleft"),
    ("license: agpl-3.0", "agpl-3.0", "agpl-3.0", "yes", "over a network"),
    ("license: lgpl-3.0", "lgpl-3.0", "lgpl-3.0", "yes", "relink"),
    ("license: openrail", None, "openrail", "yes", "use-based restrictions"),
    ("license: openrail++", "openrail++", "openrail++", "yes", "Attachment A"),
    ("license: creativeml-openrail-m", "creativeml-openrail-m", "creativeml-openrail-m", "yes",
     "Attachment A"),
    ("license: bigscience-openrail-m", "bigscience-openrail-m", "bigscience-openrail-m", "yes",
     "Attachment A"),
    ("license: bigscience-bloom-rail-1.0", "bigscience-bloom-rail-1.0",
     "bigscience-bloom-rail-1.0", "yes", "Attachment A"),
    ("license: bigcode-openrail-m", "bigcode-openrail-m", "bigcode-openrail-m", "yes",
     "Attachment A"),
    ("license: llama2", "llama2", "llama2", "conditional", "improve any other large language"),
    ("license: llama3", "llama3", "llama3", "conditional", "Built with Meta Llama 3"),
    ("license: llama3.1", "llama3.1", "llama3.1", "conditional", "Built with Llama"),
    ("license: llama3.2", "llama3.2", "llama3.2", "conditional", "EU"),
    ("license: llama3.3", "llama3.3", "llama3.3", "conditional", "Built with Llama"),
    ("license: llama4", "llama4", "llama4", "conditional", "EU"),
    ("license: gemma", "gemma", "gemma", "yes", "Prohibited Use Policy"),
    ("license: other\nlicense_name: qwen", "qwen", "qwen", "conditional", "Built with Qwen"),
    # Qwen v1 / 1.5 / 2 terms, section 5.b: no improving other LLMs with the outputs.
    ("license: other\nlicense_name: tongyi-qianwen", "tongyi-qianwen", "tongyi-qianwen",
     "conditional", "improve any other large language model"),
    # Sections 1.i and 2.a: "FOR NON-COMMERCIAL PURPOSES ONLY", research or evaluation.
    ("license: other\nlicense_name: qwen-research", "qwen-research", "qwen-research", "no",
     "research or evaluation"),
    ("license: other\nlicense_name: tongyi-qianwen-research", "tongyi-qianwen-research",
     "tongyi-qianwen-research", "no", "improve any other large language model"),
    ("license: other\nlicense_name: deepseek", "deepseek", "deepseek", "yes", "Attachment A"),
    ("license: other\nlicense_name: nvidia-open-model-license", "nvidia-open-model-license",
     "nvidia-open-model-license", "yes", "guardrails"),
    ("license: other\nlicense_name: stabilityai-ai-community", "stabilityai-ai-community",
     "stabilityai-ai-community", "conditional", "Powered by Stability AI"),
    ("license: other\nlicense_name: mrl", "mrl", "mrl", "no", "non-commercial research"),
    # MNPL section 3.2 (quoted; no reference text ships): non-production use only.
    ("license: other\nlicense_name: mnpl", None, "mnpl", "no", "non-production environments"),
    # FLUX.1 [dev] sections 2.a-b (Non-Commercial Purposes) and 2.d (outputs).
    ("license: other\nlicense_name: flux-1-dev-non-commercial-license",
     "flux-1-dev-non-commercial-license", "flux-1-dev-non-commercial-license", "no",
     "competes with FLUX.1 [dev]"),
    # Falcon 180B section 9: Hosting Use (an inference or fine-tuning API) is not licensed.
    ("license: other\nlicense_name: falcon-180b-tii-license-1.0", "falcon-180b-tii-license-1.0",
     "falcon-180b-tii-license-1.0", "yes", "Hosting Use"),
    ("license: other\nlicense_name: falcon-2-11b-tii-license-1.0", "falcon-2-11b-tii-license-1.0",
     "falcon-2-11b-tii-license-1.0", "yes", "Falcon 2 Acceptable Use Policy"),
    # TII Falcon License (Falcon 3, Falcon-H1) section 6: the publication statement.
    ("license: other\nlicense_name: falcon-llm-license", "falcon-llm-license",
     "falcon-llm-license", "yes", "artificial intelligence technology from the Technology"),
    ("license: fair-noncommercial-research-license", None, "fair-noncommercial-research-license",
     "no", "non-commercial research"),
    ("license: apple-amlr", "apple-amlr", "apple-amlr", "no", "non-commercial research"),
    # Apple Sample Code License: copyright grant only, "no other rights ... including ... patent".
    ("license: apple-ascl", "apple-ascl", "apple-ascl", "yes", "No patent license"),
    # Stability AI NC research community license, section 1.b: no hosted service or API.
    ("license: other\nlicense_name: stabilityai-nc-research-community",
     "stabilityai-nc-research-community", "stabilityai-nc-research-community", "no",
     "hosted service or API"),
]  # fmt: skip


@pytest.mark.parametrize(("card", "text", "expected", "commercial", "duty"), FAMILIES)
def test_card_and_license_text(
    model_dir: Path, card: str, text: str | None, expected: str, commercial: str, duty: str | None
) -> None:
    write_model(model_dir, card, reference_text(text) if text else None)
    result = assess_path(model_dir)
    assert result.license_id == expected
    assert result.commercial_use == commercial
    assert result.confidence == ("high" if text else "medium")
    assert not [f for f in result.findings if f.rule_id in ("AIR801", "AIR802", "AIR804")]
    if duty is not None:
        assert any(duty in line for line in result.obligations + result.restrictions)
    non_commercial = [f for f in result.findings if f.rule_id == "AIR805"]
    assert bool(non_commercial) == (commercial == "no")


@pytest.mark.parametrize(("card", "text", "expected", "commercial", "duty"), FAMILIES)
def test_license_text_alone(
    model_dir: Path, card: str, text: str | None, expected: str, commercial: str, duty: str | None
) -> None:
    if text is None:
        pytest.skip("no shipped reference text: identified by card id, name or URL only")
    write_model(model_dir, None, reference_text(text))
    result = assess_path(model_dir)
    assert (result.license_id, result.commercial_use) == (expected, commercial)
    assert result.confidence == "high"


def test_every_reference_text_is_tested() -> None:
    from airlock.license.identify import references

    tested = {text for _, text, *_ in FAMILIES if text}
    # Riders (the Commons Clause) never stand alone: tests/license/test_riders.py.
    licenses = {r.license_id for r in references() if not knowledge.by_id(r.license_id).rider}
    assert licenses == tested


@pytest.mark.parametrize(
    ("name", "expected"),
    [("llama3.1", "llama3.1"), ("tongyi-qianwen", "tongyi-qianwen"), ("deepseek", "deepseek"),
     ("nvidia-open-model-license", "nvidia-open-model-license"),
     ("Llama 3.1 Community License Agreement", "llama3.1")],
)  # fmt: skip
def test_other_with_license_name(model_dir: Path, name: str, expected: str) -> None:
    write_model(model_dir, f"license: other\nlicense_name: {name}")
    assert assess_path(model_dir).license_id == expected


def test_other_with_license_link(model_dir: Path) -> None:
    link = "https://github.com/deepseek-ai/DeepSeek-V3/blob/main/LICENSE-MODEL"
    write_model(model_dir, f"license: other\nlicense_link: {link}")
    assert assess_path(model_dir).license_id == "deepseek"


RAIL = [t.id for t in knowledge.entries() if "rail" in t.id]


def test_the_rail_family_is_covered() -> None:
    hugging_face_ids = {"openrail", "openrail++", "creativeml-openrail-m", "bigscience-openrail-m",
                        "bigscience-bloom-rail-1.0", "bigcode-openrail-m"}  # fmt: skip
    assert set(RAIL) >= hugging_face_ids


@pytest.mark.parametrize("license_id", RAIL)
def test_every_rail_license_reports_use_restrictions_binding_downstream(
    model_dir: Path, license_id: str
) -> None:
    # Every RAIL license makes its use-based restrictions (Attachment A) enforceable provisions of
    # any agreement governing the model or its derivatives (paragraph 4 or 5 of each).
    write_model(model_dir, f"license: {license_id}")
    result = assess_path(model_dir)
    assert result.license_id == license_id
    passed_on = [r for r in result.restrictions if "binding downstream users too" in r]
    assert passed_on, result.restrictions
    assert "AIR807" in {f.rule_id for f in result.findings}
