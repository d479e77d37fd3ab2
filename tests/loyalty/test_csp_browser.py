"""The Content-Security-Policy in a real browser: Chromium (Debian's package, driven by
Playwright) signs in as a superuser and opens every page of the admin — read from the URL
conf as the permission matrix reads it: lists, add pages, change, delete and history pages of
a saved object of each model, the pages admins add of their own, the site's pages — and the
API docs, with the policy enforced. Any violation the browser reports (in the console, or
as a `securitypolicyviolation` event) or any script error fails the test.

Without Chromium (`apt-get install chromium fonts-noto-cjk`) the test is skipped, and fails
in CI."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import need
from tests.loyalty.admin_world import build_world
from tests.loyalty.test_permission_matrix import admin_urls

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
REPORTED = "csp-violation:"  # what the page's listener writes to the console
LISTEN = """document.addEventListener("securitypolicyviolation", (event) => {
  console.error("%s " + event.violatedDirective + " " + (event.blockedURI || "inline")
                + " at " + event.sourceFile + ":" + event.lineNumber);
});""" % REPORTED

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class Watch:
    """Collects what a page reports: policy violations and uncaught script errors."""

    def __init__(self, page):
        self.problems: list[str] = []
        self.where = ""
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(
            f"{self.where}: script error: {error}"))

    def _console(self, message) -> None:
        text = message.text
        if text.startswith(REPORTED) or "Content Security Policy" in text:
            self.problems.append(f"{self.where}: {text}")


def _open(page, watch: Watch, url: str) -> int | None:
    from playwright.sync_api import Error

    watch.where = url
    try:
        response = page.goto(url, wait_until="load")
    except Error as error:
        if "Download is starting" in str(error):
            return None  # an export: a file, not a page
        raise
    assert response is not None, url
    if "text/html" in response.headers.get("content-type", ""):
        assert "content-security-policy" in response.headers, url
    return response.status


def test_the_browser_reports_a_violation_when_there_is_one(live_server):
    """The detector itself: a page served with our policy and an inline script without the
    nonce must be reported (else a clean run below would prove nothing)."""
    from playwright.sync_api import sync_playwright

    need(Path(CHROMIUM).exists(), f"Chromium is not installed at {CHROMIUM} "
         "(apt-get install chromium fonts-noto-cjk)")
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        try:
            context = browser.new_context()
            context.add_init_script(LISTEN)
            page = context.new_page()
            watch = Watch(page)
            policy = page.goto(f"{live_server.url}/admin/login/").headers[
                "content-security-policy"]
            trap = f"{live_server.url}/admin/login/?trap"
            page.route(trap, lambda route: route.fulfill(
                status=200, headers={"Content-Security-Policy": policy,
                                     "Content-Type": "text/html"},
                body="<!doctype html><p>trap</p><script>document.title = 'ran'</script>"))
            page.goto(trap, wait_until="load")
            page.wait_for_timeout(200)
            assert page.title() != "ran"
            assert any(REPORTED in problem for problem in watch.problems), watch.problems
        finally:
            browser.close()


def test_no_admin_page_and_not_the_api_docs_break_the_policy(live_server):
    from playwright.sync_api import TimeoutError, sync_playwright

    need(Path(CHROMIUM).exists(), f"Chromium is not installed at {CHROMIUM} "
         "(apt-get install chromium fonts-noto-cjk)")
    from members.defaults import ensure_default_rfm_segments
    from tiers.defaults import ensure_default_ladder

    ensure_default_ladder()  # data migrations' rows, gone after a flushing test
    ensure_default_rfm_segments()
    world = build_world()
    urls, _undeclared = admin_urls(world)  # the permission matrix reports those
    paths = list(dict.fromkeys(["/admin/"] + [u.path for u in urls if u.action is None]))
    started = time.monotonic()
    server_errors: list[str] = []
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        try:
            context = browser.new_context(locale="zh-CN")
            context.add_init_script(LISTEN)
            page = context.new_page()
            watch = Watch(page)
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", "root")
            page.fill("#id_password", "x")
            page.click("[type=submit]")
            page.wait_for_url(f"{live_server.url}/admin/")
            for path in paths:
                status = _open(page, watch, live_server.url + path)
                if status is not None and status >= 500:
                    server_errors.append(f"{path}: {status}")
            _open(page, watch, f"{live_server.url}/api/docs/")
            try:  # Swagger UI renders the schema it fetches, all by script
                page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
                page.wait_for_load_state("networkidle")
            except TimeoutError:
                watch.problems.append("/api/docs/: Swagger UI did not render the schema")
        finally:
            browser.close()
    took = time.monotonic() - started
    print(f"{len(paths) + 1} pages opened in Chromium in {took:.0f} s")
    assert len(paths) > 150
    assert not server_errors, "\n".join(server_errors)
    assert not watch.problems, "\n".join(watch.problems)
