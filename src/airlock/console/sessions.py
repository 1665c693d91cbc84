"""Sign-in sessions for people's keys, and the sign-in rate limit.

Sessions live in the registry (console_sessions), not in signed cookies: signing out and
revoking a key end a session at once, on every gateway process that shares the registry, and
no server secret has to be kept and rotated. The cookie holds a random token; the table keeps
its sha256 and the session's CSRF token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from airlock.gateway.auth import APP, KeyInfo, KeyStore
from airlock.registry.console_tables import ConsoleSession
from airlock.registry.gateway_tables import ApiKey

COOKIE = "airlock_session"
LIFETIME = timedelta(hours=8)  # a working day; then sign in again


class SignInRefused(Exception):
    """A key that cannot sign in; the message says why, in one line."""


@dataclass(frozen=True)
class Person:
    key: KeyInfo
    csrf: str

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def role(self) -> str:
        return self.key.role


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(self, engine: Engine, keys: KeyStore) -> None:
        self._engine = engine
        self._keys = keys

    def sign_in(self, token: str) -> tuple[str, Person]:
        """A new session for a person's key: (cookie token, person). Raises SignInRefused."""
        key = self._keys.lookup(token.strip())
        if key is None or key.revoked:
            raise SignInRefused("That key is not valid or has been revoked.")
        if key.role == APP:
            raise SignInRefused(
                "This is an app key: it calls the API but cannot sign in. Ask an admin for a "
                "key with a person's role (requester, reviewer or admin)."
            )
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with Session(self._engine) as session, session.begin():
            session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
            session.add(
                ConsoleSession(
                    token_hash=_hash(cookie),
                    key_id=key.id,
                    csrf=csrf,
                    created_at=now,
                    expires_at=now + LIFETIME,
                )
            )
        return cookie, Person(key, csrf)

    def person(self, cookie: str | None) -> Person | None:
        """The signed-in person, or None (no cookie, expired, signed out, key revoked or
        turned into an app key)."""
        if not cookie:
            return None
        with Session(self._engine) as session:
            row = session.execute(
                select(ConsoleSession, ApiKey)
                .join(ApiKey, ApiKey.id == ConsoleSession.key_id)
                .where(ConsoleSession.token_hash == _hash(cookie))
            ).first()
            if row is None:
                return None
            found, key_row = row
            expires = found.expires_at
            expires = expires if expires.tzinfo is not None else expires.replace(tzinfo=UTC)
            if expires < datetime.now(UTC) or key_row.revoked_at is not None:
                return None
            if key_row.role == APP:
                return None
            csrf = found.csrf
        key = self._keys.lookup_id(key_row.id)
        return None if key is None else Person(key, csrf)

    def sign_out(self, cookie: str) -> None:
        with Session(self._engine) as session, session.begin():
            session.execute(
                delete(ConsoleSession).where(ConsoleSession.token_hash == _hash(cookie))
            )


def csrf_ok(person: Person, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(person.csrf.encode(), sent.encode())


class SignInLimiter:
    """Failed sign-ins per client address: `attempts` in `window_s`, then refused until the
    window has passed. A key cannot be guessed (256 bits); this stops a client hammering the
    database and filling the log."""

    MAX_CLIENTS = 10_000  # beyond it the oldest are forgotten: memory stays bounded

    def __init__(self, attempts: int = 5, window_s: float = 60.0) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, client: str) -> float:
        """Seconds until `client` may try again; 0 when it may now."""
        with self._lock:
            recent = self._recent(client)
            if len(recent) < self.attempts:
                return 0.0
            return max(0.0, recent[0] + self.window_s - time.monotonic())

    def failed(self, client: str) -> None:
        with self._lock:
            recent = self._recent(client)
            recent.append(time.monotonic())
            self._failures[client] = recent
            if len(self._failures) > self.MAX_CLIENTS:
                del self._failures[next(iter(self._failures))]

    def _recent(self, client: str) -> list[float]:
        now = time.monotonic()
        return [t for t in self._failures.get(client, []) if now - t < self.window_s]
