"""The pages around distribution: the lead page's routing panel, the manager queue, assign /
next in line / release, the notifications bell and the "available now" switch."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from factories import ContactEventFactory, ShiftFactory, StaffFactory, TeamFactory

from distribution import services, sweeper
from distribution.models import LeadRouting, Notification, RoutingState, open_breach_q
from leads.models import Channel, Direction, EvidenceLevel, LeadAssignment, LeadStatus, Outcome
from leads.services import lead_transition
from org.models import Role, TimeOff
from tests.distribution.floor import MONDAY, at, floor, new_lead, rule

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

ALL_DAY = [(dt.time(0), dt.time(12)), (dt.time(12), dt.time(0))]  # noon to midnight runs overnight: no gap


def client_for(staff) -> Client:
    client = Client()
    client.force_login(staff.user)
    return client


def text(html: str) -> str:
    """The page's words, tags stripped and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&rarr;", "→").replace("&#x27;", "'")


def always_on(*people) -> None:
    """Shifts every day, around the clock: routing at the real 'now' finds them on shift."""
    for person in people:
        person.shifts.all().delete()
        for weekday in range(7):
            for starts, ends in ALL_DAY:
                ShiftFactory(staff=person, weekday=weekday, starts=starts, ends=ends)


def route(lead, when=None):
    assert services.lead_route(lead_id=lead.pk, now=when)
    lead.refresh_from_db()
    return lead


def page(staff, lead) -> tuple[int, str]:
    response = client_for(staff).get(reverse("leads:detail", args=[lead.pk]))
    return response.status_code, response.content.decode()


# --- the lead page ----------------------------------------------------------------------------------


def test_lead_page_explains_the_rule_strategy_skipped_and_response_times(store):
    team, manager, people = floor(store)
    TimeOff.objects.create(staff=people["ann"], first_day=MONDAY, last_day=MONDAY)
    people["bob"].shifts.update(starts=dt.time(12))  # off shift at 10:00
    rule(store, name="Internet leads", team=team)
    lead = route(new_lead(store, received_at=at(10)), at(10))
    assert lead.owner == people["cat"]
    ContactEventFactory(lead=lead, staff=people["cat"], channel=Channel.CALL, direction=Direction.OUTBOUND,
                        outcome=Outcome.CONNECTED, evidence_level=EvidenceLevel.VERIFIED, talk_seconds=95, answered_by_person=True,
                        occurred_at=at(10, 6))
    status, html = page(manager, lead)
    body = text(html)
    assert status == 200
    assert "Rule “Internet leads”" in body and "Round robin (next in line)" in body
    assert "Skipped: Ann Agent (time off), Bob Agent (off shift)" in body
    assert "New lead → Cat Agent" in body and "automatic" in body
    assert "First attempt 6 min after it arrived · 6 business min" in body
    assert "Two-way contact 6 min after it arrived" in body
    assert "Breach" not in body


def test_lead_page_history_time_is_in_the_store_time_zone(store):
    store.time_zone = "America/Los_Angeles"
    store.save()
    team, manager, people = floor(store, names=("ann",))
    always_on(people["ann"])
    rule(store, team=team)
    lead = route(new_lead(store), dt.datetime(2026, 11, 23, 18, 30, tzinfo=dt.UTC))
    body = text(page(manager, lead)[1])
    assert "Mon Nov 23, 10:30 AM" in body  # 18:30 UTC is 10:30 in Los Angeles (12:30 in Chicago)


@time_machine.travel(at(10, 25), tick=False)  # the page reads the clock: the same answer at any hour
def test_breach_badge_for_owner_and_manager_not_for_the_receptionist(store):
    team, manager, people = floor(store, names=("ann",))
    receptionist = StaffFactory(store=store, role=Role.RECEPTIONIST)
    rule(store, team=team)
    lead = route(new_lead(store, received_at=at(10)), at(10))
    assert lead.routing.breach_at == at(10, 20)  # the store's 20 business minutes, passed at 10:25
    for who in (people["ann"], manager):
        body = text(page(who, lead)[1])
        assert "Breach: no first attempt within 20 business minutes" in body, who
    assert page(receptionist, lead)[0] == 200
    assert "Breach" not in text(page(receptionist, lead)[1])
    # A first attempt made in time: no breach.
    LeadRouting.objects.filter(lead=lead).update(
        breach_at=timezone.now() - dt.timedelta(minutes=3), first_attempt_at=timezone.now() - dt.timedelta(minutes=10)
    )
    assert "Breach" not in text(page(manager, lead)[1])


