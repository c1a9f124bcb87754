"""A typed call can say "spoke with the customer": two-way at the self-reported level, counted by
a policy that accepts self-reported evidence and refused, with the reason, by a verified-only one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from factories import LeadFactory

from dealcoverage import engine, selectors
from dealcoverage.presets import preset
from leads.models import ContactEvent, EvidenceLevel, Outcome

pytestmark = [pytest.mark.clock, pytest.mark.django_db]


def logged_in(staff) -> Client:
    client = Client()
    client.force_login(staff.user)
    return client


def test_the_browser_log_records_a_conversation_as_two_way_self_reported(store, org):
    lead = LeadFactory(store=store, owner=org["agent"])
    response = logged_in(org["agent"]).post(
        reverse("leads:log", args=[lead.pk]),
        {"channel": "call", "outcome": "connected", "talk_minutes": "4.5", "body": "Talked trade-in"},
    )
    assert response.status_code in (200, 302)
    event = ContactEvent.objects.get(lead=lead)
    assert (event.evidence_level, event.outcome, event.answered_by_person, event.talk_seconds) == (
        EvidenceLevel.SELF_REPORTED, Outcome.CONNECTED, True, 270
    )
    assert event.is_two_way and event.is_attempt
    page = logged_in(org["agent"]).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "two-way" in page and "Self-reported" in page


def test_a_typed_duration_under_the_stores_minimum_is_not_two_way(store, org):
    lead = LeadFactory(store=store, owner=org["agent"])
    logged_in(org["agent"]).post(reverse("leads:log", args=[lead.pk]),
                                 {"channel": "call", "outcome": "connected", "talk_minutes": "0.2"})
    event = ContactEvent.objects.get(lead=lead)
    assert event.talk_seconds == 12 and not event.is_two_way


def test_minutes_without_a_conversation_are_a_form_error_and_nothing_is_stored(store, org):
    lead = LeadFactory(store=store, owner=org["agent"])
    response = logged_in(org["agent"]).post(reverse("leads:log", args=[lead.pk]),
                                            {"channel": "call", "outcome": "voicemail", "talk_minutes": "3"})
    assert response.status_code == 422
    assert "Minutes go with a call where you spoke with the customer." in response.content.decode()
    assert not ContactEvent.objects.filter(lead=lead).exists()


def test_the_api_takes_spoke_with_customer_and_answers_the_classification(store, org, api_for):
    lead = LeadFactory(store=store, owner=org["agent"])
    response = api_for(org["agent"]).post("/api/v1/contact-events/", {
        "lead": lead.pk, "channel": "call", "outcome": "connected", "spoke_with_customer": True,
    }, format="json")
    assert response.status_code == 201, response.content
    assert (response.data["is_two_way"], response.data["evidence_level"], response.data["talk_seconds"]) == (
        True, "self_reported", None
    )
    bad = api_for(org["agent"]).post("/api/v1/contact-events/", {
        "lead": lead.pk, "channel": "note", "body": "x", "talk_minutes": 5,
    }, format="json")
    assert bad.status_code == 400 and "talk_minutes" in bad.data
    assert ContactEvent.objects.filter(lead=lead).count() == 1


def test_a_typed_conversation_counts_under_self_reported_policies_and_not_under_verified_only(store, org):
    lead = LeadFactory(store=store, owner=org["agent"])
    logged_in(org["agent"]).post(reverse("leads:log", args=[lead.pk]), {"channel": "call", "outcome": "connected"})
    event = ContactEvent.objects.get(lead=lead)
    events = [selectors.to_engine_event(event)]
    sale = event.occurred_at + dt.timedelta(hours=1)
    retail = engine.decide(preset("retail-3d"), events, None, sale)
    assert retail.covered
    internet = engine.decide(preset("internet-new-7d"), events, None, sale)
    assert not internet.covered
    assert internet.not_counted[0].reason == "a typed call, self-reported: not accepted under verified-only"
    assert "typed call: spoke with the customer" in engine.describe(events[0])


def test_the_api_refuses_a_conversation_that_contradicts_itself(store, org, api_for):
    lead = LeadFactory(store=store, owner=org["agent"])
    client = api_for(org["agent"])
    wrong_outcome = client.post("/api/v1/contact-events/", {
        "lead": lead.pk, "channel": "call", "outcome": "voicemail", "spoke_with_customer": True,
    }, format="json")
    assert wrong_outcome.status_code == 400 and "outcome" in wrong_outcome.data
    on_a_note = client.post("/api/v1/contact-events/", {
        "lead": lead.pk, "channel": "note", "body": "x", "spoke_with_customer": True,
    }, format="json")
    assert on_a_note.status_code == 400 and "spoke_with_customer" in on_a_note.data
    assert not ContactEvent.objects.filter(lead=lead).exists()


def test_whole_minutes_are_a_valid_step_in_the_browser_form(store, org):
    lead = LeadFactory(store=store, owner=org["agent"])
    page = logged_in(org["agent"]).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert 'name="talk_minutes"' in page and 'step="any"' in page
