"""Each license duty is stated once: in one field of its knowledge entry, and once in reports."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest
from tests.license.conftest import reference_text, write_model

from airlock.cli import main
from airlock.license import knowledge

# Words that name one duty. `obligations` is free text, so it is where a duty stated by another
# field (a threshold, the use policy, outputs, geography, share-alike) used to be said again in
# other words: no obligation may share one of these with a threshold or a restriction, and no
# threshold with a restriction.
DUTY_MARKERS = (
    "monthly active users",
    "annual revenue",
    "follow the",
    "uses listed in attachment a",
    "share-alike",
    "improve any other",
    "non-commercial",
    "noncommercial",
    "non-commercial research",
    "eu",
    "european union",
    "guardrails",
)


def _markers(statement: str) -> set[str]:
    return {m for m in DUTY_MARKERS if re.search(rf"\b{re.escape(m)}\b", statement.lower())}


@pytest.mark.parametrize("terms", knowledge.entries(), ids=lambda t: t.id)
def test_every_duty_is_stated_once(terms: knowledge.LicenseTerms) -> None:
    thresholds = [t.note for t in terms.thresholds]
    restrictions = list(terms.restrictions())
    statements = [*thresholds, *terms.obligations, *restrictions]
    assert len(statements) == len(set(statements))
    for obligation in terms.obligations:
        for other in (*thresholds, *restrictions):
            shared = _markers(obligation) & _markers(other)
            assert not shared, f"{terms.id}: {obligation!r} restates {other!r} ({shared})"
    for threshold in thresholds:
        for other in restrictions:
            shared = _markers(threshold) & _markers(other)
            assert not shared, f"{terms.id}: {threshold!r} restates {other!r} ({shared})"


def _llama(root: Path) -> Path:
    model = write_model(root, "license: llama3.1", reference_text("llama3.1"))
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    (model / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(4))
    return model


# The two Llama 3.1 duties that used to be listed twice, once as a condition or restriction and
# once more, in other words, as an obligation.
LLAMA_DUTIES = ("700 million monthly active users", "Llama 3.1 Acceptable Use Policy")


def test_license_report_lists_each_llama_duty_once(
    model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = _llama(model_dir)
    assert main(["license", str(model)]) == 0
    out = capsys.readouterr().out
    for duty in LLAMA_DUTIES:
        # The AIR808 finding quotes the threshold to explain itself: not a second duty.
        listed = [line for line in out.splitlines() if line.startswith("  - ") and duty in line]
        assert len(listed) == 1, (duty, listed)
    assert main(["license", str(model), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    duties = [*document["conditions"], *document["obligations"], *document["restrictions"]]
    for duty in LLAMA_DUTIES:
        assert sum(duty in d for d in duties) == 1, duty


def test_vet_report_lists_each_llama_duty_once(
    model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = _llama(model_dir)
    assert main(["vet", str(model)]) == 0
    out = capsys.readouterr().out
    assert "ADMIT WITH CONDITIONS" in out
    conditions = out.split("Conditions:\n", 1)[1].split("\n\n", 1)[0]
    for duty in LLAMA_DUTIES:
        assert conditions.count(duty) == 1, duty
        # Elsewhere only the AIR808 finding, which quotes the threshold to explain itself.
        assert out.count(duty) == conditions.count(duty) + (duty in LLAMA_DUTIES[0])
    assert main(["vet", str(model), "--format", "json"]) == 0
    conditions = json.loads(capsys.readouterr().out)["verdict"]["conditions"]
    for duty in LLAMA_DUTIES:
        assert sum(duty in c for c in conditions) == 1, duty


def test_duties_name_their_license_when_two_bind(
    model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The card says one license, the LICENSE file holds another: both bind until settled, and
    # each duty says which license imposes it.
    write_model(model_dir, "license: llama3.1", reference_text("apache-2.0"))
    assert main(["license", str(model_dir), "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    duties = [*document["conditions"], *document["obligations"], *document["restrictions"]]
    assert duties and all(
        d.startswith(("Llama 3.1 Community License Agreement: ", "Apache License 2.0: "))
        for d in duties
    )
