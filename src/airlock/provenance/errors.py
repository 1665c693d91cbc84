"""The one error the provenance commands raise for what the user handed in (exit code 2)."""

from __future__ import annotations


class ProvenanceError(Exception):
    """A path, key, certificate or signature file that is missing, unreadable or unusable."""
