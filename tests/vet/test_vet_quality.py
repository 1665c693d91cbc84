"""`airlock vet` and `airlock admit` with a policy's quality requirements, against eval results
recorded in the registry (SQLite and PostgreSQL): pass, fall short, missing (refuse or admit on
condition), and changed files that do not inherit the results."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from tests.registry import conftest as registry_fixtures
from tests.registry.eval_docs import candidate, document
from tests.vet.conftest import CLEAN

from airlock.cli import main
from airlock.registry.evals import record
from airlock.registry.store import Registry

# The registry's fixtures (each test on SQLite and on PostgreSQL), under their own names.
registry_url = registry_fixtures.registry_url
registry_env = registry_fixtures.registry_env

REQUIRE = """version: 1
name: production
quality:
  - dataset: support-faq
    metric: ndcg@10
    min: 0.55
"""
CONDITIONAL = REQUIRE + "    on_missing: conditional\n"


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return Path(shutil.copytree(CLEAN, tmp_path / "model"))


def _policy(tmp_path: Path, text: str, name: str = "policy.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _record(name: str, ndcg: float) -> None:
    registry = Registry()
    try:
        admitted = registry.get(name)
        assert admitted is not None
        record(registry, document(candidate(name, admitted.manifest_digest, {"ndcg@10": ndcg})))
    finally:
        registry.close()


def _vet(
    model: Path, policy: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any]]:
    code = main(["vet", str(model), "--policy", policy, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_admitted_on_condition_then_evaluated_then_passes(
    registry_env: str, model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = _policy(tmp_path, CONDITIONAL)
    assert main(["admit", str(model), "--name", "clf", "--policy", policy, "--format", "json"]) == 0
    admitted = json.loads(capsys.readouterr().out)["verdict"]
    assert admitted["decision"] == "admit_with_conditions"
    assert admitted["conditions"][-1].startswith("Evaluate it on support-faq with `airlock eval`")

    _record("clf", 0.61)
    code, vetted = _vet(model, policy, capsys)
    assert code == 0 and vetted["verdict"]["reasons"] == []
    assert not any("airlock eval" in c for c in vetted["verdict"]["conditions"])
    (result,) = vetted["dossier"]["evals"]
    assert (result["dataset"]["name"], result["metric"], result["value"]) == (
        "support-faq",
        "ndcg@10",
        0.61,
    )
    assert result["model"]["manifest_digest"] == vetted["dossier"]["provenance"]["digest"]
    schema = resources.files("airlock.data").joinpath("dossier.schema.json").read_text("utf-8")
    jsonschema.validate(vetted["dossier"], json.loads(schema))

    assert main(["vet", str(model), "--policy", policy]) == 0
    text = capsys.readouterr().out
    assert (
        "Quality" in text and "1 eval result recorded for these exact files, on support-faq" in text
    )
    assert "Eval results recorded for these exact files:" in text
    assert "support-faq ndcg@10 = 0.61 (95% CI 0.56 to 0.66)" in text
    for fmt, title in (
        ("markdown", "## Recorded eval results"),
        ("html", "<h2>Recorded eval results"),
    ):
        assert main(["vet", str(model), "--policy", policy, "--format", fmt]) == 0
        assert title in capsys.readouterr().out


def test_a_result_below_the_minimum_refuses(
    registry_env: str, model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = _policy(tmp_path, CONDITIONAL)
    assert main(["admit", str(model), "--name", "clf", "--policy", policy]) == 0
    capsys.readouterr()
    _record("clf", 0.42)
    code, vetted = _vet(model, policy, capsys)
    assert code == 1 and vetted["verdict"]["decision"] == "refuse"
    (reason,) = vetted["verdict"]["reasons"]
    assert reason["rule"] == "quality.min"
    assert reason["message"].startswith(
        "the model falls short of your policy on support-faq: ndcg@10 is 0.42, below the "
        "minimum of 0.55"
    )
    assert main(["vet", str(model), "--policy", policy]) == 1
    assert "ndcg@10 is 0.42, below the minimum of 0.55" in capsys.readouterr().out


def test_missing_refuses_until_staging_has_evaluated_the_same_files(
    registry_env: str, model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    production = _policy(tmp_path, REQUIRE)
    staging = _policy(tmp_path, CONDITIONAL.replace("production", "staging"), "staging.yaml")
    assert main(["admit", str(model), "--name", "clf", "--policy", production]) == 1
    assert "no eval result on support-faq for ndcg@10" in capsys.readouterr().out

    assert main(["admit", str(model), "--name", "clf-staging", "--policy", staging]) == 0
    _record("clf-staging", 0.7)
    capsys.readouterr()
    # The results follow the files: the same bytes, admitted under the production name, pass.
    assert main(["admit", str(model), "--name", "clf", "--policy", production]) == 0
    assert "Admitted clf version 1" in capsys.readouterr().err


def test_changed_files_do_not_inherit_the_results(
    registry_env: str, model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = _policy(tmp_path, REQUIRE)
    conditional = _policy(tmp_path, CONDITIONAL, "conditional.yaml")
    assert main(["admit", str(model), "--name", "clf", "--policy", conditional]) == 0
    _record("clf", 0.9)
    capsys.readouterr()
    assert _vet(model, policy, capsys)[0] == 0

    weights = model / "model.pt"
    weights.write_bytes(weights.read_bytes() + b"\0")
    code, vetted = _vet(model, policy, capsys)
    assert code == 1 and vetted["dossier"]["evals"] == []
    assert vetted["verdict"]["reasons"][0]["rule"] == "quality.on_missing"
    assert "recorded for these exact files" in vetted["verdict"]["reasons"][0]["message"]


def test_without_a_registry_nothing_is_recorded_and_nothing_created(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AIRLOCK_DATABASE_URL", raising=False)
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path / "home"))
    code, vetted = _vet(model, _policy(tmp_path, CONDITIONAL), capsys)
    assert code == 0 and vetted["dossier"]["evals"] == []
    assert vetted["verdict"]["conditions"][-1].startswith("Evaluate it on support-faq")
    assert _vet(model, _policy(tmp_path, REQUIRE), capsys)[0] == 1
    assert not (tmp_path / "home").exists()


def test_an_unreadable_registry_fails_closed_only_when_the_policy_needs_it(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIRLOCK_DATABASE_URL", "nosuchdb://x")
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path / "home"))
    assert main(["vet", str(model), "--policy", _policy(tmp_path, REQUIRE)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert "the policy's quality requirements need the eval results recorded there" in captured.err

    assert main(["vet", str(model)]) == 0
    captured = capsys.readouterr()
    assert "ADMIT WITH CONDITIONS" in captured.out
    assert captured.err.startswith("airlock: warning: eval results not read: registry database")
