"""Dossiers built once from the bundled examples; each rule test changes one field."""

from __future__ import annotations

from pathlib import Path

import pytest

from airlock.dossier.build import build_dossier
from airlock.dossier.model import Dossier
from airlock.policy.model import Policy
from airlock.policy.schema import default_policy

ROOT = Path(__file__).resolve().parents[2]
CLEAN = ROOT / "examples" / "models" / "clean-classifier"
MALICIOUS = ROOT / "examples" / "models" / "suspicious-upload"


@pytest.fixture(scope="session")
def policy() -> Policy:
    return default_policy()


@pytest.fixture(scope="session")
def clean_dossier(policy: Policy) -> Dossier:
    return build_dossier(CLEAN, policy.dossier_options())


@pytest.fixture(scope="session")
def malicious_dossier(policy: Policy) -> Dossier:
    return build_dossier(MALICIOUS, policy.dossier_options())
