"""The console's HTML pages: forms that work without JavaScript, every action checked on the
server (roles.require) and every form checked against the session's CSRF token."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from airlock.console import roles
from airlock.console.requests import OPEN, RequestError
from airlock.console.sessions import COOKIE, LIFETIME, Person, SignInRefused, csrf_ok
from airlock.console.snippets import snippet
from airlock.console.usage_stats import requests_chart, usage_rows
from airlock.console.views import model_row, model_rows, record_dossier, request_dossier
from airlock.console.web import (
    CSRF_FIELD,
    CSRF_HEADER,
    SECURITY_HEADERS,
    changed,
    client_address,
    console_of,
    cookie_person,
    render,
)
from airlock.gateway.auth import ROLES, KeyError_, KeyInfo
from airlock.model_category import CATEGORIES, CHAT, CODE, EMBEDDINGS, RERANK, TRANSCRIPTION
from airlock.registry import audit

router = APIRouter(include_in_schema=False)
PLAYGROUND_CATEGORIES = (CHAT, CODE, EMBEDDINGS, RERANK, TRANSCRIPTION)
SIGN_IN_COOKIE = "airlock_sign_in"  # the sign-in form's CSRF token (double submit)


class _Stop(Exception):
    """Answer with `response` instead of the page."""

    def __init__(self, response: Response) -> None:
        self.response = response


def _person(request: Request, action: str) -> Person:
    person = cookie_person(request)
    if person is None:
        raise _Stop(RedirectResponse(f"/sign-in?next={request.url.path}", status_code=303))
    if not roles.allowed(person, action):
        try:
            roles.require(person, action)
        except roles.Forbidden as exc:
            raise _Stop(render(request, "error.html", person, 403, message=str(exc))) from None
    return person


async def _form(request: Request, person: Person) -> FormData:
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not csrf_ok(person, sent if isinstance(sent, str) else None):
        raise _Stop(
            render(
                request,
                "error.html",
                person,
                403,
                message="This form did not come from your console session (the CSRF check "
                "failed). Reload the page and try again.",
            )
        )
    return form


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _guard_sync(build: Callable[[], Response]) -> Response:
    """As _guard, for pages that only read: FastAPI runs them on its thread pool, so reading
    the registry never holds up the event loop the API's streams share."""
    try:
        return build()
    except _Stop as stop:
        return stop.response


async def _guard(build: Callable[[], Awaitable[Response]]) -> Response:
    """The page `build` makes, or the answer a _Stop carries (sign in, not allowed, CSRF)."""
    try:
        response = await build()
    except _Stop as stop:
        return stop.response
    return response


@router.get("/")
def home(request: Request) -> Response:
    target = "/models" if cookie_person(request) is not None else "/sign-in"
    return RedirectResponse(target, status_code=303)


@router.get("/sign-in")
def sign_in_page(request: Request) -> Response:
    return _sign_in_form(request, None, 200)


