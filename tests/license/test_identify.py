"""Text identification survives reformatting and small edits, says how sure it is, and tells
near-identical siblings apart."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.license.conftest import reference_text, write_model

from airlock.license import assess_path
from airlock.license.identify import identify

_CHANGED = ["this", "sentence", "was", "changed", "by", "someone", "who", "edits"]


def _edit(text: str) -> str:
    """Reflow everything, drop one mid-length paragraph and change one sentence."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    middle = sorted(range(len(paragraphs)), key=lambda i: len(paragraphs[i]))[len(paragraphs) // 2]
    del paragraphs[middle]
    words = " ".join(" ".join(paragraphs).split()).split()
    cut = len(words) // 3
    words[cut : cut + 10] = _CHANGED
    return "\n".join(" ".join(words[i : i + 9]) for i in range(0, len(words), 9))


@pytest.mark.parametrize(
    "name",
    ["apache-2.0", "mit", "cc-by-4.0", "cc-by-nc-4.0", "cc-by-sa-4.0", "cc-by-nc-sa-4.0",
     "gpl-3.0", "agpl-3.0", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4",
     "creativeml-openrail-m", "openrail++", "gemma", "qwen", "deepseek", "qwen-research",
     "tongyi-qianwen", "tongyi-qianwen-research", "flux-1-dev-non-commercial-license",
     "falcon-180b-tii-license-1.0", "falcon-2-11b-tii-license-1.0", "falcon-llm-license",
     "stabilityai-nc-research-community", "apple-ascl"],
)  # fmt: skip
def test_edited_text_still_identified_with_lower_confidence(name: str) -> None:
    exact = identify(reference_text(name))
    edited = identify(_edit(reference_text(name)))
    assert exact is not None and edited is not None
    assert (exact.license_id, exact.score, exact.edited) == (name, 1.0, False)
    assert edited.license_id == name
    assert edited.score < exact.score
    assert edited.edited


def test_markdown_reformatting_is_not_an_edit() -> None:
    text = reference_text("llama3.2")
    markdown = "\n".join(f"**{line.upper()}**" if line.strip() else "" for line in text.split("\n"))
    match = identify("# LICENSE\n\nCopyright (c) 2031 Someone Else\n\n" + markdown)
    assert match is not None
    assert (match.license_id, match.confidence, match.edited) == ("llama3.2", "high", False)


def test_apache_with_or_without_appendix() -> None:
    text = reference_text("apache-2.0")
    short = text[: text.index("APPENDIX")]
    assert all(identify(t) is not None and not identify(t).edited for t in (text, short))  # type: ignore[union-attr]


def test_added_restriction_is_an_edit() -> None:
    text = reference_text("mit") + "\nThe Software may not be used for any commercial purpose.\n"
    match = identify(text)
    assert match is not None and match.license_id == "mit" and match.edited


def test_short_or_unrelated_text_is_not_identified() -> None:
    assert identify("All rights reserved.") is None
    assert identify("lorem ipsum dolor sit amet " * 40) is None


def test_edited_license_file_is_a_medium_finding(model_dir: Path) -> None:
    write_model(model_dir, "license: llama3.1", _edit(reference_text("llama3.1")))
    result = assess_path(model_dir)
    assert result.license_id == "llama3.1"
    edited = [f for f in result.findings if f.rule_id == "AIR806"]
    assert edited and edited[0].severity.label == "medium"
    assert result.sources[0].match is not None and result.sources[0].match.score < 1


def test_heavily_cut_text_drops_to_lower_confidence() -> None:
    text = reference_text("gpl-3.0")
    half = text[: len(text) * 3 // 5]
    match = identify(half)
    assert match is not None and match.license_id == "gpl-3.0"
    assert match.confidence in ("medium", "low")
