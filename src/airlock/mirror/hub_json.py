"""The JSON documents of the Hub API, built from an admitted version's manifest.

Every file is described as a Git LFS file: the manifest has its size and sha256, which is what
an LFS entry carries (`lfs.sha256`/`lfs.oid`, `lfs.size`), and what huggingface_hub checks a
download against. Its git object id (`blobId`/`oid`) is that of the LFS pointer file for those
values, computed as git would: the same for the same bytes, whatever Airlock serves it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from airlock.provenance.manifest import FileDigest
from airlock.registry.store import Record


def lfs_pointer(entry: FileDigest) -> bytes:
    """The Git LFS pointer file that stands for `entry` in a git repository."""
    return (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{entry.sha256}\n"
        f"size {entry.size}\n"
    ).encode()


def git_oid(kind: str, content: bytes) -> str:
    """Git's object id: sha1 of `<kind> <size>\\0<content>` (an identifier, not a check)."""
    header = f"{kind} {len(content)}\0".encode()
    return hashlib.sha1(header + content, usedforsecurity=False).hexdigest()


def model_info(record: Record, repo_id: str) -> dict[str, Any]:
    """`GET /api/models/{repo_id}[/revision/{rev}]`: what HfApi.model_info/repo_info read."""
    created = record.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "_id": record.revision,
        "id": repo_id,
        "modelId": repo_id,
        "author": repo_id.split("/")[0] if "/" in repo_id else None,
        "sha": record.revision,
        "lastModified": created,
        "createdAt": created,
        "private": False,
        "gated": False,
        "disabled": False,
        "downloads": 0,
        "likes": 0,
        "tags": [],
        "siblings": [_sibling(entry) for entry in record.files],
        "usedStorage": sum(entry.size for entry in record.files),
        # Not a Hub field (clients keep unknown ones as attributes): which admitted version.
        "airlock": {
            "name": record.name,
            "version": record.version,
            "manifest_digest": record.manifest_digest,
            "decision": record.decision,
        },
    }


def tree(record: Record, folder: str, recursive: bool) -> list[dict[str, Any]] | None:
    """`GET /api/models/{repo_id}/tree/{rev}[/{folder}]`: the files and folders in `folder`
    (all of them below it when `recursive`), or None when there is no such folder."""
    prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
    folders: set[str] = set()
    files: list[dict[str, Any]] = []
    for entry in record.files:
        if not entry.path.startswith(prefix):
            continue
        parts = entry.path[len(prefix) :].split("/")
        for depth in range(1, len(parts) if recursive else min(2, len(parts))):
            folders.add(prefix + "/".join(parts[:depth]))
        if recursive or len(parts) == 1:
            files.append(_tree_file(entry))
    if prefix and not files and not folders:
        return None
    listed = [_tree_folder(record, path) for path in sorted(folders)]
    return listed + files


def _sibling(entry: FileDigest) -> dict[str, Any]:
    pointer = lfs_pointer(entry)
    return {
        "rfilename": entry.path,
        "size": entry.size,
        "blobId": git_oid("blob", pointer),
        "lfs": {"sha256": entry.sha256, "size": entry.size, "pointerSize": len(pointer)},
    }


def _tree_file(entry: FileDigest) -> dict[str, Any]:
    pointer = lfs_pointer(entry)
    return {
        "type": "file",
        "oid": git_oid("blob", pointer),
        "size": entry.size,
        "path": entry.path,
        "lfs": {"oid": entry.sha256, "size": entry.size, "pointerSize": len(pointer)},
    }


def _tree_folder(record: Record, path: str) -> dict[str, Any]:
    # Not git's tree id (that needs every entry's mode and name): a stable stand-in per folder
    # and revision, which is all clients use it for.
    oid = git_oid("tree", f"{record.revision}:{path}".encode())
    return {"type": "directory", "oid": oid, "size": 0, "path": path}
