"""The agents' UI in a real browser (Debian's Chromium driven by Playwright) against a live
`webcare serve` with a database of its own: the whole life of one case, live updates included.

Screenshots of the queue and a case page at 1280 and 390 pixels go to `test-artifacts/`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.delivery.signing import sign_payload
from tests.conftest import EXAMPLE_RULES, REPO
from tests.test_service_e2e import start_service
from tests.ui.browser import CHROMIUM, CHROMIUM_ARGS, assert_accessible, assert_fits_width

pytestmark = pytest.mark.slow
playwright_api = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does)", allow_module_level=True)

ARTIFACTS = REPO / "test-artifacts"
WEBCARE = [sys.executable, "-m", "app"]
NEW_PASSWORD = "a brand new passphrase"
LIVE_TIMEOUT_MS = 5000


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp_path = tmp_path_factory.mktemp("ui-service")
    with start_service(tmp_path, EXAMPLE_RULES, extra_env={"WEBCARE_LOG_FORMAT": "text",
                                                          "WEBCARE_ENV": "development"}) as env:
        log = (tmp_path / "serve.log").read_text()
        found = re.search(r"one-time password (\S+)", log)
        assert found, log
        yield {"admin_password": found.group(1), **env}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def post_mention(service: dict[str, str], text: str, handle: str) -> str:
    secret = (Path(service["WEBCARE_VAR_DIR"]) / "secrets" / "LISTENING_WEBHOOK_SECRET").read_text().strip()
    body = json.dumps({"id": f"ui-{uuid.uuid4().hex}", "channel": "x", "text": text, "author": {"handle": handle},
                       "url": "https://x.example/status/1"}).encode()
    headers = {**sign_payload([secret], f"msg_{uuid.uuid4().hex}", int(time.time()), body),
               "content-type": "application/json"}
    answer = httpx.post(f"{service['base']}/webhooks/listening-tool", content=body, headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["cases"][0])


def cli(service: dict[str, str], *args: str) -> str:
    done = subprocess.run([*WEBCARE, *args], env=service, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def shoot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Screenshots at desktop and phone width, with the accessibility checks at each."""
    ARTIFACTS.mkdir(exist_ok=True)
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(150)
        assert_fits_width(page, width)
        assert_accessible(page)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_case_from_mention_to_close_in_the_browser(service: dict[str, str], browser) -> None:  # type: ignore[no-untyped-def]
    base = service["base"]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)

    # First login with the one-time password printed by `webcare serve`, then a password of one's own.
    page.goto(f"{base}/ui/")
    assert "/ui/login" in page.url
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(service["admin_password"])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/ui/password")
    assert_accessible(page)
    page.get_by_label("Current password").fill(service["admin_password"])
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url(f"{base}/ui/?changed=password")

    # A mention posted through the webhook appears in the open queue without a reload.
    page.wait_for_selector("body[data-live=connected]")
    load_id = page.evaluate("window.__pageLoadId")
    other = post_mention(service, "Mijn factuur is veel te hoog deze maand, dubbel afgeschreven!", "@els")
    ref = post_mention(service, "Waar vind ik de handleiding van mijn modem?\nIk kan hem nergens vinden.", "@jan")
    page.wait_for_selector(f"#row-{ref}", timeout=LIVE_TIMEOUT_MS)
    page.wait_for_selector(f"#row-{other}", timeout=LIVE_TIMEOUT_MS)
    assert page.evaluate("window.__pageLoadId") == load_id, "the queue page was reloaded"
    assert page.locator('.chip-n[data-count="active"]').inner_text() == "2"
    assert page.get_by_label("Status").locator('option[value=""]').inner_text() == "Active (2)"
    row = page.locator(f"#row-{ref}")
    assert "@jan" in row.inner_text() and "Waar vind ik de handleiding van mijn modem?" in row.inner_text()
    assert "Ik kan hem nergens vinden" not in row.inner_text()  # first line only
    shoot(page, "queue")

    # Keyboard: j/k to the row, enter to open it.
    page.locator("body").click(position={"x": 5, "y": 200})
    order = [r.get_attribute("data-ref") for r in page.locator("#queue-rows .qrow").all()]
    for _ in range(order.index(ref) + 1):
        page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/ui/cases/{ref}")
    assert page.locator("#sec-thread mark", has_text="modem").count() == 1  # the matched word, from the routing spans

    # c claims, r writes the reply.
    page.keyboard.press("c")
    page.wait_for_url(re.compile(r".*\?done=claim$"))
    assert page.locator("#case-assignee").inner_text() == "admin"
    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.id") == "respond-text"
    page.keyboard.type("Hoi Jan, de handleiding staat op telco.nl/modem.")
    assert "cannot post replies" in page.locator("#sec-composer").inner_text()
    page.get_by_role("button", name="Record reply").click()
    page.wait_for_url(re.compile(r".*\?done=respond-unsendable$"))
    assert "Hoi Jan, de handleiding staat op telco.nl/modem." in page.locator("#timeline-list").inner_text()
    reply = page.locator("#thread-list .msg-reply").last
    assert "Hoi Jan, de handleiding staat op telco.nl/modem." in reply.inner_text()
    assert reply.get_attribute("data-delivery") == "not_sendable"

    # Hand off to billing with a reason; billing acknowledges over the API and the page shows it live.
    page.get_by_label("Hand off to").select_option("billing")
    page.get_by_label("Reason", exact=True).first.fill("Klant wil een kopie van de factuur")
    page.get_by_role("button", name="Hand off").click()
    page.wait_for_url(re.compile(r".*\?done=handoff$"))
    assert page.locator("#case-status").inner_text() == "With department"
    page.wait_for_selector("body[data-live=connected]")
    load_id = page.evaluate("window.__pageLoadId")
    token = cli(service, "tokens", "create", "--department", "billing", "--label", "billing system")
    acked = httpx.post(f"{base}/api/v1/cases/{ref}/acknowledge", json={"external_ref": "BIL-4711"},
                       headers={"authorization": f"Bearer {token}"}, timeout=10)
    assert acked.status_code == 200, acked.text
    page.wait_for_selector("#timeline-list .ev-acknowledged", timeout=LIVE_TIMEOUT_MS)
    assert page.evaluate("window.__pageLoadId") == load_id, "the case page was reloaded"
    assert "BIL-4711" in page.locator("#sec-summary").inner_text()
    shoot(page, "case")

    # A form post without the CSRF token is refused (the browser's own cookie is sent).
    forged = page.request.post(f"{base}/ui/cases/{ref}/act/notes", form={"text": "forged"}, max_redirects=0)
    assert forged.status == 403
    forged_api = page.request.post(f"{base}/api/v1/cases/{ref}/notes", data={"text": "forged"})
    assert forged_api.status == 401
    assert "forged" not in page.reload().text()  # type: ignore[union-attr]

    # Resolve, then close.
    page.get_by_role("button", name="Resolve").click()
    page.wait_for_url(re.compile(r".*\?done=resolve$"))
    assert page.locator("#case-status").inner_text() == "Resolved"
    page.get_by_label("Reason for closing").fill("Klant geholpen")
    page.get_by_role("button", name="Close case").click()
    page.wait_for_url(re.compile(r".*\?done=close$"))
    assert page.locator("#case-status").inner_text() == "Closed"

    # The closed case leaves the active queue; search (/ then type) finds it.
    page.goto(f"{base}/ui/")
    page.wait_for_selector("body[data-live=connected]")
    assert page.locator(f"#row-{ref}").count() == 0
    page.keyboard.press("/")
    page.keyboard.type("handleiding")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*q=handleiding"))
    assert page.locator("#queue-rows .qrow").count() == 1
    assert page.locator(f"#row-{ref}").inner_text().count("Closed") == 1

    # ? opens the keyboard help.
    page.keyboard.press("Escape")
    page.locator("body").click(position={"x": 5, "y": 200})
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    assert_accessible(page)
    page.keyboard.press("Escape")

    # The ops pages pass the same checks.
    for path in ("/ui/admin/users", "/ui/admin/tokens", "/ui/settings"):
        page.goto(base + path)
        assert_accessible(page)
    assert "billing system" in page.goto(base + "/ui/admin/tokens").text()  # type: ignore[union-attr]
    context.close()
