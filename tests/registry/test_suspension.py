"""Suspension in the registry (migration 0006): versions from before it were vetted under their
admission policy and an unknown rule set; suspend and re-admit write the audit log. Each test
runs on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from tests.registry.conftest import servable_model

from airlock.api import vet
from airlock.engine_choice import choose_engine
from airlock.policy.schema import default_policy
from airlock.registry import audit
from airlock.registry.db import make_engine
from airlock.registry.migrate import SCRIPT_LOCATION
from airlock.registry.store import Registry
from airlock.ruleset import ruleset_digest


def test_versions_from_before_0006_are_due_for_a_revet(registry_url: str) -> None:
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
                "'[]', '[]', '{}', 'default', 'sha256:p', false, '', CURRENT_TIMESTAMP)"
            )
        )
    engine.dispose()
    registry = Registry(registry_url)
    try:
        old = registry.get("old")
        assert old is not None and old.suspended_reason is None and old.suspended_at is None
        assert old.vetted_policy_digest == "sha256:p" and old.vetted_ruleset_digest is None
        assert old.vetted_at == old.created_at
        assert not old.vetted_under("sha256:p", ruleset_digest())
        assert old.to_dict()["suspended"] is False
    finally:
        registry.close()


def test_suspend_once_then_readmission_lifts_it(registry_url: str, tmp_path: Path) -> None:
    folder = servable_model(tmp_path / "llm")
    policy = default_policy()
    vetted = vet(folder, policy)
    engine = choose_engine(folder, [f.path for f in vetted.dossier.provenance.files])
    registry = Registry(registry_url)
    try:
        record, _ = registry.admit("llm", vetted.dossier, vetted.verdict, policy, engine)
        assert record.vetted_under(policy.digest, ruleset_digest())
        assert registry.suspend("llm", 1, "a reason", policy=policy, actor="bob")
        assert not registry.suspend("llm", 1, "again", policy=policy)  # already suspended
        assert not registry.suspend("llm", 9, "no such version", policy=policy)
        suspended = registry.get("llm")
        assert suspended is not None and suspended.suspended_reason == "a reason"
        assert suspended.serving == "SUSPENDED: a reason"
        again, created = registry.admit("llm", vetted.dossier, vetted.verdict, policy, engine)
        assert not created and again.suspended_reason is None and again.version == 1
        entries = audit.read(registry.engine)
        assert [(e.action, e.subject, e.reason) for e in entries[1:]] == [
            ("model.suspend", "llm v1", "a reason"),
            ("model.reinstate", "llm v1", "re-admitted: the policy admits these files again"),
        ]
        assert entries[1].actor == "bob"
        # A re-admission of a version that is not suspended records nothing.
        registry.admit("llm", vetted.dossier, vetted.verdict, policy, engine)
        assert len(audit.read(registry.engine)) == 3
    finally:
        registry.close()
