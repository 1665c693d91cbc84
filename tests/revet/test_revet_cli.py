"""`airlock revet`: admitted versions re-vetted with today's policy and rules; those that no
longer pass are suspended (exit 1), shown in `airlock models list` and the audit log, and a
re-admission of the same files lifts the suspension."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airlock.cli import main
from airlock.registry.store import Registry
from airlock.ruleset import ruleset_digest

from .conftest import DENY_APACHE, admit, model, only, policy


def revet_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    capsys.readouterr()
    code = main(["revet", *args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def audit(capsys: pytest.CaptureFixture[str], action: str) -> list[dict[str, object]]:
    capsys.readouterr()
    assert main(["audit", "--action", action, "--format", "json"]) == 0
    entries: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return entries


def listing(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    capsys.readouterr()
    assert main(["models", "list", "--format", "json"]) == 0
    rows: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return rows


def test_a_policy_that_now_denies_the_license_suspends_and_readmission_lifts(
    home: Path, registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = model(tmp_path / "llm")
    admit(folder, "llm")
    code, passed = revet_json(capsys, "--all")
    assert code == 0 and passed["passed"] == 1 and passed["suspended"] == 0

    deny = policy(tmp_path, "no-apache", DENY_APACHE)
    code, document = revet_json(capsys, "llm", "--policy", str(deny), "--actor", "secops")
    assert code == 1
    (outcome,) = document["versions"]  # type: ignore[misc]
    assert outcome["status"] == "suspended" and outcome["decision"] == "refuse"
    assert "policy 'no-apache' now refuses it" in outcome["reason"]
    assert "license.denied" in outcome["reason"]
    record = only(registry, "llm")
    assert record.suspended_reason == outcome["reason"] and record.suspended_at is not None
    assert record.vetted_policy_digest == f"sha256:{_sha(deny)}"
    assert record.vetted_ruleset_digest == ruleset_digest()

    (row,) = listing(capsys)
    assert row["suspended"] is True and row["suspended_reason"] == outcome["reason"]
    capsys.readouterr()
    assert main(["models", "list"]) == 0
    assert "SUSPENDED: policy 'no-apache' now refuses it" in capsys.readouterr().out
    (entry,) = audit(capsys, "model.suspend")
    assert entry["subject"] == "llm v1" and entry["actor"] == "secops"
    assert entry["reason"] == outcome["reason"]

    # Left as it is by the next run, which still exits 1.
    code, again = revet_json(capsys, "--all")
    assert code == 1 and again["versions"][0]["status"] == "still_suspended"  # type: ignore[index]

    capsys.readouterr()
    admit(folder, "llm")  # the same files, and the default policy admits them
    assert "Reinstated" in capsys.readouterr().err
    (row,) = listing(capsys)
    assert row["suspended"] is False and row["version"] == 1
    (lifted,) = audit(capsys, "model.reinstate")
    assert lifted["subject"] == "llm v1"
    assert lifted["details"]["suspended_reason"] == outcome["reason"]  # type: ignore[index]
    assert revet_json(capsys, "--all")[0] == 0


def test_files_changed_after_admission_suspend_whatever_the_policy(
    home: Path, registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = model(tmp_path / "llm")
    admit(folder, "llm")
    (folder / "config.json").write_text('{"architectures": ["LlamaForCausalLM"], "x": 1}')
    code, document = revet_json(capsys, "--all")
    assert code == 1
    reason = document["versions"][0]["reason"]  # type: ignore[index]
    assert "no longer match the admitted manifest (modified: config.json)" in reason

    # Admitting the changed files makes a new version; the old one stays suspended.
    admit(folder, "llm")
    v1, v2 = registry.versions("llm")
    assert v1.suspended_reason == reason and v2.suspended_reason is None


def test_a_source_that_is_gone_suspends(
    home: Path, registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = model(tmp_path / "llm")
    admit(folder, "llm")
    folder.rename(tmp_path / "moved")
    code, document = revet_json(capsys, "llm")
    assert code == 1
    reason = document["versions"][0]["reason"]  # type: ignore[index]
    assert reason == f"its files cannot be read: {folder}: no such file or directory"


def test_a_forced_version_is_suspended_only_for_a_new_refusal(
    home: Path, registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = model(tmp_path / "bare")
    (folder / "README.md").write_text("# no license stated\n")
    admit(folder, "bare", "--force", "--reason", "reviewed")  # refused: no known license
    code, document = revet_json(capsys, "--all")
    assert code == 0 and document["versions"][0]["decision"] == "refuse"  # type: ignore[index]
    strict = policy(tmp_path, "no-safetensors", "formats:\n  refused: [safetensors]\n")
    code, document = revet_json(capsys, "--all", "--policy", str(strict))
    assert code == 1
    assert "formats.refused" in document["versions"][0]["reason"]  # type: ignore[index]
    # Re-admitted with --force over the new refusal too: later revets compare against it.
    admit(folder, "bare", "--policy", str(strict), "--force", "--reason", "format accepted")
    assert only(registry, "bare").suspended_reason is None
    assert revet_json(capsys, "--all", "--policy", str(strict))[0] == 0


def test_every_version_is_revetted_and_the_last_vet_recorded(
    home: Path, registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = model(tmp_path / "llm")
    admit(folder, "llm")
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# tiny, v2\n")
    admit(folder, "llm")
    assert [r.vetted_ruleset_digest for r in registry.versions()] == [ruleset_digest()] * 2
    lenient = policy(tmp_path, "lenient")
    code, document = revet_json(capsys, "--all", "--policy", str(lenient))
    # v1's files changed under it (its README is v2's now): suspended; v2 passes.
    assert code == 1
    assert [(v["version"], v["status"]) for v in document["versions"]] == [  # type: ignore[attr-defined]
        (1, "suspended"),
        (2, "passed"),
    ]
    v2 = registry.get("llm", 2)
    assert v2 is not None and v2.vetted_policy_digest == f"sha256:{_sha(lenient)}"
    assert document["policy"] == {"name": "lenient", "digest": f"sha256:{_sha(lenient)}"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "name the models to re-vet, or --all"),
        (["llm", "--all"], "name the models to re-vet, or --all"),
        (["nope"], "not admitted: nope"),
        (["--all", "--policy", "/no/such.yaml"], "cannot read the policy"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    admit(model(tmp_path / "llm"), "llm")
    capsys.readouterr()
    assert main(["revet", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()
