"""Contact events have one write path (leads.events): no other module inserts one, and what a
new event sets off (response clocks, follow-up) happens for every insert, bulk ones included."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone
from factories import LeadFactory

from distribution.models import LeadRouting
from leads.events import contact_event_recorded, contact_events_record_batch
from leads.models import ContactEvent, Task, TaskKind

pytestmark = pytest.mark.clock

ROOT = Path(__file__).resolve().parents[2]
WRITE_PATH = Path("leads/events.py")
APPS = ("common", "org", "leads", "telephony", "dealcoverage", "distribution", "followup", "today", "reporting", "dealercrm")
INSERTS = {"create", "bulk_create", "get_or_create", "update_or_create", "_insert", "_batched_insert"}
RAW_SQL = re.compile(r"(INSERT\s+INTO|COPY)\s+\"?leads_contactevent\b", re.IGNORECASE)


def inserts_in(source: str) -> list[str]:
    """Places in `source` that insert a ContactEvent: the manager's insert methods, the model's
    constructor, a raw INSERT or COPY, or a COPY built from the model's table name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "ContactEvent":
                found.append(f"line {node.lineno}: ContactEvent(...)")
            if isinstance(func, ast.Attribute) and func.attr in INSERTS:
                chain = ast.unparse(func.value)
                if chain.startswith("ContactEvent.") or chain == "ContactEvent":
                    found.append(f"line {node.lineno}: {chain}.{func.attr}(...)")
        if isinstance(node, ast.Attribute) and node.attr == "db_table" and ast.unparse(node.value) == "ContactEvent._meta":
            found.append(f"line {node.lineno}: ContactEvent._meta.db_table")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and RAW_SQL.search(node.value):
            found.append(f"line {node.lineno}: raw SQL into leads_contactevent")
    return found


def test_the_scanner_sees_every_kind_of_insert():
    snippet = '''
ContactEvent.objects.create(channel="call")
ContactEvent.objects.bulk_create([x])
ContactEvent(channel="note").save()
cursor.execute("INSERT INTO leads_contactevent (id) VALUES (1)")
sql.Identifier(ContactEvent._meta.db_table)
'''
    assert len(inserts_in(snippet)) == 5
    assert inserts_in("ContactEvent.objects.filter(pk=1).exists()") == []


def test_no_module_but_the_write_path_inserts_a_contact_event():
    offenders = {}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts or relative == WRITE_PATH:
                continue
            found = inserts_in(path.read_text())
            if found:
                offenders[str(relative)] = found
    assert offenders == {}, f"insert contact events through leads.events only: {offenders}"


@pytest.mark.django_db
def test_a_batch_with_side_effects_stops_the_clock_and_completes_tasks_like_a_live_event(store, org):
    """Before: bulk inserts skipped the post_save receiver, so an imported call left the response
    clock running and the call task open."""
    agent = org["agent"]
    lead = LeadFactory(store=store, owner=agent, received_at=timezone.now() - dt.timedelta(minutes=30))
    routing = LeadRouting.objects.create(
        store=store, lead=lead, state="assigned", response_due_at=timezone.now() + dt.timedelta(minutes=5),
    )
    task = Task.objects.create(store=store, customer=lead.customer, lead=lead, staff=agent, kind=TaskKind.CADENCE,
                               channel="call", reason="Call", due_at=timezone.now())
    heard = []
    contact_event_recorded.connect(lambda sender, event, store, **kw: heard.append(event.pk), weak=False,
                                   dispatch_uid="test-heard")
    try:
        created, present = contact_events_record_batch(store=store, side_effects=True, events=[{
            "customer_id": lead.customer_id, "lead_id": lead.pk, "staff_id": agent.pk, "channel": "call",
            "direction": "outbound", "outcome": "no_answer", "occurred_at": timezone.now(),
            "evidence_level": "imported", "source_system": "OldCRM", "external_id": "c-1",
        }])
        again = contact_events_record_batch(store=store, side_effects=True, events=[{
            "customer_id": lead.customer_id, "lead_id": lead.pk, "staff_id": agent.pk, "channel": "call",
            "direction": "outbound", "outcome": "no_answer", "occurred_at": timezone.now(),
            "evidence_level": "imported", "source_system": "OldCRM", "external_id": "c-1",
        }])
    finally:
        contact_event_recorded.disconnect(dispatch_uid="test-heard")
    assert (created, present) == (1, 0) and again == (0, 1)
    event = ContactEvent.objects.get(external_id="c-1")
    assert heard == [event.pk]  # once: a resend sets off nothing again
    routing.refresh_from_db()
    task.refresh_from_db()
    assert routing.first_attempt_at == event.occurred_at and routing.response_due_at is None
    assert task.completed_by_event_id == event.pk


@pytest.mark.django_db
def test_a_batch_without_side_effects_writes_history_only(store, org):
    lead = LeadFactory(store=store, owner=org["agent"])
    routing = LeadRouting.objects.create(store=store, lead=lead, state="assigned")
    contact_events_record_batch(store=store, side_effects=False, events=[{
        "customer_id": lead.customer_id, "lead_id": lead.pk, "staff_id": org["agent"].pk, "channel": "call",
        "direction": "outbound", "outcome": "connected", "talk_seconds": 90, "answered_by_person": True,
        "occurred_at": timezone.now(), "evidence_level": "imported", "source_system": "OldCRM", "external_id": "c-2",
    }])
    event = ContactEvent.objects.get(external_id="c-2")
    assert event.is_two_way and event.is_attempt  # classified all the same
    routing.refresh_from_db()
    assert routing.first_attempt_at is None and routing.first_two_way_at is None


@pytest.mark.django_db
def test_an_import_needs_its_external_ids(store, org):
    lead = LeadFactory(store=store)
    with pytest.raises(ValueError, match="external_id"):
        contact_events_record_batch(store=store, side_effects=False, events=[{
            "customer_id": lead.customer_id, "channel": "note", "outcome": "note", "occurred_at": timezone.now(),
            "evidence_level": "imported", "source_system": "OldCRM", "external_id": "",
        }])
    assert not ContactEvent.objects.filter(customer_id=lead.customer_id).exists()
