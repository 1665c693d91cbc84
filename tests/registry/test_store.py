"""The registry library: admit, list, show, remove; one transaction per admit; concurrency."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from airlock.dossier.model import Dossier, ProvenanceSection
from airlock.dossier.provenance import manifest_digest
from airlock.engine_choice import EngineChoice
from airlock.policy.evaluate import Verdict
from airlock.policy.model import Policy
from airlock.provenance.manifest import FileDigest
from airlock.registry import store
from airlock.registry.models import AuditEntry, ModelFile, ModelVersion
from airlock.registry.store import Registry

# The example models are a bare pickle and a README: no engine serves them.
NO_ENGINE = EngineChoice(None, "no config.json, so no engine knows what the weights are")


def _variant(dossier: Dossier, n: int) -> Dossier:
    """The same model with one file's bytes changed: a new version."""
    files = (*dossier.provenance.files, FileDigest(f"extra-{n}.txt", n, f"{n:064x}"))
    prov = ProvenanceSection(manifest_digest(files), files, "not_checked")
    return replace(dossier, provenance=prov)


def test_admit_list_show_remove(
    registry_url: str, clean: tuple[Dossier, Verdict], policy: Policy
) -> None:
    dossier, verdict = clean
    registry = Registry(registry_url)
    try:
        record, created = registry.admit("clf", dossier, verdict, policy, NO_ENGINE)
        assert created and record.version == 1 and not record.forced
        assert record.decision == "admit_with_conditions"
        assert record.policy_digest == policy.digest
        assert [f.path for f in record.files] == ["README.md", "model.pt"]
        assert Dossier.from_dict(record.dossier) == dossier
        assert record.created_at.tzinfo is not None

        again, created = registry.admit("clf", dossier, verdict, policy, NO_ENGINE)
        assert not created and again.version == 1  # same bytes, same version

        second, created = registry.admit("clf", _variant(dossier, 1), verdict, policy, NO_ENGINE)
        assert created and second.version == 2
        assert [r.version for r in registry.versions("clf")] == [1, 2]
        latest = registry.get("clf")
        assert latest is not None and latest.version == 2
        assert registry.get("clf", 1) is not None and registry.get("nope") is None

        assert registry.remove("clf", 1, reason="superseded") == 1
        assert [r.version for r in registry.versions()] == [2]
        assert registry.remove("clf", None, reason="retired") == 1 and registry.versions() == []
        with Session(registry.engine) as session:
            assert session.scalar(select(func.count()).select_from(ModelFile)) == 0
    finally:
        registry.close()


def test_forced_admit_records_the_reason(
    registry_url: str, malicious: tuple[Dossier, Verdict], policy: Policy
) -> None:
    dossier, verdict = malicious
    registry = Registry(registry_url)
    try:
        record, _ = registry.admit(
            "bad", dossier, verdict, policy, NO_ENGINE, force_reason="ticket SEC-1"
        )
        assert record.forced and record.force_reason == "ticket SEC-1"
        assert record.decision == "refuse" and record.reasons
    finally:
        registry.close()


def test_interrupted_admit_leaves_nothing(
    registry_url: str,
    clean: tuple[Dossier, Verdict],
    policy: Policy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dossier, verdict = clean
    registry = Registry(registry_url)

    def crash(session: Session, row: ModelVersion, files: tuple[FileDigest, ...]) -> None:
        session.add(ModelFile(model_version_id=row.id, path=files[0].path, size=1, sha256="0"))
        session.flush()
        raise KeyboardInterrupt  # the version row and one file are written, not committed

    monkeypatch.setattr(store, "_add_files", crash)
    try:
        with pytest.raises(KeyboardInterrupt):
            registry.admit("clf", dossier, verdict, policy, NO_ENGINE)
        with Session(registry.engine) as session:
            assert session.scalar(select(func.count()).select_from(ModelVersion)) == 0
            assert session.scalar(select(func.count()).select_from(ModelFile)) == 0
    finally:
        registry.close()


def test_concurrent_admits(
    registry_url: str, clean: tuple[Dossier, Verdict], policy: Policy
) -> None:
    dossier, verdict = clean
    Registry(registry_url).close()  # migrated once; each thread then opens its own engine
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def admit(n: int) -> None:
        registry = Registry(registry_url)
        try:
            start.wait()
            # Half the threads admit the same bytes, half each admit new bytes.
            registry.admit(
                "clf", dossier if n % 2 else _variant(dossier, n), verdict, policy, NO_ENGINE
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            registry.close()

    threads = [threading.Thread(target=admit, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    registry = Registry(registry_url)
    try:
        versions = registry.versions("clf")
        assert [r.version for r in versions] == [1, 2, 3, 4, 5]  # 4 variants + 1 shared
        assert len({r.manifest_digest for r in versions}) == 5
        shipped = len(dossier.provenance.files)
        assert sorted(len(r.files) for r in versions) == [shipped] + [shipped + 1] * 4
        with Session(registry.engine) as session:
            files = session.scalar(select(func.count()).select_from(ModelFile))
        assert files == sum(len(r.files) for r in versions)
    finally:
        registry.close()


def test_no_change_without_its_audit_entry(
    registry_url: str,
    clean: tuple[Dossier, Verdict],
    policy: Policy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The audit entry is written in the change's transaction: when it fails, so does the change."""
    dossier, verdict = clean
    registry = Registry(registry_url)
    try:
        registry.admit("kept", dossier, verdict, policy, NO_ENGINE, actor="alice")

        def fail(*_args: object, **_kwargs: object) -> None:
            raise RuntimeError("audit log unwritable")

        monkeypatch.setattr(store.audit, "write", fail)
        with pytest.raises(RuntimeError):
            registry.admit("clf", dossier, verdict, policy, NO_ENGINE)
        with pytest.raises(RuntimeError):
            registry.remove("kept", None, reason="cleanup")
        assert [r.name for r in registry.versions()] == ["kept"]
        with Session(registry.engine) as session:
            entries = session.scalars(select(AuditEntry)).all()
        assert [(e.action, e.subject, e.actor) for e in entries] == [
            ("model.admit", "kept v1", "alice")
        ]
    finally:
        registry.close()
