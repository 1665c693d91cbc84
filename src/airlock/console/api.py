"""The admin API under /admin/api: what the pages do, as JSON, with the same role checks.
Automation sends a person's key as `Authorization: Bearer`; the console's own script sends
the session cookie, and then every change needs the session's CSRF token in X-CSRF-Token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from airlock.console import roles
from airlock.console.requests import ACTIONS, RequestError
from airlock.console.sessions import Person, csrf_ok
from airlock.console.usage_stats import usage_rows
from airlock.console.views import model_row, model_rows
from airlock.console.web import CSRF_HEADER, bearer_person, changed, console_of, cookie_person
from airlock.gateway.auth import APP, KeyError_
from airlock.registry import audit

router = APIRouter(prefix="/admin/api", tags=["admin"])


class Problem(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def problem_response(exc: Problem) -> JSONResponse:
    return JSONResponse({"error": {"message": str(exc), "code": exc.status}}, exc.status)


def _person(request: Request, action: str) -> Person:
    person = bearer_person(request)
    if person is None:
        person = cookie_person(request)
        unsafe = request.method not in ("GET", "HEAD")
        if person is not None and unsafe and not csrf_ok(person, request.headers.get(CSRF_HEADER)):
            raise Problem(f"A change made with the session cookie needs {CSRF_HEADER}.", 403)
    if person is None:
        raise Problem(
            "Sign in, or send a person's key (admin, reviewer or requester) as "
            "'Authorization: Bearer ak-...'; app keys cannot use the admin API.",
            401,
        )
    try:
        roles.require(person, action)
    except roles.Forbidden as exc:
        raise Problem(str(exc), 403) from None
    return person


def _answer(build: Callable[[], Any]) -> Any:
    """What `build` returns, or the error body for a refusal it raised."""
    try:
        return build()
    except Problem as exc:
        return problem_response(exc)
    except RequestError as exc:
        return problem_response(Problem(str(exc), exc.status))
    except roles.Forbidden as exc:
        return problem_response(Problem(str(exc), 403))


class NewRequest(BaseModel):
    name: str = Field(description="the name apps will call the model by once admitted")
    source: str = Field(
        description="a folder on the server (under a root it accepts requests from) or a "
        "Hugging Face repo id already in the server's cache"
    )
    note: str = Field("", description="what the model is for")


class Decision(BaseModel):
    action: str = Field(description=f"one of {', '.join(ACTIONS)}")
    reason: str = Field("", description="required to refuse, and to admit what the policy refuses")
    conditions: list[str] = Field(default_factory=list, description="the reviewer's conditions")


class NewKey(BaseModel):
    name: str
    role: str = Field(APP, description="admin, reviewer, requester or app")
    models: list[str] | None = Field(None, description="allowed models (default: all)")
    rpm: int | None = Field(None, ge=1, le=1_000_000, description="requests per minute")


class Revoke(BaseModel):
    reason: str | None = None


@router.get("/models", summary="Admitted models (newest version of each)")
def list_models(request: Request) -> Any:
    def build() -> Any:
        _person(request, roles.VIEW)
        return [row.to_dict() for row in model_rows(console_of(request).registry)]

    return _answer(build)


@router.get("/models/{name}", summary="One model: every version, with its dossier")
def show_model(request: Request, name: str) -> Any:
    def build() -> Any:
        _person(request, roles.VIEW)
        registry = console_of(request).registry
        versions = registry.versions(name)
        if not versions:
            raise Problem(f"No model named {name}.", 404)
        return {
            "latest": model_row(registry, versions[-1]).to_dict(),
            "versions": [v.to_dict() for v in versions],
        }

    return _answer(build)


@router.get("/requests", summary="Requests for models, newest first")
def list_requests(request: Request) -> Any:
    def build() -> Any:
        _person(request, roles.VIEW)
        return [r.to_dict() for r in console_of(request).requests.all()]

    return _answer(build)


@router.post(
    "/requests", summary="Ask for a model: it is vetted in the background", status_code=201
)
def create_request(request: Request, body: NewRequest) -> Any:
    def build() -> Any:
        person = _person(request, roles.REQUEST)
        made = console_of(request).requests.create(person, body.name, body.source, body.note)
        return JSONResponse(made.to_dict(), 201)

    return _answer(build)


@router.get("/requests/{request_id}", summary="One request: status, progress, verdict")
def show_request(request: Request, request_id: int) -> Any:
    def build() -> Any:
        _person(request, roles.VIEW)
        found = console_of(request).requests.get(request_id)
        return {**found.to_dict(), "dossier": found.dossier}

    return _answer(build)


@router.post("/requests/{request_id}/decision", summary="Admit, admit with conditions, refuse")
def decide(request: Request, request_id: int, body: Decision) -> Any:
    def build() -> Any:
        person = _person(request, roles.DECIDE)
        done = console_of(request).requests.decide(
            person, request_id, body.action, body.reason, body.conditions
        )
        return done.to_dict()

    return _answer(build)


@router.get("/keys", summary="Keys (never the keys themselves)")
def list_keys(request: Request) -> Any:
    def build() -> Any:
        _person(request, roles.KEYS)
        return [
            {
                "name": k.name,
                "prefix": k.prefix,
                "role": k.role,
                "models": None if k.models is None else list(k.models),
                "rpm": k.rpm,
                "created_at": k.created_at.isoformat(timespec="seconds"),
                "revoked": k.revoked,
            }
            for k in console_of(request).keys.list()
        ]

    return _answer(build)


@router.post("/keys", summary="Create a key: the answer holds it, once", status_code=201)
def create_key(request: Request, body: NewKey) -> Any:
    def build() -> Any:
        person = _person(request, roles.KEYS)
        try:
            token, info = console_of(request).keys.create(
                body.name, body.models, body.rpm, actor=person.name, role=body.role
            )
        except (KeyError_, ValueError) as exc:
            raise Problem(str(exc), 400) from None
        return JSONResponse({"key": token, "name": info.name, "role": info.role}, 201)

    return _answer(build)


@router.post("/keys/{name}/revoke", summary="Revoke a key")
def revoke_key(request: Request, name: str, body: Revoke) -> Any:
    def build() -> Any:
        person = _person(request, roles.KEYS)
        try:
            console_of(request).keys.revoke(name, reason=body.reason, actor=person.name)
        except KeyError_ as exc:
            raise Problem(str(exc), 404) from None
        changed(request, "key-revoked", name)
        return {"name": name, "revoked": True}

    return _answer(build)


@router.get("/usage", summary="Usage per day, key and model (last 14 days)")
def usage(request: Request) -> Any:
    def build() -> Any:
        _person(request, roles.VIEW)
        return [r.to_dict() for r in usage_rows(console_of(request).registry.engine)]

    return _answer(build)


@router.get("/audit", summary="The audit log, newest first")
def audit_log(request: Request) -> Any:
    def build() -> Any:
        _person(request, roles.DECIDE)
        entries = reversed(audit.read(console_of(request).registry.engine))
        return [e.to_dict() for e in entries]

    return _answer(build)
