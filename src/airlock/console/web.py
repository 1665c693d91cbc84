"""What every console page and admin API call share: the console's parts, who is asking
(session cookie or a person's bearer key), CSRF checks, and HTML rendering with autoescape."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from airlock.console import roles
from airlock.console.requests import Requests
from airlock.console.sessions import COOKIE, Person, SessionStore, SignInLimiter
from airlock.gateway.auth import APP, KeyStore
from airlock.gateway.changes import Kind, notify
from airlock.gateway.state import gateway_of
from airlock.policy.model import Policy
from airlock.registry.store import Registry

HERE = Path(__file__).parent
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
# No inline script or style, nothing from elsewhere: hostile text that slipped through the
# escaping still could not run. Forms post only here; no page may be framed (clickjacking).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

_TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    # Every value escaped, in every template: model cards, file names, license texts and
    # findings come from the model's publisher.
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass
class Console:
    registry: Registry
    keys: KeyStore
    sessions: SessionStore
    requests: Requests
    limiter: SignInLimiter
    policy: Policy


def plain(value: object) -> str:
    """A detail value as a reader expects it: lists joined, nothing as a dash, not Python."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value) or "—"
    return str(value)


_TEMPLATES.filters["plain"] = plain


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def cookie_person(request: Request) -> Person | None:
    return console_of(request).sessions.person(request.cookies.get(COOKIE))


def bearer_person(request: Request) -> Person | None:
    """A person's key sent as `Authorization: Bearer` (automation); app keys are not people.
    No CSRF token is needed: a browser never sends this header on its own."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    key = console_of(request).keys.lookup(token.strip())
    if key is None or key.revoked or key.role == APP:
        return None
    return Person(key, csrf="")


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def render(
    request: Request,
    template: str,
    person: Person | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    page = _TEMPLATES.get_template(template).render(
        person=person,
        can=(lambda action: person is not None and roles.allowed(person, action)),
        roles=roles,
        csrf_field=CSRF_FIELD,
        path=request.url.path,
        **context,
    )
    return HTMLResponse(page, status_code=status, headers=SECURITY_HEADERS)


def changed(request: Request, kind: Kind, subject: str) -> None:
    """After the console commits a change: this gateway drops its cached keys at once (a key
    revoked here is refused from the next request on), and replicas sharing Redis are told
    (gateway/changes.py); they see it within seconds if that message is lost."""
    gateway_of(request).auth.forget()
    notify(kind, subject)
