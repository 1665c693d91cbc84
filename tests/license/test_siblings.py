"""Research and non-commercial licenses are never read as their commercial siblings: by text, by
card id, name or link, by GGUF metadata, or by a NOTICE line. Each expected answer is the
license text's own: the clause is named beside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.license.conftest import reference_text, write_gguf, write_model
from tests.license.test_identify import _edit

from airlock.license import assess_path
from airlock.license.identify import identify

# (research or non-commercial id, its commercial sibling). Qwen RESEARCH 2.a and Tongyi Qianwen
# RESEARCH 2.a grant rights "FOR NON-COMMERCIAL PURPOSES ONLY"; the Stability AI NC research
# community license 1.a grants them "for Non-Commercial Uses only".
SIBLINGS = [
    ("qwen-research", "qwen"),
    ("tongyi-qianwen-research", "tongyi-qianwen"),
    ("stabilityai-nc-research-community", "stabilityai-ai-community"),
]


@pytest.mark.parametrize(("research", "commercial"), SIBLINGS)
def test_research_text_is_never_its_commercial_sibling(research: str, commercial: str) -> None:
    for text in (reference_text(research), _edit(reference_text(research))):
        match = identify(text)
        assert match is not None and match.license_id == research
        assert commercial not in match.alternatives
    sibling = identify(reference_text(commercial))
    assert sibling is not None and sibling.license_id == commercial


@pytest.mark.parametrize(("research", "commercial"), SIBLINGS)
def test_research_license_text_alone_is_not_commercial(
    model_dir: Path, research: str, commercial: str
) -> None:
    write_model(model_dir, None, reference_text(research))
    result = assess_path(model_dir)
    assert (result.license_id, result.commercial_use) == (research, "no")
    assert "AIR805" in {f.rule_id for f in result.findings}


@pytest.mark.parametrize(
    ("card", "expected", "commercial"),
    [
        # Qwen2.5-3B-Instruct's card: license_name qwen-research, its own LICENSE linked.
        ("license: other\nlicense_name: qwen-research", "qwen-research", "no"),
        ("license: other\nlicense_name: Qwen RESEARCH LICENSE AGREEMENT", "qwen-research", "no"),
        ("license: other\nlicense_link: https://huggingface.co/Qwen/Qwen2.5-3B-Instruct/blob/main"
         "/LICENSE", "qwen-research", "no"),
        ("license: other\nlicense_name: qwen", "qwen", "conditional"),
        ("license: other\nlicense_name: Qwen LICENSE AGREEMENT", "qwen", "conditional"),
        # Qwen1.5 / Qwen2 cards: license_name tongyi-qianwen; the 2023 text, not the 2024 Qwen one.
        ("license: other\nlicense_name: tongyi-qianwen", "tongyi-qianwen", "conditional"),
        ("license: other\nlicense_link: https://huggingface.co/Qwen/Qwen1.5-110B-Chat/blob/main"
         "/LICENSE", "tongyi-qianwen", "conditional"),
        ("license: other\nlicense_name: tongyi-qianwen-research", "tongyi-qianwen-research", "no"),
        ("license: other\nlicense_name: stabilityai-nc-research-community",
         "stabilityai-nc-research-community", "no"),
        ("license: other\nlicense_name: stabilityai-ai-community\nlicense_link: LICENSE.md",
         "stabilityai-ai-community", "conditional"),
        ("license: other\nlicense_link: https://huggingface.co/stabilityai/stable-diffusion-3.5-large"
         "/blob/main/LICENSE.md", "stabilityai-ai-community", "conditional"),
    ],
)  # fmt: skip
def test_card_id_name_or_link(model_dir: Path, card: str, expected: str, commercial: str) -> None:
    write_model(model_dir, card)
    result = assess_path(model_dir)
    assert (result.license_id, result.commercial_use) == (expected, commercial)


def test_qwen_research_card_with_its_text_agrees(model_dir: Path) -> None:
    card = "license: other\nlicense_name: qwen-research"
    write_model(model_dir, card, reference_text("qwen-research"))
    result = assess_path(model_dir)
    assert (result.license_id, result.confidence, result.commercial_use) == (
        "qwen-research", "high", "no")  # fmt: skip
    assert "AIR804" not in {f.rule_id for f in result.findings}


def test_qwen_card_over_a_research_text_binds_the_research_terms(model_dir: Path) -> None:
    # A Qwen2.5-3B fine-tune whose card copied Qwen2.5-7B's `license_name: qwen`: the LICENSE it
    # ships is the research one, so the sources disagree and commercial use is not allowed.
    write_model(model_dir, "license: other\nlicense_name: qwen", reference_text("qwen-research"))
    result = assess_path(model_dir)
    assert "AIR804" in {f.rule_id for f in result.findings}
    assert {t.id for t in result.terms} == {"qwen", "qwen-research"}
    assert result.commercial_use == "no"


def test_tongyi_2023_bars_improving_other_llms_with_outputs(model_dir: Path) -> None:
    # Tongyi Qianwen LICENSE AGREEMENT (August 3, 2023) 5.b: "You can not use the Materials or
    # any output therefrom to improve any other large language model". The 2024 Qwen LICENSE
    # AGREEMENT 5.b replaced it by the "Built with Qwen" attribution.
    write_model(model_dir, None, reference_text("tongyi-qianwen"))
    result = assess_path(model_dir)
    assert result.license_id == "tongyi-qianwen"
    assert result.terms[0].outputs_training == "barred"
    assert any("improve any other large language model" in r for r in result.restrictions)
    write_model(model_dir, None, reference_text("qwen"))
    newer = assess_path(model_dir)
    assert newer.license_id == "qwen" and newer.terms[0].outputs_training == "conditional"


@pytest.mark.parametrize(
    ("metadata", "expected", "commercial"),
    [
        ({"license_id": "other", "name": "qwen-research"}, "qwen-research", "no"),
        ({"license_id": "other", "name": "qwen"}, "qwen", "conditional"),
        ({"license_id": "other", "name": "tongyi-qianwen"}, "tongyi-qianwen", "conditional"),
        ({"license_id": "other", "name": "tongyi-qianwen-research"}, "tongyi-qianwen-research",
         "no"),
        ({"license_id": "other",
          "link": "https://huggingface.co/Qwen/Qwen2.5-Coder-3B-Instruct/blob/main/LICENSE"},
         "qwen-research", "no"),
        ({"name": "mnpl", "link": "https://mistral.ai/licences/MNPL-0.1.md"}, "mnpl", "no"),
        ({"license_id": "other", "name": "flux-1-dev-non-commercial-license"},
         "flux-1-dev-non-commercial-license", "no"),
        ({"license_id": "other", "name": "stabilityai-nc-research-community"},
         "stabilityai-nc-research-community", "no"),
    ],
)  # fmt: skip
def test_gguf_license_name_and_link(
    tmp_path: Path, metadata: dict[str, str], expected: str, commercial: str
) -> None:
    gguf = write_gguf(tmp_path / "model-Q4_K_M.gguf", **metadata)
    result = assess_path(gguf)
    assert (result.license_id, result.commercial_use) == (expected, commercial)
    assert result.sources[0].source == "gguf metadata"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Qwen is licensed under the Qwen RESEARCH LICENSE AGREEMENT, Copyright (c) Alibaba "
         "Cloud. All Rights Reserved.", "qwen-research"),
        ("Tongyi Qianwen is licensed under the Tongyi Qianwen RESEARCH LICENSE AGREEMENT, "
         "Copyright (c) Alibaba Cloud. All Rights Reserved.", "tongyi-qianwen-research"),
        ("This Stability AI Model is licensed under the Stability AI Non-Commercial Research "
         "Community License, Copyright (c) Stability AI Ltd. All Rights Reserved.",
         "stabilityai-nc-research-community"),
    ],
)  # fmt: skip
def test_research_notice_line_is_not_the_commercial_one(
    model_dir: Path, line: str, expected: str
) -> None:
    # Each research license's section 3.c / 1.c makes distributors ship that line in a "Notice"
    # text file; the commercial sibling's line differs by the words that matter.
    model_dir.mkdir()
    (model_dir / "NOTICE").write_text(line + "\n", encoding="utf-8")
    result = assess_path(model_dir)
    assert (result.license_id, result.commercial_use, result.confidence) == (expected, "no", "low")


def test_mnpl_by_card_name_link_and_typo(model_dir: Path) -> None:
    # MNPL 3.2: "You shall only use the Mistral Models and Derivatives ... for testing, research,
    # Personal, or evaluation purposes in Non-Production Environments". Codestral-22B-v0.1's
    # card links the British spelling and its README once called the license "MNLP-0.1".
    for card in (
        "license: other\nlicense_name: mnpl\nlicense_link: https://mistral.ai/licences/MNPL-0.1.md",
        "license: other\nlicense_link: https://mistral.ai/licenses/MNPL-0.1.md",
        "license: other\nlicense_name: MNLP-0.1",
        "license: other\nlicense_name: Mistral AI Non-Production License",
    ):
        write_model(model_dir, card)
        result = assess_path(model_dir)
        assert (result.license_id, result.commercial_use) == ("mnpl", "no"), card
        assert any("non-production" in r for r in result.restrictions)


def test_mrl_and_mnpl_are_different_licenses(model_dir: Path) -> None:
    write_model(model_dir, "license: other\nlicense_name: mnpl", reference_text("mrl"))
    result = assess_path(model_dir)
    assert {t.id for t in result.terms} == {"mnpl", "mrl"}
    assert "AIR804" in {f.rule_id for f in result.findings}


def test_flux_dev_license_text_card_and_older_copy(model_dir: Path) -> None:
    # FLUX.1 [dev] 2.b "Non-Commercial Use Only"; 4.a(i) no "commercial or production purposes".
    # Fine-tunes often ship the August 2024 text, which has the same grant.
    card = (
        "license: other\nlicense_name: flux-1-dev-non-commercial-license\nlicense_link: "
        "https://huggingface.co/black-forest-labs/FLUX.1-dev/blob/main/LICENSE.md"
    )
    for text in ("flux-1-dev-non-commercial-license",
                 "flux-1-dev-non-commercial-license@2024-08"):  # fmt: skip
        write_model(model_dir, card, reference_text(text))
        result = assess_path(model_dir)
        assert (result.license_id, result.commercial_use, result.confidence) == (
            "flux-1-dev-non-commercial-license", "no", "high")  # fmt: skip
        assert not {"AIR804", "AIR806"} & {f.rule_id for f in result.findings}


def test_apache_text_is_not_read_as_a_falcon_license() -> None:
    # The TII Falcon licenses are "in part, based on the Apache License Version 2.0": each text is
    # told from Apache 2.0 and from the others by its own clauses.
    for name in ("apache-2.0", "falcon-180b-tii-license-1.0", "falcon-2-11b-tii-license-1.0",
                 "falcon-llm-license"):  # fmt: skip
        for text in (reference_text(name), _edit(reference_text(name))):
            match = identify(text)
            assert match is not None and match.license_id == name


@pytest.mark.parametrize(
    ("card", "expected"),
    [
        # Falcon3 and Falcon-H1 cards.
        ("license: other\nlicense_name: falcon-llm-license\nlicense_link: "
         "https://falconllm.tii.ae/falcon-terms-and-conditions.html", "falcon-llm-license"),
        # Fine-tunes of Falcon-180B (e.g. airoboros-180b-2.2.1).
        ("license: other\nlicense_name: falcon-180b-tii-license-1.0\nlicense_link: "
         "https://huggingface.co/tiiuae/falcon-180B/raw/main/LICENSE.txt",
         "falcon-180b-tii-license-1.0"),
        # Falcon2-11B's card calls its license "TII Falcon License 2.0".
        ("license: other\nlicense_name: TII Falcon License 2.0", "falcon-2-11b-tii-license-1.0"),
    ],
)  # fmt: skip
def test_falcon_cards(model_dir: Path, card: str, expected: str) -> None:
    write_model(model_dir, card)
    result = assess_path(model_dir)
    assert (result.license_id, result.commercial_use) == (expected, "yes")
    # Section 5 (all three): the Acceptable Use Policy binds, and section 4.1 passes it on.
    assert any("Acceptable Use Policy" in r and "downstream" in r for r in result.restrictions)


def test_apple_sample_code_license_beside_amlr(model_dir: Path) -> None:
    # apple/ml-depth-pro: the GitHub code ships under the Apple Sample Code License (use,
    # reproduce, modify, redistribute; no patent rights), the weights' card says apple-amlr
    # ("Research Purposes" only). The two are different licenses and both bind.
    write_model(model_dir, None, reference_text("apple-ascl"))
    alone = assess_path(model_dir)
    assert (alone.license_id, alone.commercial_use) == ("apple-ascl", "yes")
    write_model(model_dir, "license: apple-amlr", reference_text("apple-ascl"))
    both = assess_path(model_dir)
    assert {t.id for t in both.terms} == {"apple-amlr", "apple-ascl"}
    assert both.commercial_use == "no"
