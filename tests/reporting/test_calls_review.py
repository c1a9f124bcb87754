"""Call review: managers list the recorded calls of their people, filter them by person, outcome and
date, and play them in place through the permission-checked recording view."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from factories import LeadFactory, StaffFactory, TeamFactory

from leads.models import Channel, ContactEvent, EvidenceLevel, Outcome
from org.models import Role
from telephony.calls import can_play_recording
from telephony.models import Call

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

LIST = reverse("calls_review:list")
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def recorded_call(store, *, staff, lead, outcome=Outcome.CONNECTED, ago=dt.timedelta(minutes=10), talk=95,
                  recorded=True, direction="outbound") -> Call:
    """A settled call as telephony leaves it: the attempt event superseded by the outcome event,
    and (when recorded) the audio fetched into our storage."""
    n = next(_numbers)
    at = timezone.now() - ago
    connected = outcome == Outcome.CONNECTED
    call = Call.objects.create(
        store=store, call_sid=f"CA{n:032d}", direction=direction, staff=staff,
        customer=lead.customer if lead else None, lead=lead, customer_number="+13125550142", status="completed",
        customer_leg_status="completed" if connected else "no-answer", talk_seconds=talk if connected else None,
        created_at=at, settled_at=at, recording_sid=f"RE{n:032d}" if recorded else "",
        recording_seconds=talk if recorded else None,
    )
    if recorded:
        call.recording_file.save(f"call-{n}.wav", ContentFile(b"RIFF....WAVEfmt "), save=True)
    if lead is not None:
        common = {
            "store": store, "customer": lead.customer, "lead": lead, "staff": staff, "channel": Channel.CALL,
            "direction": direction, "occurred_at": at, "evidence_level": EvidenceLevel.VERIFIED, "call_sid": call.call_sid,
        }
        attempt = ContactEvent.objects.create(outcome=Outcome.ATTEMPT, body="Calling…", **common)
        ContactEvent.objects.create(
            outcome=outcome, body="settled", talk_seconds=talk if connected else None,
            answered_by_person=True if connected else (False if outcome == Outcome.VOICEMAIL else None),
            supersedes=attempt, **common,
        )
    return call


def ids_on(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'id="call-(\d+)"', html)}


def page_for(client, viewer, **params):
    client.force_login(viewer.user)
    return client.get(LIST, params)


@pytest.fixture
def calls(store, org, other_store):
    agent, retail, agent2 = org["agent"], org["retail"], org["agent2"]
    agent_lead = LeadFactory(store=store, owner=agent, customer__first_name="Maria", customer__last_name="Gonzalez")
    retail_lead = LeadFactory(store=store, owner=retail)
    agent2_lead = LeadFactory(store=store, owner=agent2)
    their_agent = StaffFactory(store=other_store, role=Role.INTERNET_AGENT)
    their_lead = LeadFactory(store=other_store, owner=their_agent)
    return {
        "agent": recorded_call(store, staff=agent, lead=agent_lead, ago=dt.timedelta(minutes=5)),
        "retail": recorded_call(store, staff=retail, lead=retail_lead, outcome=Outcome.VOICEMAIL, talk=22,
                                ago=dt.timedelta(minutes=50)),
        # Answered on the main line (nobody on staff by name), on the agent's customer.
        "main_line": recorded_call(store, staff=None, lead=agent_lead, direction="inbound", ago=dt.timedelta(hours=2)),
        "agent2": recorded_call(store, staff=agent2, lead=agent2_lead, ago=dt.timedelta(minutes=30)),
        "unrecorded": recorded_call(store, staff=agent, lead=agent_lead, recorded=False, ago=dt.timedelta(minutes=1)),
        "other_store": recorded_call(other_store, staff=their_agent, lead=their_lead),
        "agent_lead": agent_lead,
    }


def test_a_manager_sees_the_recorded_calls_of_their_team_only(client, org, calls):
    response = page_for(client, org["manager"])
    assert response.status_code == 200
    html = response.content.decode()
    assert ids_on(html) == {calls["agent"].pk, calls["retail"].pk, calls["main_line"].pk}
    # Every row it lists is one the recording rule lets this manager play.
    for call in Call.objects.filter(pk__in=ids_on(html)):
        assert can_play_recording(org["manager"].user, call)


def test_the_director_sees_the_whole_store_and_not_another(client, org, calls):
    html = page_for(client, org["director"]).content.decode()
    assert ids_on(html) == {calls["agent"].pk, calls["retail"].pk, calls["main_line"].pk, calls["agent2"].pk}


def test_a_manager_of_another_store_sees_none_of_ours(client, calls, other_store):
    their_manager = StaffFactory(store=other_store, role=Role.SALES_MANAGER)
    TeamFactory(store=other_store, manager=their_manager)
    html = page_for(client, their_manager).content.decode()
    assert ids_on(html) == set()
    assert "No recorded calls yet" in html


@pytest.mark.parametrize("who", ["agent", "retail", "receptionist"])
def test_call_review_is_for_managers_and_the_director(client, org, calls, who):
    assert page_for(client, org[who]).status_code == 403


def test_newest_first_with_outcome_talk_time_and_lead_link(client, org, calls):
    html = page_for(client, org["manager"]).content.decode()
    order = [int(pk) for pk in re.findall(r'id="call-(\d+)"', html)]
    assert order == [calls["agent"].pk, calls["retail"].pk, calls["main_line"].pk]
    agent_row = html[html.index(f'id="call-{calls["agent"].pk}"'):html.index(f'id="call-{calls["retail"].pk}"')]
    assert 'class="pill cr-outcome connected">Connected<' in agent_row
    assert "talked 1 min 35 s" in agent_row
    assert reverse("leads:detail", args=[calls["agent_lead"].pk]) in agent_row
    assert "Maria Gonzalez" in agent_row
    retail_row = html[html.index(f'id="call-{calls["retail"].pk}"'):]
    assert 'cr-outcome voicemail">Voicemail<' in retail_row
    main_row = html[html.index(f'id="call-{calls["main_line"].pk}"'):]
    assert "Main line" in main_row


def test_each_row_plays_its_recording_through_the_permission_checked_view(client, org, calls):
    html = page_for(client, org["manager"]).content.decode()
    sources = re.findall(r'<audio controls preload="none" src="([^"]+)"', html)
    assert len(sources) == 3
    assert reverse("telephony:call_recording", args=[calls["agent"].pk]) in sources
    for src in sources:
        audio = client.get(src)
        assert audio.status_code == 200 and audio["Content-Type"] == "audio/wav"
    # The same address refuses someone outside the rule.
    client.force_login(org["agent2"].user)
    assert client.get(reverse("telephony:call_recording", args=[calls["agent"].pk])).status_code == 404


def test_filter_by_person(client, org, calls):
    html = page_for(client, org["manager"], staff=org["retail"].pk).content.decode()
    assert ids_on(html) == {calls["retail"].pk}
    director = page_for(client, org["director"], staff=org["agent2"].pk).content.decode()
    assert ids_on(director) == {calls["agent2"].pk}


def test_filter_by_someone_the_manager_does_not_review_is_a_clear_400(client, org, calls):
    response = page_for(client, org["manager"], staff=org["agent2"].pk)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Pick a person from the list" in html and ids_on(html) == set()
    assert page_for(client, org["manager"], staff="bob").status_code == 400


def test_filter_by_outcome(client, org, calls):
    assert ids_on(page_for(client, org["manager"], outcome="voicemail").content.decode()) == {calls["retail"].pk}
    assert ids_on(page_for(client, org["manager"], outcome="connected").content.decode()) == {
        calls["agent"].pk, calls["main_line"].pk,
    }
    assert ids_on(page_for(client, org["manager"], outcome="no_answer").content.decode()) == set()
    assert page_for(client, org["manager"], outcome="shouted").status_code == 400


def test_filter_by_date_range(client, store, org):
    lead = LeadFactory(store=store, owner=org["agent"])
    today = recorded_call(store, staff=org["agent"], lead=lead, ago=dt.timedelta(minutes=1))
    three_days = recorded_call(store, staff=org["agent"], lead=lead, ago=dt.timedelta(days=3))
    recorded_call(store, staff=org["agent"], lead=lead, ago=dt.timedelta(days=10))
    local_today = timezone.localdate(timezone.now(), store.tz)
    html = page_for(
        client, org["manager"], date_from=(local_today - dt.timedelta(days=5)).isoformat(),
        date_to=(local_today - dt.timedelta(days=1)).isoformat(),
    ).content.decode()
    assert ids_on(html) == {three_days.pk}
    only_today = page_for(client, org["manager"], date_from=local_today.isoformat()).content.decode()
    assert ids_on(only_today) == {today.pk}
    backwards = page_for(client, org["manager"], date_from=local_today.isoformat(),
                         date_to=(local_today - dt.timedelta(days=2)).isoformat())
    assert backwards.status_code == 400 and "The end date is before the start date" in backwards.content.decode()
    assert page_for(client, org["manager"], date_from="yesterday").status_code == 400


def test_pages_without_count(client, store, org):
    lead = LeadFactory(store=store, owner=org["agent"])
    made = [recorded_call(store, staff=org["agent"], lead=lead, ago=dt.timedelta(minutes=i + 1)) for i in range(27)]
    first = page_for(client, org["manager"]).content.decode()
    assert ids_on(first) == {c.pk for c in made[:25]} and "page=2" in first
    second = page_for(client, org["manager"], page=2).content.decode()
    assert ids_on(second) == {c.pk for c in made[25:]} and "page=3" not in second
    assert page_for(client, org["manager"], page="x").status_code == 404


def test_the_query_count_does_not_grow_with_the_calls(client, store, org):
    lead = LeadFactory(store=store, owner=org["agent"])
    for i in range(3):
        recorded_call(store, staff=org["agent"], lead=lead, ago=dt.timedelta(minutes=i + 1))
    client.force_login(org["manager"].user)
    with CaptureQueriesContext(connection) as few:
        assert client.get(LIST, {"outcome": "connected"}).status_code == 200
    other = LeadFactory(store=store, owner=org["retail"])
    for i in range(20):
        recorded_call(store, staff=org["retail"], lead=other, ago=dt.timedelta(hours=i + 1))
    with CaptureQueriesContext(connection) as many:
        html = client.get(LIST, {"outcome": "connected"}).content.decode()
    assert len(ids_on(html)) == 23
    assert len(many.captured_queries) == len(few.captured_queries) <= 8
    assert not any("COUNT(" in q["sql"].upper() for q in many.captured_queries)
