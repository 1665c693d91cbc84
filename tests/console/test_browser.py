"""The console in a real headless browser (Debian's chromium through Playwright): the issue's
whole scenario, role limits, CSRF and XSS attempts, with a screenshot of every page saved under
$AIRLOCK_TEST_ARTIFACTS (default tests/console/artifacts/).

These tests FAIL when chromium or Playwright is missing, so a CI run cannot pass without them;
AIRLOCK_SKIP_BROWSER_TESTS=1 opts out explicitly (and says so in the summary)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from .conftest import SCRIPT, Site, free_port
from .http_client import signed_in, wait_vetted

CHROMIUM = Path("/usr/bin/chromium")
OPT_OUT = "AIRLOCK_SKIP_BROWSER_TESTS"
ARTIFACTS = Path(os.environ.get("AIRLOCK_TEST_ARTIFACTS") or Path(__file__).parent / "artifacts")
# No network, no first-run work, no GPU: a browser that only talks to the test server.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _need_browser() -> None:
    if os.environ.get(OPT_OUT) == "1":
        pytest.skip(f"{OPT_OUT}=1: browser tests opted out")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail(
            f"playwright is not installed: pip install -e '.[dev]' (or set {OPT_OUT}=1 to opt out)"
        )
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: apt-get install -y chromium (make test does it), "
            f"or set {OPT_OUT}=1 to opt out"
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _need_browser()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(browser: Any, site: Site, role: str) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(site.url + "/")
    page.fill("#key", site.keys[role])
    page.click("button[type=submit]")
    page.wait_for_url(site.url + "/models")
    return page


def test_request_vet_approve_key_call_usage(browser: Any, site: Site) -> None:
    """The issue's scenario, start to end, as three people."""
    requester = sign_in(browser, site, "requester")
    shot(requester, "01-models-empty")
    requester.click("text=Requests")
    requester.fill("#name", "support-search")
    requester.fill("#source", str(site.roots / "minilm"))
    requester.fill("#note", "Semantic search over the support FAQ")
    shot(requester, "02-request-form")
    requester.click("text=Request and vet")
    requester.wait_for_selector("#progress")
    shot(requester, "03-request-vetting")
    # The page polls and reloads itself when the vetting is done.
    requester.wait_for_selector("#status:has-text('vetted')", timeout=300_000)
    requester.wait_for_selector("text=The evidence")
    shot(requester, "04-request-vetted")
    assert requester.locator("text=Your decision").count() == 0  # a requester cannot approve
    request_id = requester.url.rsplit("/", 1)[1]

    reviewer = sign_in(browser, site, "reviewer")
    reviewer.goto(f"{site.url}/requests/{request_id}")
    assert reviewer.locator(".verdict .headline").inner_text() in ("ADMIT", "ADMIT WITH CONDITIONS")
    shot(reviewer, "05-review")
    reviewer.check("input[value=admit_with_conditions]")
    reviewer.fill("#conditions", "Only for the support FAQ search")
    reviewer.click("text=Record decision")
    reviewer.wait_for_selector("text=Admitted by reviewer-rita")
    shot(reviewer, "06-admitted")

    requester.reload()
    assert "Admitted by reviewer-rita" in requester.inner_text("main")
    requester.click("text=Models")
    assert "support-search" in requester.inner_text("table")
    shot(requester, "07-models")
    requester.click("text=support-search")
    requester.wait_for_selector("pre.code")
    assert "Only for the support FAQ search" in requester.inner_text("main")
    assert "embeddings" in requester.inner_text("main")
    shot(requester, "08-model")

    admin = sign_in(browser, site, "admin")
    admin.click("text=Keys")
    admin.fill("#key-name", "faq-search-app")
    admin.select_option("#role", "app")
    admin.select_option("#models", "support-search")
    admin.click("text=Create key")
    token = admin.inner_text("#new-key").strip()
    assert token.startswith("ak-")
    shot(admin, "09-key-created")
    admin.reload()  # shown once: a reload (a GET) never shows it again
    assert token not in admin.content()

    client = openai.OpenAI(base_url=site.api, api_key=token)
    result = client.embeddings.create(model="support-search", input=["reset my password"])
    assert len(result.data[0].embedding) == 384

    admin.click("text=Usage")
    # Usage rows reach the database in the background: reload until the call is there.
    for _ in range(40):
        if "faq-search-app" in admin.inner_text("main"):
            break
        admin.wait_for_timeout(250)
        admin.reload()
    row = admin.locator("tr", has_text="faq-search-app")
    assert "support-search" in row.inner_text()
    shot(admin, "10-usage")
    admin.goto(site.url + "/models/support-search")
    assert "faq-search-app" in admin.inner_text("main")  # the model page's usage, too
    admin.click("text=Audit log")
    assert "request.admit" in admin.inner_text("main")
    shot(admin, "11-audit")


