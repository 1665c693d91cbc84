"""No false "modified text" (AIR806) on licenses nobody changed; a genuine edit is still found.

Benign: real files as publishers ship them (tests/license/corpus, sources in its README), Meta's
and Google's terms with their acceptable-use policy appended, and every shipped reference text
and real file reformatted (reflowed, other list markers and section numbering, other quotes and
dashes, markdown, a copyright line). Genuine: a clause added or removed, a grant negated, a
threshold changed, a term put in a name slot, a prohibition taken out of a use policy, and a
real copy whose clause 3 someone extended.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest
from tests.license.conftest import reference_text, write_model

from airlock.license import assess_path
from airlock.license.identify import identify, references

CORPUS = Path(__file__).parent / "corpus"
REAL = {
    "meta-llama3.1.LICENSE": "llama3.1",
    "meta-llama3.2.LICENSE": "llama3.2",
    "gemma-terms-web-copy.txt": "gemma",
    "deepseek-v3.LICENSE-MODEL": "deepseek",
    "deepseek-coder.LICENSE-CODE": "mit",
    "chatglm3.LICENSE": "mit",
    "sentence-transformers.LICENSE": "apache-2.0",
    "whisper.LICENSE": "mit",
    "protobuf.LICENSE": "bsd-3-clause",
    "numpy.LICENSE.txt": "bsd-3-clause",
    "scikit-learn.COPYING": "bsd-3-clause",
}
REFERENCES = sorted({r.license_id + (f"@{r.variant}" if r.variant else "") for r in references()})


def real(name: str) -> str:
    return (CORPUS / name).read_text("utf-8")


def appendix(name: str) -> str:
    """A publisher's acceptable-use policy, as shipped in data/licenses/appendices."""
    folder = resources.files("airlock.data").joinpath("licenses", "appendices")
    return folder.joinpath(name).read_text("utf-8")


def reflow(text: str) -> str:
    """Every paragraph re-wrapped at 60 columns."""
    out = []
    for paragraph in re.split(r"\n\s*\n", text):
        lines, line = [], ""
        for word in paragraph.split():
            if len(line) + len(word) > 60:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        out.append("\n".join([*lines, line]))
    return "\n\n".join(out)


_MARKER = re.compile(
    r"^(\s*)(\(?(?:\d{1,3}(?:\.\d{1,3})*|[a-z]|[ivx]{1,5})[.)]|\d+(?:\.\d+)+)(\s+)", re.I | re.M
)
_ROMAN = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x")


def markers(style: str) -> Callable[[str], str]:
    """Every list marker at the start of a line written in another style."""

    def rewrite(text: str) -> str:
        count = itertools.count()

        def one(found: re.Match[str]) -> str:
            i = next(count) % 20
            new = style.format(n=i + 1, a="abcdefghijklmnopqrst"[i], r=_ROMAN[i % 10])
            return found.group(1) + new + found.group(3)

        return _MARKER.sub(one, text)

    return rewrite


def typography(text: str) -> str:
    """Curly quotes, apostrophes and dashes, non-breaking spaces, a soft hyphen."""
    text = re.sub(r'"([^"\n]*)"', "\u201c\\1\u201d", text).replace("'", "\u2019")
    text = text.replace(" - ", " \u2014 ").replace("non-", "non\u2011").replace(", ", ",\u00a0")
    return text.replace("License", "Li\u00adcense", 1)


def markdown(text: str) -> str:
    """A markdown heading and bold short lines."""
    lines = text.split("\n")
    body = [f"**{line.strip()}**" if line.strip() and len(line) < 50 else line for line in lines]
    return "# " + body[0] + "\n" + "\n".join(body[1:])


def copyright_line(text: str) -> str:
    return "Copyright (c) 2024 Google LLC. All rights reserved.\n\n" + text


BENIGN: dict[str, Callable[[str], str]] = {
    "reflowed": reflow,
    "markdown": markdown,
    "typography": typography,
    "copyright line": copyright_line,
    "1.": markers("{n}."),
    "(a)": markers("({a})"),
    "-": markers("-"),
    "*": markers("*"),
    "roman": markers("{r}."),
    "Section 1:": markers("Section {n}:"),
    "bold 1.": markers("**{n}.**"),
    "## 1.": markers("## {n}."),
}


