"""The model card: YAML front matter of README.md (`license`, `license_name`, `license_link`,
`datasets`, `model-index`, `base_model`, `base_model_relation`) and the body's headings that
openness looks for."""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

# Front matter is metadata, a few KiB in practice; a larger block is not parsed (YAML bombs).
MAX_FRONT_MATTER = 256 * 1024
_FENCE = re.compile(r"^---[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class ModelCard:
    licenses: tuple[str, ...]  # the `license` field: one id or expression, or a list of them
    license_name: str
    license_link: str
    datasets: tuple[str, ...]
    has_model_index: bool
    body: str
    problem: str = ""  # why the front matter could not be read, if it could not
    base_models: tuple[str, ...] = ()  # `base_model`: one hub id or a list (a merge)
    base_model_relation: str = ""  # adapter | merge | quantized | finetune, when stated


def parse_card(text: str) -> ModelCard:
    text = text.removeprefix("\ufeff")
    meta, body, problem = _front_matter(text)
    return ModelCard(
        licenses=_strings(meta.get("license")),
        license_name=" ".join(_strings(meta.get("license_name"))),
        license_link=" ".join(_strings(meta.get("license_link"))),
        datasets=_strings(meta.get("datasets")),
        has_model_index=bool(meta.get("model-index")),
        body=body,
        problem=problem,
        base_models=_strings(meta.get("base_model")),
        base_model_relation=" ".join(_strings(meta.get("base_model_relation"))).lower(),
    )


def _front_matter(text: str) -> tuple[dict[str, object], str, str]:
    if not text.startswith("---"):
        return {}, text, ""
    first = _FENCE.match(text)
    end = _FENCE.search(text, first.end()) if first else None
    if first is None or end is None:
        return {}, text, "the front matter has no closing `---`"
    block = text[first.end() : end.start()]
    if len(block) > MAX_FRONT_MATTER:
        return {}, text[end.end() :], f"the front matter is over {MAX_FRONT_MATTER} bytes"
    try:
        meta = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        return {}, text[end.end() :], f"the front matter is not valid YAML: {exc}".splitlines()[0]
    return (meta if isinstance(meta, dict) else {}), text[end.end() :], ""


def _strings(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(item).strip() for item in value if str(item).strip())
    return (str(value).strip(),) if str(value).strip() else ()
