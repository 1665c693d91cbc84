"""The model family a folder most likely derives from, when its card declares no base model.

Inferred from facts the folder carries (special tokens, vocabulary size, architecture and
characteristic config values; see model_facts) matched against data/licenses/families.toml.
Never certain: a family is named only when facts of at least two independent kinds point to it
(tokenizer, vocabulary, architecture), one of them strong or all three agreeing. When a strong
fact points to another family as well, the answer is every family the signs point to, with the
licenses of all of them (fail closed), never a silent pick.
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import airlock.license.knowledge as knowledge
from airlock.findings import Finding, Location
from airlock.license.model_facts import ModelFacts, read_facts
from airlock.rules import rule

KINDS = ("tokenizer", "vocabulary", "architecture")
STRENGTHS = ("strong", "weak")


@dataclass(frozen=True)
class Fingerprint:
    """One fact of one kind that identifies a family (see families.toml for the fields)."""

    kind: str  # tokenizer | vocabulary | architecture
    strength: str  # strong | weak
    source: str
    token_ids: tuple[tuple[str, int], ...] = ()
    tokens: tuple[str, ...] = ()
    pre: tuple[str, ...] = ()
    sizes: tuple[int, ...] = ()
    architectures: tuple[str, ...] = ()
    model_types: tuple[str, ...] = ()
    gguf: tuple[str, ...] = ()
    config: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Family:
    id: str
    label: str
    license_ids: tuple[str, ...]  # every license the family's models are published under
    licenses: str  # why those, in words
    fingerprints: tuple[Fingerprint, ...]


@dataclass(frozen=True)
class FamilyGuess:
    """A likely ancestor family. When the signs disagree, `family` and `label` name every
    family they point to ("llama3|gemma", "Llama 3 or Gemma") and `license_ids` holds all of
    their licenses: all are taken to apply until someone settles it."""

    family: str
    label: str
    license_ids: tuple[str, ...]
    evidence: tuple[str, ...]  # the facts seen, in words, each naming the file that says it
    strength: str  # strong (two strong kinds) | moderate | conflicting


@dataclass(frozen=True)
class _Match:
    family: Family
    seen: tuple[tuple[Fingerprint, str], ...]  # each matched fingerprint with its evidence

    def kinds(self, strength: str | None = None) -> set[str]:
        return {fp.kind for fp, _ in self.seen if strength in (None, fp.strength)}

    @property
    def passes(self) -> bool:
        kinds = self.kinds()
        return len(kinds) >= 2 and (bool(self.kinds("strong")) or len(kinds) == len(KINDS))

    @property
    def facts(self) -> frozenset[str]:
        return frozenset(evidence for _, evidence in self.seen)


def infer_family(root: Path) -> FamilyGuess | None:
    """The family `root` (a model folder, a Hugging Face cache snapshot or a GGUF file) most
    likely derives from, or None when fewer than two independent kinds of signs point anywhere.
    Meant for models that declare no base model: a declared one says more than any sign."""
    wanted = {token for f in families() for fp in f.fingerprints for token, _ in fp.token_ids}
    return guess(read_facts(root, sorted(wanted)))


def guess(facts: ModelFacts) -> FamilyGuess | None:
    """The families.toml reading of `facts` (see the module docstring for the rule)."""
    matches = [m for m in (_match(f, facts) for f in families()) if m.seen]
    chosen = [m for m in matches if m.passes]
    if not chosen:
        return None
    named = {m.family.id for m in chosen}
    read = frozenset().union(*(m.facts for m in chosen))
    # A strong fact that only another family carries contradicts the reading: keep both.
    chosen += [m for m in matches if m.family.id not in named and _contradicts(m, read)]
    if len(chosen) == 1:
        only, family = chosen[0], chosen[0].family
        strength = "strong" if len(only.kinds("strong")) >= 2 else "moderate"
        evidence = tuple(text for _, text in only.seen)
        return FamilyGuess(family.id, family.label, family.license_ids, evidence, strength)
    return FamilyGuess(
        "|".join(m.family.id for m in chosen),
        " or ".join(m.family.label for m in chosen),
        tuple(dict.fromkeys(i for m in chosen for i in m.family.license_ids)),
        tuple(f"{m.family.label}: {text}" for m in chosen for _, text in m.seen),
        "conflicting",
    )


def _contradicts(match: _Match, read: frozenset[str]) -> bool:
    return any(fp.strength == "strong" and text not in read for fp, text in match.seen)


def likely_inherited_finding(found: FamilyGuess, display: str) -> Finding:
    """AIR810, for a model whose card declares no base model."""
    names = [knowledge.by_id(i).name for i in found.license_ids]
    signs = "; ".join(found.evidence)
    if len(names) == 1:
        duties = f"its license duties likely apply ({names[0]})"
    else:
        duties = (
            f"its license duties likely apply: those of {', '.join(names)}, the most "
            "restrictive taken to apply until the base is known"
        )
    if found.strength == "conflicting":
        said = (
            f"The folder carries signs of more than one model family ({signs}); derived from "
            f"{found.label}, {duties}"
        )
    else:
        said = f"Derived from {found.label} by every sign ({signs}); {duties}"
    message = (
        f"{said}. The model card declares no base model: name it (`base_model`) or find out "
        "where the weights come from."
    )
    evidence = f"{found.family}: {', '.join(found.license_ids)}"
    rule_id = "AIR810"
    return Finding(rule_id, rule(rule_id).default_severity, display, Location(), message, evidence)


@functools.cache
def families() -> tuple[Family, ...]:
    source = resources.files("airlock.data").joinpath("licenses", "families.toml")
    return tuple(_family(raw) for raw in tomllib.loads(source.read_text("utf-8"))["family"])


def _family(raw: dict[str, Any]) -> Family:
    prints = tuple(_fingerprint(fp) for fp in raw["fingerprint"])
    return Family(raw["id"], raw["label"], tuple(raw["license_ids"]), raw["licenses"], prints)


def _fingerprint(raw: dict[str, Any]) -> Fingerprint:
    if raw["kind"] not in KINDS or raw["strength"] not in STRENGTHS:
        raise ValueError(f"families.toml: bad kind or strength in {raw}")
    return Fingerprint(
        kind=raw["kind"],
        strength=raw["strength"],
        source=raw["source"],
        token_ids=tuple(raw.get("token_ids", {}).items()),
        tokens=tuple(raw.get("tokens", ())),
        pre=tuple(raw.get("pre", ())),
        sizes=tuple(raw.get("sizes", ())),
        architectures=tuple(raw.get("architectures", ())),
        model_types=tuple(raw.get("model_types", ())),
        gguf=tuple(raw.get("gguf", ())),
        config=tuple((k, float(v)) for k, v in raw.get("config", {}).items()),
    )


def _match(family: Family, facts: ModelFacts) -> _Match:
    seen = []
    for fp in family.fingerprints:
        evidence = _evidence(fp, facts)
        if evidence is not None:
            seen.append((fp, evidence))
    return _Match(family, tuple(seen))


def _evidence(fp: Fingerprint, facts: ModelFacts) -> str | None:
    """The fact `fp` asks for, in words with the file that states it; None when not seen."""
    if fp.token_ids:
        if any(facts.token_ids.get(t, (None, ""))[0] != i for t, i in fp.token_ids):
            return None
        listed = ", ".join(f"{t} (id {i})" for t, i in fp.token_ids)
        return (
            f"special tokens {listed} in {_files(facts.token_ids[t][1] for t, _ in fp.token_ids)}"
        )
    if fp.tokens:
        files = [_token_file(facts, t) for t in fp.tokens]
        if "" in files:
            return None
        return f"special tokens {', '.join(fp.tokens)} in {_files(files)}"
    if fp.pre:
        pre = next((p for p in fp.pre if p in facts.pre), None)
        return None if pre is None else f"GGUF pre-tokenizer {pre} in {facts.pre[pre]}"
    if fp.sizes:
        size = next((s for s in fp.sizes if s in facts.vocab_sizes), None)
        if size is None:
            return None
        return f"a vocabulary of {size:,} tokens in {facts.vocab_sizes[size]}"
    return _architecture(fp, facts)


def _token_file(facts: ModelFacts, token: str) -> str:
    """The file naming `token` as a special token (with an id or without), or ""."""
    if token in facts.token_ids:
        return facts.token_ids[token][1]
    return facts.tokens.get(token, "")


def _architecture(fp: Fingerprint, facts: ModelFacts) -> str | None:
    named = [
        (f"{label} {name}", seen[name])
        for label, names, seen in (
            ("architecture", fp.architectures, facts.architectures),
            ("model_type", fp.model_types, facts.model_types),
            ("GGUF architecture", fp.gguf, facts.gguf_architectures),
        )
        for name in names
        if name in seen
    ]
    if not named:
        return None
    values = []
    for key, expected in fp.config:
        value, _ = facts.config.get(key, (math.nan, ""))
        if not math.isclose(value, expected, rel_tol=1e-6):
            return None
        values.append(f"{key} {expected:g}")
    what, where = named[0]
    return f"{what}{' with ' + ', '.join(values) if values else ''} in {where}"


def _files(files: Iterable[str]) -> str:
    return ", ".join(dict.fromkeys(files))
