"""What building a dossier needs to know beyond the model: the organization's trusted names and
keys and how many devices a model may span. A policy provides them (`Policy.dossier_options`),
but the dossier never reads a policy: the verdict comes later, from the facts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DossierOptions:
    trusted_globals: tuple[str, ...] = ()  # pickle globals and config targets also trusted
    max_devices: int = 1  # accelerators one model may span when it is sized
    trusted_keys: tuple[Path, ...] = ()  # public keys a signature is checked against
    signature_required: bool = False  # a missing signature is "absent", not "not_checked"
