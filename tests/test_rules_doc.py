"""docs/rules.md is generated from airlock.rules and must match it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from airlock.rules import RULES

ROOT = Path(__file__).resolve().parents[1]


def test_rules_doc_is_current() -> None:
    spec = importlib.util.spec_from_file_location("render", ROOT / "tools" / "render_rules_doc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    current = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == module.render(), "run: .venv/bin/python tools/render_rules_doc.py"


def test_rule_ids_are_unique_and_well_formed() -> None:
    assert all(rule_id.startswith("AIR") and len(rule_id) == 6 for rule_id in RULES)
    assert len({rule.name for rule in RULES.values()}) == len(RULES)
