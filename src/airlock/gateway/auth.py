"""API keys: `ak-` + 32 random bytes, shown once, stored as a sha256 hash; per-key allowed
models, requests and tokens per minute (enforced by gateway/limits.py)."""

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

from airlock.gateway.errors import Unauthorized, model_not_found
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
    tpm: int | None = None

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
        tpm: int | None = None,
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
            tpm=tpm,
            created_at=datetime.now(UTC),
            role=role,
        )
        try:
            with Session(self._engine) as session, session.begin():
                session.add(row)
                session.flush()
                info = _info(row)
                details = {"prefix": row.prefix, "models": models, "rpm": rpm, "tpm": tpm}
                details["role"] = role
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

    def ping(self) -> None:
        """Raises when the database does not answer (readiness probes)."""
        with self._engine.connect() as connection:
            connection.execute(select(1))

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
        row.tpm,
    )


class Authenticator:
    """Bearer token -> key, with a short cache so a request costs no database round trip."""

    CACHE_S = 5.0

    def __init__(self, store: KeyStore, required: bool) -> None:
        self._store = store
        self.required = required
        self._cache: dict[str, tuple[float, KeyInfo | None]] = {}
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

    def forget(self) -> None:
        """Drop cached keys: a key revoked elsewhere is refused from the next request on."""
        self._cache.clear()

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
        does not exist: a key cannot probe for names). Rate limits are gateway/limits.py's."""
        if key is not None and not key.allows(model):
            raise model_not_found(model)
