"""Hugging Face style repository ids for admitted versions, and their revisions.

A repo id (`org/name`, or a bare `name`) is how `from_pretrained` and `snapshot_download` ask
the mirror for a model. Each part follows the model-name rule (names.py), which is the Hub's own
rule for a repository name, so every id the Hub accepts without `--`/`..` quirks is accepted.

The revision is derived from the manifest digest, not counted or random:

- the same bytes always get the same revision, so a client's cache (`snapshots/<revision>/`)
  stays valid across re-admissions and registry moves, and different bytes never share one;
- it is 40 lowercase hex digits, which huggingface_hub treats as an immutable commit hash: a
  pinned `revision=` skips the lookup of `main`, and its cache entries are never re-checked;
- it is a domain-separated hash (not the digest cut short), so it cannot be mistaken for the
  manifest digest or a file's sha256 anywhere it is printed.
"""

from __future__ import annotations

import hashlib
import re

from airlock.registry import names

REVISION_RE = re.compile(r"[0-9a-f]{40}")
_DOMAIN = b"airlock-revision\0"


class RepoIdRefused(names.NameRefused):
    """A repo id that breaks the rule, or is another name's; one line."""


def problem(repo_id: str) -> str | None:
    """Why `repo_id` cannot be a repository id (one line), or None."""
    parts = repo_id.split("/")
    if len(parts) > 2 or not all(parts):
        return f"repo id {repo_id!a} is not `org/name` or `name`"
    for part in parts:
        if (why := names.problem(part)) is not None:
            return f"repo id {repo_id!a}: {why}"
    return None


def revision_of(manifest_digest: str) -> str:
    """The stable commit-like revision of an admitted content (see the module's docstring)."""
    return hashlib.sha256(_DOMAIN + manifest_digest.encode()).hexdigest()[:40]
