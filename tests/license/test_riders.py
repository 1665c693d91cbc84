"""The Commons Clause: a rider on top of another license ("Apache 2.0 with Commons Clause"). Its
condition: "the grant of rights under the License will not include, and the License does not
grant to you, the right to Sell the Software", Sell meaning providing to third parties, for a fee,
"a product or service whose value derives, entirely or substantially, from the functionality of
the Software". The answer is never the bare base license."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.license.conftest import reference_text, write_gguf, write_model

from airlock.cli import main
from airlock.license import assess_path
from airlock.license.assess import LicenseAssessment

# As the rider appears in published repositories: its template fields filled in.
RIDER = """\
"Commons Clause" License Condition v1.0

The Software is provided to you by the Licensor under the License, as defined below, subject to
the following condition.

Without limiting other conditions in the License, the grant of rights under the License will not
include, and the License does not grant to you, the right to Sell the Software.

For purposes of the foregoing, "Sell" means practicing any or all of the rights granted to you
under the License to provide to third parties, for a fee or other consideration (including without
limitation fees for hosting or consulting/ support services related to the Software), a product or
service whose value derives, entirely or substantially, from the functionality of the Software.
Any license notice or attribution required by the License must also include this Commons Clause
License Condition notice.

Software: Acme Vision 7B

License: Apache 2.0

Licensor: Acme Robotics, Inc.

"""


def _not_sellable(result: LicenseAssessment) -> None:
    assert {t.id for t in result.terms} == {"apache-2.0", "commons-clause"}
    assert result.commercial_use == "no"
    assert any("no right to Sell" in r for r in result.restrictions)


def test_license_text_with_the_rider_is_not_plain_apache(model_dir: Path) -> None:
    write_model(model_dir, None, RIDER + reference_text("apache-2.0"))
    result = assess_path(model_dir)
    assert result.license_id == "apache-2.0 WITH commons-clause"
    _not_sellable(result)
    # The Apache text itself is word for word: the rider is a known addition, not an edit.
    rules = {f.rule_id for f in result.findings}
    assert "AIR806" not in rules and "AIR804" not in rules
    assert result.confidence == "high"


def test_rider_below_the_license_text_counts_too(model_dir: Path) -> None:
    write_model(model_dir, None, reference_text("mit") + "\n\n" + RIDER)
    result = assess_path(model_dir)
    assert result.license_id == "mit WITH commons-clause"
    assert result.commercial_use == "no"


def test_card_saying_apache_over_a_commons_clause_text_disagrees(model_dir: Path) -> None:
    write_model(model_dir, "license: apache-2.0", RIDER + reference_text("apache-2.0"))
    result = assess_path(model_dir)
    _not_sellable(result)
    conflict = [f for f in result.findings if f.rule_id == "AIR804"]
    assert conflict and "apache-2.0 WITH commons-clause" in conflict[0].message


@pytest.mark.parametrize(
    "card",
    ["license: apache-2.0 WITH Commons-Clause",
     "license: other\nlicense_name: Apache 2.0 with Commons Clause"],
)  # fmt: skip
def test_declared_rider(model_dir: Path, card: str) -> None:
    write_model(model_dir, card, RIDER + reference_text("apache-2.0"))
    result = assess_path(model_dir)
    _not_sellable(result)
    assert "AIR804" not in {f.rule_id for f in result.findings}
    assert "commons" in result.license_id.lower()


def test_gguf_rider(tmp_path: Path) -> None:
    result = assess_path(write_gguf(tmp_path / "m.gguf", "apache-2.0 WITH Commons-Clause"))
    _not_sellable(result)


def test_or_choice_prefers_the_alternative_without_the_rider(model_dir: Path) -> None:
    # For OR the organization may choose: plain MIT beats Apache with the Commons Clause.
    write_model(model_dir, "license: apache-2.0 WITH Commons-Clause OR mit")
    result = assess_path(model_dir)
    assert ({t.id for t in result.terms}, result.commercial_use) == ({"mit"}, "yes")


def test_unknown_with_condition_is_not_dropped(model_dir: Path) -> None:
    # An SPDX exception only adds permissions; anything else after WITH may take rights away.
    write_model(model_dir, "license: apache-2.0 WITH LLVM-exception")
    assert assess_path(model_dir).commercial_use == "yes"
    write_model(model_dir, "license: mit WITH no-commercial-use")
    assert assess_path(model_dir).commercial_use == "unknown"


def test_json_report_names_the_rider(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_model(model_dir, None, RIDER + reference_text("apache-2.0"))
    main(["license", str(model_dir), "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert document["license"]["id"] == "apache-2.0 WITH commons-clause"
    assert document["commercial_use"] == "no"
    assert [t["id"] for t in document["terms"]] == ["apache-2.0", "commons-clause"]


def test_vet_refuses_under_the_default_policy(
    model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The default policy requires commercial use; selling is the commercial use it means.
    write_model(model_dir, "license: apache-2.0", RIDER + reference_text("apache-2.0"))
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    weights = len(header).to_bytes(8, "little") + header + bytes(4)
    (model_dir / "model.safetensors").write_bytes(weights)
    assert main(["vet", str(model_dir), "--format", "json"]) == 1
    verdict = json.loads(capsys.readouterr().out)["verdict"]
    assert verdict["decision"] == "refuse"
    # The reason says what the clause takes away (selling), not "research use only".
    messages = " ".join(r["message"] for r in verdict["reasons"])
    assert "takes away the right to sell" in messages
    assert "research or non-commercial use only" not in messages


def test_commons_clause_v0_9_wording(model_dir: Path) -> None:
    # v0.9 (fossas/commons-clause, COMMONS): no right "to Use the Software in a Commercial
    # Product", one "that comprises substantially the functionality of the Software".
    rider = reference_text("commons-clause@v0.9").replace("[name software]", "Acme Vision 7B")
    write_model(model_dir, None, rider + "\n" + reference_text("apache-2.0"))
    result = assess_path(model_dir)
    assert result.license_id == "apache-2.0 WITH commons-clause"
    assert result.commercial_use == "no"
