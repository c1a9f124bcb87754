"""Server push in a real browser: "the bell rings and the board shows a new lead with no poll
request sent."

The app runs under uvicorn (tests/asgi_server.py), where GET /live/stream/ is a server-sent
event stream. Every request a page makes is recorded. Once the pages' streams are open they sit
idle longer than the old poll intervals (bell 5 s, board 2 s) and send nothing; then leads arrive
through the intake service and the router, as the API and the routing task do it, and the agent's
bell, their Today queue and the receptionist's board (at the desk and on a manager's phone) show
them within two seconds, by reloads the stream's events caused. Then the stream is cut (the server
stops), an event is published meanwhile, and after the restart the page gets it by the
Last-Event-ID replay. Under pytest-django's WSGI live_server the stream answers 204 and the pages
poll as they did before.

Every lead is routed whatever the hour: the store is open all week, the agent is on shift all
week and is also the rule's after-hours person, and the board takes phone-ups at any hour.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from factories import StaffFactory, StoreFactory, TeamFactory

from distribution import services as routing
from distribution.models import Notification, NotificationKind, RoutingState
from leads import services as intake
from leads.models import IntakeChannel, SourceType
from live.models import LiveEvent
from org.models import WEEKDAYS, Role
from tests.browser.conftest import DESKTOP
from tests.browser.test_board_flow import on_shift_all_week
from tests.browser.test_lead_flow import log_in, open_login
from tests.distribution.floor import agent, rule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"
OLD_POLLS_SECONDS = 6  # longer than the bell's old 5 s poll and the board's 2 s one
SHOWS_WITHIN_MS = 2000

# Every event the page's stream delivered (live.js dispatches "live:event" for each one it acts on).
RECORD_EVENTS = """
window.__liveEvents = [];
document.addEventListener("live:event", function (e) { window.__liveEvents.push(e.detail); });
"""


class Requests:
    """Every request a page sends, with the moment (time.monotonic) the test saw it leave."""

    def __init__(self, page):
        self.sent: list[tuple[float, str, object]] = []
        self.answers: list[tuple[str, int]] = []
        page.on("request", lambda request: self.sent.append((time.monotonic(), request.url, request)))
        page.on("response", lambda response: self.answers.append((urlsplit(response.url).path, response.status)))

    def to(self, path: str, since: float = 0.0, until: float = float("inf")) -> list[tuple[float, str, object]]:
        return [r for r in self.sent if urlsplit(r[1]).path == path and since <= r[0] <= until]

    def between(self, since: float, until: float) -> list[str]:
        return [url for at, url, _ in self.sent if since <= at <= until]


@pytest.fixture
def store_floor():
    store = StoreFactory(name="North Motors", slug="north-motors",
                         business_hours={day: [["00:00", "23:59"]] for day in WEEKDAYS})
    manager = StaffFactory(store=store, role=Role.SALES_MANAGER, user__username="max",
                           user__first_name="Max", user__last_name="Reyes")
    team = TeamFactory(store=store, name="Internet", manager=manager)
    ann = on_shift_all_week(agent(store, team, "ann", days=()))
    rita = StaffFactory(store=store, role=Role.RECEPTIONIST, user__username="rita",
                        user__first_name="Rita", user__last_name="Desk")
    rule(store, team=team, strategy="receptionist", name="Phone-ups to the board", source_type=SourceType.PHONE_UP,
         position=1)
    rule(store, staff=[ann], name="Internet leads", strategy="round_robin", is_fallback=True, after_hours_staff=ann)
    return {"store": store, "ann": ann, "rita": rita, "max": manager}


def arrives(store, first: str, last: str, phone: str, *, source: str, provider: str = "", vehicle=None):
    """A lead comes in as the API takes it (leads.services.lead_create, committed), and the routing
    task routes it (its Celery message goes unconsumed here: the test does the worker's part)."""
    data = intake.LeadData(
        source_type=source, intake_channel=IntakeChannel.API, first_name=first, last_name=last,
        phones=[(phone, "mobile")], provider=provider,
        vehicles=[intake.VehicleData(condition=vehicle[0], year=vehicle[1], make=vehicle[2], model=vehicle[3])]
        if vehicle else [],
    )
    result = intake.lead_create(store=store, data=data)
    assert result.created
    assert routing.lead_route(lead_id=result.lead.pk)
    result.lead.refresh_from_db()
    return result.lead


def sign_in(page, base_url: str, username: str, path: str) -> Requests:
    """Sign in, then open `path` with every request it sends recorded. The page signing in lands
    on opens a stream of its own: it is left (and its stream closed) before recording starts."""
    page.add_init_script(script=RECORD_EVENTS)
    open_login(page, base_url)
    log_in(page, username, PASSWORD)
    page.goto("about:blank")
    requests = Requests(page)
    page.goto(f"{base_url}{path}")
    return requests


def wait_until(page, condition, seconds: float) -> None:
    """Let the page run (its events reach the recorders) until `condition()` or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        page.wait_for_timeout(50)


def wait_for_stream(page, timeout: float = 5000) -> None:
    page.wait_for_function("() => document.body.dataset.liveState === 'stream'", timeout=timeout)


def bell_count(page) -> list[str]:
    return page.locator("#bell .bell-count").all_inner_texts()


def test_the_bell_rings_and_the_board_shows_a_new_lead_with_no_poll_sent(
    asgi_live_server, browser, desktop_page, phone_page, screenshot, store_floor
):
    base = asgi_live_server.url
    store, ann = store_floor["store"], store_floor["ann"]
    bell_url, board_url = reverse("distribution_queue:bell"), reverse("distribution_board:live")
    stream_url = reverse("live:stream")

    agent_context = browser.new_context(viewport=DESKTOP)
    agent_context.set_default_timeout(10_000)
    try:
        agent_page = agent_context.new_page()
        agent_page.js_errors = []
        agent_page.on("pageerror", lambda exc: agent_page.js_errors.append(str(exc)))
        pages = {
            "ann's Today": (agent_page, sign_in(agent_page, base, "ann", "/today/")),
            "rita's board": (desktop_page, sign_in(desktop_page, base, "rita", "/distribution/board/")),
            "max's board (phone)": (phone_page, sign_in(phone_page, base, "max", "/distribution/board/")),
        }
        for page, _ in pages.values():
            wait_for_stream(page)
        desktop_page.locator("#board .board-grid").wait_for()
        phone_page.locator("#board .board-grid").wait_for()
        for page in (desktop_page, phone_page):
            assert "No leads waiting" in page.locator("#board").inner_text()
            page.evaluate("window.__sameDocument = true")  # survives htmx swaps, not a reload
        desktop_page.get_by_role("button", name="Turn on sound").click()  # the board rings from here on
        assert bell_count(agent_page) == []  # nothing unread yet
        agent_page.wait_for_timeout(1000)  # the reloads that `ready` asks for come back

        # The recorder sees the pages' bell and board loads (so an idle window without them means something).
        for name, (_page, requests) in pages.items():
            assert requests.to(bell_url), f"{name}: the bell never loaded"
            assert len(requests.to(stream_url)) == 1, f"{name}: {requests.to(stream_url)}"
        assert pages["rita's board"][1].to(board_url), "the board's live region never loaded"

        # ---- Idle, longer than the old polls: not one request, the open stream is all ----------------
        idle_from = time.monotonic()
        agent_page.wait_for_timeout(OLD_POLLS_SECONDS * 1000)
        idle_to = time.monotonic()
        for name, (page, requests) in pages.items():
            assert requests.between(idle_from, idle_to) == [], f"{name} sent requests while idle"
            assert page.evaluate("document.body.dataset.liveState") == "stream", name

        # ---- A lead for Ann, and a phone-up for the board ---------------------------------------------
        arrived = time.monotonic()
        maria = arrives(store, "Maria", "Gonzalez", "(312) 555-0142", source=SourceType.THIRD_PARTY,
                        provider="CarGurus", vehicle=("new", 2024, "Toyota", "Highlander"))
        routed_to_ann = time.monotonic()
        assert maria.owner == ann
        agent_page.locator("#bell .bell-count", has_text="1").wait_for(timeout=SHOWS_WITHIN_MS)
        assert time.monotonic() - routed_to_ann < SHOWS_WITHIN_MS / 1000
        agent_page.locator("#queue .t-row", has_text="Maria Gonzalez").wait_for(timeout=SHOWS_WITHIN_MS)

        jamal = arrives(store, "Jamal", "Okafor", "(312) 555-0199", source=SourceType.PHONE_UP,
                        vehicle=("used", 2021, "Honda", "CR-V"))
        on_board = time.monotonic()
        assert jamal.routing.state == RoutingState.BOARD and jamal.owner is None
        for page in (desktop_page, phone_page):
            row = page.locator(f'#board [data-lead-id="{jamal.pk}"]')
            row.wait_for(timeout=SHOWS_WITHIN_MS)
            assert time.monotonic() - on_board < SHOWS_WITHIN_MS / 1000
            assert "is-new" in row.get_attribute("class")  # it flashes
            assert "Jamal Okafor" in page.locator("#board-announce").inner_text()  # said to a screen reader
            assert page.title().startswith("(1) Receptionist board")
            assert page.evaluate("window.__sameDocument === true"), "the board reloaded instead of updating in place"
        assert desktop_page.evaluate("document.getElementById('board').dataset.rings") == "1"  # rang, once
        # The receptionist is told on her bell too (a "new lead on the board" notification).
        desktop_page.locator("#bell .bell-count", has_text="1").wait_for(timeout=SHOWS_WITHIN_MS)
        assert Notification.objects.filter(staff=store_floor["rita"], lead=jamal).count() == 1

        desktop_page.wait_for_timeout(2500)  # nothing more may come: no poll after the nudges either
        quiet_to = time.monotonic()
        for name, (page, requests) in pages.items():
            for url in (bell_url, board_url):
                after_idle = requests.to(url, since=idle_from)
                assert all(at >= arrived for at, _, _ in after_idle), f"{name}: {url} requested before the leads came"
                assert len(after_idle) <= 3, f"{name}: {len(after_idle)} requests to {url}: polling?"
            assert len(requests.to(stream_url)) == 1, f"{name}: the stream was opened again"
            assert page.evaluate("document.body.dataset.liveState") == "stream", name
            assert page.js_errors == [], name
        # Each change came as a reload its event asked for: the bells once, the boards once (or twice
        # where two events came close together).
        assert len(pages["ann's Today"][1].to(bell_url, since=arrived, until=quiet_to)) >= 1
        assert 1 <= len(pages["rita's board"][1].to(board_url, since=arrived, until=quiet_to)) <= 2
        assert pages["ann's Today"][1].to(board_url) == []  # an agent's page has no board
        assert LiveEvent.objects.filter(staff=ann, topic="notification", lead_id=maria.pk).count() == 1

        screenshot(agent_page, "live-push-1-agent-today-bell")
        screenshot(desktop_page, "live-push-2-desk-board-new-lead")
        screenshot(phone_page, "live-push-3-phone-board-new-lead")
    finally:
        agent_context.close()


def test_a_dropped_stream_resumes_and_replays_what_it_missed(asgi_live_server, desktop_page, store_floor):
    """The server goes away twice (a deploy, a restart) while a lead comes to Ann; each time the
    page's stream comes back by itself, says which event it saw last (Last-Event-ID) and is sent the
    one it missed. The first time the event log was empty when the page connected (it resumes from
    "0"), the second time it resumes from the event replayed to it the first time."""
    base = asgi_live_server.url
    store, ann = store_floor["store"], store_floor["ann"]
    stream_url = reverse("live:stream")
    page = desktop_page
    assert not LiveEvent.objects.exists()
    requests = sign_in(page, base, "ann", "/today/")
    wait_for_stream(page)
    assert bell_count(page) == []
    seen = "0"  # the id `ready` carried: no event yet
    customers = [("Maria", "Gonzalez", "(312) 555-0142"), ("Kevin", "Osei", "(312) 555-0177")]
    for unread, (first, last, phone) in enumerate(customers, start=1):
        asgi_live_server.stop()
        page.wait_for_function("() => document.body.dataset.liveState === 'polling'", timeout=5000)
        lead = arrives(store, first, last, phone, source=SourceType.THIRD_PARTY, provider="CarGurus")
        assert lead.owner == ann
        missed = LiveEvent.objects.get(staff=ann, topic="notification", lead_id=lead.pk)
        assert page.evaluate(f"() => window.__liveEvents.some(e => e.id === {missed.pk})") is False
        streams_before = len(requests.to(stream_url))

        asgi_live_server.start()  # the same port
        wait_for_stream(page, timeout=8000)
        page.wait_for_function(f"() => window.__liveEvents.some(e => e.id === {missed.pk})", timeout=SHOWS_WITHIN_MS)
        page.locator("#bell .bell-count", has_text=str(unread)).wait_for(timeout=SHOWS_WITHIN_MS)
        page.locator("#queue .t-row", has_text=f"{first} {last}").wait_for(timeout=SHOWS_WITHIN_MS)
        resumed = requests.to(stream_url)[streams_before:]
        assert resumed, "the stream was not opened again"
        headers = resumed[-1][2].all_headers()  # .headers leaves Last-Event-ID out
        assert headers.get("last-event-id") == seen, headers
        seen = str(page.evaluate("() => window.__liveEvents[window.__liveEvents.length - 1].id"))
    assert page.js_errors == []


def test_a_reload_that_fails_is_tried_again_until_it_shows(asgi_live_server, desktop_page, store_floor):
    """The stream says a lead came, but the bell's reload fails (a proxy answers 502): the event
    was handled, so nothing would bring it back; the page tries the reload again until it works."""
    base = asgi_live_server.url
    store, ann = store_floor["store"], store_floor["ann"]
    bell_url = reverse("distribution_queue:bell")
    page = desktop_page
    requests = sign_in(page, base, "ann", "/today/")
    wait_for_stream(page)
    assert bell_count(page) == []
    failing = {"on": True}

    def gateway(route):
        if failing["on"]:
            route.fulfill(status=502, body="Bad gateway")
        else:
            route.continue_()

    page.route(f"**{bell_url}", gateway)
    since = time.monotonic()
    lead = arrives(store, "Maria", "Gonzalez", "(312) 555-0142", source=SourceType.THIRD_PARTY, provider="CarGurus")
    assert lead.owner == ann
    wait_until(page, lambda: len(requests.to(bell_url, since)) >= 2, 6)
    assert len(requests.to(bell_url, since)) >= 2, "the failed reload was not tried again"
    assert bell_count(page) == []
    failing["on"] = False
    page.locator("#bell .bell-count", has_text="1").wait_for(timeout=15_000)
    assert document_state(page) == "stream"


def document_state(page) -> str:
    return page.evaluate("() => document.body.dataset.liveState")


def test_under_wsgi_the_stream_is_refused_and_the_bell_polls(live_server, desktop_page, store_floor):
    """pytest-django's live_server is WSGI: GET /live/stream/ answers 204, and the page polls at
    the old interval."""
    page = desktop_page
    bell_url, stream_url = reverse("distribution_queue:bell"), reverse("live:stream")
    requests = sign_in(page, live_server.url, "ann", "/today/")
    wait_until(page, lambda: (stream_url, 204) in requests.answers and requests.to(bell_url), 3.0)
    assert page.evaluate("() => document.body.dataset.liveState") == "polling"
    first = requests.to(bell_url)[0][0]  # its own load (hx-trigger "load")
    wait_until(page, lambda: len(requests.to(bell_url)) >= 2, first + 6.5 - time.monotonic())
    bells = requests.to(bell_url)
    assert len(bells) >= 2, "the bell was not polled within 6.5 s"
    assert bells[1][0] - first >= 4.0, "polled sooner than the old 5 s"
    # And the poll is how a notification shows here: the next one, once the last one has answered.
    wait_until(page, lambda: [path for path, _ in requests.answers].count(bell_url) >= 2, 2.0)
    routing.notify(staff_id=store_floor["ann"].pk, store=store_floor["store"], lead=None, kind=NotificationKind.NEW_LEAD,
                   text="A test notification.", sms=False)
    page.locator("#bell .bell-count", has_text="1").wait_for(timeout=6500)
    assert len(requests.to(bell_url)) == 3
    assert len(requests.to(stream_url)) == 1  # refused, and not tried again at once
    assert page.js_errors == []