@time_machine.travel(at(10, 5), tick=False)
def test_countdown_to_the_reassignment_deadline(store):
    team, manager, people = floor(store, names=("ann", "bob"))
    rule(store, team=team, strategy="round_robin_reassign", response_minutes=20)
    lead = route(new_lead(store, received_at=at(10)), at(10))
    due = lead.routing.response_due_at
    assert due == at(10, 20)
    status, html = page(lead.owner, lead)
    # The store is open until the deadline: business minutes are wall minutes, so it ticks live.
    assert f'data-deadline="{due.astimezone(store.tz).isoformat()}"' in html
    assert "Make a first call, text or email: it moves to the next in line after 15 business min (limit 20;" in text(html)


def test_no_rule_warning_is_shown_to_managers(store):
    team, manager, _ = floor(store)
    rule(store, name="Used only", team=team, condition="used")
    lead = route(new_lead(store, condition="new"), at(10))
    body = text(page(manager, lead)[1])
    assert "Warning: No routing rule matched this lead" in body
    assert "On the manager's queue" in body


def test_lead_page_queries_do_not_grow_with_the_history(store):
    team, manager, people = floor(store)
    always_on(*people.values())
    rule(store, team=team, strategy="round_robin_reassign")
    lead = route(new_lead(store))
    client = client_for(manager)
    url = reverse("leads:detail", args=[lead.pk])
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        counts.append(len(captured))
        for _ in range(3):
            services.lead_reassign(lead=lead, to_staff=None, by=manager)
    assert counts[0] == counts[1], counts
    assert counts[0] <= 30, counts


# --- release and next in line ----------------------------------------------------------------------


def test_owner_releases_and_the_lead_goes_to_the_next_in_line(store):
    team, manager, people = floor(store, names=("ann", "bob"))
    always_on(*people.values())
    rule(store, team=team)
    lead = route(new_lead(store))
    owner, other = (people["ann"], people["bob"]) if lead.owner == people["ann"] else (people["bob"], people["ann"])
    assert 'id="release-lead"' in page(owner, lead)[1]
    assert 'id="release-lead"' not in page(manager, lead)[1]
    response = client_for(owner).post(reverse("distribution_queue:release", args=[lead.pk]), follow=True)
    assert response.status_code == 200
    assert f"Released: it went to {other.display_name}." in text(response.content.decode())
    lead.refresh_from_db()
    assert lead.owner == other
    assert LeadAssignment.objects.filter(lead=lead).last().reason.startswith(f"Released by {owner.display_name}.")


def test_release_is_refused_to_anyone_but_the_owner(store):
    team, manager, people = floor(store, names=("ann",))
    always_on(people["ann"])
    rule(store, team=team)
    lead = route(new_lead(store))
    response = client_for(manager).post(reverse("distribution_queue:release", args=[lead.pk]))
    assert response.status_code == 403
    assert "Only the lead&#x27;s owner can release it" in response.content.decode()
    lead.refresh_from_db()
    assert lead.owner == people["ann"]


