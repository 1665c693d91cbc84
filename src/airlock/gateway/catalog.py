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
    # Why no engine serves it, as decided at admission (None: servable). Such a model is not
    # listed in /v1/models, and a request for it is answered with this reason.
    not_servable: str | None = None
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


class ModelCatalog(Protocol):
    def get(self, name: str) -> AdmittedModel | None: ...

    def names(self) -> list[str]:
        """The names of the models that can be served (what /v1/models lists)."""
        ...


class StaticCatalog:
    """A fixed set of admitted models (tests, and a registry snapshot taken at startup)."""

    def __init__(self, models: Iterable[AdmittedModel]) -> None:
        self._models: Mapping[str, AdmittedModel] = {m.name: m for m in models}

    def get(self, name: str) -> AdmittedModel | None:
        return self._models.get(name)

    def names(self) -> list[str]:
        return sorted(n for n, m in self._models.items() if m.not_servable is None)
