"""When a live call's panel stops being live, the page is told to refresh its timeline."""

from __future__ import annotations

import pytest
from factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_panel_poll_after_the_call_ended_triggers_a_timeline_refresh(client, org, store):
    lead = LeadFactory(store=store, owner=org["agent"])
    client.force_login(org["agent"].user)
    polled = client.get(f"/telephony/twilio/voice/leads/{lead.pk}/call/panel/?polling=1", HTTP_HX_REQUEST="true")
    assert polled.status_code == 200 and polled["HX-Trigger"] == "call-settled"
    first_load = client.get(f"/telephony/twilio/voice/leads/{lead.pk}/call/panel/", HTTP_HX_REQUEST="true")
    assert "HX-Trigger" not in first_load


def test_timeline_list_alone_is_served_and_listens_for_the_trigger(client, org, store):
    lead = LeadFactory(store=store, owner=org["agent"])
    client.force_login(org["agent"].user)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert 'hx-trigger="call-settled from:body' in page
    fragment = client.get(f"/leads/{lead.pk}/timeline/")
    assert fragment.status_code == 200 and 'id="timeline"' in fragment.content.decode()
    assert "log-form" not in fragment.content.decode()
    client.force_login(org["agent2"].user)
    assert client.get(f"/leads/{lead.pk}/timeline/").status_code == 404