def _clean(text: str, expected: str) -> str:
    """Why `text` is not read as an unmodified `expected`, or "" when it is."""
    match = identify(text)
    if match is None or match.license_id != expected:
        return f"identified as {match.license_id if match else None}"
    return "; ".join(match.edits)


@pytest.mark.parametrize(("name", "expected"), REAL.items())
def test_real_files_are_not_edited(name: str, expected: str) -> None:
    match = identify(real(name))
    assert match is not None and match.license_id == expected
    assert not match.edited, match.edits
    assert match.confidence == "high"  # every word of the license is there


@pytest.mark.parametrize(
    ("license_file", "policy", "expected"),
    [("meta-llama3.1.LICENSE", "llama3.1-use-policy.txt", "llama3.1"),
     ("meta-llama3.2.LICENSE", "llama3.2-use-policy.txt", "llama3.2"),
     ("gemma-terms-web-copy.txt", "gemma-prohibited-use-policy.txt", "gemma")],
)  # fmt: skip
def test_license_with_its_use_policy_appended(
    license_file: str, policy: str, expected: str
) -> None:
    # Llama 3.1 section 1.b.iv and Gemma section 3.2 incorporate the policy by reference: the
    # publisher's file with the policy after the terms is the license, unmodified.
    for text in (
        real(license_file) + "\n\n" + appendix(policy),
        reflow(real(license_file) + "\n" + appendix(policy)),
    ):
        match = identify(text)
        assert match is not None and match.license_id == expected
        assert not match.edited, match.edits
        assert match.confidence == "high"


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [("sentence-transformers.LICENSE", "Copyright {yyyy} {name of copyright owner}",
      "Copyright 2019 Nils Reimers"),
     ("protobuf.LICENSE", "Joshua Haberman nor the names of any other",
      "Google LLC nor the names of its"),
     ("numpy.LICENSE.txt", "the NumPy Developers", "the copyright holder"),
     ("whisper.LICENSE", "THE\nAUTHORS OR COPYRIGHT HOLDERS", "OPENAI")],
)  # fmt: skip
def test_names_where_the_template_expects_them(name: str, old: str, new: str) -> None:
    # The SPDX templates mark these as variables: Apache's appendix boilerplate, BSD-3 clause 3
    # "Neither the name of the copyright holder nor ...", MIT's "IN NO EVENT SHALL THE AUTHORS
    # OR COPYRIGHT HOLDERS BE LIABLE".
    assert old in real(name)
    assert _clean(real(name).replace(old, new), REAL[name]) == ""


@pytest.mark.parametrize("name", REFERENCES)
def test_reference_texts_reformatted_are_not_edited(name: str) -> None:
    text, expected = reference_text(name), name.partition("@")[0]
    problems = {variant: _clean(change(text), expected) for variant, change in BENIGN.items()}
    assert not {variant: why for variant, why in problems.items() if why}


@pytest.mark.parametrize("name", REAL)
def test_real_files_reformatted_are_not_edited(name: str) -> None:
    problems = {
        variant: _clean(change(real(name)), REAL[name]) for variant, change in BENIGN.items()
    }
    assert not {variant: why for variant, why in problems.items() if why}


ADDED = "The licensed material may not be used for any commercial purpose."


