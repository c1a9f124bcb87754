"""Click-to-call in a real browser: the agent clicks Call on a lead, Twilio faked at the HTTP
boundary by the telephony sandbox's HTTP client under real-looking credentials (tests/conftest.py;
driven by a real Celery worker on Redis) rings the agent, connects the customer and sends the
app its signed Twilio callbacks and a recording; the timeline then shows a verified connected
call with a recording the browser can play."""

from __future__ import annotations

import time

import pytest
from factories import CustomerPhoneFactory, LeadFactory

from dealercrm.celery import app as celery_app
from leads.models import ContactEvent, EvidenceLevel, Outcome
from telephony.models import Call, DealerNumber, NumberPurpose
from tests.browser.test_lead_flow import log_in, open_login
from tests.test_celery_worker import start_worker, stop

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# The sandbox's outcome table: a number ending in 5-9 answers as a person and talks 95 s.
TALKATIVE_CUSTOMER = "+13125550147"


@pytest.fixture
def sandbox_env(live_server, settings, monkeypatch, tmp_path):
    """The worker is another process: it learns where to send webhooks and where media lives
    from its environment, exactly as the live server's settings say."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("PUBLIC_BASE_URL", live_server.url)
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path / "media"))
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)
    worker = start_worker(tmp_path, with_beat=False)
    yield tmp_path
    stop(worker)


def test_agent_clicks_call_and_the_timeline_shows_a_verified_call_with_its_recording(
    live_server, sandbox_env, desktop_page, screenshot, store, org
):
    agent = org["agent"]
    agent.desk_phone = "+13125550111"
    agent.save(update_fields=["desk_phone"])
    DealerNumber.objects.create(store=store, number="+13125550150", purpose=NumberPurpose.MAIN)
    DealerNumber.objects.create(store=store, number="+13125550151", purpose=NumberPurpose.AGENT, staff=agent)
    lead = LeadFactory(store=store, owner=agent, customer__first_name="Maria", customer__last_name="Gonzalez")
    CustomerPhoneFactory(customer=lead.customer, number=TALKATIVE_CUSTOMER)

    page = desktop_page
    open_login(page, live_server.url)
    log_in(page, agent.user.username, "pw-for-tests-1")
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    call_button = page.locator("#call-panel form button.call")
    call_button.wait_for()
    call_button.click()
    # The panel polls the live call; when it settles, the timeline refreshes itself, no reload.
    page.locator("#timeline li.verified").filter(has_text="Connected").first.wait_for(timeout=30_000)

    # The sandbox plays the call out in a few seconds; the recording follows through the worker.
    deadline = time.monotonic() + 60
    call = None
    while time.monotonic() < deadline:
        call = Call.objects.filter(lead=lead).first()
        if call is not None and call.recording_file:
            break
        time.sleep(0.5)
    log = (sandbox_env / "worker.log").read_text()[-3000:]
    assert call is not None and call.recording_file, log

    settled = ContactEvent.objects.get(call_sid=call.call_sid, superseded_by__isnull=True)
    assert settled.outcome == Outcome.CONNECTED and settled.evidence_level == EvidenceLevel.VERIFIED
    assert settled.answered_by_person is True and settled.talk_seconds >= 30

    page.reload()
    entry = page.locator("#timeline li.verified").filter(has_text="Connected").first
    entry.wait_for()
    assert "Verified" in entry.inner_text()
    audio = entry.locator("audio")
    src = audio.get_attribute("src")
    response = page.request.get(f"{live_server.url}{src}")
    assert response.status == 200 and response.headers["content-type"].startswith("audio/")
    # The browser itself loads and decodes the recording.
    duration = page.evaluate(
        """async (selector) => {
            const audio = document.querySelector(selector);
            audio.preload = "auto"; audio.load();
            await new Promise((ok, fail) => { audio.onloadedmetadata = ok; audio.onerror = fail; });
            return audio.duration;
        }""",
        "#timeline li.verified audio",
    )
    assert duration > 1
    screenshot(page, "desktop-5-lead-after-click-to-call")
    assert not page.js_errors
