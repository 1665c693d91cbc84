"""A NOTICE line that a model license makes distributors ship is evidence of that license (low
confidence); a NOTICE that lists bundled components' licenses, as the Apache convention does,
is not."""

from __future__ import annotations

from pathlib import Path

from tests.license.conftest import reference_text, write_model

from airlock.license import assess_path

# Llama 3.1 Community License 1.b.iii: retain "Llama 3.1 is licensed under the Llama 3.1
# Community License, Copyright © Meta Platforms, Inc. All Rights Reserved." in a "Notice" file.
LLAMA_NOTICE = (
    "Llama 3.1 is licensed under the Llama 3.1 Community License, Copyright © Meta Platforms, "
    "Inc. All Rights Reserved.\n"
)
# The NOTICE QwenLM/Qwen and the Qwen-7B repositories ship: licenses of bundled code only.
BUNDLED_CODE_NOTICE = (
    "------------- LICENSE FOR NVIDIA Megatron-LM code  --------------\n\n"
    + reference_text("bsd-3-clause")
    + "\n\n------------- LICENSE FOR OpenAI tiktoken code  --------------\n\n"
    + reference_text("mit")
)
APACHE_CONVENTION_NOTICE = """\
Acme Vision 7B
Copyright 2024 Acme Robotics, Inc.

This product includes software developed at The Apache Software Foundation
(http://www.apache.org/). Portions of the tokenizer are licensed under the MIT License.
"""


def _notice(model_dir: Path, text: str) -> None:
    (model_dir / "NOTICE").write_text(text, encoding="utf-8")


def test_notice_naming_llama_contradicts_an_apache_card(model_dir: Path) -> None:
    write_model(model_dir, "license: apache-2.0")
    _notice(model_dir, LLAMA_NOTICE)
    result = assess_path(model_dir)
    assert "AIR804" in {f.rule_id for f in result.findings}
    assert {t.id for t in result.terms} == {"apache-2.0", "llama3.1"}
    assert result.commercial_use == "conditional"  # the 700M monthly-active-user threshold
    assert any(c.source == "notice file" and c.role == "model" for c in result.sources)


def test_notice_agreeing_with_the_card_changes_nothing(model_dir: Path) -> None:
    write_model(model_dir, "license: llama3.1", reference_text("llama3.1"))
    _notice(model_dir, LLAMA_NOTICE)
    result = assess_path(model_dir)
    assert (result.license_id, result.confidence) == ("llama3.1", "high")
    assert "AIR804" not in {f.rule_id for f in result.findings}


def test_notice_alone_identifies_the_license_at_low_confidence(model_dir: Path) -> None:
    model_dir.mkdir()
    _notice(model_dir, LLAMA_NOTICE)
    result = assess_path(model_dir)
    assert (result.license_id, result.confidence) == ("llama3.1", "low")
    assert "AIR801" not in {f.rule_id for f in result.findings}


def test_built_with_llama_names_the_llama_3_1_family(model_dir: Path) -> None:
    # "Built with Llama" is the attribution Llama 3.1, 3.2, 3.3 and 4 all require (section 1.b.i):
    # a card saying one of them agrees; a card saying Apache 2.0 does not.
    write_model(model_dir, "license: llama3.3")
    _notice(model_dir, "Built with Llama\n")
    agreeing = assess_path(model_dir)
    assert agreeing.license_id == "llama3.3"
    assert "AIR804" not in {f.rule_id for f in agreeing.findings}
    write_model(model_dir, "license: apache-2.0")
    disagreeing = assess_path(model_dir)
    assert "AIR804" in {f.rule_id for f in disagreeing.findings}
    assert disagreeing.commercial_use == "conditional"


def test_nvidia_attribution_line(model_dir: Path) -> None:
    # NVIDIA Open Model License, Redistribution: include "Licensed by NVIDIA Corporation under
    # the NVIDIA Open Model License" in a "Notice" text file.
    write_model(model_dir, "license: mit")
    _notice(model_dir, "Licensed by NVIDIA Corporation under the NVIDIA Open Model License\n")
    result = assess_path(model_dir)
    assert {t.id for t in result.terms} == {"mit", "nvidia-open-model-license"}
    assert "AIR804" in {f.rule_id for f in result.findings}


def test_bundled_code_licenses_in_a_notice_are_not_the_model_license(model_dir: Path) -> None:
    write_model(model_dir, "license: other\nlicense_name: tongyi-qianwen")
    _notice(model_dir, BUNDLED_CODE_NOTICE)
    result = assess_path(model_dir)
    assert result.license_id == "tongyi-qianwen"
    assert "AIR804" not in {f.rule_id for f in result.findings}
    assert [c.role for c in result.sources if c.source == "notice file"] == ["notice"]


def test_apache_convention_notice_is_informational(model_dir: Path) -> None:
    write_model(model_dir, "license: llama3.1")
    _notice(model_dir, APACHE_CONVENTION_NOTICE)
    result = assess_path(model_dir)
    assert result.license_id == "llama3.1"
    assert "AIR804" not in {f.rule_id for f in result.findings}


def test_license_file_pointing_with_an_attribution_line(model_dir: Path) -> None:
    # A LICENSE that is only the required line names the license as a short pointer would.
    write_model(model_dir, None, LLAMA_NOTICE)
    result = assess_path(model_dir)
    assert (result.license_id, result.confidence) == ("llama3.1", "low")
    assert "AIR802" not in {f.rule_id for f in result.findings}


def test_custom_license_quoting_a_notice_line_stays_unknown(model_dir: Path) -> None:
    # A long text Airlock does not know is a license of its own, whatever line it quotes.
    custom = "You may use this model only on Tuesdays, and never for profit. " * 20
    write_model(model_dir, None, custom + LLAMA_NOTICE)
    result = assess_path(model_dir)
    assert result.commercial_use == "unknown"
    assert "AIR802" in {f.rule_id for f in result.findings}
