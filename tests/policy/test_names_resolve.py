"""Every name in a policy resolves, or the policy is an error at its line with a suggestion.

A deny list that names a license by a spelling Airlock did not compare (`llama-3.1`, `Llama 3.1`)
used to deny nothing, and the Llama 3.1 model it was meant to stop was admitted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from airlock.cli import main
from airlock.policy.licenses import license_ids
from airlock.policy.schema import PolicyError, load_policy, parse_policy

WritePolicy = Callable[[str], Path]


def _error(text: str) -> str:
    with pytest.raises(PolicyError) as caught:
        parse_policy(("version: 1\n" + text).encode(), "policy.yaml")
    return str(caught.value)


@pytest.mark.parametrize("name", ["llama-3.1", "Llama 3.1", "llama3.1", "LLAMA 3.1",
                                  "Llama 3.1 Community License Agreement"])  # fmt: skip
def test_a_license_denied_by_any_spelling_refuses_the_model(
    name: str, llama_model: Path, write_policy: WritePolicy, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy(f'license:\n  denied: ["{name}"]\n')
    assert main(["vet", str(llama_model), "--policy", str(policy)]) == 1
    out = capsys.readouterr().out
    assert "REFUSE" in out and "the license is on your policy's deny list: llama3.1" in out


def test_the_same_model_without_the_deny_list_is_admitted(
    llama_model: Path, write_policy: WritePolicy, capsys: pytest.CaptureFixture[str]
) -> None:
    # The control: the refusal above comes from the deny list, not from something else.
    assert main(["vet", str(llama_model), "--policy", str(write_policy("name: open\n"))]) == 0
    assert "ADMIT WITH CONDITIONS" in capsys.readouterr().out


def test_a_license_the_knowledge_base_does_not_know_is_an_error_with_a_suggestion(
    llama_model: Path, write_policy: WritePolicy, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy("license:\n  denied:\n    - llama3.1\n    - lama-3.1\n")
    assert main(["vet", str(llama_model), "--policy", str(policy)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err == (
        f"airlock: error: {policy}:5: `license.denied` item names a license Airlock does not "
        "know: 'lama-3.1' (did you mean `llama3.1`, `llama3.2` or `llama3.3`?)"
    )
    assert captured.out == "" and "Traceback" not in err


def test_allowed_is_resolved_too(llama_model: Path, write_policy: WritePolicy) -> None:
    policy = write_policy("license:\n  allowed: [Apache-2.0, llama-3.1]\n")
    assert main(["vet", str(llama_model), "--policy", str(policy)]) == 0
    policy = write_policy("license:\n  allowed: [Apache 2.0]\n")
    assert main(["vet", str(llama_model), "--policy", str(policy)]) == 1


def test_dossier_spellings_compare_as_knowledge_base_ids() -> None:
    assert license_ids("GPL-3.0-only OR MIT") == {"gpl-3.0", "mit"}
    assert license_ids("(Apache-2.0 AND cc-by-4.0)") == {"apache-2.0", "cc-by-4.0"}
    assert license_ids("Apache-2.0 WITH LLVM-exception") == {"apache-2.0"}
    assert license_ids("llama3.1 (with unknown terms)") == {"llama3.1"}
    assert license_ids("unknown") == {"unknown"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "license:\n  allowed: [apache2.0]\n",
            "policy.yaml:3: `license.allowed` item names a license Airlock does not know: "
            "'apache2.0' (did you mean `apache-2.0`?)",
        ),
        (
            "license:\n  denied: [no-such-license-at-all]\n",
            "policy.yaml:3: `license.denied` item names a license Airlock does not know: "
            "'no-such-license-at-all' (`airlock license PATH` prints a model's id)",
        ),
        (
            "formats:\n  refused: [pikle]\n",
            "policy.yaml:3: `formats.refused` item names an unknown format 'pikle' "
            "(did you mean `pickle`?)",
        ),
        (
            "findings:\n  max_severity: hgh\n",
            "policy.yaml:3: `findings.max_severity` unknown severity 'hgh' (choose from info, "
            "low, medium, high, critical) (did you mean `high`?)",
        ),
        (
            "resources:\n  accelerator: h10\n",
            "policy.yaml:3: `resources.accelerator` unknown accelerator 'h10'",
        ),
        ("licence:\n  denied: []\n", "policy.yaml:2: unknown setting `licence` in `policy` "
         "(did you mean `license`?)"),
        ("license:\n  deny: [mit]\n", "policy.yaml:3: unknown setting `deny` in `license` "
         "(did you mean `denied`?)"),
        (
            "pickle:\n  allowed_globals: [mylab.layers.Norm, my-lab.x]\n",
            "policy.yaml:3: `pickle.allowed_globals` item must be a dotted name",
        ),
    ],
)  # fmt: skip
def test_an_unknown_name_is_one_line_at_its_line(text: str, expected: str) -> None:
    message = _error(text)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_an_unknown_accelerator_suggests_the_nearest(capsys: pytest.CaptureFixture[str]) -> None:
    assert "(did you mean `h100`" in _error("resources:\n  accelerator: h10\n")


def test_aliases_and_spdx_ids_become_knowledge_base_ids() -> None:
    text = "license:\n  denied: [GPL-3.0-or-later, Apache License 2.0, MIT]\n"
    policy = parse_policy(("version: 1\n" + text).encode(), "policy.yaml")
    assert policy.license.denied == ("gpl-3.0", "apache-2.0", "mit")


def test_a_trusted_key_that_is_not_a_public_key_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "team.pub").write_text("-----BEGIN PUBLIC KEY-----\nnot a key\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nsignature:\n  trusted_keys: [team.pub]\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(policy)
    assert str(caught.value).startswith(
        f"{policy}:3: trusted key {tmp_path / 'team.pub'}: not a PEM public key"
    )


def test_a_denied_license_file_refuses_even_when_the_card_declares_another(
    tmp_path: Path, write_policy: WritePolicy, capsys: pytest.CaptureFixture[str]
) -> None:
    # Card says apache-2.0, LICENSE is the Llama 3.1 text: both bind, so denying either refuses.
    from tests.license.conftest import reference_text, write_model
    from tests.policy.conftest import write_safetensors

    model = write_model(tmp_path / "mixed", "license: apache-2.0", reference_text("llama3.1"))
    write_safetensors(model / "model.safetensors")
    policy = write_policy("license:\n  denied: [Llama 3.1]\n")
    assert main(["vet", str(model), "--policy", str(policy)]) == 1
    assert "the license is on your policy's deny list: llama3.1" in capsys.readouterr().out
    policy = write_policy("license:\n  allowed: [apache-2.0]\n")
    assert main(["vet", str(model), "--policy", str(policy)]) == 1
    out = capsys.readouterr().out
    assert "the license is not on your policy's allow list: llama3.1" in out
