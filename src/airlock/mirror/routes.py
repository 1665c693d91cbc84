"""The Hub API routes huggingface_hub, transformers and sentence-transformers use to download a
model: model info, the file tree, and `resolve` (HEAD and GET, ranges). Every answer comes from
one admitted version that `MirrorIndex.find` chose for the caller's key.

Headers on `resolve` are those huggingface_hub 1.x/2.x reads (file_download.get_hf_file_metadata):
`X-Repo-Commit` (the revision; without it the client refuses the server), `ETag` and
`X-Linked-Etag` (the sha256: the client names its cache blob after it and, in a local folder,
checks an existing file against it), `X-Linked-Size` and `Content-Length` (it checks the
download's size). No redirect is sent: the bytes come from this server, under the same key.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from airlock.gateway.auth import KeyInfo
from airlock.gateway.errors import TooManyRequests
from airlock.gateway.errors import Unauthorized as GatewayUnauthorized
from airlock.gateway.registry_catalog import admitted_model
from airlock.gateway.state import gateway_of
from airlock.mirror import hub_json, serving
from airlock.mirror.errors import EntryNotFound, RateLimited, Unauthorized
from airlock.mirror.lookup import DEFAULT_REVISION, MirrorIndex
from airlock.mirror.serving import VerifiedFiles
from airlock.registry.store import Record

router = APIRouter()
_TRUE = ("1", "true", "True")


@dataclass
class Mirror:
    index: MirrorIndex
    files: VerifiedFiles


def mirror_of(request: Request) -> Mirror:
    mirror: Mirror = request.app.state.mirror
    return mirror


async def _find(request: Request, repo_id: str, revision: str) -> Record:
    key = _authenticate(request)
    record = mirror_of(request).index.find(repo_id, revision, key)
    request.state.model = record.name  # for the access log
    try:  # a download counts against the key's (and model's) rate limits as a request does
        await gateway_of(request).limits.take(key, record.name)
    except TooManyRequests as exc:
        raise RateLimited(exc.message) from None
    return record


def _authenticate(request: Request) -> KeyInfo | None:
    """The caller's Airlock key (HF_TOKEN is sent as `Authorization: Bearer`), as the API
    checks it."""
    try:
        key = gateway_of(request).auth.authenticate(request.headers.get("authorization"))
    except GatewayUnauthorized as exc:
        raise Unauthorized(
            f"{exc.message}. Set HF_TOKEN to an Airlock key (`airlock keys create`)."
        ) from None
    request.state.key = key  # for the access log
    return key


def _both(path: str) -> list[str]:
    """A route for `org/name` and for a bare `name` (the Hub has both)."""
    return [path.replace("{repo}", "{org}/{name}"), path.replace("{repo}", "{name}")]


def _repo_id(request: Request) -> str:
    params = request.path_params
    return f"{params['org']}/{params['name']}" if "org" in params else str(params["name"])


async def model_info(request: Request) -> JSONResponse:
    revision = request.path_params.get("revision", DEFAULT_REVISION)
    repo_id = _repo_id(request)
    record = await _find(request, repo_id, revision)
    return JSONResponse(hub_json.model_info(record, repo_id))


async def tree(request: Request) -> JSONResponse:
    record = await _find(request, _repo_id(request), request.path_params["revision"])
    folder = request.path_params.get("path", "")
    recursive = request.query_params.get("recursive", "false") in _TRUE
    listing = hub_json.tree(record, folder, recursive)
    if listing is None:
        raise EntryNotFound(f"no folder {folder!r} at {record.revision}", commit=record.revision)
    return JSONResponse(listing)


async def resolve(request: Request) -> Response:
    record = await _find(request, _repo_id(request), request.path_params["revision"])
    path = request.path_params["file"]
    entry = next((f for f in record.files if f.path == path), None)
    if entry is None:
        missing = f"{path} is not a file of {record.name} v{record.version}"
        raise EntryNotFound(missing, commit=record.revision)
    model = admitted_model(record)
    etag = f'"{entry.sha256}"'
    headers = {
        "X-Repo-Commit": record.revision or "",
        "ETag": etag,
        "X-Linked-Etag": etag,
        "X-Linked-Size": str(entry.size),
        "Accept-Ranges": "bytes",
        "Content-Type": "application/octet-stream",
    }
    span = serving.parse_range(request.headers.get("range"), entry.size)
    if request.method == "HEAD":
        await run_in_threadpool(serving.check_present, model, entry)
        return Response(headers={**headers, "Content-Length": str(entry.size)})
    if span is not None:
        copy = await run_in_threadpool(mirror_of(request).files.path, model, entry)
        first, last = span
        headers["Content-Range"] = f"bytes {first}-{last}/{entry.size}"
        headers["Content-Length"] = str(last - first + 1)
        return StreamingResponse(
            serving.prefetched(serving.read_range(copy, first, last)), 206, headers
        )
    if entry.size <= serving.WHOLE_BYTES:
        body = await run_in_threadpool(serving.verified_bytes, model, entry)
        return Response(body, headers=headers)
    await run_in_threadpool(serving.check_present, model, entry)
    headers["Content-Length"] = str(entry.size)
    return StreamingResponse(
        serving.prefetched(serving.verified_stream(model, entry)), headers=headers
    )


for _path in _both("/api/models/{repo}"):
    router.add_api_route(_path, model_info, methods=["GET"], include_in_schema=False)
for _path in _both("/api/models/{repo}/revision/{revision}"):
    router.add_api_route(_path, model_info, methods=["GET"], include_in_schema=False)
for _path in _both("/api/models/{repo}/tree/{revision}"):
    router.add_api_route(_path, tree, methods=["GET"], include_in_schema=False)
for _path in _both("/api/models/{repo}/tree/{revision}/{path:path}"):
    router.add_api_route(_path, tree, methods=["GET"], include_in_schema=False)
for _path in _both("/{repo}/resolve/{revision}/{file:path}"):
    router.add_api_route(_path, resolve, methods=["GET", "HEAD"], include_in_schema=False)
