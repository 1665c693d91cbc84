"""Download a repository's files into a folder, in parallel, resuming what an earlier run left.

Each file is written to `<partial>/<path>.incomplete` while its bytes are hashed; a file found
there from an interrupted run is hashed first, then continued with a `Range` request (a server
that ignores it sends the whole file, and the download starts over). A finished file is moved
into place only when its size and hash match the hub's list: sha256 for LFS files, the git
blob id for the others. A file that does not match is deleted and the pull refused.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path, PurePosixPath
from urllib.parse import quote

import httpx

from airlock.pull.hub import HubError, RemoteFile, RemoteRepo

CHUNK_SIZE = 1024 * 1024
OnBytes = Callable[[int], None]


class IntegrityRefused(Exception):
    """A file's bytes are not what the hub lists; one line naming the file."""


def download_all(
    http: httpx.Client,
    repo: RemoteRepo,
    files: tuple[RemoteFile, ...],
    folder: Path,
    partial: Path,
    jobs: int,
    on_bytes: OnBytes,
) -> None:
    """Every file of `files` into `folder`, checked; raises IntegrityRefused or HubError (the
    first failure; files already checked stay, partial ones stay for the next run)."""
    for remote in files:
        _target(folder, remote.path)  # a path that leaves the folder refuses the whole pull
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="pull") as pool:
        futures = [
            pool.submit(download_one, http, repo, remote, folder, partial, on_bytes)
            for remote in files
        ]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        for future in done:
            future.result()  # raises the failure, if any


def download_one(
    http: httpx.Client,
    repo: RemoteRepo,
    remote: RemoteFile,
    folder: Path,
    partial_root: Path,
    on_bytes: OnBytes,
) -> None:
    target = _target(folder, remote.path)
    if target.is_file() and _matches(target, remote):
        on_bytes(remote.size)  # checked in an earlier run
        return
    partial = _target(partial_root, remote.path + ".incomplete")
    partial.parent.mkdir(parents=True, exist_ok=True)
    have = partial.stat().st_size if partial.is_file() else 0
    if have > remote.size:
        partial.unlink()
        have = 0
    hasher = _hasher(remote)
    if have:
        _hash_file(partial, hasher)
        on_bytes(have)
    if have < remote.size:
        have, hasher = _fetch(http, repo, remote, partial, have, hasher, on_bytes)
    problem = _problem(remote, have, hasher.hexdigest())
    if problem is not None:
        partial.unlink(missing_ok=True)
        raise IntegrityRefused(f"{remote.path}: {problem}; the file was deleted, nothing admitted")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial, target)


def _fetch(
    http: httpx.Client,
    repo: RemoteRepo,
    remote: RemoteFile,
    partial: Path,
    have: int,
    hasher: hashlib._Hash,
    on_bytes: OnBytes,
) -> tuple[int, hashlib._Hash]:
    url = f"/{repo.repo_id}/resolve/{repo.commit}/{quote(remote.path)}"
    headers = {"Accept-Encoding": "identity"}  # sizes and hashes are of the raw bytes
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        with http.stream("GET", url, headers=headers) as response:
            if response.status_code == 200 and have:  # the range was ignored: start over
                on_bytes(-have)
                have = 0
                hasher = _hasher(remote)
            elif response.status_code not in (200, 206):
                response.read()
                raise HubError(
                    f"{remote.path}: the hub answered {response.status_code}: "
                    f"{response.headers.get('X-Error-Message') or response.text.strip()[:200]}"
                )
            with partial.open("ab" if have else "wb") as out:
                for chunk in response.iter_bytes(CHUNK_SIZE):
                    have += len(chunk)
                    if have > remote.size:
                        raise IntegrityRefused(
                            f"{remote.path}: the hub sent more than its listed {remote.size} "
                            "bytes; nothing admitted"
                        )
                    out.write(chunk)
                    hasher.update(chunk)
                    on_bytes(len(chunk))
    except httpx.HTTPError as exc:
        why = f"{remote.path}: download interrupted ({exc}); run again to resume"
        raise HubError(why) from None
    return have, hasher


def _problem(remote: RemoteFile, size: int, digest: str) -> str | None:
    if size != remote.size:
        return f"{size} bytes where the hub lists {remote.size}"
    expected = remote.sha256 or remote.git_oid
    kind = "sha256" if remote.sha256 else "git blob id"
    if digest != expected:
        return f"{kind} {digest[:16]}... where the hub lists {str(expected)[:16]}..."
    return None


def _matches(path: Path, remote: RemoteFile) -> bool:
    if path.stat().st_size != remote.size:
        return False
    hasher = _hasher(remote)
    _hash_file(path, hasher)
    return _problem(remote, remote.size, hasher.hexdigest()) is None


def _hasher(remote: RemoteFile) -> hashlib._Hash:
    if remote.sha256 is not None:
        return hashlib.sha256()
    # git's blob id: sha1 of a header and the bytes; an identifier the Hub lists, which is
    # all there is for a non-LFS file (sha1 is what git itself checks such files with).
    hasher = hashlib.sha1(usedforsecurity=False)
    hasher.update(f"blob {remote.size}\0".encode())
    return hasher


def _hash_file(path: Path, hasher: hashlib._Hash) -> None:
    with path.open("rb") as reader:
        while chunk := reader.read(CHUNK_SIZE):
            hasher.update(chunk)


def _target(folder: Path, relative: str) -> Path:
    """`folder/relative`, refusing a path the hub lists that would leave the folder."""
    path = PurePosixPath(relative)
    if not path.parts or path.is_absolute() or any(p in ("..", ".", "") for p in path.parts):
        raise HubError(f"the hub lists a file path that leaves the repository: {relative!r}")
    return folder.joinpath(*path.parts)
