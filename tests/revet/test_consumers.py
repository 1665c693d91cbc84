"""Everything that loads an admitted version's files refuses a suspended one: `airlock eval`'s
admitted candidates and `airlock data check --model`'s tokenizer, as the gateway does."""

from __future__ import annotations

from pathlib import Path

import pytest

from airlock.datacheck.errors import DataError
from airlock.datacheck.tokens import admitted_tokenizer
from airlock.eval.candidates.admitted import AdmittedCandidate
from airlock.eval.datasets.interface import Task
from airlock.gateway.catalog import AdmittedModel, StaticCatalog

WHY = "suspended since 2026-12-04 19:40 UTC: policy 'ours' now refuses it"


def suspended(folder: Path) -> AdmittedModel:
    return AdmittedModel("chat", folder, (), 2, "sha256:0", not_servable=WHY, suspended=True)


def test_eval_refuses_a_suspended_candidate(tmp_path: Path) -> None:
    candidate = AdmittedCandidate("chat", suspended(tmp_path), "causal-lm", prepack=False)
    assert (
        candidate.refuses(Task.GENERATION) == f"model 'chat' is admitted but cannot be run: {WHY}"
    )


def test_data_check_refuses_a_suspended_models_tokenizer(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=f"the model is {WHY}"):
        admitted_tokenizer("chat", StaticCatalog([suspended(tmp_path)]), None)
