"""What each role may do in the console and the admin API; every page and endpoint asks here."""

from __future__ import annotations

from airlock.console.sessions import Person
from airlock.gateway.auth import ADMIN, REQUESTER, REVIEWER

VIEW = "view"  # models, requests, usage
REQUEST = "request"  # ask for a model
DECIDE = "decide"  # admit or refuse a request; read the audit log
OVERRIDE = "override"  # admit what the policy refuses (with a reason)
KEYS = "keys"  # create and revoke keys

_ALLOWED = {
    REQUESTER: {VIEW, REQUEST},
    REVIEWER: {VIEW, REQUEST, DECIDE},
    ADMIN: {VIEW, REQUEST, DECIDE, OVERRIDE, KEYS},
}


class Forbidden(Exception):
    """The signed-in person's role does not allow this; the message says which role does."""


def allowed(person: Person, action: str) -> bool:
    return action in _ALLOWED.get(person.role, set())


def require(person: Person, action: str) -> None:
    if not allowed(person, action):
        needed = [role for role, actions in _ALLOWED.items() if action in actions]
        raise Forbidden(
            f"Your role ({person.role}) may not do this; it needs: {' or '.join(needed)}."
        )
