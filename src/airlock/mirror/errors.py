"""Errors as the Hugging Face Hub sends them: the status, `X-Error-Code` (which huggingface_hub
turns into RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError...), and the
message both in `X-Error-Message` and in a JSON body `{"error": ...}` (the client shows either).

Statuses are chosen so that clients do not retry what retrying cannot fix: huggingface_hub
retries 408, 429 and 5xx; an integrity mismatch is a 409, not a 503."""

from __future__ import annotations

from fastapi.responses import JSONResponse


class HubError(Exception):
    status = 400
    code: str | None = None

    def __init__(self, message: str, *, commit: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.commit = commit  # X-Repo-Commit: lets the client cache "no such file at commit"

    def response(self) -> JSONResponse:
        # Header values must be one line of latin-1 (a repo id from the URL may hold anything,
        # %0A included): the body keeps the full text.
        line = " ".join(self.message.encode("ascii", "replace").decode().split())
        headers = {"X-Error-Message": line}
        if self.code is not None:
            headers["X-Error-Code"] = self.code
        if self.commit is not None:
            headers["X-Repo-Commit"] = self.commit
        return JSONResponse({"error": self.message}, status_code=self.status, headers=headers)


class RepoNotFound(HubError):
    status = 404
    code = "RepoNotFound"


class RevisionNotFound(HubError):
    status = 404
    code = "RevisionNotFound"


class EntryNotFound(HubError):
    status = 404
    code = "EntryNotFound"


class Unauthorized(HubError):
    status = 401


class RateLimited(HubError):
    status = 429


class RangeNotSatisfiable(HubError):
    status = 416


class Suspended(HubError):
    """A re-vet suspended this version (docs/revet.md): 403, which the clients do not retry."""

    status = 403
    code = "ModelSuspended"


class IntegrityMismatch(HubError):
    """The bytes on disk are not the admitted bytes: nothing is served."""

    status = 409
    code = "IntegrityMismatch"


def repo_not_found(repo_id: str) -> RepoNotFound:
    """One answer for a repo id that is not admitted and one the key may not use (a key
    cannot probe for names), saying how to ask for it."""
    return RepoNotFound(
        f"{repo_id} is not admitted to this Airlock mirror (or your key may not use it). "
        f"Ask your Airlock administrator to bring it in: "
        f"`airlock pull {repo_id} --admit --name NAME`."
    )