def add_sentence(text: str) -> str:
    paragraphs = re.split(r"(\n\s*\n)", text)
    paragraphs[len(paragraphs) // 2] += " " + ADDED
    return "".join(paragraphs)


def remove_clause(text: str) -> str:
    """The middle one of the paragraphs that state a term ("may", "must", "shall", ...)."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    terms = [i for i, p in enumerate(paragraphs) if re.search(r"\b(may|must|shall|not)\b", p, re.I)]
    del paragraphs[terms[len(terms) // 2]]
    return "\n\n".join(paragraphs)


def negate(text: str) -> str:
    if re.search(r"\b[Yy]ou may\b", text):
        return re.sub(r"\b([Yy]ou) may\b", r"\1 may not", text, count=1)
    return re.sub(r"\bshall\b", "shall not", text, count=1)


GENUINE: dict[str, Callable[[str], str]] = {
    "sentence added": add_sentence,
    "clause removed": remove_clause,
    "grant negated": negate,
    "restriction appended": lambda t: (
        t + "\n\nAdditional terms: you may not use this model to compete with the licensor.\n"
    ),
    "restriction prepended": lambda t: "For non-commercial research use only.\n\n" + t,
}


@pytest.mark.parametrize("name", REFERENCES)
def test_genuine_edits_are_found_through_reformatting(name: str) -> None:
    text, expected = reference_text(name), name.partition("@")[0]
    missed = []
    for (edit, change), (layout, fmt) in itertools.product(
        GENUINE.items(), {"as is": str, "reflowed": reflow, "markdown": markdown}.items()
    ):
        if change(text) == text:  # nothing to negate (BSD says "SHALL" only in capitals)
            continue
        match = identify(fmt(change(text)))
        # Another license is a finding too: BSD-3 without clause 3 is BSD-2, word for word.
        if match is None or (match.license_id == expected and not match.edited):
            missed.append(f"{edit}, {layout}")
    assert not missed


@pytest.mark.parametrize(
    ("name", "change", "clause"),
    [("meta-llama3.1.LICENSE", ("greater than 700 million", "greater than 7 million"),
      "2. Additional Commercial Terms"),
     ("sentence-transformers.LICENSE", ("   3. Grant of Patent License.", None),
      "3. Grant of Patent License"),
     ("deepseek-v3.LICENSE-MODEL", ("-       For military use in any way;\n", ""), "Attachment A"),
     ("protobuf.LICENSE", ("Neither the name of Joshua Haberman",
                           "Neither the name of Joshua Haberman (no commercial use)"), "clause 3"),
     ("whisper.LICENSE",
      ("Software without restriction", "Software for research only"), "the grant"),
     ("chatglm3.LICENSE", ("sublicense, and/or sell\n", "and/or sublicense\n"), "selling")],
)  # fmt: skip
def test_edits_to_real_files_are_found(
    name: str, change: tuple[str, str | None], clause: str
) -> None:
    text = real(name)
    old, new = change
    assert old in text
    if new is None:  # the whole numbered clause, up to the next one
        start = text.index(old)
        new_text = text[:start] + text[text.index("   4. Redistribution", start) :]
    else:
        new_text = text.replace(old, new)
    match = identify(new_text)
    assert match is not None and match.license_id == REAL[name]
    assert match.edited, f"{clause} changed and not found"


def test_prohibition_removed_from_appended_policy() -> None:
    # Llama 3.1 Acceptable Use Policy, "Prohibited Uses" 1.a: the list is part of the terms.
    policy = appendix("llama3.1-use-policy.txt")
    line = "        * Human trafficking, exploitation, and sexual violence\n"
    assert line in policy
    match = identify(real("meta-llama3.1.LICENSE") + "\n" + policy.replace(line, ""))
    assert match is not None and match.edited
    assert "human trafficking" in match.edits[0]


def test_a_policy_alone_is_not_the_license() -> None:
    assert identify(appendix("llama3.1-use-policy.txt")) is None


def test_real_edited_copy_is_found() -> None:
    # A fork's googletest LICENSE: clause 3 needs "permission by the administrative authority".
    match = identify(real("edited/googletest-fork.LICENSE"))
    assert match is not None and match.license_id == "bsd-3-clause"
    assert match.edits == ('added "by the administrative authority"',)


def test_edit_is_described_in_the_finding(model_dir: Path) -> None:
    write_model(model_dir, "license: mit", reference_text("mit") + "\n" + ADDED + "\n")
    finding = next(f for f in assess_path(model_dir).findings if f.rule_id == "AIR806")
    assert (
        'added "the licensed material may not be used for any commercial purpose"'
        in finding.message
    )


def test_publisher_folder_with_policy_appended_has_no_finding(model_dir: Path) -> None:
    text = real("meta-llama3.1.LICENSE") + "\n\n" + appendix("llama3.1-use-policy.txt")
    write_model(model_dir, "license: llama3.1", text)
    result = assess_path(model_dir)
    assert "AIR806" not in {f.rule_id for f in result.findings}
    assert (result.license_id, result.confidence) == ("llama3.1", "high")
