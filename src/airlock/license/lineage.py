"""Declared lineage: the base models a model folder says it was built from, and the licenses
that bind through each of them.

Read from the model card (`base_model`, `base_model_relation`), a PEFT `adapter_config.json`
(`base_model_name_or_path`), mergekit recipes (every source model), GGUF metadata
(`general.base_model.*`, `general.source.repo_url`) and `config.json` `_name_or_path` where it
names a hub repository. Nothing is loaded or run: JSON and YAML (safe_load) of bounded size,
and only the metadata header of a GGUF file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

import airlock.license.base_models as base_models
from airlock.headers.gguf_index import GgufError, read_index
from airlock.license.card import ModelCard
from airlock.license.sources import Collected

RELATIONS = ("adapter", "merge", "quantized", "finetune")  # as the Hub names them
MAX_CONFIG_BYTES = 1024 * 1024
MAX_RECIPE_BYTES = 256 * 1024  # a recipe is a few KiB; a larger YAML is not parsed
MAX_SOURCES = 256  # entries read from one list: a recipe naming more is not a real merge
_HUB_URL = re.compile(r"^https?://(?:www\.)?huggingface\.co/", re.I)
# A hub repo id: `org/name`, letters, digits, `-`, `_`, `.`; not a local or relative path.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")
_RECIPE_NAMES = ("mergekit_config.yml", "mergekit_config.yaml")
_VAGUE = ("base", "unknown")  # relations a more specific declaration of the same repo replaces
_UNKNOWN = "license unknown"


@dataclass(frozen=True)
class Ancestor:
    repo: str  # hub repo id as declared, e.g. "meta-llama/Llama-3.1-8B-Instruct"
    relation: str  # adapter | merge | quantized | finetune | base | unknown
    declared_in: str  # file and field, e.g. "README.md: base_model"
    license_ids: tuple[str, ...]  # knowledge ids that bind through this ancestor; () = unknown
    certainty: str  # "declared" | "likely"
    evidence: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "relation": self.relation,
            "declared_in": self.declared_in,
            "license_ids": list(self.license_ids),
            "certainty": self.certainty,
            "evidence": list(self.evidence),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ancestor:
        return cls(
            repo=data["repo"],
            relation=data["relation"],
            declared_in=data["declared_in"],
            license_ids=tuple(data["license_ids"]),
            certainty=data["certainty"],
            evidence=tuple(data["evidence"]),
        )

    @property
    def file(self) -> str:
        """The file that declares it, relative to the model folder."""
        return self.declared_in.split(": ", 1)[0]


def read_lineage(collected: Collected) -> tuple[Ancestor, ...]:
    """Every declared ancestor, once each (the first declaration names it, the others are
    evidence), with the licenses that bind through it."""
    root = collected.root
    top = {
        f.path.name: f.path
        for f in collected.files
        if f.path.parent == root and not f.escapes_root and f.path.is_file()
    }
    ggufs = [f.path for f in collected.files if f.path.suffix.lower() == ".gguf"]
    config = _json(top.get("config.json"))
    recipes = [(name, r) for name, path in sorted(top.items()) if (r := _recipe(name, path))]
    found = [
        *_from_card(
            collected.card, _inferred_relation(collected.card, top, recipes, ggufs, config)
        ),
        *_from_adapter(top.get("adapter_config.json")),
        *(a for name, recipe in recipes for a in _from_recipe(name, recipe)),
        *(a for path in ggufs for a in _from_gguf(path, root)),
        *_from_config(config),
    ]
    # A Hugging Face cache folder knows its own repo id: a model is not its own ancestor.
    own = {f.snapshot.repo_id.lower() for f in collected.files if f.snapshot is not None}
    return _merged([a for a in found if a.repo.lower() not in own])


def _from_card(card: ModelCard | None, relation: tuple[str, str]) -> list[Ancestor]:
    if card is None:
        return []
    kind, why = relation
    return [_ancestor(r, kind, "README.md: base_model", (why,)) for r in card.base_models]


def _inferred_relation(
    card: ModelCard | None,
    top: dict[str, Path],
    recipes: list[tuple[str, dict[str, Any]]],
    ggufs: list[Path],
    config: dict[str, Any],
) -> tuple[str, str]:
    """The card's `base_model_relation`, else what the Hub would infer from the folder."""
    stated = card.base_model_relation if card is not None else ""
    if stated in RELATIONS:
        return stated, "relation stated by base_model_relation"
    if "adapter_config.json" in top:
        return "adapter", "relation inferred: the folder holds adapter_config.json"
    if recipes or (card is not None and len(card.base_models) > 1):
        return "merge", "relation inferred: a merge recipe or more than one base model"
    if ggufs or "quantization_config" in config:
        return "quantized", "relation inferred: GGUF files or a quantization_config"
    return "finetune", "relation inferred: no adapter, merge or quantization found"


def _from_adapter(path: Path | None) -> list[Ancestor]:
    base = _json(path).get("base_model_name_or_path")
    if not isinstance(base, str) or not base.strip():
        return []
    return [_ancestor(base, "adapter", "adapter_config.json: base_model_name_or_path")]


def _recipe(name: str, path: Path) -> dict[str, Any] | None:
    """A mergekit recipe: `mergekit_config.yml`, or any top-level YAML with a `merge_method`
    (or a mergekit-moe `experts` list)."""
    if Path(name).suffix.lower() not in (".yml", ".yaml"):
        return None
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_RECIPE_BYTES + 1)
        if len(raw) > MAX_RECIPE_BYTES:
            return None
        loaded = yaml.safe_load(raw.decode("utf-8", "replace"))
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(loaded, dict):
        return None
    if name.lower() in _RECIPE_NAMES or "merge_method" in loaded or "experts" in loaded:
        return loaded
    return None


