"""Every place a model folder states its license, read without loading weights: the model card,
license and notice texts at the top of the folder (files.py says which, and for what), and GGUF
`general.license*` metadata."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import airlock.license.knowledge as knowledge
from airlock import artifact, hf_cache
from airlock.artifact import ArtifactFile
from airlock.headers.gguf_index import GgufError, read_index
from airlock.license.card import ModelCard, parse_card
from airlock.license.expression import resolve
from airlock.license.files import WEIGHTS, classify
from airlock.license.identify import TextMatch, identify
from airlock.license.riders import split_riders

MAX_TEXT_BYTES = 1024 * 1024
# A LICENSE no longer than this that carries a license's required notice line ("Licensed by
# NVIDIA Corporation under the NVIDIA Open Model License") points at that license; a longer
# unrecognised text that quotes one is a license of its own, whose terms are unknown.
POINTER_WORDS = 80
GGUF_LICENSE = "general.license"
GGUF_LICENSE_NAME = "general.license.name"
GGUF_LICENSE_LINK = "general.license.link"


@dataclass(frozen=True)
class Claim:
    """One source's statement of the license."""

    source: str  # model card | license file | notice file | use policy | gguf metadata
    file: str
    value: str  # what it says: an id, an expression, a name, or "(license text)"
    applies: tuple[str, ...]  # knowledge ids that bind, by this claim
    named: tuple[str, ...]  # every knowledge id it names
    unknown: tuple[str, ...]  # what it names that Airlock does not know
    confidence: str  # high | medium | low | none
    role: str = "model"  # model | code | notice | policy: only model claims must agree
    match: TextMatch | None = None
    other_unresolved: bool = False  # `license: other` with no resolvable license_name/link
    component: str = WEIGHTS  # weights | code | unspecified: what the claim covers (files.py)


@dataclass(frozen=True)
class Collected:
    files: tuple[ArtifactFile, ...]
    root: Path
    card: ModelCard | None
    claims: tuple[Claim, ...]
    snapshot: str


def collect(path: Path) -> Collected:
    """Claims from `path` (a model folder, a single file, or a Hugging Face cache repository)."""
    repo = hf_cache.repo_folder(path) if path.is_dir() else None
    if repo is not None:
        path = _current_snapshot(path)
    files = tuple(artifact.collect([path]))
    root = path if path.is_dir() else path.parent
    snapshot = hf_cache.snapshot_of(path)
    claims: list[Claim] = []
    card: ModelCard | None = None
    for item in files:
        if item.escapes_root:
            continue
        top = item.path.parent == root
        if top and item.path.name.lower() == "readme.md":
            card = parse_card(_read_text(item.path))
            claims.extend(_card_claims(card, item.display))
        elif top and (kind := classify(item.path.name)) is not None:
            claims.append(replace(_file_claim(item), component=kind.component))
            if claims[-1].role == "notice":
                claims.extend(_notice_evidence(item))
        elif item.path.suffix.lower() == ".gguf":
            claims.extend(_gguf_claims(item))
    described = snapshot.describe() if snapshot is not None else ""
    return Collected(files, root, card, tuple(claims), described)


def _current_snapshot(repo_root: Path) -> Path:
    """The snapshot `refs/main` points to, else the last one; a cache holds one per revision."""
    found = hf_cache.snapshots(repo_root)
    for snapshot in found:
        info = hf_cache.snapshot_of(snapshot)
        if info is not None and "main" in info.refs:
            return snapshot
    return found[-1] if found else repo_root


def _read_text(path: Path) -> str:
    with path.open("rb") as handle:
        return handle.read(MAX_TEXT_BYTES).decode("utf-8", "replace")


def _card_claims(card: ModelCard, file: str) -> list[Claim]:
    claims = []
    declared_all = card.licenses
    if len(declared_all) > 1 and "other" not in (d.lower() for d in declared_all):
        declared_all = (" AND ".join(declared_all),)  # a list in the card: all of them bind
    for declared in declared_all:
        if declared.lower() == "other":
            claims.append(_other(card, file))
            continue
        resolved = resolve(declared)
        confidence = "medium" if resolved.applies and not resolved.unknown else "none"
        claims.append(
            Claim(
                "model card",
                file,
                declared,
                resolved.applies,
                resolved.named,
                resolved.unknown,
                confidence,
            )
        )
    return claims


