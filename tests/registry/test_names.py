"""Model names at admission: a documented ASCII rule, and no name that looks like one already
admitted (NFKC + the UTS #39 confusable skeleton, case folded). Through `airlock admit` and
through the registry itself, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from tests.vet.conftest import CLEAN

from airlock.cli import main
from airlock.dossier.model import Dossier
from airlock.engine_choice import EngineChoice
from airlock.policy.evaluate import Verdict
from airlock.policy.model import Policy
from airlock.registry import names
from airlock.registry.store import Registry

NO_ENGINE = EngineChoice(None, "test")


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "it is empty"),
        ("org/model", "it contains '/' (a path separator)"),
        ("..\\model", "it contains '\\\\' (a path separator)"),
        ("my model", "it contains a space"),
        ("mini\u200blm", "it contains U+200B ZERO WIDTH SPACE"),
        ("mini\u2060lm", "it contains U+2060 WORD JOINER"),
        ("minilm\n", "it contains U+000A (a control character)"),
        ("mini\x1b[31mlm", "it contains U+001B (a control character)"),
        ("\u043cinilm", "it contains U+043C CYRILLIC SMALL LETTER EM"),
        ("\uff4dinilm", "it contains U+FF4D FULLWIDTH LATIN SMALL LETTER M"),
        ("model:latest", "it contains ':'"),
        ("-model", "it starts or ends with '-', '_' or '.'"),
        ("model.", "it starts or ends with '-', '_' or '.'"),
        ("a..b", "it contains .."),
        ("a--b", "it contains --"),
        ("x" * 97, "it is 97 characters long"),
    ],
)
def test_names_outside_the_rule_are_refused_before_vetting(
    name: str, why: str, registry_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["admit", str(CLEAN), f"--name={name}"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing was vetted
    (line,) = captured.err.splitlines()
    assert line == f"airlock: error: --name {name!a}: {why}; {names.RULE}"
    assert line.isascii() and line.isprintable()  # the name is escaped, never echoed raw
    assert main(["models", "list", "--format", "json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"


@pytest.mark.parametrize(
    "name", ["minilm", "s-slow", "Qwen2.5-7B-Instruct", "all-MiniLM-L6-v2", "a", "x" * 96, "v_1"]
)
def test_names_in_the_rule(name: str) -> None:
    assert names.problem(name) is None


@pytest.mark.parametrize(
    ("new", "existing"),
    [
        ("cIf", "clf"),  # capital I for small L
        ("c1f", "clf"),  # digit one
        ("CLF", "clf"),  # case alone
        ("rnodel", "model"),  # r n for m
        ("m0del", "MODEL"),  # zero for O, and case
        ("llama", "Ilama"),
        ("minilm", "m\u0456nilm"),  # an older name with a Cyrillic i
        ("paypal", "\u0440\u0430\u0443\u0440\u0430l"),  # Cyrillic er, a, u
        ("llama", "\U0001d425lama"),  # MATHEMATICAL BOLD SMALL L: NFKC makes it l
    ],
)
def test_lookalikes(new: str, existing: str) -> None:
    assert names.lookalike(new, [existing, "unrelated"]) == existing


@pytest.mark.parametrize(
    ("new", "existing"), [("clf", "clf"), ("clf2", "clf"), ("llama", "llama-2"), ("rn", "n")]
)
def test_different_names_are_not_lookalikes(new: str, existing: str) -> None:
    assert names.lookalike(new, [existing]) is None


def test_admit_refuses_a_lookalike_naming_the_existing_one(
    registry_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["admit", str(CLEAN), "--name", "clf"]) == 0
    capsys.readouterr()
    for lookalike in ("cIf", "CLF", "c1f"):
        assert main(["admit", str(CLEAN), "--name", lookalike]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == (
            f"airlock: error: --name '{lookalike}' looks like 'clf', a model already admitted; "
            "choose a name that cannot be mistaken for it (or admit a new version of 'clf')\n"
        )
    assert main(["admit", str(CLEAN), "--name", "clf"]) == 0  # the same name: a new version
    assert "Already admitted clf version 1" in capsys.readouterr().err


def test_the_registry_itself_refuses(
    registry_url: str, clean: tuple[Dossier, Verdict], policy: Policy
) -> None:
    """Whatever admits (the CLI, a future console), the rule is enforced where names are written."""
    dossier, verdict = clean
    registry = Registry(registry_url)
    try:
        registry.admit("clf", dossier, verdict, policy, NO_ENGINE)
        with pytest.raises(names.NameRefused, match="looks like 'clf'"):
            registry.admit("C1F", dossier, verdict, policy, NO_ENGINE)
        with pytest.raises(names.NameRefused, match=r"U\+200B ZERO WIDTH SPACE"):
            registry.admit("c\u200blf", dossier, verdict, policy, NO_ENGINE)
        assert registry.names() == ["clf"]
    finally:
        registry.close()