def _from_recipe(name: str, recipe: dict[str, Any]) -> list[Ancestor]:
    named: list[tuple[str, object]] = [("base_model", recipe.get("base_model"))]
    for i, entry in enumerate(_items(recipe.get("models"))):
        named.append(
            (f"models[{i}].model", entry if isinstance(entry, str) else _get(entry, "model"))
        )
    for i, piece in enumerate(_items(recipe.get("slices"))):
        for j, source in enumerate(_items(_get(piece, "sources"))):
            named.append((f"slices[{i}].sources[{j}].model", _get(source, "model")))
    for i, expert in enumerate(_items(recipe.get("experts"))):
        named.append((f"experts[{i}].source_model", _get(expert, "source_model")))
    found = []
    for field, reference in named:
        for repo in _model_paths(reference):
            found.append(_ancestor(repo, "merge", f"{name}: {field}"))
    return found


def _model_paths(reference: object) -> list[str]:
    """mergekit's model reference: `path`, `path+lora`, `path@revision`, or a mapping with
    `model`/`path` and `lora`."""
    if isinstance(reference, dict):
        return [p for key in ("model", "path", "lora") for p in _model_paths(reference.get(key))]
    if not isinstance(reference, str):
        return []
    return [part.split("@", 1)[0].strip() for part in reference.split("+") if part.strip()]


def _from_gguf(path: Path, root: Path) -> list[Ancestor]:
    try:
        metadata = read_index(path).metadata
    except (GgufError, OSError):
        return []
    name = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
    found = []
    source = metadata.get("general.source.repo_url")
    if isinstance(source, str) and _HUB_URL.match(source):
        found.append(_ancestor(_repo_of(source), "quantized", f"{name}: general.source.repo_url"))
    count = metadata.get("general.base_model.count")
    for i in range(min(count, MAX_SOURCES) if isinstance(count, int) else 0):
        key = f"general.base_model.{i}"
        url, title, org = (metadata.get(f"{key}.{f}") for f in ("repo_url", "name", "organization"))
        if isinstance(url, str) and _HUB_URL.match(url):
            found.append(_ancestor(_repo_of(url), "base", f"{name}: {key}.repo_url"))
        elif isinstance(title, str) and title.strip():
            # gguf-py writes `name` and `organization` as titles of the repo id ("Meta Llama
            # 3.1 8B"): joined with hyphens they match the id without regard to case.
            repo = "/".join(s.strip().replace(" ", "-") for s in (org, title) if isinstance(s, str))
            why = "repo id rebuilt from its name and organization"
            found.append(_ancestor(repo, "base", f"{name}: {key}.name", (why,)))
    return found


def _from_config(config: dict[str, Any]) -> list[Ancestor]:
    """`_name_or_path` is where transformers loaded the weights from before saving them: a
    local path, the model itself, or its base. Only a hub id is taken, and only a known base
    counts as declared."""
    named = config.get("_name_or_path")
    if not isinstance(named, str) or not _HUB_ID.match(named.strip()):
        return []
    found = _ancestor(named, "unknown", "config.json: _name_or_path")
    if found.license_ids:
        return [found]
    why = "named only by config.json `_name_or_path`, which may be the model itself: not counted"
    return [replace(found, certainty="likely", evidence=(*found.evidence, why))]


def _ancestor(
    repo: str, relation: str, declared_in: str, evidence: tuple[str, ...] = ()
) -> Ancestor:
    repo = _repo_of(repo) if _HUB_URL.match(repo.strip()) else repo.strip()
    row = base_models.lookup(repo)
    if row is None:
        said: tuple[str, ...] = (f"not in Airlock's list of well-known base models: {_UNKNOWN}",)
        return Ancestor(repo, relation, declared_in, (), "declared", (*evidence, *said))
    said = (f"license from {row.source}", *((row.note,) if row.note else ()))
    return Ancestor(repo, relation, declared_in, row.licenses, "declared", (*evidence, *said))


def _merged(found: list[Ancestor]) -> tuple[Ancestor, ...]:
    """One entry per repository: the first declaration, a stated relation over a vague one,
    `declared` over `likely`, and where else it is declared as evidence."""
    merged: dict[str, Ancestor] = {}
    for ancestor in found:
        first = merged.setdefault(ancestor.repo.lower(), ancestor)
        if first is ancestor:
            continue
        vague = first.relation in _VAGUE and ancestor.relation not in _VAGUE
        declared = "declared" in (first.certainty, ancestor.certainty)
        merged[ancestor.repo.lower()] = replace(
            first,
            relation=ancestor.relation if vague else first.relation,
            certainty="declared" if declared else "likely",
            evidence=tuple(dict.fromkeys((*first.evidence, f"also in {ancestor.declared_in}"))),
        )
    return tuple(merged.values())


def _repo_of(url: str) -> str:
    parts = _HUB_URL.sub("", url.strip()).strip("/").split("/")
    return "/".join(parts[:2])


def _json(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
        loaded = json.loads(raw) if len(raw) <= MAX_CONFIG_BYTES else None
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _items(value: object) -> list[object]:
    return list(value[:MAX_SOURCES]) if isinstance(value, list) else []


def _get(value: object, key: str) -> object:
    return value.get(key) if isinstance(value, dict) else None
