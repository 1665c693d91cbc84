"""Signing in over plain HTTP (httpx keeps the cookies), as a browser without JavaScript does."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found is not None, "no CSRF field in the page"
    return found.group(1)


def signed_in(url: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=url, follow_redirects=False, timeout=60)
    form = client.get("/sign-in")
    answer = client.post("/sign-in", data={"csrf": csrf_of(form.text), "key": token})
    assert answer.status_code == 303, answer.text
    return client


def post_form(client: httpx.Client, page: str, target: str, **fields: Any) -> httpx.Response:
    """Submit a form to `target` the way `page` does: with the CSRF token the page carries."""
    token = csrf_of(client.get(page).text)
    return client.post(target, data={"csrf": token, **fields})


def wait_vetted(client: httpx.Client, request_id: int, limit_s: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + limit_s
    while True:
        found: dict[str, Any] = client.get(f"/admin/api/requests/{request_id}").json()
        if found["status"] not in ("queued", "vetting"):
            return found
        assert time.monotonic() < deadline, f"request {request_id} still {found['status']}"
        time.sleep(0.5)
