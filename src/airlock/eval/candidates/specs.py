"""Candidates as the command line names them: `--model NAME[@VERSION]` (an admitted model) and
`--endpoint NAME=URL[#MODEL]` (an OpenAI-compatible server; the model asked for is MODEL, or
NAME when there is no `#MODEL`: a URL's fragment never reaches the server)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True)
class ModelSpec:
    name: str
    version: int | None = None

    @property
    def label(self) -> str:
        return self.name if self.version is None else f"{self.name}@{self.version}"


@dataclass(frozen=True)
class EndpointSpec:
    name: str
    url: str
    model: str


def parse_model(text: str) -> ModelSpec:
    """Raises ValueError with the words of a usage error."""
    name, at, version = text.strip().rpartition("@") if "@" in text else (text.strip(), "", "")
    if not name:
        raise ValueError(f"expected NAME or NAME@VERSION, got {text!r}")
    if not at:
        return ModelSpec(name)
    if not version.isdigit() or not 1 <= int(version) <= 2**31 - 1:
        raise ValueError(f"expected NAME@VERSION with a version from 1, got {text!r}")
    return ModelSpec(name, int(version))


def parse_endpoint(text: str) -> EndpointSpec:
    name, equals, url = text.partition("=")
    name = name.strip()
    if not equals or not name or not url:
        raise ValueError(f"expected NAME=URL, e.g. prod=https://api.example.com/v1, got {text!r}")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port out of 0-65535 or not a number
    except ValueError as exc:
        raise ValueError(f"expected a URL after {name}=, got {url!r} ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL after {name}=, got {url!r}")
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
    return EndpointSpec(name, base, parts.fragment or name)
