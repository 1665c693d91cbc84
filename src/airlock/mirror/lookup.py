"""Which admitted version a mirror request gets: the one place that decides it.

Every mirror route (model info, tree, resolve) calls `MirrorIndex.find` and serves only what it
returns. A check that must stop a version from being served by the mirror (a suspension, a
recall) belongs in `find`, and nowhere else, so that no route can miss it.
"""

from __future__ import annotations

import threading
import time

from airlock.gateway.auth import KeyInfo
from airlock.gateway.catalog import refusal
from airlock.gateway.registry_catalog import admitted_model
from airlock.mirror.errors import RevisionNotFound, Suspended, repo_not_found
from airlock.registry.store import Record, Registry

# A short cache, as the gateway's catalog has: a download of N files costs no N database
# round trips, and a new admit shows within seconds.
CACHE_S = 2.0
DEFAULT_REVISION = "main"


class MirrorIndex:
    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._cache: dict[str, tuple[float, list[Record]]] = {}
        self._lock = threading.Lock()

    def find(self, repo_id: str, revision: str, key: KeyInfo | None) -> Record:
        """The admitted version `repo_id` at `revision` that `key` may download.

        `revision` is `main` (the newest admitted version with that repo id) or a version's
        own 40-hex revision (an older admitted version stays downloadable when pinned).
        Raises Suspended for a version a re-vet suspended (the newest one included: `main`
        never falls back to an older version, as the gateway does not); RepoNotFound when no
        version has that repo id or the key may not use the model (the same answer, so a key
        cannot probe for names); RevisionNotFound when the repo exists but not at that
        revision. `key` None: auth is off, every model is allowed.
        """
        versions = self._versions(repo_id)
        if not versions or (key is not None and not key.allows(versions[-1].name)):
            raise repo_not_found(repo_id)
        if revision == DEFAULT_REVISION:
            return _servable(versions[-1])
        for record in versions:
            if record.revision == revision:
                return _servable(record)
        raise RevisionNotFound(
            f"{repo_id} has no admitted revision {revision!r}; use `main` (its newest admitted "
            f"version, {versions[-1].revision}) or a revision `airlock models show` lists"
        )

    def _versions(self, repo_id: str) -> list[Record]:
        with self._lock:
            cached = self._cache.get(repo_id)
            if cached is not None and time.monotonic() - cached[0] <= CACHE_S:
                return cached[1]
        found = self._registry.by_repo(repo_id)
        with self._lock:
            if len(self._cache) > 10_000:  # made-up ids must not grow it without bound
                self._cache.clear()
            self._cache[repo_id] = (time.monotonic(), found)
        return found


def _servable(record: Record) -> Record:
    """The gateway's own decision (catalog.refusal) on serving the files: only a suspension
    refuses them, a model no engine serves may still be downloaded."""
    error = refusal(admitted_model(record), needs_engine=False)
    if error is not None:
        raise Suspended(error.message)
    return record
