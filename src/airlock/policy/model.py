"""An organization's intake rules, as frozen data; `schema.py` reads them from YAML."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from airlock.dossier.options import DossierOptions
from airlock.findings import Severity

# Kinds that load through pickle: raw pickles, PyTorch zip checkpoints, NumPy files.
PICKLE_KINDS = frozenset({"pickle", "zip", "numpy"})


@dataclass(frozen=True)
class LicenseRules:
    allow_unknown: bool = False
    require_commercial_use: bool = True
    allow_non_commercial: bool = False
    allow_output_restrictions: bool = True
    allowed: tuple[str, ...] = ()  # empty: any license the other rules accept
    denied: tuple[str, ...] = ()


@dataclass(frozen=True)
class SignatureRules:
    required: bool = False
    trusted_keys: tuple[Path, ...] = ()


@dataclass(frozen=True)
class FormatRules:
    refused: tuple[str, ...] = ()
    refuse_pickle_beside_safetensors: bool = True


@dataclass(frozen=True)
class ResourceRules:
    max_memory_gib: float | None = None
    accelerator: str | None = None
    max_devices: int = 1
    allow_unknown_size: bool = False

    @property
    def limited(self) -> bool:
        return self.max_memory_gib is not None or self.accelerator is not None


@dataclass(frozen=True)
class Waiver:
    """One finding the organization accepts: matched by rule, file and evidence digest."""

    rule: str  # a rule id, e.g. "AIR102"
    file: str  # the path within the model folder, forward slashes
    evidence: str  # sha256 hex of the finding's evidence text, as reports show it
    reason: str
    expires: date  # the last day it applies
    by: str  # who accepted it
    where: str  # "policy.yaml:12": where it is written, for warnings about it

    def applies_on(self, day: date) -> bool:
        return day <= self.expires


@dataclass(frozen=True)
class QualityRule:
    """A result the model's exact files must have on a dataset: a metric at least `min` (or at
    most `max`); without one, `on_missing` decides: refuse, or admit on condition."""

    dataset: str  # its name, as `airlock eval` recorded it
    metric: str  # e.g. "ndcg@10" (data/eval_metrics.toml)
    min: float | None  # exactly one of min and max is set
    max: float | None
    sha256: str | None  # only results on exactly this data count; None: any data of that name
    on_missing: str  # "refuse" | "conditional"
    where: str  # "policy.yaml:12"

    def passes(self, value: float) -> bool:
        if self.min is not None:
            return value >= self.min
        return self.max is not None and value <= self.max


@dataclass(frozen=True)
class Policy:
    name: str
    source: str  # the file it was read from, or "default"
    digest: str  # "sha256:<hex>" of the file's bytes: which rules a verdict was made under
    license: LicenseRules = LicenseRules()
    max_severity: Severity = Severity.LOW
    signature: SignatureRules = SignatureRules()
    formats: FormatRules = FormatRules()
    resources: ResourceRules = ResourceRules()
    pickle_globals: tuple[str, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    quality: tuple[QualityRule, ...] = ()

    def dossier_options(self) -> DossierOptions:
        """What building a dossier takes from this policy (never the verdict's rules)."""
        return DossierOptions(
            trusted_globals=self.pickle_globals,
            max_devices=self.resources.max_devices,
            trusted_keys=self.signature.trusted_keys,
            signature_required=self.signature.required,
        )
