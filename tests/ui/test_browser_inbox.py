"""The inbox as an agent uses it, in a real browser (Debian's Chromium driven by Playwright) against
a live `webcare serve`: the conversation as a thread with a reply's delivery state, the composer on
a connector that cannot send, unread markers and urgency, bulk claim of ten cases (click,
shift-click, keyboard), and single-key shortcuts turned off. Every page is checked at 1280 and 390
pixels with axe-core's WCAG 2.1 AA rules; screenshots go to `test-artifacts/`."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.ui.test_browser import LIVE_TIMEOUT_MS, browser, cli, post_mention, service, shoot  # noqa: F401

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def agents(service: dict[str, str]) -> Iterator[dict[str, str]]:  # noqa: F811
    for name in ("ann", "bob"):
        cli(service, "users", "add", name, "--role", "agent", "--password", PASSWORD)
    yield service


def logged_in(browser, base: str, name: str):  # type: ignore[no-untyped-def]  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{base}/ui/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/ui/")
    return context, page


def test_thread_reply_state_and_unsendable_composer(agents: dict[str, str], browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base = agents["base"]
    ref = post_mention(agents, "Mijn factuur is dubbel afgeschreven deze maand!", "@els")
    context, page = logged_in(browser, base, "ann")
    row = page.locator(f"#row-{ref}")
    assert "unread" in (row.get_attribute("class") or "")  # never opened by ann
    assert row.locator("time[data-rel]").first.get_attribute("title").endswith("(Europe/Amsterdam)")  # type: ignore[union-attr]
    assert row.locator(".sla-icon").count() == 1
    shoot(page, "inbox-queue")

    page.locator(f"#row-{ref} .case-link").click()
    page.wait_for_url(f"{base}/ui/cases/{ref}")
    composer = page.locator("#sec-composer")
    assert "listening-tool, which cannot post replies" in composer.inner_text()
    assert composer.get_by_role("checkbox").count() == 0  # no "send through the platform" box to tick
    page.get_by_label("Reply to the customer").fill("Hoi Els, we zoeken het uit en komen erop terug.")
    page.get_by_role("button", name="Record reply").click()
    page.wait_for_url(re.compile(r".*\?done=respond-unsendable$"))
    assert "Recorded in the conversation, not sent" in page.locator(".flash-ok").inner_text()
    reply = page.locator("#thread-list .msg-reply").last
    assert "Hoi Els, we zoeken het uit" in reply.inner_text()
    assert reply.get_attribute("data-delivery") == "not_sendable"
    assert "Not sendable on this connector" in reply.inner_text()

    # The billing department writes a note over the API: it appears in the thread live, by name.
    page.wait_for_selector("body[data-live=connected]")
    token = cli(agents, "tokens", "create", "--department", "billing", "--label", "billing")
    noted = httpx.post(f"{base}/api/v1/cases/{ref}/notes", json={"text": "Creditnota is onderweg"},
                       headers={"authorization": f"Bearer {token}"}, timeout=10)
    assert noted.status_code == 200, noted.text
    page.wait_for_selector("#thread-list .msg-note", timeout=LIVE_TIMEOUT_MS)
    note = page.locator("#thread-list .msg-note").last
    assert "Creditnota is onderweg" in note.inner_text()
    assert "billing" not in note.inner_text().lower().split()  # the department's name, never its id
    kinds = [li.get_attribute("data-kind") for li in page.locator("#thread-list > li").all()]
    assert kinds == ["customer", "reply", "note"]
    shoot(page, "inbox-case-thread")

    page.goto(f"{base}/ui/")
    assert "unread" not in (page.locator(f"#row-{ref}").get_attribute("class") or "")  # ann has read it
    context.close()


def test_bulk_claim_of_ten_cases(agents: dict[str, str], browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base = agents["base"]
    refs = [post_mention(agents, f"Storing in Delft, geen internet sinds vanochtend ({i})", f"@buur{i}")
            for i in range(10)]
    context, page = logged_in(browser, base, "bob")
    page.goto(f"{base}/ui/?q=Delft&status=open&status=pending_department")
    page.wait_for_selector("body[data-live=connected]")
    order = [r.get_attribute("data-ref") for r in page.locator("#queue-rows .qrow").all()]
    assert sorted(order) == sorted(refs)
    # click the first, shift-click the ninth: a range of nine; then x on the tenth from the keyboard
    page.locator(f"#select-{order[0]}").click()
    page.locator(f"#select-{order[8]}").click(modifiers=["Shift"])
    assert page.locator("#bulk-count").inner_text() == "9 selected"
    page.locator("body").click(position={"x": 5, "y": 5})
    for _ in range(10):
        page.keyboard.press("j")
    page.keyboard.press("x")
    assert page.locator("#bulk-count").inner_text() == "10 selected"
    assert page.locator("#queue-rows .row-select:checked").count() == 10
    page.get_by_label("With the selected").select_option("claim")
    assert page.locator("#bulk-reason").is_hidden()  # only the chosen action's fields
    shoot(page, "inbox-bulk-selected")
    page.get_by_role("button", name="Apply to selected").click()
    page.wait_for_url(f"{base}/ui/bulk")
    assert page.locator("#bulk-results .bulk-done").count() == 10
    assert "Claim: 10 of 10 cases done." in page.locator(".flash-ok").inner_text()
    shoot(page, "inbox-bulk-results")
    page.get_by_role("link", name="Back to the queue").click()
    for ref in refs:
        assert "bob" in page.locator(f"#row-{ref}").inner_text()
    context.close()


def test_shortcuts_switched_off(agents: dict[str, str], browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base = agents["base"]
    ref = post_mention(agents, "Waar vind ik mijn factuur van oktober?", "@piet")
    context, page = logged_in(browser, base, "ann")
    page.goto(f"{base}/ui/settings")
    page.get_by_label("Single-key keyboard shortcuts").uncheck()
    page.get_by_role("button", name="Save shortcut setting").click()
    page.wait_for_url(f"{base}/ui/settings?saved=1")
    shoot(page, "inbox-settings")
    page.goto(f"{base}/ui/cases/{ref}")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("c")  # would claim with shortcuts on
    page.keyboard.press("?")
    page.wait_for_timeout(300)
    assert page.url == f"{base}/ui/cases/{ref}" and not page.locator("#help").is_visible()
    assert page.locator("#case-assignee").inner_text() == "nobody"
    page.get_by_role("button", name="Keyboard shortcuts").click()  # the help stays reachable by button
    assert "Single-key shortcuts are off for you" in page.locator("#help").inner_text()
    page.keyboard.press("Escape")
    page.goto(f"{base}/ui/settings")
    page.get_by_label("Single-key keyboard shortcuts").check()
    page.get_by_role("button", name="Save shortcut setting").click()
    page.goto(f"{base}/ui/cases/{ref}")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("c")
    page.wait_for_url(re.compile(r".*\?done=claim$"))
    assert page.locator("#case-assignee").inner_text() == "ann"
    context.close()
