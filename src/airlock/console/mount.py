"""Put the console on a gateway app: pages at /, the admin API at /admin/api, static files at
/console/static. `airlock serve` calls mount(); the gateway itself knows nothing of it."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from airlock.console import api, pages
from airlock.console.requests import Requests
from airlock.console.sessions import SessionStore, SignInLimiter
from airlock.console.web import HERE, Console
from airlock.gateway.auth import KeyStore
from airlock.policy.model import Policy
from airlock.policy.schema import default_policy
from airlock.registry.store import Registry


def mount(
    app: FastAPI,
    registry: Registry,
    *,
    policy: Policy | None = None,
    request_roots: tuple[Path, ...] = (),
) -> Console:
    """`request_roots`: folders on the server people may ask for models from (none by
    default: only repo ids already in the server's Hugging Face cache)."""
    keys = KeyStore(registry.engine)
    chosen = policy or default_policy()
    console = Console(
        registry=registry,
        keys=keys,
        sessions=SessionStore(registry.engine, keys),
        requests=Requests(registry, chosen, request_roots),
        limiter=SignInLimiter(),
        policy=chosen,
    )
    app.state.console = console
    app.include_router(pages.router)
    app.include_router(api.router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
    console.requests.resume()
    return console