def _sign_in_form(request: Request, error: str | None, status: int) -> Response:
    token = secrets.token_urlsafe(32)
    page = render(
        request,
        "sign_in.html",
        None,
        status,
        error=error,
        token=token,
        next=request.query_params.get("next", ""),
    )
    page.set_cookie(
        SIGN_IN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=3600,
    )
    return page


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    console = console_of(request)
    client = client_address(request)
    wait = console.limiter.wait_s(client)
    if wait > 0:
        page = _sign_in_form(
            request, f"Too many failed sign-ins from your address: try again in {wait:.0f} s.", 429
        )
        page.headers["Retry-After"] = str(int(wait) + 1)
        return page
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.cookies.get(SIGN_IN_COOKIE)
    if not (isinstance(sent, str) and expected and secrets.compare_digest(sent, expected)):
        return _sign_in_form(
            request, "The sign-in form expired or came from elsewhere: try again.", 403
        )
    try:
        cookie, _ = console.sessions.sign_in(_text(form, "key"))
    except SignInRefused as exc:
        console.limiter.failed(client)
        return _sign_in_form(request, str(exc), 401)
    target = _text(form, "next")
    # Only a path on this console: an open redirect would send a signed-in person elsewhere.
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/models"
    response = RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=int(LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(SIGN_IN_COOKIE)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    async def build() -> Response:
        person = _person(request, roles.VIEW)
        await _form(request, person)
        console_of(request).sessions.sign_out(request.cookies.get(COOKIE, ""))
        response = RedirectResponse("/sign-in", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    return await _guard(build)


@router.get("/models")
def models_page(request: Request) -> Response:
    def build() -> Response:
        person = _person(request, roles.VIEW)
        query = request.query_params.get("q", "").strip().lower()
        wanted = request.query_params.get("category", "")
        rows = model_rows(console_of(request).registry)
        shown = [
            r
            for r in rows
            if (not query or query in r.name.lower() or query in r.license.lower())
            and (not wanted or r.category == wanted)
        ]
        return render(
            request,
            "models.html",
            person,
            rows=shown,
            total=len(rows),
            q=query,
            category=wanted,
            categories=CATEGORIES,
        )

    return _guard_sync(build)


@router.get("/models/{name}")
def model_page(request: Request, name: str) -> Response:
    def build() -> Response:
        person = _person(request, roles.VIEW)
        console = console_of(request)
        versions = console.registry.versions(name)
        if not versions:
            return render(request, "error.html", person, 404, message=f"No model named {name}.")
        wanted = request.query_params.get("version", "")
        record = next((v for v in versions if str(v.version) == wanted), versions[-1])
        row = model_row(console.registry, record)
        usage = usage_rows(console.registry.engine, model=record.name)
        base = str(request.base_url).rstrip("/") + "/v1"
        return render(
            request,
            "model.html",
            person,
            record=record,
            row=row,
            view=record_dossier(console.registry, record, console.policy),
            versions=list(reversed(versions)),
            usage=usage,
            snippet=snippet(row.category, record.name, base),
        )

    return _guard_sync(build)


@router.get("/requests")
def requests_page(request: Request) -> Response:
    def build() -> Response:
        person = _person(request, roles.VIEW)
        return render(
            request,
            "requests.html",
            person,
            requests=console_of(request).requests.all(),
            error=None,
            form={},
        )

    return _guard_sync(build)


@router.post("/requests")
async def create_request(request: Request) -> Response:
    async def build() -> Response:
        person = _person(request, roles.REQUEST)
        form = await _form(request, person)
        console = console_of(request)
        fields = {k: _text(form, k) for k in ("name", "source", "note")}
        try:
            made = await run_in_threadpool(console.requests.create, person, **fields)
        except RequestError as exc:
            return render(
                request,
                "requests.html",
                person,
                exc.status,
                requests=console.requests.all(),
                error=str(exc),
                form=fields,
            )
        return RedirectResponse(f"/requests/{made.id}", status_code=303)

    return await _guard(build)


@router.get("/requests/{request_id}")
def request_page(request: Request, request_id: int) -> Response:
    def build() -> Response:
        person = _person(request, roles.VIEW)
        return _request_page(request, person, request_id, None, 200)

    return _guard_sync(build)


def _request_page(
    request: Request, person: Person, request_id: int, error: str | None, status: int
) -> Response:
    console = console_of(request)
    try:
        found = console.requests.get(request_id)
    except RequestError as exc:
        return render(request, "error.html", person, exc.status, message=str(exc))
    view = None if found.dossier is None else request_dossier(found.dossier, console.policy)
    return render(
        request,
        "request.html",
        person,
        status,
        req=found,
        view=view,
        error=error,
        running=found.status in OPEN,
    )


@router.post("/requests/{request_id}/decide")
async def decide(request: Request, request_id: int) -> Response:
    async def build() -> Response:
        person = _person(request, roles.DECIDE)
        form = await _form(request, person)
        conditions = _text(form, "conditions").splitlines()
        try:
            # Off the event loop: the verdict is evaluated again and the admission written.
            await run_in_threadpool(
                console_of(request).requests.decide,
                person,
                request_id,
                _text(form, "action"),
                _text(form, "reason"),
                conditions,
            )
        except RequestError as exc:
            return _request_page(request, person, request_id, str(exc), exc.status)
        except roles.Forbidden as exc:
            return _request_page(request, person, request_id, str(exc), 403)
        return RedirectResponse(f"/requests/{request_id}", status_code=303)

    return await _guard(build)


@router.get("/keys")
def keys_page(request: Request) -> Response:
    def build() -> Response:
        person = _person(request, roles.KEYS)
        return _keys_page(request, person, None, None, 200)

    return _guard_sync(build)


def _keys_page(
    request: Request,
    person: Person,
    created: tuple[str, KeyInfo] | None,
    error: str | None,
    status: int,
) -> Response:
    console = console_of(request)
    return render(
        request,
        "keys.html",
        person,
        status,
        keys=console.keys.list(),
        created=created,
        error=error,
        roles_list=ROLES,
        models=console.registry.names(),
    )


@router.post("/keys")
async def create_key(request: Request) -> Response:
    async def build() -> Response:
        person = _person(request, roles.KEYS)
        form = await _form(request, person)
        name, role = _text(form, "name").strip(), _text(form, "role")
        models = [m for m in form.getlist("models") if isinstance(m, str) and m]
        rpm_text = _text(form, "rpm").strip()
        if not name:
            return _keys_page(request, person, None, "A key needs a name.", 400)
        if rpm_text and not (rpm_text.isdigit() and 0 < int(rpm_text) <= 1_000_000):
            return _keys_page(
                request, person, None, "Requests per minute: a whole number, 1 to 1,000,000.", 400
            )
        try:
            token, info = console_of(request).keys.create(
                name,
                models or None,
                int(rpm_text) if rpm_text else None,
                actor=person.name,
                role=role,
            )
        except (KeyError_, ValueError) as exc:
            return _keys_page(request, person, None, str(exc), 400)
        return _keys_page(request, person, (token, info), None, 200)

    return await _guard(build)


@router.post("/keys/{name}/revoke")
async def revoke_key(request: Request, name: str) -> Response:
    async def build() -> Response:
        person = _person(request, roles.KEYS)
        form = await _form(request, person)
        try:
            console_of(request).keys.revoke(
                name, reason=_text(form, "reason") or None, actor=person.name
            )
        except KeyError_ as exc:
            return _keys_page(request, person, None, str(exc), 404)
        changed(request, "key-revoked", name)
        return RedirectResponse("/keys", status_code=303)

    return await _guard(build)


@router.get("/usage")
def usage_page(request: Request) -> Response:
    def build() -> Response:
        person = _person(request, roles.VIEW)
        rows = usage_rows(console_of(request).registry.engine)
        return render(request, "usage.html", person, rows=rows, chart=requests_chart(rows))

    return _guard_sync(build)


@router.get("/audit")
def audit_page(request: Request) -> Response:
    def build() -> Response:
        person = _person(request, roles.DECIDE)
        entries = list(reversed(audit.read(console_of(request).registry.engine)))[:500]
        return render(request, "audit.html", person, entries=entries)

    return _guard_sync(build)


PLAYGROUND_TOKEN_S = 600  # long enough to try a few prompts; the page asks again when needed


@router.get("/playground")
def playground_page(request: Request) -> Response:
    def build() -> Response:
        person = _person(request, roles.VIEW)
        rows = model_rows(console_of(request).registry)
        usable = [r for r in rows if r.category in PLAYGROUND_CATEGORIES]
        if person.key.models is not None:  # what the person's key may call, nothing more
            usable = [r for r in usable if r.name in person.key.models]
        return render(request, "playground.html", person, models=usable)

    return _guard_sync(build)


@router.post("/playground/token")
async def playground_token(request: Request) -> Response:
    """A short-lived API token acting as the signed-in person's key, for the page's script
    (the person's own key is never in the page). Needs the session's CSRF token."""
    person = cookie_person(request)
    if person is None:
        return JSONResponse({"error": {"message": "Sign in first."}}, 401)
    if not csrf_ok(person, request.headers.get(CSRF_HEADER)):
        return JSONResponse({"error": {"message": f"{CSRF_HEADER} is missing or wrong."}}, 403)
    gateway = request.app.state.gateway
    token = gateway.auth.delegate(person.key, PLAYGROUND_TOKEN_S)
    return JSONResponse(
        {"token": token, "expires_in": PLAYGROUND_TOKEN_S}, headers=SECURITY_HEADERS
    )
