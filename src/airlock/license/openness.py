"""Model Openness Framework (MOF, arXiv 2403.13784): which components the folder shows and the
class they support. Classes are cumulative, and every component needs an open license."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from airlock.license.card import ModelCard

WEIGHT_SUFFIXES = frozenset(
    {".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".onnx", ".h5", ".keras", ".npz"}
    | {".msgpack", ".tflite", ".pb"}
)
_ARXIV = re.compile(r"arxiv\.org/(abs|pdf)/|\barxiv:\s*\d{4}\.\d{4,5}", re.I)
_DATA_HEADING = re.compile(r"^#+\s.*\b(training data|dataset|data card)", re.I | re.M)
_EVAL_HEADING = re.compile(r"^#+\s.*\b(evaluation|benchmark|results)", re.I | re.M)
_CHECKPOINT_DIR = re.compile(r"(^|/)(checkpoint|step|ckpt)[-_]?\d+(/|$)", re.I)

# Class III (Open Model), then what class II (Open Tooling) and class I (Open Science) add.
CLASS_III = ("model architecture", "model weights", "model card", "data card",
             "evaluation results", "technical report")  # fmt: skip
CLASS_II = ("inference code", "training code", "evaluation code")
CLASS_I = ("research paper", "training datasets", "intermediate checkpoints")


@dataclass(frozen=True)
class Openness:
    present: tuple[str, ...]
    mof_class: str  # "I", "II", "III" or "" when no class is supported
    missing: tuple[str, ...]  # what the next class up needs (components or open licenses)
    license_open: bool


def assess_openness(
    names: list[str], card: ModelCard | None, license_open: bool, license_label: str
) -> Openness:
    """`names`: file paths relative to the model folder, with `/` separators."""
    present = [name for name, found in _components(names, card).items() if found]
    missing: list[str] = []
    reached = ""
    for label, needed in (("III", CLASS_III), ("II", CLASS_II), ("I", CLASS_I)):
        lacking = [c for c in needed if c not in present]
        if lacking or not license_open:
            missing = lacking
            if not license_open:
                missing.append(f"an open license for every component ({license_label} is not one)")
            break
        reached = label
    return Openness(tuple(present), reached, tuple(missing), license_open)


def _components(names: list[str], card: ModelCard | None) -> dict[str, bool]:
    suffixes = {Path(name).suffix.lower() for name in names}
    stems = [Path(name).name.lower() for name in names]
    code = [stem for stem in stems if stem.endswith(".py")]
    body = card.body if card is not None else ""
    report = bool(_ARXIV.search(body))
    return {
        "model architecture": any(s in ("config.json", "params.json") for s in stems),
        "model weights": bool(suffixes & WEIGHT_SUFFIXES),
        "model card": card is not None,
        "data card": card is not None and bool(card.datasets or _DATA_HEADING.search(body)),
        "evaluation results": card is not None
        and (card.has_model_index or bool(_EVAL_HEADING.search(body))),
        "technical report": report,
        "inference code": any("train" not in c and "eval" not in c for c in code),
        "training code": any("train" in c for c in code),
        "evaluation code": any("eval" in c for c in code),
        "research paper": report,
        "training datasets": any(Path(n).parts[0].lower() in ("data", "datasets") for n in names),
        "intermediate checkpoints": any(_CHECKPOINT_DIR.search(n) for n in names),
    }
