"""The counter in Chromium with the CSP enforced: a clerk of store A signs in, finds a member
by the last four digits, records a purchase paying with points, and sees the new balance —
at tablet and phone sizes, with no console error, script error or policy violation.
Screenshots go to var/screenshots/. Skipped without Chromium; fails in CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from points.selectors.ledger import account_for
from tests.conftest import need
from tests.loyalty.test_csp_browser import CHROMIUM, LISTEN, REPORTED, _browser

from .world import PASSWORD, build_counter_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"


@pytest.mark.parametrize("size", [(1024, 768), (390, 844)], ids=["tablet", "phone"])
def test_a_clerk_sells_with_points_as_cash(live_server, size):
    from playwright.sync_api import sync_playwright

    need(Path(CHROMIUM).exists(), f"Chromium is not installed at {CHROMIUM}")
    world = build_counter_world()
    SHOTS.mkdir(parents=True, exist_ok=True)
    tag = f"{size[0]}x{size[1]}"
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        try:
            context = browser.new_context(locale="zh-CN", viewport={"width": size[0],
                                                                   "height": size[1]})
            context.add_init_script(LISTEN)
            page = context.new_page()
            page.on("console", lambda m: problems.append(m.text) if (
                m.type == "error" or m.text.startswith(REPORTED)) else None)
            page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
            page.goto(f"{live_server.url}/counter/")
            page.fill("input[name=username]", world.clerk_a.username)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/counter/")
            assert "上海店" in page.inner_text("header")
            page.screenshot(path=str(SHOTS / f"counter-home-{tag}.png"))

            page.fill("#q", "4321")
            page.keyboard.press("Enter")  # the way a scanner ends its code
            page.wait_for_selector(".pick")
            picks = page.inner_text("#results")
            assert "王小明" in picks and "139****4321" in picks and "李四" not in picks
            page.screenshot(path=str(SHOTS / f"counter-picks-{tag}.png"))
            page.click(".pick")
            page.wait_for_selector('[data-testid="available"]')
            assert page.inner_text('[data-testid="available"]').replace(",", "") == "5000"
            page.screenshot(path=str(SHOTS / f"counter-member-{tag}.png"), full_page=True)

            page.click("a[href$='/purchase/']")
            page.fill("input[name=category-0]", "tea")
            page.fill("input[name=amount-0]", "100.00")
            page.fill("input[name=points]", "1000")
            page.wait_for_selector('[data-testid="usable"]')
            assert page.inner_text('[data-testid="usable"]').replace(",", "") == "5000"
            page.screenshot(path=str(SHOTS / f"counter-purchase-{tag}.png"), full_page=True)
            page.click('[data-testid="confirm"]')
            page.wait_for_selector(".messages")
            assert page.inner_text('[data-testid="available"]').replace(",", "") == "4000"
            page.screenshot(path=str(SHOTS / f"counter-after-{tag}.png"), full_page=True)
        finally:
            browser.close()
    assert account_for(world.member_a.pk).available == 4000
    assert problems == []