def test_manager_sends_a_lead_to_the_next_in_line(store):
    team, manager, people = floor(store, names=("ann", "bob"))
    always_on(*people.values())
    rule(store, team=team)
    lead = route(new_lead(store))
    first = lead.owner
    assert 'id="next-in-line"' in page(manager, lead)[1]
    assert 'id="next-in-line"' not in page(first, lead)[1]
    response = client_for(manager).post(reverse("distribution_queue:assign", args=[lead.pk]), {"to": "next", "back": "lead"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner not in (None, first)
    last = LeadAssignment.objects.filter(lead=lead).last()
    assert last.from_staff == first and last.assigned_by == manager and last.reason.startswith("Reassigned by Max Manager")


def test_an_agent_cannot_assign_or_send_to_next_in_line(store):
    team, manager, people = floor(store, names=("ann", "bob"))
    always_on(*people.values())
    rule(store, team=team)
    lead = route(new_lead(store))
    owner = lead.owner
    for to in ("next", str(people["bob"].pk)):
        response = client_for(owner).post(reverse("distribution_queue:assign", args=[lead.pk]), {"to": to})
        assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.owner == owner


# --- the manager queue ------------------------------------------------------------------------------


@pytest.fixture
def queue_floor(store):
    """Manager Max's team with a manager-assigns rule for used cars; an after-hours waiting lead;
    a lead no rule took; a breached lead of Max's team and one of another team."""
    team, manager, people = floor(store, names=("ann", "bob"))
    other_manager = StaffFactory(store=store, role=Role.SALES_MANAGER, user__first_name="Olga", user__last_name="Other")
    other_team = TeamFactory(store=store, name="Retail", manager=other_manager)
    zed = StaffFactory(store=store, role=Role.RETAIL, team=other_team, user__first_name="Zed", user__last_name="Retail")
    director = StaffFactory(store=store, role=Role.INTERNET_DIRECTOR)
    rule(store, name="Used: manager assigns", team=team, strategy="manager", condition="used", position=1)
    rule(store, name="New cars", team=team, condition="new", position=2)
    leads = {
        "manager": route(new_lead(store, condition="used"), at(10)),
        "nomatch": route(new_lead(store, condition=""), at(10)),
    }
    waiting = new_lead(store, condition="new", received_at=at(21))
    assert services.lead_route(lead_id=waiting.pk, now=at(21))
    leads["waiting"] = waiting
    breached = route(new_lead(store, condition="new"), at(10))
    leads["breached"] = breached
    theirs = new_lead(store, condition="new")
    theirs.owner = zed
    theirs.save()
    LeadRouting.objects.create(lead=theirs, store=store, state=RoutingState.ASSIGNED, rule_name="New cars")
    leads["theirs"] = theirs
    LeadRouting.objects.filter(lead__in=[breached, theirs]).update(breach_at=timezone.now() - dt.timedelta(minutes=30))
    return {"manager": manager, "other_manager": other_manager, "director": director, "people": people,
            "zed": zed, "leads": leads}


def section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    end = html.find("<section", start)
    return text(html[start:end if end != -1 else None])


def test_queue_lists_manager_waiting_and_breach_leads(queue_floor):
    leads = queue_floor["leads"]
    html = client_for(queue_floor["manager"]).get(reverse("distribution_queue:queue")).content.decode()
    needs, waiting, breaches = section(html, "needs-assigning"), section(html, "waiting"), section(html, "breaches")
    for key in ("manager", "nomatch"):
        assert leads[key].customer.full_name in needs
    assert "No routing rule matched this lead" in needs
    assert leads["waiting"].customer.full_name in waiting
    assert "Waits for the next shift at Tue 9:00 AM" in waiting
    assert leads["breached"].customer.full_name in breaches
    owner = leads["breached"].owner.display_name
    assert f"Owner: {owner}" in breaches and "business min late" in breaches
    # Max manages Internet, not Retail: Zed's breach is not on his queue.
    assert leads["theirs"].customer.full_name not in html
    # A lead on the queue past the store's limit says so there (and is not listed twice).
    assert "Breach:" not in needs
    LeadRouting.objects.filter(lead=leads["manager"]).update(breach_at=timezone.now() - dt.timedelta(minutes=5))
    html = client_for(queue_floor["manager"]).get(reverse("distribution_queue:queue")).content.decode()
    assert "Breach:" in section(html, "needs-assigning")
    assert leads["manager"].customer.full_name not in section(html, "breaches")


def test_director_sees_every_breach_of_the_store(queue_floor):
    html = client_for(queue_floor["director"]).get(reverse("distribution_queue:queue")).content.decode()
    breaches = section(html, "breaches")
    assert queue_floor["leads"]["theirs"].customer.full_name in breaches
    assert queue_floor["leads"]["breached"].customer.full_name in breaches


def test_a_lead_sold_or_lost_leaves_the_breaches_for_good(queue_floor):
    """Its routing row says so in the transaction that closed it (routing_open_breach holds only
    the open leads' breaches); a lead moved along but still open stays a breach."""
    leads, director = queue_floor["leads"], queue_floor["director"]
    lead_transition(lead=leads["breached"], to_status=LeadStatus.CONTACTED, by=director)
    lead_transition(lead=leads["theirs"], to_status=LeadStatus.LOST, by=director)
    assert LeadRouting.objects.get(lead=leads["theirs"]).lead_closed
    assert not LeadRouting.objects.get(lead=leads["breached"]).lead_closed
    breaches = section(client_for(director).get(reverse("distribution_queue:queue")).content.decode(), "breaches")
    assert leads["breached"].customer.full_name in breaches  # contacted, nobody talked to them: still late
    assert leads["theirs"].customer.full_name not in breaches


def test_breaches_come_fifty_a_page_under_their_count(queue_floor, store, monkeypatch):
    """A big store has thousands of breaches: the queue shows a page of them, most overdue first,
    under how many there are (counted up to a cap), instead of rendering them all (issue 14)."""
    from distribution import views_queue

    owner = queue_floor["zed"]
    extra = []
    for minutes in range(52):
        lead = new_lead(store, condition="new")
        lead.owner = owner
        lead.save()
        LeadRouting.objects.create(lead=lead, store=store, state=RoutingState.ASSIGNED, rule_name="New cars",
                                   breach_at=timezone.now() - dt.timedelta(hours=2, minutes=minutes))
        extra.append(lead)
    client = client_for(queue_floor["director"])
    html = client.get(reverse("distribution_queue:queue")).content.decode()
    first = section(html, "breaches")
    assert "50 of 54 breaches, page 1" in first and "Breaches 54" in text(html)
    assert extra[-1].customer.full_name in first  # the most overdue leads the first page
    second = section(client.get(reverse("distribution_queue:queue") + "?breaches=2").content.decode(), "breaches")
    assert "4 of 54 breaches, page 2" in second
    assert queue_floor["leads"]["breached"].customer.full_name in second  # 30 minutes late: the least
    assert client.get(reverse("distribution_queue:queue") + "?breaches=x").status_code == 404
    monkeypatch.setattr(views_queue, "BREACH_COUNT_CAP", 20)
    assert "Breaches 20+" in text(client.get(reverse("distribution_queue:queue")).content.decode())


def test_the_open_breaches_are_read_through_their_partial_index(queue_floor):
    """The manager queue's breach filter implies routing_open_breach's condition, so PostgreSQL
    can walk that index in order (at 1,000,000 leads: 27 ms instead of 1.5 s sorting a year of
    closed breaches). A change to the breach rule that the index no longer covers fails here."""
    query = LeadRouting.objects.filter(open_breach_q(timezone.now())).order_by("breach_at", "lead_id")[:200]
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "routing_open_breach" in plan, plan


def test_queue_is_refused_to_agents_and_receptionists(queue_floor, store):
    receptionist = StaffFactory(store=store, role=Role.RECEPTIONIST)
    for who in (queue_floor["people"]["ann"], receptionist):
        assert client_for(who).get(reverse("distribution_queue:queue")).status_code == 403


def test_queue_offers_the_rule_pool_and_assigns(queue_floor):
    lead = queue_floor["leads"]["manager"]
    ann = queue_floor["people"]["ann"]
    client = client_for(queue_floor["manager"])
    html = client.get(reverse("distribution_queue:queue")).content.decode()
    assert f'<option value="{ann.pk}">Ann Agent' in html
    response = client.post(reverse("distribution_queue:assign", args=[lead.pk]), {"to": ann.pk, "back": "queue"})
    assert response.status_code == 302 and response["Location"] == reverse("distribution_queue:queue")
    lead.refresh_from_db()
    assert lead.owner == ann and lead.routing.state == RoutingState.ASSIGNED
    assert lead.customer.full_name not in section(client.get(reverse("distribution_queue:queue")).content.decode(), "needs-assigning")


def test_assign_outside_the_pool_is_a_400_with_the_reason(queue_floor, store, other_store):
    lead = queue_floor["leads"]["manager"]
    client = client_for(queue_floor["director"])
    # Zed sells retail: not in the rule's pool.
    response = client.post(reverse("distribution_queue:assign", args=[lead.pk]), {"to": queue_floor["zed"].pk, "back": "queue"})
    assert response.status_code == 400
    assert "Zed Retail is not in this lead" in text(response.content.decode())
    assert "Needs assigning" in response.content.decode()  # the queue again, with the message
    # Someone of another store, and nonsense, are refused the same way; nothing changes.
    stranger = StaffFactory(store=other_store, role=Role.INTERNET_AGENT)
    for to in (stranger.pk, "abc", ""):
        response = client.post(reverse("distribution_queue:assign", args=[lead.pk]), {"to": to, "back": "queue"})
        assert response.status_code == 400
        assert "Pick the salesperson" in text(response.content.decode())
    lead.refresh_from_db()
    assert lead.owner is None


def test_next_in_line_without_a_rule_asks_for_a_name(queue_floor):
    lead = queue_floor["leads"]["nomatch"]
    response = client_for(queue_floor["manager"]).post(
        reverse("distribution_queue:assign", args=[lead.pk]), {"to": "next", "back": "lead"}
    )
    assert response.status_code == 400
    assert "no routing rule" in text(response.content.decode())


def test_queue_queries_do_not_grow_with_leads(queue_floor, store):
    client = client_for(queue_floor["director"])
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("distribution_queue:queue")).status_code == 200
        counts.append(len(captured))
        for _ in range(4):
            route(new_lead(store, condition="used"), at(10))
            route(new_lead(store, condition=""), at(10))
    assert counts[0] == counts[1], counts


# --- notifications ----------------------------------------------------------------------------------


def test_bell_counts_unread_and_mark_all_read(store):
    team, manager, people = floor(store, names=("ann",))
    rule(store, team=team)
    lead = route(new_lead(store), at(10))
    ann = people["ann"]
    Notification.objects.create(store=store, staff=ann, kind="warning", text="Call them now.")
    client = client_for(ann)
    bell = client.get(reverse("distribution_queue:bell")).content.decode()
    assert 'aria-label="Notifications: 2 unread"' in bell and '<span class="bell-count">2</span>' in bell
    listing = text(client.get(reverse("distribution_queue:notifications")).content.decode())
    assert listing.index("Call them now.") < listing.index("New lead:")  # newest first
    assert "2 unread" in listing
    response = client.post(reverse("distribution_queue:notifications_read"), follow=True)
    assert "Marked 2 notifications read." in text(response.content.decode())
    bell = client.get(reverse("distribution_queue:bell")).content.decode()
    assert "0 unread" in bell and "bell-count" not in bell
    # Another person's notifications are theirs alone.
    assert Notification.objects.filter(staff=manager).count() == 0
    assert lead.owner == ann


def test_opening_a_notification_marks_it_read_and_opens_the_lead(store):
    team, _, people = floor(store, names=("ann",))
    rule(store, team=team)
    lead = route(new_lead(store), at(10))
    note = Notification.objects.get(staff=people["ann"])
    client = client_for(people["ann"])
    response = client.get(reverse("distribution_queue:notification_open", args=[note.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("leads:detail", args=[lead.pk])
    note.refresh_from_db()
    assert note.read_at is not None
    other = StaffFactory(store=store, role=Role.INTERNET_AGENT)
    assert client_for(other).get(reverse("distribution_queue:notification_open", args=[note.pk])).status_code == 404


def test_the_bell_reloads_itself_and_adds_no_query_to_pages(store, django_assert_max_num_queries):
    team, manager, people = floor(store, names=("ann",))
    client = client_for(people["ann"])
    html = client.get(reverse("leads:list")).content.decode()
    assert 'hx-get="/distribution/notifications/bell/"' in html and 'hx-trigger="load, live"' in html
    # Reloaded on the stream's nudge; every 5 s only while no stream is open (static/js/live.js).
    assert 'data-live="notification bell" data-poll="5s"' in html
    with CaptureQueriesContext(connection) as captured:
        client.get(reverse("leads:list"))
    assert not any("distribution_notification" in q["sql"] for q in captured.captured_queries)
    with django_assert_max_num_queries(4):
        assert client.get(reverse("distribution_queue:bell")).status_code == 200
    # Logged out (an expired session), the poll answers 204: no login page swapped into the header.
    assert Client().get(reverse("distribution_queue:bell")).status_code == 204


# --- available now ----------------------------------------------------------------------------------


def test_available_toggle_flips_and_nudges_waiting_leads(store):
    team, _, people = floor(store, names=("ann",))
    ann = people["ann"]
    ann.available = False
    ann.save()
    always_on(ann)
    rule(store, team=team)
    lead = new_lead(store)
    assert services.lead_route(lead_id=lead.pk, now=timezone.now())
    lead.refresh_from_db()
    assert lead.routing.state == RoutingState.WAITING and lead.routing_due_at > timezone.now()
    client = client_for(ann)
    assert 'aria-checked="false"' in client.get(reverse("leads:list")).content.decode()
    response = client.post(reverse("distribution_queue:available"), {"available": "1", "next": "/leads/"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'aria-checked="true"' in response.content.decode()
    assert 'name="next" value="/leads/"' in response.content.decode()  # the page it sits on, not this URL
    ann.refresh_from_db()
    lead.refresh_from_db()
    assert ann.available is True
    assert lead.routing_due_at <= timezone.now()
    assert sweeper.route_due(now=timezone.now()) == 1
    lead.refresh_from_db()
    assert lead.owner == ann
    # Away again: plain form post, back to the page it came from.
    response = client.post(reverse("distribution_queue:available"), {"available": "0", "next": "/leads/"})
    assert response.status_code == 302 and response["Location"] == "/leads/"
    ann.refresh_from_db()
    assert ann.available is False


def test_available_toggle_is_for_salespeople_only_and_checks_its_input(store):
    _, manager, people = floor(store, names=("ann",))
    assert client_for(manager).post(reverse("distribution_queue:available"), {"available": "1"}).status_code == 403
    assert client_for(people["ann"]).post(reverse("distribution_queue:available"), {"available": "yes"}).status_code == 400
    assert 'id="available-switch"' not in client_for(manager).get(reverse("leads:list")).content.decode()
    # An outside address is not followed.
    response = client_for(people["ann"]).post(
        reverse("distribution_queue:available"), {"available": "1", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("leads:list")
