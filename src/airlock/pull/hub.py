"""What an upstream hub says a repository holds at one commit: each file's path, size, and the
values its bytes must hash to.

The Hub keeps a sha256 for files stored with Git LFS (weights, large files) and only a git
object id (sha1 of `blob <size>\\0<bytes>`) for the others (configs, tokenizers). Both are
checked: every byte pulled is checked against one of them, never against nothing.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

PUBLIC_HUB = "https://huggingface.co"
TIMEOUT_S = 30.0
_COMMIT = re.compile(r"[0-9a-f]{40}")


class HubError(Exception):
    """The upstream cannot be asked, or says no; one line for the user."""


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    sha256: str | None  # LFS files (None: checked by git_oid instead)
    git_oid: str | None  # the git blob id the Hub lists


@dataclass(frozen=True)
class RemoteRepo:
    repo_id: str
    commit: str  # the revision resolved to a commit: every file comes from this one
    files: tuple[RemoteFile, ...]


def client(endpoint: str, token: str | None) -> httpx.Client:
    headers = {"User-Agent": "airlock-pull"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    # Redirects are followed (the Hub sends LFS files to its CDN); httpx drops Authorization
    # when a redirect leaves the origin, so the token never reaches a third party.
    return httpx.Client(
        base_url=endpoint.rstrip("/"), headers=headers, timeout=TIMEOUT_S, follow_redirects=True
    )


def fetch_repo(http: httpx.Client, repo_id: str, revision: str) -> RemoteRepo:
    """The repository at `revision` (a branch, tag or commit), resolved to one commit."""
    url = f"/api/models/{repo_id}/revision/{quote(revision, safe='')}"
    try:
        response = http.get(url, params={"blobs": "true"})
    except httpx.HTTPError as exc:
        raise HubError(f"cannot reach {http.base_url}: {exc}") from None
    if response.status_code != 200:
        status, why = response.status_code, _why(response)
        raise HubError(f"{http.base_url} answered {status} for {repo_id}@{revision}: {why}")
    try:
        info = response.json()
        commit = str(info["sha"])
        if not _COMMIT.fullmatch(commit):  # it names a folder: nothing but a commit id
            raise HubError(f"{http.base_url} sent {commit!r} as the commit of {repo_id}@{revision}")
        files = tuple(_remote_file(sibling) for sibling in info["siblings"])
    except (ValueError, KeyError, TypeError) as exc:
        raise HubError(f"{http.base_url} sent model info that is not the Hub's ({exc!r})") from None
    return RemoteRepo(repo_id, commit, files)


def select(
    files: tuple[RemoteFile, ...], include: list[str] | None, exclude: list[str] | None
) -> tuple[RemoteFile, ...]:
    """`--include`/`--exclude` as huggingface_hub's allow_patterns/ignore_patterns: fnmatch
    patterns, a pattern ending in `/` meaning everything under that folder."""

    def matches(path: str, patterns: list[str]) -> bool:
        return any(fnmatch.fnmatch(path, p + "*" if p.endswith("/") else p) for p in patterns)

    return tuple(
        f
        for f in files
        if (include is None or matches(f.path, include))
        and not (exclude is not None and matches(f.path, exclude))
    )


def _remote_file(sibling: dict[str, Any]) -> RemoteFile:
    lfs = sibling.get("lfs")
    if lfs:
        oid = sibling.get("blobId")
        return RemoteFile(sibling["rfilename"], int(lfs["size"]), str(lfs["sha256"]), oid)
    if sibling.get("size") is None or sibling.get("blobId") is None:
        raise HubError(f"the hub lists {sibling.get('rfilename')!r} without a size or a hash")
    return RemoteFile(sibling["rfilename"], int(sibling["size"]), None, str(sibling["blobId"]))


def _why(response: httpx.Response) -> str:
    message: str | None = response.headers.get("X-Error-Message")
    if message:
        return message
    try:
        body = response.json()
        return str(body.get("error") or body) if isinstance(body, dict) else str(body)
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
