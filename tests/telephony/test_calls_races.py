"""Concurrency, with real threads and committed transactions: two callbacks racing to settle a
call settle it once; the same inbound call delivered twice at once is stored once; a recording
being downloaded is leased, so nobody else fetches it meanwhile."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from factories import CustomerPhoneFactory, LeadFactory

from leads.models import ContactEvent, Lead, Outcome
from telephony import calls
from telephony.models import Call
from tests.telephony import call_fixtures
from tests.telephony.call_fixtures import (
    AUDIO,
    DIAL,
    INBOUND,
    TRACKING_LINE,
    FakeRecordings,
    base,
    dial_complete,
    leg_path,
    leg_status,
    new_leg,
)
from tests.telephony.twilio_helpers import sid, signed_post

# Shared fixtures, bound here so pytest finds them in this module.
lines, recording_server = call_fixtures.lines, call_fixtures.recording_server

pytestmark = [pytest.mark.clock, pytest.mark.django_db(transaction=True)]


def at_once(*jobs):
    """Run the jobs in threads released together; each closes its own connection."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.fixture
def live_call(store, org, lines):
    lead = LeadFactory(store=store, owner=org["agent"])
    CustomerPhoneFactory(customer=lead.customer, number="+13125550142")
    call = Call.objects.create(
        store=store, call_sid=sid("CA"), direction="outbound", staff=org["agent"], customer=lead.customer, lead=lead,
        dealer_number=lines["agent"], customer_number="+13125550142", agent_number="+13125550111",
        status="in-progress", answered_by="human",
    )
    ContactEvent.objects.create(
        store=store, customer=lead.customer, lead=lead, staff=org["agent"], channel="call", direction="outbound",
        outcome=Outcome.ATTEMPT, evidence_level="verified", call_sid=call.call_sid,
    )
    return call


@pytest.mark.parametrize("attempt", range(3))
def test_two_callbacks_racing_to_settle_a_call_settle_it_once(live_call, attempt):
    leg = new_leg()
    done = leg_status(live_call.call_sid, leg, "completed", CallDuration="64")
    responses = at_once(
        lambda: signed_post(Client(), leg_path(live_call.call_sid), done),
        lambda: signed_post(Client(), DIAL, dial_complete(live_call.call_sid, leg, "completed", 64)),
    )
    assert [getattr(r, "status_code", r) for r in responses] == [200, 200]
    outcomes = list(ContactEvent.objects.filter(call_sid=live_call.call_sid).order_by("id").values_list(
        "outcome", "talk_seconds"))
    assert outcomes == [(Outcome.ATTEMPT, None), (Outcome.CONNECTED, 64)]


def test_the_same_inbound_call_delivered_twice_at_once_is_stored_once(store, lines):
    call_sid = sid("CA")
    params = base(call_sid, From="+17735550177", To=TRACKING_LINE, CallStatus="ringing", Direction="inbound")
    responses = at_once(*[lambda: signed_post(Client(), INBOUND, params)] * 3)
    assert [getattr(r, "status_code", r) for r in responses] == [200, 200, 200]
    assert len({r.content for r in responses}) == 1
    assert Call.objects.filter(call_sid=call_sid).count() == 1
    assert Lead.objects.count() == 1
    assert ContactEvent.objects.filter(call_sid=call_sid).count() == 1


def test_a_recording_being_downloaded_is_leased_to_its_worker(live_call, recording_server, monkeypatch):
    """While the first fetch is downloading (committed claim, no lock held), a second fetch
    of the same call, as a duplicate task or the sweeper would make, does nothing."""
    seen_during_download = []

    def second_fetch_while_serving(handler):
        try:
            seen_during_download.append(
                (calls.call_recording_fetch(call_id=live_call.pk), calls.call_recordings_due())
            )
        finally:
            connection.close()

    monkeypatch.setattr(FakeRecordings, "on_request", staticmethod(second_fetch_while_serving), raising=False)
    Call.objects.filter(pk=live_call.pk).update(
        recording_sid=sid("RE"), recording_url=f"{recording_server}/Recordings/RE1",
        recording_fetch_due_at=timezone.now(),
    )
    assert calls.call_recording_fetch(call_id=live_call.pk) is True
    assert seen_during_download == [(False, [])]
    call = Call.objects.get(pk=live_call.pk)
    assert call.recording_fetch_attempts == 1 and call.recording_fetch_due_at is None
    with call.recording_file.open("rb") as stored:
        assert stored.read() == AUDIO
