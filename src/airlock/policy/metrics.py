"""The metrics a quality requirement may name, and which way each is better
(`data/eval_metrics.toml`)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

_AT_K = re.compile(r"([a-z_]+)@([0-9]+)")


@dataclass(frozen=True)
class Metric:
    name: str  # as results carry it: "ndcg@10", "wer"
    higher_is_better: bool
    lowest: float
    highest: float | None  # None: no upper bound


@dataclass(frozen=True)
class _Family:
    at_k: bool
    higher_is_better: bool
    lowest: float
    highest: float | None


@cache
def _families() -> dict[str, _Family]:
    text = resources.files("airlock.data").joinpath("eval_metrics.toml").read_text("utf-8")
    return {
        name: _Family(
            at_k=entry.get("at_k", False),
            higher_is_better=entry["better"] == "higher",
            lowest=float(entry["lowest"]),
            highest=float(entry["highest"]) if "highest" in entry else None,
        )
        for name, entry in tomllib.loads(text)["metrics"].items()
    }


def resolve(name: str) -> Metric | None:
    """The metric `name` names (case-insensitive), None when it names none; ValueError for a
    known metric written without its cutoff, or with one it does not take."""
    wanted = name.strip().lower()
    at_k = _AT_K.fullmatch(wanted)
    family = at_k.group(1) if at_k else wanted
    known = _families().get(family)
    if known is None:
        return None
    if known.at_k != bool(at_k) or (at_k and int(at_k.group(2)) < 1):
        shape = f"{family}@k with k from 1, e.g. {family}@10" if known.at_k else family
        raise ValueError(f"{name!r} is written {shape}")
    return Metric(wanted, known.higher_is_better, known.lowest, known.highest)


def spellings(name: str) -> list[str]:
    """Every metric name, cutoffs at the one `name` has (else 10): for "did you mean"."""
    at_k = _AT_K.fullmatch(name.strip().lower())
    k = at_k.group(2) if at_k else "10"
    return [f"{family}@{k}" if f.at_k else family for family, f in _families().items()]
