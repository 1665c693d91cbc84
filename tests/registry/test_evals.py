"""Recording eval results and reading them back, on SQLite and PostgreSQL: results follow the
exact files (manifest digest), a run is recorded whole or not at all, with its audit entry."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, func, select
from sqlalchemy.orm import Session
from tests.registry.eval_docs import DATA, DATA_SHA256, candidate, document, endpoint

from airlock.cli import main
from airlock.dossier.evals import RecordedEval
from airlock.dossier.model import Dossier, ProvenanceSection
from airlock.dossier.provenance import manifest_digest
from airlock.engine_choice import EngineChoice
from airlock.policy.evaluate import Verdict
from airlock.policy.model import Policy
from airlock.provenance.manifest import FileDigest
from airlock.registry import audit
from airlock.registry.evals import EvalRecordError, for_files, record
from airlock.registry.models import AuditEntry, Base, EvalResult
from airlock.registry.store import Record, Registry

NO_ENGINE = EngineChoice(None, "no config.json")


def _changed(dossier: Dossier) -> Dossier:
    """The same model with one more file: other bytes, another manifest digest."""
    files = (*dossier.provenance.files, FileDigest("extra.txt", 1, "ab" * 32))
    return replace(
        dossier, provenance=ProvenanceSection(manifest_digest(files), files, "not_checked")
    )


@pytest.fixture
def registry(registry_url: str) -> Any:
    opened = Registry(registry_url)
    yield opened
    opened.close()


def _admit(registry: Registry, clean: tuple[Dossier, Verdict], policy: Policy) -> Record:
    dossier, verdict = clean
    return registry.admit("clf", dossier, verdict, policy, NO_ENGINE)[0]


def test_record_and_read_back(
    registry: Registry, clean: tuple[Dossier, Verdict], policy: Policy
) -> None:
    admitted = _admit(registry, clean, policy)
    run = document(
        candidate("clf", admitted.manifest_digest, {"ndcg@10": 0.61, "Recall@100": 0.9}),
        endpoint("hosted", {"ndcg@10": 0.7}),
    )
    recorded = record(registry, run, actor="alice")
    assert [(r.metric, r.value) for r in recorded.results] == [
        ("ndcg@10", 0.61),
        ("recall@100", 0.9),
    ]
    assert recorded.skipped == (
        "hosted is an endpoint, not a model in the registry: its results are shown, not recorded",
    )
    found = for_files(registry, admitted.manifest_digest)
    assert found == recorded.results
    first = found[0]
    assert (first.model, first.version, first.manifest_digest) == (
        "clf",
        1,
        admitted.manifest_digest,
    )
    assert first.dataset.name == "support-faq" and first.dataset.sha256 == DATA_SHA256
    assert first.dataset.bytes == len(DATA) and first.dataset.items == 40
    assert first.task == "retrieval" and first.airlock_version == "0.1.0"
    assert first.ci95 is not None and math.isclose(first.ci95[0], 0.56)
    assert (first.items, first.failed, first.recorded_by) == (40, 0, "alice")
    assert first.recorded_at.endswith("+00:00") and len({r.run for r in found}) == 1
    assert RecordedEval.from_dict(json.loads(json.dumps(first.to_dict()))) == first

    entries = audit.read(registry.engine, action=audit.EVAL_RECORD)
    assert [(e.actor, e.subject) for e in entries] == [("alice", "clf v1")]
    details = entries[0].details
    assert details["metrics"] == {"ndcg@10": 0.61, "recall@100": 0.9}
    assert details["dataset"]["sha256"] == DATA_SHA256 and details["run"] == first.run
    assert details["manifest_digest"] == admitted.manifest_digest


def test_a_changed_model_does_not_inherit_results(
    registry: Registry, clean: tuple[Dossier, Verdict], policy: Policy
) -> None:
    first = _admit(registry, clean, policy)
    record(registry, document(candidate("clf", first.manifest_digest, {"ndcg@10": 0.8})))
    dossier, verdict = clean
    second, created = registry.admit("clf", _changed(dossier), verdict, policy, NO_ENGINE)
    assert created and second.version == 2 and second.manifest_digest != first.manifest_digest
    assert for_files(registry, second.manifest_digest) == ()
    assert [r.value for r in for_files(registry, first.manifest_digest)] == [0.8]


def test_the_same_files_under_another_name_share_results(
    registry: Registry, clean: tuple[Dossier, Verdict], policy: Policy
) -> None:
    # Results are facts about bytes: staging's run counts for the production name too.
    staged = _admit(registry, clean, policy)
    dossier, verdict = clean
    production, _ = registry.admit("clf-prod", dossier, verdict, policy, NO_ENGINE)
    record(registry, document(candidate("clf", staged.manifest_digest, {"ndcg@10": 0.8})))
    assert [r.model for r in for_files(registry, production.manifest_digest)] == ["clf"]


def test_newest_first_per_dataset_and_metric(
    registry: Registry, clean: tuple[Dossier, Verdict], policy: Policy
) -> None:
    digest = _admit(registry, clean, policy).manifest_digest
    record(registry, document(candidate("clf", digest, {"ndcg@10": 0.5, "mrr@10": 0.4})))
    record(registry, document(candidate("clf", digest, {"ndcg@10": 0.6}), dataset="billing"))
    record(registry, document(candidate("clf", digest, {"ndcg@10": 0.7})))
    found = [(r.dataset.name, r.metric, r.value) for r in for_files(registry, digest)]
    assert found == [
        ("billing", "ndcg@10", 0.6),
        ("support-faq", "mrr@10", 0.4),
        ("support-faq", "ndcg@10", 0.7),
        ("support-faq", "ndcg@10", 0.5),
    ]


def test_a_version_the_registry_does_not_hold_records_nothing(
    registry: Registry, clean: tuple[Dossier, Verdict], policy: Policy
) -> None:
    admitted = _admit(registry, clean, policy)
    other = _changed(clean[0]).provenance.digest
    run = document(
        candidate("clf", admitted.manifest_digest, {"ndcg@10": 0.9}),
        candidate("clf", other, {"ndcg@10": 0.9}),
    )
    with pytest.raises(EvalRecordError, match=r"candidates\[1\]|no version of 'clf'") as caught:
        record(registry, run)
    assert "nothing was" in str(caught.value)
    with Session(registry.engine) as session:
        assert session.scalar(select(func.count()).select_from(EvalResult)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1  # the admit


def test_values_that_are_no_measurement_are_not_recorded(
    registry: Registry, clean: tuple[Dossier, Verdict], policy: Policy
) -> None:
    digest = _admit(registry, clean, policy).manifest_digest
    recorded = record(
        registry,
        document(candidate("clf", digest, {"ndcg@10": None, "mrr@10": math.nan, "map@10": 0.3})),
    )
    assert [r.metric for r in recorded.results] == ["map@10"]
    assert recorded.skipped == (
        "clf ndcg@10: no value, not recorded",
        "clf mrr@10: no value, not recorded",
    )
    no_values = document(candidate("clf", digest, {"ndcg@10": None}))
    assert record(registry, no_values).results == ()
    assert len(audit.read(registry.engine, action=audit.EVAL_RECORD)) == 1


def _broken(change: str) -> dict[str, Any]:
    run = document(candidate("clf", "sha256:" + "0" * 64, {"ndcg@10": 0.5}))
    entry = run["candidates"][0]
    if change == "revision":
        entry["model"]["revision"] = "1"
    elif change == "sha256":
        run["dataset"]["sha256"] = "abc"
    elif change == "task":
        run["task"] = "vibes"
    elif change == "value":
        entry["metrics"]["ndcg@10"]["value"] = "0.5"
    elif change == "ci95":
        entry["metrics"]["ndcg@10"]["ci95"] = [0.6, 0.4]
    elif change == "items":
        entry["items"] = -1
    elif change == "schema":
        run["schema_version"] = 2
    elif change == "dataset":
        del run["dataset"]
    return run


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            "revision",
            "`candidates[0].model.revision` must be the admitted version's manifest digest",
        ),
        ("sha256", "`dataset.sha256` must be 64 hex digits, not 'abc'"),
        ("task", "`task` must be one of retrieval, rerank, generation, transcription"),
        ("value", "`candidates[0].metrics.ndcg@10.value` must be a number or null"),
        ("ci95", "`candidates[0].metrics.ndcg@10.ci95` must be [low, high]"),
        ("items", "`candidates[0].items` must be a whole number, not -1"),
        ("schema", "the eval document has schema_version 2; this Airlock records 1"),
        ("dataset", "the eval document has no `dataset`"),
    ],
)
def test_a_broken_document_is_one_line_naming_the_field(
    registry: Registry, change: str, message: str
) -> None:
    with pytest.raises(EvalRecordError) as caught:
        record(registry, _broken(change))
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_the_migration_creates_the_table_the_model_describes(registry: Registry) -> None:
    wanted = MetaData()
    Base.metadata.tables["eval_results"].to_metadata(wanted)
    with registry.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), wanted)
    assert [d for d in diff if "eval_results" in str(d)] == []


def test_models_show_lists_results_newest_first(
    registry_env: str,
    clean: tuple[Dossier, Verdict],
    policy: Policy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    registry = Registry()
    try:
        digest = _admit(registry, clean, policy).manifest_digest
        record(registry, document(candidate("clf", digest, {"ndcg@10": 0.5})), actor="alice")
        record(registry, document(candidate("clf", digest, {"ndcg@10": 0.625})), actor="bob")
    finally:
        registry.close()
    assert main(["models", "show", "clf"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "  eval  " in line]
    assert len(lines) == 2
    assert "support-faq ndcg@10 = 0.625 (95% CI 0.575 to 0.675): 40 items run" in lines[0]
    assert f"data sha256 {DATA_SHA256[:12]}..." in lines[0] and "by bob" in lines[0]
    assert "as clf v1" in lines[0] and "= 0.5 " in lines[1] and "by alice" in lines[1]

    assert main(["models", "show", "clf", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [(e["metric"], e["value"], e["recorded_by"]) for e in shown["evals"]] == [
        ("ndcg@10", 0.625, "bob"),
        ("ndcg@10", 0.5, "alice"),
    ]
    assert shown["evals"][0]["model"] == {"name": "clf", "version": 1, "manifest_digest": digest}


def test_models_show_says_when_none_are_recorded(
    registry_env: str,
    clean: tuple[Dossier, Verdict],
    policy: Policy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    registry = Registry()
    try:
        _admit(registry, clean, policy)
    finally:
        registry.close()
    assert main(["models", "show", "clf"]) == 0
    assert "eval        none recorded for these files" in capsys.readouterr().out
    assert main(["audit", "--action", "eval.record"]) == 0
