"""Engine options recorded on a model (`airlock models configure`), on SQLite and PostgreSQL:
set, unset, audited, carried to the name's next version, refused when bad."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from tests.registry.conftest import servable_model

from airlock.cli import main
from airlock.registry.db import make_engine
from airlock.registry.migrate import SCRIPT_LOCATION
from airlock.registry.store import Registry


def options_of(name: str) -> dict[str, object]:
    registry = Registry()
    try:
        record = registry.get(name)
        assert record is not None
        return record.engine_options
    finally:
        registry.close()


def test_configure_sets_unsets_and_audits(
    registry_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["admit", str(servable_model(tmp_path / "llm")), "--name", "llm"]) == 0
    assert options_of("llm") == {}
    capsys.readouterr()
    args = ["models", "configure", "llm", "--engine-option", "tensor_parallel_size=2"]
    assert main([*args, "--engine-option", "dtype=bfloat16", "--actor", "ops"]) == 0
    assert capsys.readouterr().out == (
        "llm v1: engine options dtype=bfloat16, tensor_parallel_size=2\n"
    )
    assert options_of("llm") == {"tensor_parallel_size": 2, "dtype": "bfloat16"}
    assert main(["models", "configure", "llm", "--unset", "dtype"]) == 0
    assert options_of("llm") == {"tensor_parallel_size": 2}
    assert main(["models", "show", "llm"]) == 0
    assert "  engine opts tensor_parallel_size=2" in capsys.readouterr().out

    assert main(["audit", "--action", "model.configure", "--format", "json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert len(entries) == 2 and "ops" in [e["actor"] for e in entries]
    changes = [e["details"]["engine_options"] for e in entries]
    assert {"before": {}, "after": {"tensor_parallel_size": 2, "dtype": "bfloat16"}} in changes


def test_options_carry_to_the_next_version(
    registry_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = servable_model(tmp_path / "llm")
    assert main(["admit", str(folder), "--name", "llm"]) == 0
    assert main(["models", "configure", "llm", "--engine-option", "max_model_len=4096"]) == 0
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "x": 1}))
    assert main(["admit", str(folder), "--name", "llm"]) == 0
    registry = Registry()
    try:
        record = registry.get("llm")
        assert record is not None and record.version == 2
        assert record.engine_options == {"max_model_len": 4096}
    finally:
        registry.close()


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--engine-option", "tensor_parallel_size=0"], "expected 1 to 1024"),
        (["--engine-option", "trust_remote_code=1"], "unknown engine option 'trust_remote_code'"),
        (["--unset", "colour"], "--unset 'colour': unknown engine option"),
        ([], "nothing to change"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    registry_env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    error: str,
) -> None:
    assert main(["admit", str(servable_model(tmp_path / "llm")), "--name", "llm"]) == 0
    capsys.readouterr()
    assert main(["models", "configure", "llm", *args]) == 2
    err = capsys.readouterr().err
    assert error in err and len(err.strip().splitlines()) == 1
    assert options_of("llm") == {}


def test_configure_an_unknown_model(registry_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "configure", "nope", "--engine-option", "dtype=auto"]) == 1
    assert "no model 'nope'" in capsys.readouterr().err


def test_versions_from_before_the_migration_have_no_options(registry_url: str) -> None:
    engine = make_engine(registry_url)
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        connection.execute(
            text(
                "INSERT INTO model_versions (id, name, version, source, manifest_digest, "
                "decision, reasons, conditions, dossier, policy_name, policy_digest, forced, "
                "engine_reason, created_at) VALUES (1, 'old', 1, '/x', 'sha256:0', 'admit', "
                "'[]', '[]', '{}', 'default', 'sha256:0', false, '', CURRENT_TIMESTAMP)"
            )
        )
    engine.dispose()
    registry = Registry(registry_url)
    try:
        record = registry.get("old")
        assert record is not None and record.engine_options == {}
    finally:
        registry.close()
