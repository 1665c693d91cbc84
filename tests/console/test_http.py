"""The console without a browser: sign-in, sessions, roles, CSRF, the admin API, escaping."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from airlock.console.sessions import COOKIE, SignInLimiter

from .conftest import IMG, SCRIPT, Site
from .http_client import csrf_of, post_form, signed_in, wait_vetted


def test_signed_out_pages_redirect_to_sign_in(site: Site) -> None:
    for page in ("/models", "/requests", "/keys", "/usage", "/audit"):
        answer = httpx.get(site.url + page)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/sign-in")


def test_session_cookie_is_httponly_strict_and_expires(site: Site) -> None:
    client = httpx.Client(base_url=site.url)
    form = client.get("/sign-in")
    answer = client.post("/sign-in", data={"csrf": csrf_of(form.text), "key": site.keys["admin"]})
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith(COOKIE))
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Max-Age=28800" in cookie
    assert "Secure" not in cookie  # plain HTTP here; under TLS the flag is set


def test_app_key_cannot_sign_in(site: Site) -> None:
    client = httpx.Client(base_url=site.url)
    form = client.get("/sign-in")
    answer = client.post("/sign-in", data={"csrf": csrf_of(form.text), "key": site.keys["app"]})
    assert answer.status_code == 401
    assert "app key" in answer.text
    assert COOKIE not in answer.cookies


def test_app_key_cannot_use_the_admin_api(site: Site) -> None:
    headers = {"Authorization": f"Bearer {site.keys['app']}"}
    assert httpx.get(site.url + "/admin/api/models", headers=headers).status_code == 401


def test_sign_in_form_needs_its_csrf_token(site: Site) -> None:
    client = httpx.Client(base_url=site.url)
    client.get("/sign-in")
    answer = client.post("/sign-in", data={"csrf": "forged", "key": site.keys["admin"]})
    assert answer.status_code == 403
    assert COOKIE not in answer.cookies


def test_failed_sign_ins_are_rate_limited(site: Site) -> None:
    saved = site.console.limiter
    site.console.limiter = SignInLimiter(attempts=3, window_s=60)
    try:
        client = httpx.Client(base_url=site.url)
        codes = []
        for _ in range(4):
            form = client.get("/sign-in")
            data = {"csrf": csrf_of(form.text), "key": "ak-wrong"}
            codes.append(client.post("/sign-in", data=data).status_code)
        assert codes == [401, 401, 401, 429]
        form = client.get("/sign-in")
        data = {"csrf": csrf_of(form.text), "key": site.keys["admin"]}
        refused = client.post("/sign-in", data=data)  # even the right key, until it passes
        assert refused.status_code == 429
        assert "Retry-After" in refused.headers
    finally:
        site.console.limiter = saved


def test_sign_out_ends_the_session(site: Site) -> None:
    client = signed_in(site.url, site.keys["requester"])
    cookie = client.cookies[COOKIE]
    assert post_form(client, "/models", "/sign-out").status_code == 303
    stale = httpx.get(site.url + "/models", cookies={COOKIE: cookie})
    assert stale.status_code == 303


def test_forms_refuse_a_missing_or_forged_csrf_token(site: Site) -> None:
    client = signed_in(site.url, site.keys["admin"])
    for token in (None, "forged"):
        data = {"name": "csrf-victim", "role": "admin"}
        if token is not None:
            data["csrf"] = token
        answer = client.post("/keys", data=data)
        assert answer.status_code == 403
        assert "CSRF" in answer.text
    names = [k["name"] for k in client.get("/admin/api/keys").json()]
    assert "csrf-victim" not in names


def test_admin_api_with_the_cookie_needs_the_csrf_header(site: Site) -> None:
    client = signed_in(site.url, site.keys["admin"])
    answer = client.post("/admin/api/keys", json={"name": "cookie-only"})
    assert answer.status_code == 403
    token = csrf_of(client.get("/keys").text)
    made = client.post(
        "/admin/api/keys", json={"name": "cookie-and-header"}, headers={"X-CSRF-Token": token}
    )
    assert made.status_code == 201
    assert made.json()["key"].startswith("ak-")


def test_roles_are_checked_on_the_server(site: Site) -> None:
    requester = signed_in(site.url, site.keys["requester"])
    assert requester.get("/keys").status_code == 403
    assert requester.get("/audit").status_code == 403
    assert post_form(requester, "/models", "/keys", name="sneaky").status_code == 403
    bearer = {"Authorization": f"Bearer {site.keys['requester']}"}
    assert httpx.get(site.url + "/admin/api/keys", headers=bearer).status_code == 403
    reviewer = {"Authorization": f"Bearer {site.keys['reviewer']}"}
    assert httpx.get(site.url + "/admin/api/audit", headers=reviewer).status_code == 200
    assert (
        httpx.post(site.url + "/admin/api/keys", json={"name": "x"}, headers=reviewer).status_code
        == 403
    )


def test_admin_api_is_in_the_openapi_document(site: Site) -> None:
    paths = httpx.get(site.url + "/openapi.json").json()["paths"]
    for path in (
        "/admin/api/models",
        "/admin/api/requests",
        "/admin/api/requests/{request_id}/decision",
        "/admin/api/keys",
        "/admin/api/usage",
        "/admin/api/audit",
    ):
        assert path in paths
    assert "/models" not in paths  # the pages are not API


def test_pages_carry_a_strict_content_security_policy(site: Site) -> None:
    client = signed_in(site.url, site.keys["admin"])
    policy = client.get("/models").headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_requests_are_refused_outside_the_allowed_roots(site: Site) -> None:
    bearer = {"Authorization": f"Bearer {site.keys['requester']}"}
    answer = httpx.post(
        site.url + "/admin/api/requests",
        json={"name": "etc", "source": "/etc"},
        headers=bearer,
    )
    assert answer.status_code == 400
    assert "not under a folder" in answer.json()["error"]["message"]


def test_uncached_repo_id_is_refused_without_download(site: Site) -> None:
    bearer = {"Authorization": f"Bearer {site.keys['requester']}"}
    answer = httpx.post(
        site.url + "/admin/api/requests",
        json={"name": "absent", "source": "nobody-org/not-a-cached-model"},
        headers=bearer,
    )
    assert answer.status_code == 400
    assert "cache" in answer.json()["error"]["message"]


@pytest.fixture(scope="module")
def hostile_request(site: Site) -> dict[str, object]:
    requester = signed_in(site.url, site.keys["requester"])
    made = post_form(
        requester,
        "/requests",
        "/requests",
        name="hostile-model",
        source=str(site.roots / "hostile"),
        note=f"for {SCRIPT}",
    )
    assert made.status_code == 303
    request_id = int(made.headers["location"].rsplit("/", 1)[1])
    return wait_vetted(requester, request_id)


def test_hostile_text_is_rendered_inert(site: Site, hostile_request: dict[str, object]) -> None:
    assert hostile_request["status"] == "vetted"
    assert hostile_request["decision"] == "refuse"
    client = signed_in(site.url, site.keys["reviewer"])
    page = client.get(f"/requests/{hostile_request['id']}").text
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in page  # shown, as text
    assert SCRIPT not in page
    assert IMG not in page
    assert re.search(r"<script(?! src=\"/console/static/console.js\")", page) is None


def test_reviewer_cannot_admit_what_the_policy_refuses(
    site: Site, hostile_request: dict[str, object]
) -> None:
    reviewer = {"Authorization": f"Bearer {site.keys['reviewer']}"}
    answer = httpx.post(
        f"{site.url}/admin/api/requests/{hostile_request['id']}/decision",
        json={"action": "admit", "reason": "looks fine to me"},
        headers=reviewer,
    )
    assert answer.status_code == 403
    assert "only an admin" in answer.json()["error"]["message"]


def test_requester_cannot_decide(site: Site, hostile_request: dict[str, object]) -> None:
    requester = signed_in(site.url, site.keys["requester"])
    answer = post_form(
        requester,
        f"/requests/{hostile_request['id']}",
        f"/requests/{hostile_request['id']}/decide",
        action="refuse",
        reason="mine",
    )
    assert answer.status_code == 403
    assert requester.get(f"/admin/api/requests/{hostile_request['id']}").json()["status"] == (
        "vetted"
    )


def test_refusal_needs_a_reason_and_is_audited(
    site: Site, hostile_request: dict[str, object]
) -> None:
    reviewer = {"Authorization": f"Bearer {site.keys['reviewer']}"}
    url = f"{site.url}/admin/api/requests/{hostile_request['id']}/decision"
    assert httpx.post(url, json={"action": "refuse"}, headers=reviewer).status_code == 400
    done = httpx.post(
        url, json={"action": "refuse", "reason": "runs os.system on load"}, headers=reviewer
    )
    assert done.status_code == 200
    assert done.json()["status"] == "refused"
    entries = httpx.get(site.url + "/admin/api/audit", headers=reviewer).json()
    refusal = next(e for e in entries if e["action"] == "request.refuse")
    assert refusal["actor"] == "reviewer-rita"
    assert refusal["reason"] == "runs os.system on load"
    assert refusal["details"]["policy_digest"].startswith("sha256:")
    again = httpx.post(url, json={"action": "refuse", "reason": "x"}, headers=reviewer)
    assert again.status_code == 409


def test_models_page_filters_by_search_and_kind(site: Site) -> None:
    from airlock.cli import main

    from .conftest import minilm_folder

    assert main(["admit", str(minilm_folder()), "--name", "filter-minilm"]) == 0
    client = signed_in(site.url, site.keys["requester"])
    assert "filter-minilm" in client.get("/models", params={"category": "embeddings"}).text
    assert "filter-minilm" not in client.get("/models", params={"category": "chat"}).text
    assert "filter-minilm" in client.get("/models", params={"q": "FILTER"}).text
    assert "filter-minilm" not in client.get("/models", params={"q": "no-such-name"}).text
    row = next(r for r in client.get("/admin/api/models").json() if r["name"] == "filter-minilm")
    assert row["category"] == "embeddings"
    assert row["commercial"] == "Yes"
    assert row["hardware"].startswith("any machine")


def test_session_cookie_is_secure_under_tls(site: Site) -> None:
    """Behind a TLS-terminating proxy on this host (uvicorn trusts its X-Forwarded-Proto)."""
    tls = {"X-Forwarded-Proto": "https"}
    form = httpx.get(site.url + "/sign-in", headers=tls)
    assert "Secure" in form.headers["set-cookie"]  # the sign-in form's CSRF cookie too
    # httpx keeps Secure cookies for https URLs: hand the form's cookie back by hand.
    sent = {**tls, "Cookie": f"airlock_sign_in={form.cookies['airlock_sign_in']}"}
    data = {"csrf": csrf_of(form.text), "key": site.keys["admin"]}
    answer = httpx.post(site.url + "/sign-in", data=data, headers=sent)
    assert answer.status_code == 303
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith(COOKIE))
    assert "Secure" in cookie


def test_an_expired_session_signs_nobody_in(site: Site) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from airlock.registry.console_tables import ConsoleSession

    client = signed_in(site.url, site.keys["reviewer"])
    assert client.get("/models").status_code == 200
    with Session(site.registry.engine) as session, session.begin():
        session.execute(
            update(ConsoleSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert client.get("/models").status_code == 303


def test_revoking_a_key_ends_its_sessions(site: Site) -> None:
    bearer = {"Authorization": f"Bearer {site.keys['admin']}"}
    made = httpx.post(
        site.url + "/admin/api/keys", json={"name": "leaver", "role": "reviewer"}, headers=bearer
    ).json()
    client = signed_in(site.url, made["key"])
    assert client.get("/models").status_code == 200
    httpx.post(site.url + "/admin/api/keys/leaver/revoke", json={}, headers=bearer)
    assert client.get("/models").status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_sign_in_never_redirects_off_the_console(site: Site, target: str) -> None:
    client = httpx.Client(base_url=site.url)
    form = client.get("/sign-in")
    data = {"csrf": csrf_of(form.text), "key": site.keys["requester"], "next": target}
    answer = client.post("/sign-in", data=data)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/models"


def test_eval_results_recorded_after_admission_are_listed(site: Site) -> None:
    from tests.registry.eval_docs import candidate, document

    from airlock.cli import main
    from airlock.registry.evals import record

    from .conftest import minilm_folder

    assert main(["admit", str(minilm_folder()), "--name", "evaluated-minilm"]) == 0
    admitted = site.registry.get("evaluated-minilm")
    assert admitted is not None
    record(
        site.registry,
        document(candidate("evaluated-minilm", admitted.manifest_digest, {"ndcg@10": 0.7})),
        actor="tester",
    )
    bearer = {"Authorization": f"Bearer {site.keys['requester']}"}
    rows = httpx.get(site.url + "/admin/api/models", headers=bearer).json()
    row = next(r for r in rows if r["name"] == "evaluated-minilm")
    assert len(row["evals"]) == 1 and "support-faq ndcg@10 = 0.7" in row["evals"][0]
    client = signed_in(site.url, site.keys["requester"])
    page = client.get("/models/evaluated-minilm").text
    assert "1 eval result recorded for these exact files" in page


def test_a_repo_id_in_the_servers_hugging_face_cache_is_vetted(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache layout huggingface_hub writes: refs/main names the snapshot folder."""
    import shutil

    from huggingface_hub import constants

    from .conftest import minilm_folder

    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--example-org--tiny-search"
    shutil.copytree(minilm_folder(), repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    requester = signed_in(site.url, site.keys["requester"])
    made = post_form(
        requester, "/requests", "/requests", name="cached-search", source="example-org/tiny-search"
    )
    assert made.status_code == 303
    found = wait_vetted(requester, int(made.headers["location"].rsplit("/", 1)[1]))
    assert found["status"] == "vetted", found["error"]
    assert found["dossier"]["source"].endswith(f"snapshots/{revision}")
