"""An AI bill of materials: a CycloneDX 1.6 ML-BOM for one model version.

One `machine-learning-model` component (purl `pkg:huggingface/org/name@revision` for a cache
snapshot) holds one `file` component per file with its sha256, the licenses `airlock license`
found, and a `modelCard`. cyclonedx-python-lib cannot write `modelCard` yet, so it is added to
the serialized JSON, and the result is checked against the 1.6 schema before anyone sees it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cyclonedx.model import HashAlgorithm, HashType, XsUri
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.license import DisjunctiveLicense
from cyclonedx.output import make_outputter
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import OutputFormat, SchemaVersion
from cyclonedx.spdx import is_supported_id
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL

from airlock import __version__, hf_cache
from airlock.license.knowledge import LicenseTerms
from airlock.provenance.manifest import Manifest, build_manifest, model_root
from airlock.provenance.modelcard import CardFacts, read_card_facts

MODEL_REF = "model"


class InvalidBom(Exception):
    """The BOM Airlock built does not validate against CycloneDX 1.6: a bug in Airlock."""


@dataclass(frozen=True)
class BuiltBom:
    json: str
    manifest: Manifest  # what was hashed, links that leave the folder included


def build_bom(path: Path) -> BuiltBom:
    """The validated ML-BOM for the model at `path` (a cache repository: its current snapshot).
    Raises ProvenanceError for an unreadable path, InvalidBom if the result is not valid."""
    root = model_root(path)
    manifest = build_manifest(root)
    facts = read_card_facts(root, manifest.digests().keys())
    text = serialize(_model_component(root, manifest, licenses_of(root)), facts)
    return BuiltBom(text, manifest)


def licenses_of(model: Path) -> tuple[LicenseTerms, ...]:
    """The licenses that bind, as `airlock license` decides them (none when unknown)."""
    from airlock.license import assess_path

    return assess_path(model).terms


def serialize(model: Component, facts: CardFacts) -> str:
    """JSON for a BOM holding `model`, with `facts` as its modelCard, validated."""
    bom = Bom(components=[model])
    bom.metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name="airlock", version=__version__)
    )
    outputter = make_outputter(bom, OutputFormat.JSON, SchemaVersion.V1_6)
    assert isinstance(outputter, JsonV1Dot6)
    document: dict[str, Any] = json.loads(outputter.output_as_string())
    card = facts.to_model_card()
    if card:
        (component,) = (c for c in document["components"] if c.get("bom-ref") == MODEL_REF)
        component["modelCard"] = card
    text = json.dumps(document, indent=2) + "\n"
    validate(text)
    return text


def validate(text: str) -> None:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise InvalidBom(f"the BOM is not valid CycloneDX 1.6: {error}")


def _model_component(root: Path, manifest: Manifest, terms: tuple[LicenseTerms, ...]) -> Component:
    snapshot = hf_cache.snapshot_of(root)
    files = [
        Component(
            type=ComponentType.FILE,
            name=f.path,
            bom_ref=f"file:{f.path}",
            hashes=[HashType(alg=HashAlgorithm.SHA_256, content=f.sha256)],
        )
        for f in manifest.files
    ]
    org, name, revision = "", root.absolute().name, None
    if snapshot is not None:
        org, _, name = snapshot.repo_id.rpartition("/")
        revision = snapshot.revision
    return Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        group=org or None,
        name=name,
        version=revision,
        purl=PackageURL("huggingface", org or None, name, revision) if revision else None,
        bom_ref=MODEL_REF,
        licenses=[_license(t) for t in terms],
        components=files,
    )


def _license(terms: LicenseTerms) -> DisjunctiveLicense:
    # The schema accepts only SPDX ids it knows; other licenses (Llama, Gemma...) go by name.
    if terms.spdx and is_supported_id(terms.spdx):
        return DisjunctiveLicense(id=terms.spdx)
    return DisjunctiveLicense(name=terms.name, url=XsUri(terms.url) if terms.url else None)
