"""manage.py demo_store: the demo organization, its generated history, --if-empty and --large."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from io import StringIO

import phonenumbers
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, F, Min, Q

from devtools import demo
from devtools.demo import bulk as demo_bulk
from distribution import services as ownership_writer
from leads import services
from leads.models import (
    ALLOWED_TRANSITIONS,
    OPEN_STATUSES,
    ContactEvent,
    Customer,
    CustomerEmail,
    CustomerPhone,
    EvidenceLevel,
    IntakeChannel,
    Lead,
    LeadAssignment,
    LeadStatusChange,
    LeadVehicle,
    SourceType,
)
from leads.services import LeadData, VehicleData
from org.models import Role, Shift, Staff, Store, Team

pytestmark = [pytest.mark.clock, pytest.mark.django_db]


def run(*args: str) -> str:
    out = StringIO()
    call_command("demo_store", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def demo_output() -> str:
    return run()


def test_demo_organization_is_the_store_the_seeds_describe(demo_output):
    store = Store.objects.get(slug="lakeside-toyota")
    assert store.name == "Lakeside Toyota" and store.group.name == "Lakeside Auto Group"
    assert store.time_zone == "America/Chicago" and store.business_hours["mon"]
    from telephony.models import DealerNumber

    purposes = Counter(DealerNumber.objects.filter(store=store).values_list("purpose", flat=True))
    assert purposes == {"main": 1, "agent": 9, "tracking": 2}
    from dealcoverage.models import CoveragePolicy

    assert dict(CoveragePolicy.objects.filter(store=store).values_list("role", "name")) == {
        "internet_agent": "internet-72h", "retail": "retail-3d", "fleet": "retail-3d",
    }
    from django.db.models import Sum

    from dealcoverage.models import Deal
    from leads.models import Lead

    # One deal per sold inquiry: a sale also closes the lead's open duplicates.
    sold = Lead.objects.filter(store=store, status="sold", owner__isnull=False, duplicate_of__isnull=True).count()
    assert sold > 0 and Deal.objects.filter(store=store).count() == sold
    totals = set(Deal.objects.filter(store=store).annotate(t=Sum("credits__share")).values_list("t", flat=True))
    assert totals == {1}
    assert set(
        DealerNumber.objects.filter(store=store, purpose="agent").values_list("staff__role", flat=True)
    ) == {Role.INTERNET_AGENT}
    roles = Counter(Staff.objects.filter(store=store).values_list("role", flat=True))
    assert roles == {
        Role.INTERNET_AGENT: 9, Role.RETAIL: 14, Role.SALES_MANAGER: 3, Role.FLEET: 2,
        Role.RECEPTIONIST: 1, Role.INTERNET_DIRECTOR: 1, Role.ADMIN: 1,
    }
    teams = list(Team.objects.filter(store=store).select_related("manager"))
    assert len(teams) == 3
    for team in teams:
        assert team.manager.role == Role.SALES_MANAGER and team.manager.team_id == team.pk
        members = Counter(team.members.values_list("role", flat=True))
        assert members[Role.INTERNET_AGENT] == 3 and 4 <= members[Role.RETAIL] <= 5

    User = get_user_model()
    usernames = set(User.objects.values_list("username", flat=True))
    expected = {"director", "receptionist", "admin", "fleet1", "fleet2"}
    expected |= {f"manager{i}" for i in range(1, 4)} | {f"agent{i}" for i in range(1, 10)}
    expected |= {f"retail{i}" for i in range(1, 15)}
    assert usernames == expected
    agent1 = User.objects.get(username="agent1")
    assert agent1.check_password(demo.DEMO_PASSWORD)
    admin = User.objects.get(username="admin")
    assert admin.is_staff and not admin.is_superuser and admin.has_perm("leads.view_lead")
    # The admin and the director manage stores, teams, staff and schedules in the Django admin.
    assert set(User.objects.filter(is_staff=True).values_list("username", flat=True)) == {"admin", "director"}
    assert User.objects.get(username="director").has_perm("org.change_shift")

    for member in Staff.objects.filter(store=store).select_related("user"):
        assert member.shifts.exists(), member.user.username
        for number in (member.desk_phone, member.cell_phone):
            assert phonenumbers.is_valid_number(phonenumbers.parse(str(number)))
            assert str(number)[-4:-2] == "01"  # 555-01xx, reserved for fiction
        if member.role in (Role.INTERNET_AGENT, Role.RETAIL):
            assert 1 <= len(member.days_off()) <= 2, member.user.username
    assert Staff.objects.get(user__username="agent1").days_off() == {0, 6}  # seed 001: Monday off
    assert not Shift.objects.filter(Q(starts__lt=dt.time(9)) | Q(ends__gt=dt.time(20))).exists()

    assert "password: demo1234" in demo_output and "http://localhost:8000/" in demo_output
    for username in ("director", "manager1", "agent1", "retail14", "receptionist", "admin"):
        assert f"\n{username} " in demo_output


def test_demo_history_is_realistic_and_scoped_to_the_store(demo_output):
    store = Store.objects.get(slug="lakeside-toyota")
    leads = Lead.objects.filter(store=store)
    assert 1_700 <= leads.count() <= 2_100
    sources = Counter(leads.values_list("source_type", flat=True))
    assert set(sources) == set(SourceType.values)
    providers = set(leads.values_list("provider", flat=True))
    assert {"Toyota.com", "CarGurus", "Autotrader", "Cars.com", "TrueCar"} <= providers
    statuses = Counter(leads.values_list("status", flat=True))
    assert statuses["lost"] > statuses["sold"] > 0.08 * leads.count()
    assert statuses["contacted"] and statuses["appointment_set"] and statuses["shown"] and statuses["new"]
    # Routed, except a live lead that waits for the next shift when the demo is built after hours.
    assert not leads.filter(routed_at__isnull=True).exclude(routing__state="waiting").exists()
    assert leads.filter(duplicate_of__isnull=False).count() > 20
    for duplicate in leads.filter(duplicate_of__isnull=False).select_related("duplicate_of")[:50]:
        assert duplicate.customer_id == duplicate.duplicate_of.customer_id
        assert duplicate.owner_id == duplicate.duplicate_of.owner_id
        assert dt.timedelta(0) < duplicate.received_at - duplicate.duplicate_of.received_at <= dt.timedelta(days=30)
    # Walk-ins are the floor's: retail's, or on the receptionist's board (the live one typed at the desk).
    walk_ins = leads.filter(source_type="walk_in")
    assert set(walk_ins.exclude(routing__state="board").values_list("owner__role", flat=True)) == {Role.RETAIL}
    assert not walk_ins.filter(routing__state="board", owner__isnull=False).exists()
    internet_owners = Counter(leads.filter(source_type__in=["oem", "third_party"]).values_list("owner__role", flat=True))
    assert internet_owners.most_common(1)[0][0] == Role.INTERNET_AGENT

    # Vehicles: new and used, 17-character VINs, trade-ins.
    vehicles = LeadVehicle.objects.filter(lead__store=store)
    assert vehicles.filter(condition="new").exists() and vehicles.filter(condition="used").exists()
    assert vehicles.filter(interest="trade-in").count() > 200
    assert all(len(vin) == 17 for vin in vehicles.exclude(vin="").values_list("vin", flat=True))
    assert vehicles.exclude(make="Toyota").filter(condition="used").exists()

    # Contact history: both evidence levels, with the evidence a verified event carries.
    events = ContactEvent.objects.filter(store=store)
    assert events.count() > 10 * leads.count()
    levels = Counter(events.values_list("evidence_level", flat=True))
    assert levels[EvidenceLevel.VERIFIED] > levels[EvidenceLevel.SELF_REPORTED] > 0
    calls = events.filter(channel="call", evidence_level=EvidenceLevel.VERIFIED)
    assert not calls.exclude(call_sid__regex=r"^CA[0-9a-f]{32}$").exists()
    assert set(calls.values_list("outcome", flat=True)) >= {"connected", "voicemail", "no_answer"}
    assert not calls.filter(outcome="connected", talk_seconds__isnull=True).exists()
    texts = events.filter(channel="text", evidence_level=EvidenceLevel.VERIFIED)
    assert not texts.exclude(message_sid__regex=r"^SM[0-9a-f]{32}$").exists()
    assert texts.filter(direction="inbound", outcome="reply").exists()
    assert not events.filter(channel="email", evidence_level=EvidenceLevel.VERIFIED, email_message_id="").exists()
    by_role = Counter(events.values_list("staff__role", "evidence_level"))
    assert by_role[(Role.INTERNET_AGENT, "verified")] > 20 * by_role[(Role.INTERNET_AGENT, "self_reported")]
    assert events.filter(staff__role=Role.RETAIL, channel="note", body__icontains="left message").exists()
    assert events.filter(outside_company_channels=True, evidence_level="self_reported").exists()
    assert not events.filter(occurred_at__lt=F("lead__received_at")).exists()

    # Everything belongs to the store.
    assert not leads.exclude(customer__store=store).exists()
    assert not leads.exclude(owner__isnull=True).exclude(owner__store=store).exists()
    assert not events.exclude(customer__store=store).exists()
    assert not events.exclude(lead__store=store).exists()
    assert not events.exclude(staff__store=store).exists()
    assert not CustomerPhone.objects.exclude(store=F("customer__store")).exists()
    assert not CustomerEmail.objects.exclude(store=F("customer__store")).exists()
    assert Customer.objects.filter(store=store).count() == Customer.objects.count()
    phones = list(CustomerPhone.objects.values_list("number", flat=True)[:300])
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(str(n))) for n in phones)
    assert all(e == e.strip().lower() for e in CustomerEmail.objects.values_list("email", flat=True))


def test_demo_status_and_assignment_history_matches_the_leads(demo_output):
    leads = {lead.pk: lead for lead in Lead.objects.all()}
    paths: dict[int, list[LeadStatusChange]] = {}
    for change in LeadStatusChange.objects.order_by("changed_at", "id"):
        paths.setdefault(change.lead_id, []).append(change)
    assert set(paths) == set(leads)
    for lead_id, changes in paths.items():
        lead = leads[lead_id]
        assert (changes[0].from_status, changes[0].to_status) == ("", "new")
        assert changes[0].changed_at == lead.received_at
        for previous, change in zip(changes, changes[1:], strict=False):
            assert change.from_status == previous.to_status
            # A recorded sale is the fact: it closes an open lead as sold from any open status.
            sale = change.to_status == "sold" and change.from_status in OPEN_STATUSES
            assert sale or change.to_status in ALLOWED_TRANSITIONS[change.from_status]
        assert changes[-1].to_status == lead.status
    last_assignment = {}
    for assignment in LeadAssignment.objects.order_by("assigned_at", "id"):
        last_assignment[assignment.lead_id] = assignment
    assert set(last_assignment) == set(leads)
    for lead_id, assignment in last_assignment.items():
        assert assignment.to_staff_id == leads[lead_id].owner_id
    reasons = " ".join(LeadAssignment.objects.values_list("reason", flat=True)[:5_000])
    assert "Round robin" in reasons and "Walk-in" in reasons and "Duplicate of lead" in reasons
    # Most internet leads get a first outbound attempt, and quickly when they arrive in business hours.
    first = (
        Lead.objects.filter(source_type="third_party", duplicate_of__isnull=True)
        .annotate(first=Min("contact_events__occurred_at", filter=Q(contact_events__direction="outbound")))
        .exclude(first__isnull=True)
    )
    assert first.count() > 0.8 * Lead.objects.filter(source_type="third_party", duplicate_of__isnull=True).count()


def test_if_empty_does_nothing_when_a_store_exists(demo_output):
    counts = (Lead.objects.count(), ContactEvent.objects.count(), Staff.objects.count())
    output = run("--if-empty")
    assert "nothing loaded" in output and "agent1" in output and "password: demo1234" in output
    assert (Lead.objects.count(), ContactEvent.objects.count(), Staff.objects.count()) == counts
    with pytest.raises(Exception, match="already exist"):
        run()


def test_large_build_counts_and_the_orm_inserts_after_it():
    output = run("--large", "--stores", "2", "--leads-per-store", "300", "--drop-indexes", "always")
    assert "s01-agent3" in output and "password: demo1234" in output
    stores = list(Store.objects.order_by("slug"))
    assert [s.slug for s in stores] == ["s01", "s02"]
    assert Staff.objects.count() == 62
    assert get_user_model().objects.filter(username="s02-agent3").exists()
    per_store = dict(Lead.objects.values_list("store__slug").annotate(n=Count("id")))
    assert per_store == {"s01": 300, "s02": 300}
    assert ContactEvent.objects.count() > 300 * 2 * 8
    assert not ContactEvent.objects.exclude(store=F("lead__store")).exists()
    assert Lead.objects.filter(duplicate_of__isnull=False).exists()

    # The dropped indexes and foreign keys are back, identical.
    with connection.cursor() as cursor:
        fks, indexes = demo_bulk.secondary_objects(cursor, demo.BULK_TABLES)
    names = {name for name, _ in indexes}
    assert {"lead_store_received", "event_lead_time", "lead_unique_provider_id_per_store"} <= names
    assert any(name.startswith("leads_contactevent_lead_id") for _, name, _ in fks)

    # Later writes through the services get fresh ids.
    store = stores[0]
    result = services.lead_create(
        store=store,
        data=LeadData(
            source_type=SourceType.THIRD_PARTY,
            intake_channel=IntakeChannel.API,
            first_name="Nora",
            last_name="Quinn",
            phones=[("(205) 555-0142", "mobile")],
            emails=["nora.quinn@example.org"],
            provider="CarGurus",
            provider_lead_id="CG-NEW-1",
            vehicles=[VehicleData(condition="used", year=2022, make="Toyota", model="RAV4")],
        ),
    )
    assert result.created and result.lead.pk > max(Lead.objects.exclude(pk=result.lead.pk).values_list("pk", flat=True))
    agent = Staff.objects.get(user__username="s01-agent1")
    ownership_writer.lead_owner_set(lead=result.lead, to_staff=agent, by=None, reason="test")
    event = services.contact_event_log(staff=agent, lead=result.lead, channel="note", outcome="note", body="left message")
    assert event.pk > max(ContactEvent.objects.exclude(pk=event.pk).values_list("pk", flat=True))
