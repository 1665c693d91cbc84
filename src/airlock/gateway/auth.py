"""API keys: `ak-` + 32 random bytes, shown once, stored as a sha256 hash; per-key allowed
models and requests-per-minute (a token bucket per key)."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from airlock.gateway.errors import TooManyRequests, Unauthorized, model_not_found
from airlock.registry import audit
from airlock.registry.gateway_tables import ApiKey

KEY_PREFIX = "ak-"
# Who holds a key. "app" (the default, and every key made before roles) calls the API only;
# people sign in to the console: requesters ask for models, reviewers decide, admins also
# manage keys.
APP = "app"
REQUESTER = "requester"
REVIEWER = "reviewer"
ADMIN = "admin"
ROLES = (ADMIN, REVIEWER, REQUESTER, APP)


class KeyError_(Exception):
    """A key name that exists already, or one that does not exist."""


@dataclass(frozen=True)
class KeyInfo:
    id: int
    name: str
    prefix: str
    models: tuple[str, ...] | None
    rpm: int | None
    created_at: datetime
    revoked: bool
    role: str = APP

    def allows(self, model: str) -> bool:
        return self.models is None or model in self.models


def hash_key(token: str) -> str:
    # A fast hash is right here: the key has 256 bits of entropy, so nothing can be guessed.
    return hashlib.sha256(token.encode()).hexdigest()


class KeyStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(
        self,
        name: str,
        models: list[str] | None,
        rpm: int | None,
        *,
        actor: str | None = None,
        role: str = APP,
    ) -> tuple[str, KeyInfo]:
        """A new key; the token is returned here and never again. Recorded in the audit log.
        Raises ValueError for a role not in ROLES."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        token = KEY_PREFIX + secrets.token_urlsafe(32)
        row = ApiKey(
            name=name,
            prefix=token[:10],
            key_hash=hash_key(token),
            models=models,
            rpm=rpm,
            created_at=datetime.now(UTC),
            role=role,
        )
        try:
            with Session(self._engine) as session, session.begin():
                session.add(row)
                session.flush()
                info = _info(row)
                details = {"prefix": row.prefix, "models": models, "rpm": rpm, "role": role}
                audit.write(session, audit.KEY_CREATE, name, actor=actor, details=details)
        except IntegrityError:
            raise KeyError_(f"a key named {name!r} exists already") from None
        return token, info

    def list(self) -> list[KeyInfo]:
        with Session(self._engine) as session:
            return [_info(r) for r in session.scalars(select(ApiKey).order_by(ApiKey.name))]

    def revoke(self, name: str, *, reason: str | None = None, actor: str | None = None) -> None:
        """Revoke a key (recorded in the audit log); revoking it again changes nothing."""
        with Session(self._engine) as session, session.begin():
            row = session.scalar(select(ApiKey).where(ApiKey.name == name))
            if row is None:
                raise KeyError_(f"no key named {name!r}")
            if row.revoked_at is not None:
                return
            row.revoked_at = datetime.now(UTC)
            details = {"prefix": row.prefix}
            audit.write(
                session, audit.KEY_REVOKE, name, actor=actor, reason=reason, details=details
            )

    def lookup_id(self, key_id: int) -> KeyInfo | None:
        with Session(self._engine) as session:
            row = session.get(ApiKey, key_id)
            return None if row is None else _info(row)

    def lookup(self, token: str) -> KeyInfo | None:
        with Session(self._engine) as session:
            row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(token)))
            return None if row is None else _info(row)


def _info(row: ApiKey) -> KeyInfo:
    created = row.created_at
    created = created if created.tzinfo is not None else created.replace(tzinfo=UTC)
    models = None if row.models is None else tuple(row.models)
    return KeyInfo(
        row.id,
        row.name,
        row.prefix,
        models,
        row.rpm,
        created,
        row.revoked_at is not None,
        row.role or APP,
    )


class RateLimiter:
    """A token bucket per key: `rpm` requests per minute, bursts of up to `rpm`."""

    def __init__(self) -> None:
        self._buckets: dict[int, tuple[float, float]] = {}  # key id -> (tokens, last refill)
        self._lock = threading.Lock()

    def take(self, key: KeyInfo) -> None:
        if key.rpm is None:
            return
        rate = key.rpm / 60.0
        with self._lock:
            now = time.monotonic()
            tokens, last = self._buckets.get(key.id, (float(key.rpm), now))
            tokens = min(float(key.rpm), tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[key.id] = (tokens, now)
                raise TooManyRequests(
                    f"API key '{key.name}' is over its rate limit of {key.rpm} requests per minute",
                    retry_after=(1.0 - tokens) / rate,
                    code="rate_limit_exceeded",
                )
            self._buckets[key.id] = (tokens - 1.0, now)


class Authenticator:
    """Bearer token -> key, with a short cache so a request costs no database round trip."""

    CACHE_S = 5.0

    def __init__(self, store: KeyStore, required: bool) -> None:
        self._store = store
        self.required = required
        self._cache: dict[str, tuple[float, KeyInfo | None]] = {}
        self.limiter = RateLimiter()
        self._delegated: dict[str, tuple[float, int]] = {}  # token -> (expires, key id)
        self._lock = threading.Lock()

    def delegate(self, key: KeyInfo, ttl_s: float) -> str:
        """A short-lived token that acts as `key`: the console's playground calls the API as
        the signed-in person without their key ever being in the page. Held in this process's
        memory only; the key is looked up on every use, so revoking it stops the token too."""
        token = f"{KEY_PREFIX}pg-{secrets.token_urlsafe(32)}"
        now = time.monotonic()
        with self._lock:
            self._delegated = {t: d for t, d in self._delegated.items() if d[0] > now}
            self._delegated[token] = (now + ttl_s, key.id)
        return token

    def authenticate(self, authorization: str | None) -> KeyInfo | None:
        """The caller's key (None when auth is off); raises Unauthorized."""
        if not self.required:
            return None
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Missing API key: send 'Authorization: Bearer ak-...'")
        token = token.strip()
        delegated = self._delegated.get(token)
        if delegated is not None:
            key = self._store.lookup_id(delegated[1]) if delegated[0] > time.monotonic() else None
            if key is None or key.revoked:
                raise Unauthorized("Expired playground token or revoked API key")
            return key
        cached = self._cache.get(token)
        if cached is None or time.monotonic() - cached[0] > self.CACHE_S:
            found = self._store.lookup(token)
            cached = (time.monotonic(), found)
            if found is not None:  # unknown tokens are not cached: they could fill memory
                self._cache[token] = cached
        key = cached[1]
        if key is None or key.revoked:
            raise Unauthorized("Incorrect or revoked API key")
        return key

    def authorize(self, key: KeyInfo | None, model: str) -> None:
        """Raises ModelNotFound for a model the key may not use (the answer for a model that
        does not exist: a key cannot probe for names), TooManyRequests over its rate."""
        if key is None:
            return
        if not key.allows(model):
            raise model_not_found(model)
        self.limiter.take(key)
