"""The Today page's first section, "New leads", on its own: exactly the salesperson's new leads with no
first attempt yet, read through Lead.attempted_at (stamped by leads.events with every attempt) and
the partial index of the leads still waiting, so the query costs what waits and not the owner's
history (bench/pages.py times it on a store with 1,000,000 leads).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from factories import ContactEventFactory, LeadFactory, StaffFactory

from distribution.models import LeadRouting, RoutingRule, RoutingState, Strategy
from leads.events import contact_event_record, contact_events_record_batch, new_leads_attempted_mark
from leads.models import Channel, Direction, EvidenceLevel, Lead, LeadStatus, Outcome
from org.models import Role
from tests.today import test_today
from tests.today.test_today import client_for, lead_of, new_routed, sections

pytestmark = [pytest.mark.clock, pytest.mark.django_db]
noon_store = test_today.noon_store  # the fixture: a store where it is about noon, open 08:00-20:00


def attempt(lead, staff, when=None, **fields):
    """An unanswered outbound call: an attempt, not a conversation."""
    return contact_event_record(
        store=lead.store, customer_id=lead.customer_id, lead_id=lead.pk, staff_id=staff.pk, channel=Channel.CALL,
        direction=Direction.OUTBOUND, outcome=Outcome.NO_ANSWER, evidence_level=EvidenceLevel.SELF_REPORTED,
        occurred_at=when or timezone.now(), **fields,
    )


def new_section(staff) -> str:
    response = client_for(staff).get(reverse("leads_today:today"))
    assert response.status_code == 200
    return sections(response.content.decode())["sec-new"]


def test_the_new_section_holds_exactly_the_agent_s_leads_waiting_for_a_first_attempt(noon_store, org, other_store):
    agent, other = org["agent"], org["agent2"]
    now = timezone.now()
    waiting = lead_of(noon_store, agent, "Wanda", "Waiting", received_at=now - dt.timedelta(minutes=9))
    new_routed(waiting, 9)
    by_hand = lead_of(noon_store, agent, "Hugo", "Hand", routed_at=None)  # entered by hand: no routing row
    old = lead_of(noon_store, agent, "Olga", "Oldnew", received_at=now - dt.timedelta(days=200))  # never tried
    new_routed(old, 60 * 24 * 200)
    tried = lead_of(noon_store, agent, "Tess", "Tried", received_at=now - dt.timedelta(minutes=30))
    new_routed(tried, 30)
    attempt(tried, agent)
    # Tried on the customer's other (older) lead after this one arrived: the customer has been called.
    called = lead_of(noon_store, agent, "Carl", "Called", received_at=now - dt.timedelta(minutes=40))
    earlier = LeadFactory(store=noon_store, owner=agent, customer=called.customer, status=LeadStatus.CONTACTED,
                          received_at=now - dt.timedelta(days=20))
    attempt(earlier, agent)
    duplicate = LeadFactory(store=noon_store, owner=agent, customer=waiting.customer, duplicate_of=waiting)
    contacted = lead_of(noon_store, agent, "Cody", "Contacted", status=LeadStatus.CONTACTED)
    theirs = lead_of(noon_store, other, "Theo", "Theirs")
    new_routed(theirs, 5)
    pool_rule = RoutingRule.objects.create(store=noon_store, name="Used: claim pool", position=1,
                                           strategy=Strategy.CLAIM_POOL, pool_role=Role.INTERNET_AGENT, claim_minutes=10)
    pooled = lead_of(noon_store, None, "Pia", "Pooled", in_claim_pool=True)
    LeadRouting.objects.create(lead=pooled, store=noon_store, rule=pool_rule, rule_name=pool_rule.name,
                               strategy=Strategy.CLAIM_POOL, state=RoutingState.POOL)
    elsewhere = LeadFactory(store=other_store, owner=agent, customer__first_name="Ella", customer__last_name="Elsewhere")

    new = new_section(agent)

    for lead in (waiting, by_hand, old):
        assert f"row-new-{lead.pk}" in new
    for lead in (tried, called, duplicate, contacted, theirs, pooled, elsewhere):
        assert f"row-new-{lead.pk}" not in new
    assert new.count('id="row-new-') == 3
    # The claim pool is the agent's to claim from the lead list, as its rule says, not a waiting lead of theirs.
    listed = client_for(agent).get(reverse("leads:list")).content.decode()
    assert "Pia Pooled" in listed and "Theo Theirs" not in listed and "Ella Elsewhere" not in listed
    assert "Pia Pooled" not in client_for(org["retail"]).get(reverse("leads:list")).content.decode()
    # The other agent's page has their lead and none of the agent's.
    theirs_new = new_section(other)
    assert f"row-new-{theirs.pk}" in theirs_new and theirs_new.count('id="row-new-') == 1


def test_an_attempt_stamps_the_customer_s_new_leads_that_came_before_it(noon_store, org):
    agent = org["agent"]
    now = timezone.now()
    first = lead_of(noon_store, agent, "Ada", "Attempted", received_at=now - dt.timedelta(hours=3))
    second = LeadFactory(store=noon_store, owner=agent, customer=first.customer, received_at=now - dt.timedelta(hours=1))
    closed = LeadFactory(store=noon_store, owner=agent, customer=first.customer, status=LeadStatus.LOST,
                         received_at=now - dt.timedelta(hours=5))
    later = LeadFactory(store=noon_store, owner=agent, customer=first.customer, received_at=now + dt.timedelta(minutes=1))
    stranger = lead_of(noon_store, agent, "Sam", "Stranger", received_at=now - dt.timedelta(hours=3))

    ContactEventFactory(lead=first, staff=agent, channel=Channel.NOTE)  # a note is no attempt
    assert Lead.objects.filter(attempted_at__isnull=False).count() == 0
    called_at = now - dt.timedelta(minutes=30)
    attempt(first, agent, called_at)

    stamped = dict(Lead.objects.values_list("pk", "attempted_at"))
    assert stamped[first.pk] == called_at and stamped[second.pk] == called_at  # any new lead of the customer
    assert stamped[closed.pk] is None and stamped[later.pk] is None and stamped[stranger.pk] is None
    attempt(first, agent, called_at + dt.timedelta(minutes=5))  # a later one keeps the first time
    assert Lead.objects.get(pk=first.pk).attempted_at == called_at


def test_imported_and_bulk_loaded_attempts_stamp_the_leads_too(noon_store, org):
    agent = org["agent"]
    now = timezone.now()
    imported = lead_of(noon_store, agent, "Ivy", "Imported", received_at=now - dt.timedelta(days=2))
    row = dict(customer_id=imported.customer_id, lead_id=imported.pk, staff_id=agent.pk, channel=Channel.EMAIL,
               direction=Direction.OUTBOUND, outcome=Outcome.SENT, evidence_level=EvidenceLevel.IMPORTED,
               occurred_at=now - dt.timedelta(days=1), source_system="dms", external_id="N-1")
    assert contact_events_record_batch(store=noon_store, events=[row], side_effects=False) == (1, 0)
    assert Lead.objects.get(pk=imported.pk).attempted_at == now - dt.timedelta(days=1)

    # An event the stamp missed (written before it, as the demo's COPY does): the page still checks the
    # events, and the bulk stamp catches up.
    Lead.objects.filter(pk=imported.pk).update(attempted_at=None)
    assert f"row-new-{imported.pk}" not in new_section(agent)
    assert new_leads_attempted_mark(store_ids=[noon_store.pk]) == 1
    assert Lead.objects.get(pk=imported.pk).attempted_at == now - dt.timedelta(days=1)


def test_a_salesperson_s_history_of_tried_new_leads_does_not_reach_the_page(noon_store, org):
    """An agent with many old leads still "new" after unanswered attempts: none is listed, and the page
    takes the same number of queries as with none."""
    agent = org["agent"]
    now = timezone.now()
    client = client_for(agent)
    waiting = lead_of(noon_store, agent, "Wes", "Waiting")
    new_routed(waiting, 4)
    client.get(reverse("leads_today:today"))  # today's activity figures are cached after the first view
    with CaptureQueriesContext(connection) as before:
        client.get(reverse("leads_today:today"))
    for i in range(30):
        lead = LeadFactory(store=noon_store, owner=agent, received_at=now - dt.timedelta(days=30 + i))
        attempt(lead, agent, now - dt.timedelta(days=29 + i))
    assert Lead.objects.filter(owner=agent, status=LeadStatus.NEW, attempted_at__isnull=False).count() == 30
    client.get(reverse("leads_today:today"))
    with CaptureQueriesContext(connection) as after:
        new = sections(client.get(reverse("leads_today:today")).content.decode())["sec-new"]
    assert new.count('id="row-new-') == 1 and f"row-new-{waiting.pk}" in new
    assert len(after.captured_queries) == len(before.captured_queries)


def test_a_retail_salesperson_s_walk_in_waits_on_their_page_until_tried(noon_store, org):
    retail = StaffFactory(store=noon_store, role=Role.RETAIL, team=org["team"])
    walk_in = lead_of(noon_store, retail, "Walt", "Walkin", routed_at=None)
    assert f"row-new-{walk_in.pk}" in new_section(retail)
    attempt(walk_in, retail)
    assert f"row-new-{walk_in.pk}" not in new_section(retail)


def test_a_backlog_lists_the_most_urgent_under_the_count_of_all_that_wait(noon_store, org, monkeypatch):
    """A weekend nobody called leaves hundreds: the section lists the NEW_ROWS most urgent (the
    earliest response deadline first) and says how many wait, instead of rendering them all."""
    from today import views as views_today

    monkeypatch.setattr(views_today, "NEW_ROWS", 3)
    agent = org["agent"]
    now = timezone.now()
    leads = []
    for minutes in (5, 50, 15, 40, 25):
        lead = lead_of(noon_store, agent, f"Wait{minutes}x", received_at=now - dt.timedelta(minutes=minutes))
        new_routed(lead, minutes)
        leads.append((minutes, lead))
    response = client_for(agent).get(reverse("leads_today:today"))
    html = response.content.decode()
    section = sections(html)["sec-new"]
    listed = [name for name in ("Wait50x", "Wait40x", "Wait25x", "Wait15x", "Wait5x") if name in section]
    assert listed == ["Wait50x", "Wait40x", "Wait25x"]
    assert section.index("Wait50x") < section.index("Wait40x") < section.index("Wait25x")
    assert "The 3 most urgent of 5 waiting" in section
    assert '<strong>5</strong> new' in html
    assert "?status=new&amp;owner=me" in html


def test_the_waiting_query_is_covered_by_its_partial_index_and_the_planner_knows_how_few_wait(noon_store):
    """At 1,000,000 leads the planner guessed thousands waiting where there were hundreds, hashed the
    whole routing table (220 ms) or started parallel workers (12 ms) for a 2 ms query
    (leads/migrations/0014; bench/pages.py shows the index-only scan). The index holds every column
    the query reads, and the columns' statistics are kept together."""
    from today.views import waiting_leads

    agent = StaffFactory(store=noon_store, role=Role.INTERNET_AGENT)
    query = waiting_leads(agent).query
    lead_columns = {column for alias, column in _lead_columns(query)}
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'lead_owner_waiting'")
        (indexdef,) = cursor.fetchone()
        cursor.execute("SELECT stxkeys::text FROM pg_statistic_ext WHERE stxname = 'lead_waiting_stats'")
        keys = cursor.fetchone()
    key, _, rest = indexdef.partition(" INCLUDE ")
    covered = set(re.findall(r"\w+", key.split("(", 1)[1].split(")", 1)[0])) | set(re.findall(r"\w+", rest.split(")", 1)[0]))
    predicate = {"attempted_at", "duplicate_of_id", "status"}  # implied by the index's WHERE
    assert lead_columns - predicate <= covered - {"DESC"}, (lead_columns, indexdef)
    assert keys is not None and len(keys[0].split()) == 3  # status, attempted_at, duplicate_of_id


def _lead_columns(query) -> set[tuple[str, str]]:
    """(table, column) of every leads_lead column the query's SQL names."""
    sql, _ = query.sql_with_params()
    return {("leads_lead", column) for column in re.findall(r'"leads_lead"\."(\w+)"', sql)}
