"""The engine decided at admission, recorded and shown; the audit log of every registry change.
Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from tests.registry.conftest import servable_model
from tests.vet.conftest import CLEAN, MALICIOUS

from airlock.cli import main
from airlock.registry.db import make_engine
from airlock.registry.migrate import SCRIPT_LOCATION
from airlock.registry.store import Registry

NO_CONFIG = "not servable: no config.json, so no engine knows what the weights are"


def test_admit_records_and_shows_the_engine(
    registry_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["admit", str(servable_model(tmp_path / "llm")), "--name", "llm"]) == 0
    assert "Served by the causal-lm engine." in capsys.readouterr().err
    assert main(["admit", str(CLEAN), "--name", "clf"]) == 0
    err = capsys.readouterr().err
    assert "Admitted clf version 1." in err
    assert f"N{NO_CONFIG[1:]}. `airlock serve` will not offer it." in err

    assert main(["models", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("clf  v1  admit_with_conditions") and lines[0].endswith(NO_CONFIG)
    assert lines[1].startswith("llm  v1  admit") and lines[1].endswith("engine causal-lm")
    assert main(["models", "show", "clf"]) == 0
    assert f"  serving     {NO_CONFIG}" in capsys.readouterr().out
    assert main(["models", "list", "--format", "json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["llm"]["engine"] == "causal-lm"
    assert rows["clf"]["engine"] is None and "no config.json" in rows["clf"]["engine_reason"]


def test_forced_bare_pickle_is_not_servable(
    registry_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["admit", str(MALICIOUS), "--name", "bad", "--force", "--reason", "SEC-9"]
    assert main(args) == 0
    assert "Not servable: no config.json" in capsys.readouterr().err
    registry = Registry()
    try:
        record = registry.get("bad")
        assert record is not None and record.engine is None and record.forced
    finally:
        registry.close()


def test_audit_log_records_every_change(
    registry_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["admit", str(CLEAN), "--name", "clf", "--actor", "alice"]) == 0
    forced = ["admit", str(MALICIOUS), "--name", "bad", "--force", "--reason", "ticket SEC-9"]
    assert main(forced) == 0
    capsys.readouterr()
    assert main(["keys", "create", "--name", "app", "--actor", "bob"]) == 0
    token = capsys.readouterr().out.splitlines()[0]
    assert main(["keys", "revoke", "app", "--reason", "leaked", "--actor", "bob"]) == 0
    assert main(["keys", "revoke", "app"]) == 0  # already revoked: no change, no entry
    assert (
        main(["models", "remove", "clf", "--reason", "licence withdrawn", "--actor", "carol"]) == 0
    )
    assert main(["models", "remove", "clf", "--reason", "licence withdrawn"]) == 1
    capsys.readouterr()

    assert main(["audit", "--format", "json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [(e["action"], e["subject"], e["reason"]) for e in entries] == [
        ("model.admit", "clf v1", None),
        ("model.admit", "bad v1", "ticket SEC-9"),
        ("key.create", "app", None),
        ("key.revoke", "app", "leaked"),
        ("model.remove", "clf", "licence withdrawn"),
    ]
    assert [e["actor"] for e in entries][::2] == ["alice", "bob", "carol"]
    assert entries[1]["actor"]  # the OS user when no --actor
    assert entries[1]["details"]["forced"] is True
    assert entries[1]["details"]["decision"] == "refuse"
    assert entries[4]["details"]["versions"].keys() == {"1"}
    assert token.startswith("ak-") and token not in json.dumps(entries)  # never the key itself
    assert entries[2]["details"]["prefix"] == token[:10]  # only what `keys list` shows

    assert main(["audit", "--action", "model.remove"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and "carol  model.remove  clf  reason: licence withdrawn" in out[0]
    assert main(["audit", "--since", "1h", "--action", "key.create", "-f", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
    assert main(["audit", "--since", "2999-01-01"]) == 0
    assert capsys.readouterr().out == "No changes recorded in that period.\n"


def test_remove_needs_a_reason(registry_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["admit", str(CLEAN), "--name", "clf"]) == 0
    capsys.readouterr()
    assert main(["models", "remove", "clf"]) == 2
    assert "the following arguments are required: --reason" in capsys.readouterr().err
    assert main(["models", "remove", "clf", "--reason", "  "]) == 2
    assert "--reason must say why the model is removed" in capsys.readouterr().err
    assert main(["models", "show", "clf"]) == 0  # still there
    capsys.readouterr()
    assert main(["audit", "--action", "model.remove", "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []  # nothing was removed, nothing recorded


def test_audit_rejects_a_bad_since(registry_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--since", "last tuesday"]) == 2
    err = capsys.readouterr().err
    assert "'last tuesday' is not a date, a time or an age (e.g. 2026-01-31, 12h, 7d)" in err


def test_an_empty_audit_log(registry_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit"]) == 0
    assert capsys.readouterr().out == "No changes recorded yet.\n"


def test_rows_from_before_the_engine_column_get_one(registry_url: str, tmp_path: Path) -> None:
    """The 0003 migration decides the engine of versions admitted before it, from their
    recorded files and source; a source that is gone is recorded as not servable."""
    engine = make_engine(registry_url)
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    llm = servable_model(tmp_path / "llm")
    old = [(1, "llm", llm, ["config.json", "model.safetensors"]), (2, "gone", tmp_path / "x", [])]
    with engine.begin() as connection:
        for row_id, name, source, paths in old:
            connection.execute(
                text(
                    "INSERT INTO model_versions (id, name, version, source, manifest_digest, "
                    "decision, reasons, conditions, dossier, policy_name, policy_digest, forced, "
                    "created_at) VALUES (:id, :name, 1, :source, 'sha256:0', 'admit', '[]', "
                    "'[]', '{}', 'default', 'sha256:0', false, CURRENT_TIMESTAMP)"
                ),
                {"id": row_id, "name": name, "source": str(source)},
            )
            for n, path in enumerate(paths):
                connection.execute(
                    text(
                        "INSERT INTO model_files (id, model_version_id, path, size, sha256) "
                        "VALUES (:id, :version, :path, 0, '0')"
                    ),
                    {"id": row_id * 10 + n, "version": row_id, "path": path},
                )
    engine.dispose()
    registry = Registry(registry_url)
    try:
        llm_record, gone = registry.get("llm"), registry.get("gone")
        assert llm_record is not None and llm_record.engine == "causal-lm"
        assert gone is not None and gone.engine is None
        assert (
            gone.serving == f"not servable: the source {tmp_path / 'x'} was gone when the "
            "engine was decided"
        )
    finally:
        registry.close()