def test_app_key_cannot_sign_in(browser: Any, site: Site) -> None:
    page = browser.new_context().new_page()
    page.goto(site.url + "/sign-in")
    page.fill("#key", site.keys["app"])
    page.click("button[type=submit]")
    page.wait_for_selector("[role=alert]")
    assert "app key" in page.inner_text("[role=alert]")
    assert page.url.startswith(site.url + "/sign-in")
    shot(page, "12-sign-in-refused")


def test_requester_cannot_approve_even_by_posting(browser: Any, site: Site) -> None:
    """The decision is checked on the server: a requester who posts the form anyway (with
    a valid CSRF token) is refused."""
    http = signed_in(site.url, site.keys["requester"])
    made = http.post(
        "/admin/api/requests",
        json={"name": "posted-model", "source": str(site.roots / "minilm")},
        headers={"X-CSRF-Token": _csrf(http)},
    )
    assert made.status_code == 201
    wait_vetted(http, made.json()["id"])
    page = sign_in(browser, site, "requester")
    page.goto(f"{site.url}/requests/{made.json()['id']}")
    answer = page.evaluate(
        """async (id) => {
            const token = document.querySelector("input[name=csrf]").value;
            const body = new URLSearchParams({csrf: token, action: "admit"});
            const r = await fetch(`/requests/${id}/decide`, {method: "POST", body});
            return r.status;
        }""",
        made.json()["id"],
    )
    assert answer == 403
    assert http.get(f"/admin/api/requests/{made.json()['id']}").json()["status"] == "vetted"


def _csrf(http: httpx.Client) -> str:
    from .http_client import csrf_of

    return csrf_of(http.get("/requests").text)


class _Attacker(BaseHTTPRequestHandler):
    """Another site's page that posts a key-creating form to the console on load."""

    target = ""

    def do_GET(self) -> None:  # the http.server spelling
        page = (
            f'<form id="f" method="post" action="{self.target}/keys">'
            '<input name="name" value="planted-by-csrf"><input name="role" value="admin">'
            '</form><script>document.getElementById("f").submit()</script>'
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(page.encode())

    def log_message(self, *args: object) -> None:
        pass


def test_cross_site_form_post_is_refused(browser: Any, site: Site) -> None:
    _Attacker.target = site.url
    port = free_port()
    server = HTTPServer(("127.0.0.1", port), _Attacker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        page = sign_in(browser, site, "admin")
        page.goto(f"http://localhost:{port}/")
        page.wait_for_load_state("networkidle")
        shot(page, "13-csrf-refused")
    finally:
        server.shutdown()
    bearer = {"Authorization": f"Bearer {site.keys['admin']}"}
    names = [k["name"] for k in httpx.get(site.url + "/admin/api/keys", headers=bearer).json()]
    assert "planted-by-csrf" not in names


def test_hostile_model_text_does_not_run(browser: Any, site: Site) -> None:
    bearer = {"Authorization": f"Bearer {site.keys['requester']}"}
    made = httpx.post(
        site.url + "/admin/api/requests",
        json={"name": "hostile-browser", "source": str(site.roots / "hostile"), "note": SCRIPT},
        headers=bearer,
    ).json()
    http = signed_in(site.url, site.keys["reviewer"])
    assert wait_vetted(http, made["id"])["decision"] == "refuse"
    page = sign_in(browser, site, "reviewer")
    page.goto(f"{site.url}/requests/{made['id']}")
    page.wait_for_selector("text=Findings")
    assert page.evaluate("window.__xss") is None
    text = page.inner_text("main")
    assert SCRIPT in text  # shown as text, where a reviewer can read it
    assert page.locator(".verdict .headline").inner_text() == "REFUSE"
    shot(page, "14-hostile-refused")


def test_request_page_refreshes_itself_without_javascript(browser: Any, site: Site) -> None:
    """Forms and the live progress work with JavaScript off: the page refreshes while vetting."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(site.url + "/sign-in")
    page.fill("#key", site.keys["requester"])
    page.click("button[type=submit]")
    page.wait_for_url(site.url + "/models")
    page.goto(site.url + "/requests")
    page.fill("#name", "no-script-minilm")
    page.fill("#source", str(site.roots / "minilm"))
    page.click("text=Request and vet")
    page.wait_for_selector("#progress")
    page.wait_for_selector("#status:has-text('vetted')", timeout=300_000)
    assert "ADMIT" in page.inner_text(".verdict .headline")
    shot(page, "19-no-javascript-vetted")
    context.close()