def _other(card: ModelCard, file: str) -> Claim:
    """`license: other`: the license is named by `license_name` or linked by `license_link`."""
    return _named("model card", file, card.license_name, card.license_link)


def _named(source: str, file: str, name: str, link: str) -> Claim:
    """A license given by name (an id, a name or an expression) or else by a link to its text."""
    value = f"other ({name or link or 'no license_name'})"
    terms = knowledge.lookup(name) if name else None
    if terms is None and name:
        resolved = resolve(name)  # "Apache 2.0 with Commons Clause"
        if resolved.applies and not resolved.unknown:
            return Claim(source, file, name, resolved.applies, resolved.named, (), "medium")
    if terms is None and link:
        terms = knowledge.lookup_url(link)
    if terms is None:
        unknown = (name or link or "other",)
        card = source == "model card"  # AIR803 speaks of the card's `license_name`
        return Claim(source, file, value, (), (), unknown, "none", other_unresolved=card)
    return Claim(source, file, value, (terms.id,), (terms.id,), (), "medium")


def _file_claim(item: ArtifactFile) -> Claim:
    kind = classify(item.path.name)
    assert kind is not None  # collect() reads only the files classify() knows
    source, role = kind.source, kind.role
    text = _read_text(item.path)
    split = split_riders(text)  # "Commons Clause" above a license text: that license WITH it
    match = identify(split.base) if role != "policy" else None
    if match is not None:
        ids = (match.license_id, *split.riders)
        return Claim(
            source, item.display, "(license text)", ids, ids, (), match.confidence, role, match
        )
    mentioned = tuple(t.id for t in knowledge.mentioned_in(text))
    if role != "notice" and len(text.split()) <= POINTER_WORDS:  # notices are weighed apart
        mentioned = mentioned or tuple(t.id for t in knowledge.attributed_in(text))
    if len(mentioned) == 1:  # a short pointer: "Licensed under the Apache License 2.0"
        return Claim(
            source, item.display, "(names the license)", mentioned, mentioned, (), "low", role
        )
    unknown = () if role in ("notice", "policy") else ("(unrecognized license text)",)
    return Claim(source, item.display, "(text)", (), mentioned, unknown, "none", role)


def _notice_evidence(item: ArtifactFile) -> list[Claim]:
    """A NOTICE line a model license makes distributors ship ("Llama 3.1 is licensed under the
    Llama 3.1 Community License", "Licensed by NVIDIA Corporation under the NVIDIA Open Model
    License") is evidence that the model carries that license, weighed like any declaration
    but at low confidence. License texts and other licenses a NOTICE names (the Apache
    convention of listing bundled components) stay informational."""
    ids = tuple(t.id for t in knowledge.attributed_in(_read_text(item.path)))
    if not ids:
        return []
    return [Claim("notice file", item.display, "(attribution line)", ids, ids, (), "low", "model")]


def _gguf_claims(item: ArtifactFile) -> list[Claim]:
    """`general.license` (an id or expression), else, for `other` or nothing, the license named
    by `general.license.name` or linked by `general.license.link`, as a card's `license: other`."""
    try:
        metadata = read_index(item.path).metadata
    except (GgufError, OSError):
        return []
    keys = (GGUF_LICENSE, GGUF_LICENSE_NAME, GGUF_LICENSE_LINK)
    declared, name, link = (_gguf_text(metadata.get(key)) for key in keys)
    if declared.lower() in ("", "other") and (name or link):
        return [_named("gguf metadata", item.display, name, link)]
    if not declared:
        return []
    resolved = resolve(declared)
    confidence = "medium" if resolved.applies and not resolved.unknown else "none"
    return [
        Claim(
            "gguf metadata",
            item.display,
            declared,
            resolved.applies,
            resolved.named,
            resolved.unknown,
            confidence,
        )
    ]


def _gguf_text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""
