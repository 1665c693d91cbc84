"""What a model folder says about itself, for a CycloneDX `modelCard`: the task and datasets
from the README front matter, the architecture from config.json, the card's Limitations section.

The license check's card reader keeps only license fields, so the front matter is read here too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Cards and configs are a few KiB; a larger one is not read.
MAX_TEXT = 1024 * 1024
MAX_LIMITATIONS = 20
_FENCE = re.compile(r"^---[ \t]*$", re.MULTILINE)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_BULLET = re.compile(r"^[ \t]*(?:[-*+]|\d+[.)])[ \t]+(.+)$")


@dataclass(frozen=True)
class CardFacts:
    task: str = ""  # pipeline_tag, e.g. text-generation
    architecture_family: str = ""  # config.json model_type, e.g. llama
    architecture: str = ""  # config.json architectures[0], e.g. LlamaForCausalLM
    datasets: tuple[str, ...] = ()
    limitations: tuple[str, ...] = ()

    def to_model_card(self) -> dict[str, Any]:
        """The CycloneDX 1.6 `modelCard` object, with only what is known."""
        parameters: dict[str, Any] = {}
        if self.task:
            parameters["task"] = self.task
        if self.architecture_family:
            parameters["architectureFamily"] = self.architecture_family
        if self.architecture:
            parameters["modelArchitecture"] = self.architecture
        if self.datasets:
            parameters["datasets"] = [{"type": "dataset", "name": d} for d in self.datasets]
        card: dict[str, Any] = {}
        if parameters:
            card["modelParameters"] = parameters
        if self.limitations:
            card["considerations"] = {"technicalLimitations": list(self.limitations)}
        return card


def read_card_facts(model: Path, files: Collection[str]) -> CardFacts:
    """Facts from `model`'s README.md and config.json, read only if listed in `files` (the
    manifest's: a link that leaves the folder is never read); empty for a single file."""
    if not model.is_dir():
        return CardFacts()
    meta, body = _front_matter(_read(model, "README.md", files))
    config = _json_object(_read(model, "config.json", files))
    architectures = config.get("architectures")
    return CardFacts(
        task=_text(meta.get("pipeline_tag")),
        architecture_family=_text(config.get("model_type")),
        architecture=_text(architectures[0]) if isinstance(architectures, list) else "",
        datasets=_texts(meta.get("datasets")),
        limitations=limitations(body),
    )


def limitations(markdown: str) -> tuple[str, ...]:
    """The items (or paragraphs) under the first heading that names limitations."""
    headings = list(_HEADING.finditer(markdown))
    for index, heading in enumerate(headings):
        if "limitation" not in heading.group(2).lower():
            continue
        level = len(heading.group(1))
        end = next(
            (h.start() for h in headings[index + 1 :] if len(h.group(1)) <= level), len(markdown)
        )
        return _items(markdown[heading.end() : end])[:MAX_LIMITATIONS]
    return ()


def _items(section: str) -> tuple[str, ...]:
    lines = [line for line in section.splitlines() if not _HEADING.match(line)]
    bullets = [m.group(1).strip() for line in lines if (m := _BULLET.match(line))]
    if bullets:
        return tuple(bullets)
    paragraphs = "\n".join(lines).split("\n\n")
    return tuple(" ".join(p.split()) for p in paragraphs if p.strip())


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    first = _FENCE.match(text)
    end = _FENCE.search(text, first.end()) if first else None
    if first is None or end is None:
        return {}, text
    try:
        meta = yaml.safe_load(text[first.end() : end.start()])
    except yaml.YAMLError:
        meta = None  # the license check reports a broken card; here it just tells us nothing
    return (meta if isinstance(meta, dict) else {}), text[end.end() :]


def _read(model: Path, name: str, files: Collection[str]) -> str:
    path = model / name
    try:
        if name in files and path.stat().st_size <= MAX_TEXT:
            return path.read_text(encoding="utf-8", errors="replace").removeprefix("\ufeff")
    except OSError:
        pass  # an unreadable card or config leaves the facts unknown, as a missing one does
    return ""


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _texts(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(item.strip() for item in items if isinstance(item, str) and item.strip())
