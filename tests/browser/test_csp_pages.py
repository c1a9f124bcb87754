"""Every page of every role passes the Content-Security-Policy in a real browser (issue 14).

On the demo store (every page has something to show), each role signs in through the sign-in
page and walks every kind of page its links reach (one page per URL shape: /leads/12/ stands
for every lead), the admin walks the Django admin, the director opens the API docs and the
telephony sandbox is on. A `securitypolicyviolation` event, a console error or warning, or an
uncaught script error on any of them fails the test, naming the page.
"""

from __future__ import annotations

import re
from io import StringIO
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.management import call_command

from org.models import Role, Staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo1234"  # devtools/demo/organization.py DEMO_PASSWORD
PAGES_PER_ROLE = 45
# Not pages: downloads, leaving, and the sandbox's and the admin's write-only or foreign URLs.
SKIP = re.compile(r"/logout|format=(csv|json|deals_csv)|/recording|/export|^/admin/logout|/static/|/api/v1/|/api/schema")

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.reportViolation([e.violatedDirective, e.blockedURI || "inline", e.sourceFile + ":" + e.lineNumber].join(" "));
});
"""


def shape(url: str) -> str:
    """/leads/123/?owner=none&page=2 and /leads/7/?owner=mine&page=3 are one kind of page."""
    parts = urlsplit(url)
    keys = sorted({key for key, _ in parse_qsl(parts.query)} - {"page"})
    return re.sub(r"\d+", "N", parts.path) + ("?" + "&".join(keys) if keys else "")


class Watch:
    def __init__(self, page):
        self.page = page
        self.current = ""
        self.problems: list[str] = []
        page.expose_function("reportViolation", lambda text: self.problems.append(f"{self.current}: CSP {text}"))
        page.add_init_script(REPORT_VIOLATIONS)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"{self.current}: script error {exc}"))

    def _console(self, message) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"{self.current}: console {message.type}: {message.text}")

    def visit(self, url: str) -> None:
        self.current = url
        self.page.goto(url)  # returns at the load event: the page's own scripts and styles have run
        # Then what htmx loads into the page as it opens (hx-trigger="load", the first poll): until
        # no element is mid-request, and a moment for the swap. Not "network idle", which a page that
        # polls reaches only after a timeout (three quarters of this test's time went to waiting).
        self.page.wait_for_timeout(100)
        self.page.wait_for_function("() => !document.querySelector('.htmx-request')", timeout=10_000)
        self.page.wait_for_timeout(100)

    def links(self, base_url: str) -> list[str]:
        hrefs = self.page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)")
        return [href.split("#")[0] for href in hrefs if href.startswith(base_url)]


def walk(watch: Watch, base_url: str, start: str, *, within: str = "/", limit: int = PAGES_PER_ROLE) -> list[str]:
    """Breadth first from `start`, one page per URL shape, staying under `within`."""
    seen_shapes: set[str] = set()
    queue = [base_url + start]
    visited: list[str] = []
    while queue and len(visited) < limit:
        url = queue.pop(0)
        path = url[len(base_url):]
        if shape(path) in seen_shapes or SKIP.search(path) or not path.startswith(within):
            continue
        if within == "/" and path.startswith("/admin/"):
            continue
        seen_shapes.add(shape(path))
        watch.visit(url)
        visited.append(path)
        queue.extend(watch.links(base_url))
    return visited


def sign_in(watch: Watch, base_url: str, username: str) -> None:
    watch.visit(f"{base_url}/login/")
    watch.page.locator("#id_username").fill(username)
    watch.page.locator("#id_password").fill(PASSWORD)
    with watch.page.expect_navigation():
        watch.page.locator("form button[type=submit]").click()
    assert "/login/" not in watch.page.url, f"{username} could not sign in"


def test_every_page_of_every_role_passes_the_policy(live_server, browser, settings):
    settings.TELEPHONY_SANDBOX = True
    call_command("demo_store", stdout=StringIO())
    base_url = live_server.url
    visited: dict[str, list[str]] = {}
    problems: list[str] = []

    for role in (Role.INTERNET_AGENT, Role.RETAIL, Role.SALES_MANAGER, Role.INTERNET_DIRECTOR,
                 Role.RECEPTIONIST, Role.ADMIN):
        person = Staff.objects.filter(role=role, is_active=True).select_related("user").order_by("pk").first()
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        context.set_default_timeout(15_000)
        watch = Watch(context.new_page())
        try:
            sign_in(watch, base_url, person.user.username)
            visited[role] = walk(watch, base_url, "/")
            if role == Role.INTERNET_DIRECTOR:
                watch.visit(f"{base_url}/api/docs/")
                watch.page.locator("#swagger-ui .information-container").wait_for()
                watch.page.locator(".opblock").first.click()  # an operation opens: Swagger UI's own scripts run
                watch.page.wait_for_timeout(300)
                visited[role].append("/api/docs/")
            if role == Role.ADMIN:
                visited["admin site"] = walk(watch, base_url, "/admin/", within="/admin/", limit=25)
        finally:
            problems += watch.problems
            context.close()

    # The walk reached the pages that matter, not just the first one.
    everything = {path for paths in visited.values() for path in paths}
    for expected in ("/today/", "/leads/", "/distribution/board/", "/sales-board/", "/schedules/",
                     "/coverage/deals/", "/telephony/sandbox/", "/api/docs/", "/admin/"):
        assert any(path.startswith(expected) for path in everything), (expected, sorted(everything))
    assert any(re.match(r"^/leads/\d+/$", path) for path in everything)
    assert len(everything) >= 40, sorted(everything)
    assert problems == [], "\n".join(problems)
