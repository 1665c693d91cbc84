"""Waivers: a policy accepts one finding (rule + file + evidence digest), with a reason, an
expiry and who accepted it; reports say what was waived, what expired, what matched nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.vet.conftest import MALICIOUS

from airlock.cli import main
from airlock.policy.schema import PolicyError, parse_policy

WritePolicy = Callable[[str], Path]
_DIGEST = re.compile(r"\(evidence (sha256:[0-9a-f]{64})\)")


def _copied_digest(capsys: pytest.CaptureFixture[str]) -> str:
    """The digest as a user copies it from the text report of the refused model."""
    assert main(["vet", str(MALICIOUS)]) == 1
    found = _DIGEST.search(capsys.readouterr().out.replace("\n    ", " "))
    assert found is not None
    return found.group(1)


def _waiver(
    digest: str, expires: str = "2099-12-31", rule: str = "AIR101", file: str = "pytorch_model.bin"
) -> str:
    return (
        "waivers:\n"
        f"  - rule: {rule}\n"
        f"    file: {file}\n"
        f"    evidence: {digest}\n"
        "    reason: our red team's canary, kept to test the gate\n"
        f"    expires: {expires}\n"
        "    by: alice@example.com\n"
    )  # fmt: skip


def test_a_waived_finding_no_longer_refuses_and_the_report_says_who_waived_it(
    write_policy: WritePolicy, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy(_waiver(_copied_digest(capsys)))
    assert main(["vet", str(MALICIOUS), "--policy", str(policy)]) == 0
    out = capsys.readouterr().out
    assert "ADMIT" in out and "Waived by your policy (accepted, not counted):" in out
    assert "Waived by alice@example.com until 2099-12-31: our red team's canary" in out
    assert f"({policy}:3)" in out and "Waiver warnings" not in out


@pytest.mark.parametrize(("fmt", "words"), [
    ("markdown", "## Waived by your policy"),
    ("html", "<h2>Waived by your policy</h2>"),
])  # fmt: skip
def test_markdown_and_html_show_the_waiver(
    fmt: str, words: str, write_policy: WritePolicy, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy(_waiver(_copied_digest(capsys)))
    assert main(["vet", str(MALICIOUS), "--policy", str(policy), "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert words in out and "alice@example.com" in out and "2099-12-31" in out


def test_json_records_the_waiver(write_policy: WritePolicy, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    digest = _copied_digest(capsys)
    policy = write_policy(_waiver(digest))
    assert main(["vet", str(MALICIOUS), "--policy", str(policy), "--format", "json"]) == 0
    verdict = json.loads(capsys.readouterr().out)["verdict"]
    assert verdict["decision"] == "admit_with_conditions"
    [waived] = verdict["waived"]
    assert waived["rule"] == "AIR101" and waived["by"] == "alice@example.com"
    assert waived["evidence"] == digest and waived["expires"] == "2099-12-31"
    assert verdict["expired_waivers"] == [] and verdict["unused_waivers"] == []


def test_an_expired_waiver_no_longer_applies_and_the_report_says_so(
    write_policy: WritePolicy, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy(_waiver(_copied_digest(capsys), expires="2020-01-31"))
    assert main(["vet", str(MALICIOUS), "--policy", str(policy)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "REFUSE" in out and "AIR101" in out
    assert "expired on 2020-01-31 and no longer applies" in out


@pytest.mark.parametrize("change", [
    {"file": "model.bin"},
    {"rule": "AIR102"},
    {"digest": "sha256:" + "0" * 64},
])  # fmt: skip
def test_a_waiver_that_matches_nothing_waives_nothing_and_is_a_warning(
    change: dict[str, str], write_policy: WritePolicy, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = change.pop("digest", _copied_digest(capsys))
    policy = write_policy(_waiver(digest, **change))
    assert main(["vet", str(MALICIOUS), "--policy", str(policy)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "REFUSE" in out and "Waiver warnings:" in out
    assert "matches no finding: remove it, or check its file and evidence digest" in out


def _error(text: str) -> str:
    with pytest.raises(PolicyError) as caught:
        parse_policy(("version: 1\n" + text).encode(), "policy.yaml")
    return str(caught.value)


@pytest.mark.parametrize(("text", "expected"), [
    (_waiver("sha256:" + "a" * 64, rule="AIR1O1"),
     "policy.yaml:3: `waivers.rule` names an unknown rule 'AIR1O1' (did you mean `AIR101`"),
    (_waiver("sha256:" + "a" * 64, rule="pickle-dangerous-culable"),
     "policy.yaml:3: `waivers.rule` names an unknown rule 'pickle-dangerous-culable' "
     "(did you mean `AIR101`"),
    (_waiver("sha256:abc"), "policy.yaml:5: `waivers.evidence` must be the finding's evidence "
     "digest as reports show it (sha256:<64 hex>)"),
    (_waiver("sha256:" + "a" * 64, expires="soon"),
     "policy.yaml:7: `waivers.expires` must be a date such as 2027-03-31, not 'soon'"),
    (_waiver("sha256:" + "a" * 64).replace("    expires: 2099-12-31\n", ""),
     "policy.yaml:3: `waivers` entry needs `expires`"),
    (_waiver("sha256:" + "a" * 64).replace("    by: alice@example.com\n", ""),
     "policy.yaml:3: `waivers` entry needs `by`"),
    (_waiver("sha256:" + "a" * 64).replace("reason:", "because:"),
     "policy.yaml:6: unknown setting `because` in `waivers`"),
    (_waiver("sha256:" + "a" * 64, file="../outside.bin"),
     "policy.yaml:4: `waivers.file` must be a path within the model folder"),
    ("waivers: {rule: AIR101}\n", "policy.yaml:2: `waivers` must be a list"),
    ("waivers:\n  - AIR101\n", "policy.yaml:3: each of `waivers` must be a mapping of settings"),
])  # fmt: skip
def test_waivers_are_validated_like_every_other_setting(text: str, expected: str) -> None:
    message = _error(text)
    assert message.startswith(expected), message


def test_a_quoted_date_and_a_bare_digest_are_read() -> None:
    text = _waiver("A" * 64, expires='"2027-03-31"', file="./sub\\model.bin")
    text = text.replace("AIR101", "pickle-dangerous-callable")
    [waiver] = parse_policy(("version: 1\n" + text).encode(), "policy.yaml").waivers
    assert (
        waiver.rule == "AIR101"
        and waiver.evidence == "a" * 64
        and waiver.expires.isoformat() == "2027-03-31"
    )
    assert waiver.file == "sub/model.bin" and waiver.where == "policy.yaml:3"


def test_sarif_marks_the_waived_finding_as_a_suppression(
    write_policy: WritePolicy, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy(_waiver(_copied_digest(capsys)))
    assert main(["vet", str(MALICIOUS), "--policy", str(policy), "--format", "sarif"]) == 0
    [result] = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    assert result["ruleId"] == "AIR101"
    [suppression] = result["suppressions"]
    assert suppression["kind"] == "external" and suppression["status"] == "accepted"
    assert "waived by alice@example.com until 2099-12-31" in suppression["justification"]


def test_a_waiver_applies_through_its_expiry_day_and_not_after() -> None:
    from datetime import date

    from airlock.dossier.build import build_dossier
    from airlock.policy.evaluate import Decision, evaluate
    from airlock.policy.schema import default_policy
    from airlock.policy.waivers import evidence_digest

    base = default_policy()
    dossier = build_dossier(MALICIOUS, base.dossier_options())
    [finding] = dossier.scan.findings
    text = _waiver(evidence_digest(finding), expires="2027-03-31")
    policy = parse_policy(("version: 1\n" + text).encode(), "policy.yaml")
    on_the_day = evaluate(dossier, policy, today=date(2027, 3, 31))
    assert on_the_day.decision is Decision.ADMIT_WITH_CONDITIONS
    assert [w.finding for w in on_the_day.waivers.waived] == [finding]
    day_after = evaluate(dossier, policy, today=date(2027, 4, 1))
    assert day_after.decision is Decision.REFUSE and day_after.waivers.waived == ()
    assert [w.expires for w in day_after.waivers.expired] == [date(2027, 3, 31)]


def test_the_file_may_be_named_as_the_report_prints_it(
    write_policy: WritePolicy, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = _copied_digest(capsys)
    monkeypatch.chdir(MALICIOUS.parent)
    policy = write_policy(_waiver(digest, file="suspicious-upload/pytorch_model.bin"))
    assert main(["vet", "suspicious-upload", "--policy", str(policy)]) == 0
    assert "Waived by alice@example.com" in capsys.readouterr().out
    # The same path does not name the file when the model is vetted from elsewhere.
    monkeypatch.chdir(MALICIOUS)
    assert main(["vet", ".", "--policy", str(policy)]) == 1
    assert "matches no finding" in " ".join(capsys.readouterr().out.split())
