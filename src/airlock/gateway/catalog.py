"""Which models may be served: the admitted versions, each with the hash manifest it was admitted
with. A narrow seam so the gateway depends on a lookup, not on how the registry stores it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from airlock.gateway.errors import GatewayError
from airlock.provenance.manifest import FileDigest

# Weight files count toward the memory budget; configs and tokenizers are negligible.
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".onnx", ".h5", ".ckpt")


@dataclass(frozen=True)
class AdmittedModel:
    name: str
    source: Path
    files: tuple[FileDigest, ...]
    version: int = 0
    digest: str = ""  # the manifest digest recorded at admission
    # Why it is not served (None: servable): no engine serves it, as decided at admission, or
    # it is suspended (`airlock revet`). Such a model is not listed in /v1/models, and a
    # request for it is answered with this reason (`refusal`).
    not_servable: str | None = None
    suspended: bool = False  # `not_servable` is a suspension: 403 model_suspended, not a 400
    # Options for the engine process `airlock serve --engine` starts for it, sorted (key, value).
    engine_options: tuple[tuple[str, int | float | str], ...] = ()

    @property
    def revision(self) -> tuple[int, str]:
        """Which admitted version this is: a new admit of the name changes it."""
        return (self.version, self.digest)

    @property
    def weight_bytes(self) -> int:
        weights = sum(f.size for f in self.files if f.path.endswith(WEIGHT_SUFFIXES))
        return weights or sum(f.size for f in self.files)


class ModelNotServable(GatewayError):
    """Admitted, but no engine recognises its files: asking again will not help (not a 503)."""

    code = "model_not_servable"

    def __init__(self, model: AdmittedModel) -> None:
        super().__init__(
            f"The model '{model.name}' is admitted but cannot be served: {model.not_servable}",
            param="model",
        )


class ModelSuspended(GatewayError):
    """Admitted, then suspended by a re-vet: refused until someone reviews and re-admits it."""

    status = 403
    type = "permission_error"
    code = "model_suspended"

    def __init__(self, model: AdmittedModel) -> None:
        super().__init__(
            f"The model '{model.name}' (version {model.version}) is {model.not_servable}. "
            "It is not served until an Airlock administrator reviews it and re-admits its files "
            "(`airlock admit SOURCE --name NAME`, which lifts the suspension); ask them to.",
            param="model",
        )


def refusal(model: AdmittedModel, *, needs_engine: bool = True) -> GatewayError | None:
    """Why this admitted version may not be served (the error to answer with), or None when it
    may: suspended (403 model_suspended) or no engine serves it (400 model_not_servable).
    `needs_engine=False` is for serving the files themselves (the hub mirror): only a
    suspension refuses them."""
    if model.suspended:
        return ModelSuspended(model)
    if model.not_servable is not None and needs_engine:
        return ModelNotServable(model)
    return None


class ModelCatalog(Protocol):
    def get(self, name: str) -> AdmittedModel | None: ...

    def names(self) -> list[str]:
        """The names of the models that can be served (what /v1/models lists)."""
        ...

    def forget(self) -> None:
        """Drop what is cached: the registry changed (gateway/changes.py)."""
        ...


class StaticCatalog:
    """A fixed set of admitted models (tests, and a registry snapshot taken at startup)."""

    def __init__(self, models: Iterable[AdmittedModel]) -> None:
        self._models: Mapping[str, AdmittedModel] = {m.name: m for m in models}

    def get(self, name: str) -> AdmittedModel | None:
        return self._models.get(name)

    def names(self) -> list[str]:
        return sorted(n for n, m in self._models.items() if m.not_servable is None)

    def forget(self) -> None:
        """A fixed set: nothing cached to drop."""
