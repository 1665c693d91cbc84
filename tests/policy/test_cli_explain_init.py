"""`airlock explain RULE` and `airlock policy init [PATH]`."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.vet.conftest import CLEAN

from airlock.cli import main
from airlock.policy.schema import default_policy, load_policy
from airlock.rules import RULES


def test_explain_prints_the_rule_documentation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "AIR101"]) == 0
    out = capsys.readouterr().out
    rule = RULES["AIR101"]
    assert out.startswith("AIR101  pickle-dangerous-callable\nDefault severity: critical\n")
    assert "CWE-502" in out and "docs/rules.md#air101" in out
    assert " ".join(rule.summary.split()) in " ".join(out.split())
    assert "What to do: Do not load the file." in out


def test_explain_takes_a_lowercase_id_or_the_rule_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "air102"]) == 0
    assert capsys.readouterr().out.startswith("AIR102  pickle-unknown-global")
    assert main(["explain", "pickle-unknown-global"]) == 0
    assert capsys.readouterr().out.startswith("AIR102  pickle-unknown-global")


def test_every_rule_can_be_explained(capsys: pytest.CaptureFixture[str]) -> None:
    for rule_id in RULES:
        assert main(["explain", rule_id]) == 0
        assert rule_id in capsys.readouterr().out


@pytest.mark.parametrize(("typed", "words"), [
    ("AIR1O1", "airlock: error: unknown rule 'AIR1O1' (did you mean `AIR101`"),
    ("nonsense-words-here", "airlock: error: unknown rule 'nonsense-words-here' "
     "(docs/rules.md lists every rule)"),
])  # fmt: skip
def test_explain_an_unknown_rule_is_a_usage_error(
    typed: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", typed]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(words) and len(captured.err.strip().splitlines()) == 1
    assert captured.out == ""


def test_policy_init_writes_the_commented_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["policy", "init"]) == 0
    written = tmp_path / "airlock-policy.yaml"
    assert "Wrote airlock-policy.yaml" in capsys.readouterr().out
    text = written.read_text()
    assert text.startswith("# Airlock's default intake policy") and "waivers: []" in text
    policy = load_policy(written)
    default = default_policy()
    assert policy.digest == default.digest and policy.license == default.license
    assert main(["vet", str(CLEAN), "--policy", str(written)]) == 0


def test_policy_init_never_overwrites_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ours.yaml"
    path.write_text("version: 1\nname: ours\n")
    assert main(["policy", "init", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"airlock: error: {path} exists: not overwritten (use --force to replace it)\n"
    assert path.read_text() == "version: 1\nname: ours\n"
    assert main(["policy", "init", str(path), "--force"]) == 0
    assert load_policy(path).name == "default"


def test_policy_init_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["policy", "init", str(tmp_path)]) == 2
    assert "is a folder: give a file name" in capsys.readouterr().err
    assert main(["policy", "init", str(tmp_path / "no" / "such" / "dir.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("airlock: error: cannot write ") and "Traceback" not in err
    assert main(["policy"]) == 2
