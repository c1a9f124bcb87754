"""Owners and receptionists are told: in the app at once, and by a text where the store enables it
(Twilio faked only at its HTTP boundary)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from factories import StaffFactory

from distribution import services, sweeper
from distribution.models import Notification
from org.models import Role
from telephony.models import DealerNumber, NumberPurpose
from tests.distribution.floor import at, floor, new_lead, rule
from tests.telephony.test_texts import twilio_http  # noqa: F401 - the fixture

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

MAIN_LINE = "+13125550100"


@pytest.fixture
def texting_store(store):
    store.notify_owner_by_sms = True
    store.ring_receptionist_by_sms = True
    store.save()
    DealerNumber.objects.create(store=store, number=MAIN_LINE, purpose=NumberPurpose.MAIN)
    return store


def test_the_owner_gets_the_new_lead_in_the_app_and_by_text(texting_store, twilio_http, django_capture_on_commit_callbacks):  # noqa: F811
    team, _, people = floor(texting_store, names=("ann",))
    people["ann"].cell_phone = "+13125550177"
    people["ann"].save()
    rule(texting_store, team=team)
    lead = new_lead(texting_store, received_at=at(10))
    with django_capture_on_commit_callbacks(execute=False):
        services.lead_route(lead_id=lead.pk, now=at(10))
    note = Notification.objects.get(staff=people["ann"])
    assert note.kind == "new_lead" and lead.customer.full_name in note.text and note.sms_due_at is not None
    # The Celery message is not delivered here: the sweeper sends what is due after a grace period.
    assert sweeper.texts_due(now=timezone.now()) == 0
    assert sweeper.texts_due(now=timezone.now() + dt.timedelta(minutes=1)) == 1
    [request] = twilio_http.requests
    assert request["data"]["To"] == "+13125550177" and request["data"]["From"] == MAIN_LINE
    assert request["data"]["Body"].startswith("DealerCRM: New lead:")
    note.refresh_from_db()
    assert note.sms_due_at is None and note.sms_sid.startswith("SM")
    assert sweeper.texts_due(now=timezone.now() + dt.timedelta(minutes=2)) == 0
    assert len(twilio_http.requests) == 1


def test_the_receptionist_phone_rings_for_a_board_lead(texting_store, twilio_http):  # noqa: F811
    team, _, people = floor(texting_store, names=("ann",))
    desk = StaffFactory(store=texting_store, role=Role.RECEPTIONIST, cell_phone="+13125550188")
    rule(texting_store, team=team, strategy="receptionist")
    lead = new_lead(texting_store, received_at=at(10))
    services.lead_route(lead_id=lead.pk, now=at(10))
    note = Notification.objects.get(staff=desk)
    assert services.notification_sms_send(notification_id=note.pk) is True
    assert services.notification_sms_send(notification_id=note.pk) is False  # once
    assert [r["data"]["To"] for r in twilio_http.requests] == ["+13125550188"]


def test_someone_without_a_cell_gets_the_app_notice_and_the_reason_no_text_went(texting_store, twilio_http):  # noqa: F811
    team, _, people = floor(texting_store, names=("ann",))
    rule(texting_store, team=team)
    lead = new_lead(texting_store, received_at=at(10))
    services.lead_route(lead_id=lead.pk, now=at(10))
    note = Notification.objects.get(staff=people["ann"])
    services.notification_sms_send(notification_id=note.pk)
    note.refresh_from_db()
    assert note.sms_due_at is None and note.sms_sid == "" and "has no cell phone" in note.sms_error
    assert twilio_http.requests == []


def test_no_text_when_the_store_does_not_enable_it(store, twilio_http):  # noqa: F811
    team, _, people = floor(store, names=("ann",))
    rule(store, team=team)
    services.lead_route(lead_id=new_lead(store, received_at=at(10)).pk, now=at(10))
    note = Notification.objects.get(staff=people["ann"])
    assert note.sms_due_at is None
    assert sweeper.texts_due(now=timezone.now() + dt.timedelta(hours=1)) == 0 and twilio_http.requests == []
