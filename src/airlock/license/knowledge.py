"""The license knowledge base: one entry per license, loaded from data/licenses/knowledge.toml."""

from __future__ import annotations

import enum
import functools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any


class CommercialUse(enum.StrEnum):
    """What a license lets an organization do commercially (JSON: the value)."""

    YES = "yes"
    CONDITIONAL = "conditional"  # a user or revenue threshold applies
    NO = "no"
    UNKNOWN = "unknown"


class OutputsTraining(enum.StrEnum):
    """Whether the model's outputs may train other models (JSON: the value)."""

    FREE = "free"
    CONDITIONAL = "conditional"
    RESTRICTED = "restricted"
    BARRED = "barred"


# Most permissive first; "unknown" ranks lowest so that doubt never passes.
COMMERCIAL_RANK = {
    CommercialUse.YES: 3,
    CommercialUse.CONDITIONAL: 2,
    CommercialUse.NO: 1,
    CommercialUse.UNKNOWN: 0,
}
_WORDS = re.compile(r"[a-z0-9+]+")


@dataclass(frozen=True)
class Threshold:
    metric: str  # monthly_active_users | annual_revenue_usd
    limit: int
    note: str


@dataclass(frozen=True)
class LicenseTerms:
    id: str
    name: str
    url: str
    spdx: str
    aliases: tuple[str, ...]
    osi_approved: bool
    open_license: bool
    commercial_use: CommercialUse
    thresholds: tuple[Threshold, ...]
    attribution: str
    naming: str
    notice: str
    use_restrictions: str
    restrictions_pass_downstream: bool
    outputs_training: OutputsTraining
    outputs_note: str
    geographic: str
    share_alike: bool
    obligations: tuple[str, ...]
    urls: tuple[str, ...] = ()  # other addresses cards link the text at (`license_link`)
    # Lines the license makes distributors ship or display ("Llama 3.1 is licensed under the
    # Llama 3.1 Community License"): a NOTICE that carries one is evidence of the license.
    notice_lines: tuple[str, ...] = ()
    rider: bool = False  # adds a restriction to another license (Commons Clause), never alone

    def restrictions(self) -> tuple[str, ...]:
        """Limits on use, in plain language, each saying whether it binds downstream users.

        Each duty of a license is stated in one field of its entry, once: a threshold in
        `thresholds` (shown as a condition), a use policy in `use_restrictions`, limits on
        outputs in `outputs_note`, share-alike in `share_alike`; `obligations` holds only the
        duties no other field states (tests/license/test_duties.py checks every entry)."""
        found = []
        if self.use_restrictions:
            passes = self.restrictions_pass_downstream
            text = self.use_restrictions
            found.append(f"{text.rstrip('.')} (binding downstream users too)." if passes else text)
        if self.outputs_training != "free" and self.outputs_note:
            found.append(f"Outputs and training other models: {self.outputs_note}")
        if self.geographic:
            found.append(f"Geographic: {self.geographic}")
        if self.share_alike:
            found.append(
                "Adapted material must be shared under the same license or a compatible one "
                "(share-alike)."
            )
        return tuple(found)


def key(text: str) -> str:
    """How names are compared: lowercase words, punctuation and spacing ignored."""
    return " ".join(_WORDS.findall(text.lower().replace("licence", "license")))


@functools.cache
def entries() -> tuple[LicenseTerms, ...]:
    source = resources.files("airlock.data").joinpath("licenses", "knowledge.toml")
    return tuple(_entry(raw) for raw in tomllib.loads(source.read_text("utf-8"))["license"])


@functools.cache
def _index() -> dict[str, LicenseTerms]:
    index: dict[str, LicenseTerms] = {}
    for terms in entries():
        for name in (terms.id, terms.name, terms.spdx, *terms.aliases):
            if name:
                index.setdefault(key(name), terms)
    return index


def by_id(license_id: str) -> LicenseTerms:
    return next(terms for terms in entries() if terms.id == license_id)


def lookup(name: str) -> LicenseTerms | None:
    """The entry an id, SPDX id, name or alias names, if any."""
    return _index().get(key(name)) if name.strip() else None


def lookup_url(url: str) -> LicenseTerms | None:
    """The entry whose text this URL points at (its `url` or one of its `urls`)."""
    wanted = _bare_url(url)
    return next(
        (t for t in entries() if wanted and wanted in {_bare_url(u) for u in (t.url, *t.urls)}),
        None,
    )


def mentioned_in(text: str) -> tuple[LicenseTerms, ...]:
    """Entries whose full name appears in a short text ("Licensed under the Apache License 2.0")."""
    words = f" {key(text)} "
    return tuple(t for t in entries() if f" {key(t.name)} " in words)


def attributed_in(text: str) -> tuple[LicenseTerms, ...]:
    """Entries one of whose required notice or attribution lines the text carries. A line that
    names one license ("Llama 3.1 is licensed under ...") outweighs one several require
    ("Built with Llama"), which alone stands for all of them."""
    words = f" {key(text)} "
    found = {line: [t for t in entries() if line in t.notice_lines] for line in _notice_lines()}
    carried = {line: owners for line, owners in found.items() if f" {key(line)} " in words}
    own = [owners[0] for owners in carried.values() if len(owners) == 1]
    shared = [t for owners in carried.values() if len(owners) > 1 for t in owners]
    return tuple(dict.fromkeys(own or shared))


@functools.cache
def _notice_lines() -> tuple[str, ...]:
    return tuple(dict.fromkeys(line for t in entries() for line in t.notice_lines))


def label(ids: tuple[str, ...] | list[str]) -> str:
    """How a set of binding ids reads: riders as `WITH` their base, other licenses `AND`."""
    base = [i for i in ids if not by_id(i).rider]
    riders = [i for i in ids if by_id(i).rider]
    return " WITH ".join([" AND ".join(base), *riders] if base else riders)


def _bare_url(url: str) -> str:
    """A URL without scheme, `www.`, trailing slash or spelling of "licence"; a Hugging Face
    file's `raw/` and `resolve/` addresses are the same file as its `blob/` page."""
    bare = url.strip().lower().split("://", 1)[-1].removeprefix("www.").rstrip("/")
    bare = bare.replace("licence", "license")
    if bare.startswith("huggingface.co/"):
        bare = bare.replace("/raw/", "/blob/").replace("/resolve/", "/blob/")
    return bare if "/" in bare else ""


def _entry(raw: dict[str, Any]) -> LicenseTerms:
    return LicenseTerms(
        id=raw["id"],
        name=raw["name"],
        url=raw["url"],
        spdx=raw.get("spdx", ""),
        aliases=tuple(raw.get("aliases", ())),
        osi_approved=raw["osi_approved"],
        open_license=raw["open_license"],
        commercial_use=CommercialUse(raw["commercial_use"]),
        thresholds=tuple(Threshold(**t) for t in raw.get("thresholds", ())),
        attribution=raw.get("attribution", ""),
        naming=raw.get("naming", ""),
        notice=raw.get("notice", ""),
        use_restrictions=raw.get("use_restrictions", ""),
        restrictions_pass_downstream=raw.get("restrictions_pass_downstream", False),
        outputs_training=OutputsTraining(raw["outputs_training"]),
        outputs_note=raw.get("outputs_note", ""),
        geographic=raw.get("geographic", ""),
        share_alike=raw.get("share_alike", False),
        obligations=tuple(raw["obligations"]),
        urls=tuple(raw.get("urls", ())),
        notice_lines=tuple(raw.get("notice_lines", ())),
        rider=raw.get("rider", False),
    )
