"""The lead and contact-event services: intake, idempotency, duplicates, transitions, routing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from factories import ContactEventFactory, CustomerFactory, StoreFactory

from distribution import services as ownership_writer
from leads import services
from leads.models import (
    Channel,
    ContactEvent,
    Customer,
    CustomerPhone,
    EvidenceLevel,
    IntakeChannel,
    Lead,
    LeadAssignment,
    LeadStatus,
    Outcome,
    SourceType,
)
from leads.services import LeadData, VehicleData

pytestmark = [pytest.mark.clock, pytest.mark.django_db]


def lead_data(**overrides) -> LeadData:
    values = dict(
        source_type=SourceType.THIRD_PARTY,
        intake_channel=IntakeChannel.API,
        first_name="Maria",
        last_name="Lopez",
        phones=[("(312) 555-0142", "mobile")],
        emails=["  Maria.Lopez@Example.COM "],
        provider="CarGurus",
        provider_lead_id="CG-1001",
        vehicles=[VehicleData(condition="used", year=2021, make="Toyota", model="RAV4", stock_number="U1234")],
    )
    values.update(overrides)
    return LeadData(**values)


def test_lead_create_normalizes_phone_and_email(store):
    result = services.lead_create(store=store, data=lead_data())
    assert result.created and not result.duplicate
    customer = result.lead.customer
    assert [str(p.number) for p in customer.phones.all()] == ["+13125550142"]
    assert [e.email for e in customer.emails.all()] == ["maria.lopez@example.com"]
    assert result.lead.vehicles.get().stock_number == "U1234"
    assert list(result.lead.status_changes.values_list("from_status", "to_status")) == [("", "new")]
    assert result.lead.routing_due_at is not None and result.lead.routed_at is None


def test_resend_with_same_provider_id_creates_nothing(store):
    first = services.lead_create(store=store, data=lead_data())
    again = services.lead_create(store=store, data=lead_data(comments="resent"))
    assert again.created is False
    assert again.lead.pk == first.lead.pk
    assert Lead.objects.count() == 1 and Customer.objects.count() == 1


def test_same_provider_id_in_another_store_is_another_lead(store):
    services.lead_create(store=store, data=lead_data())
    result = services.lead_create(store=StoreFactory(), data=lead_data())
    assert result.created
    assert Lead.objects.count() == 2 and Customer.objects.count() == 2


def test_second_lead_by_phone_is_duplicate_and_goes_to_the_open_leads_owner(store, org):
    first = services.lead_create(store=store, data=lead_data())
    ownership_writer.lead_owner_set(lead=first.lead, to_staff=org["agent"], by=None, reason="test")
    second = services.lead_create(
        store=store,
        data=lead_data(provider="Autotrader", provider_lead_id="AT-9", emails=[], phones=[("312.555.0142", "home")]),
    )
    assert second.created and second.duplicate
    assert second.lead.duplicate_of_id == first.lead.pk
    assert second.lead.owner_id == org["agent"].pk
    assert second.lead.customer_id == first.lead.customer_id
    assert second.lead.routing_due_at is not None and second.lead.routed_at is None  # the router tells the owner
    assert "Duplicate of lead" in second.lead.assignments.get().reason


def test_match_by_email_attaches_new_phone_to_customer(store):
    first = services.lead_create(store=store, data=lead_data())
    second = services.lead_create(
        store=store, data=lead_data(provider_lead_id="CG-2", phones=[("773-555-0199", "work")])
    )
    assert second.lead.customer_id == first.lead.customer_id
    numbers = sorted(str(p.number) for p in first.lead.customer.phones.all())
    assert numbers == ["+13125550142", "+17735550199"]


def test_lead_outside_duplicate_window_is_not_a_duplicate(store):
    store.duplicate_window_days = 30
    store.save()
    old = services.lead_create(store=store, data=lead_data(received_at=timezone.now() - dt.timedelta(days=31)))
    new = services.lead_create(store=store, data=lead_data(provider_lead_id="CG-2"))
    assert new.lead.customer_id == old.lead.customer_id
    assert new.duplicate is False and new.lead.duplicate_of is None


def test_closed_lead_is_not_an_open_lead_for_duplicates(store):
    first = services.lead_create(store=store, data=lead_data())
    services.lead_transition(lead=first.lead, to_status=LeadStatus.LOST, by=None)
    second = services.lead_create(store=store, data=lead_data(provider_lead_id="CG-2"))
    assert second.duplicate is False


def test_duplicate_of_unowned_lead_follows_it_when_assigned(store, org):
    first = services.lead_create(store=store, data=lead_data())
    second = services.lead_create(store=store, data=lead_data(provider_lead_id="CG-2"))
    assert second.lead.owner is None
    ownership_writer.lead_owner_set(lead=first.lead, to_staff=org["agent2"], by=org["manager"], reason="manager's pick")
    second.lead.refresh_from_db()
    assert second.lead.owner_id == org["agent2"].pk
    assert LeadAssignment.objects.filter(lead=second.lead, to_staff=org["agent2"]).exists()


def test_unparseable_phone_names_the_field(store):
    with pytest.raises(ValidationError) as excinfo:
        services.lead_create(store=store, data=lead_data(phones=[("call me maybe", "mobile")]))
    assert "phone" in excinfo.value.message_dict
    assert Lead.objects.count() == 0 and Customer.objects.count() == 0


def test_bad_second_email_names_its_position(store):
    with pytest.raises(ValidationError) as excinfo:
        services.lead_create(store=store, data=lead_data(emails=["a@example.com", "not-an-email"]))
    assert "emails[1]" in excinfo.value.message_dict


def test_lead_without_any_contact_or_name_is_refused(store):
    with pytest.raises(ValidationError) as excinfo:
        services.lead_create(store=store, data=lead_data(first_name="", last_name="", phones=[], emails=[]))
    assert "customer" in excinfo.value.message_dict


def test_database_error_during_intake_leaves_no_partial_lead(store, monkeypatch):
    """A failure after the customer and lead rows were written rolls all of them back."""

    def explode(*args, **kwargs):
        raise IntegrityError("simulated failure while writing vehicles")

    monkeypatch.setattr("leads.services.LeadVehicle.objects.bulk_create", explode)
    with pytest.raises(IntegrityError):
        services.lead_create(store=store, data=lead_data())
    assert Lead.objects.count() == 0
    assert Customer.objects.count() == 0
    assert CustomerPhone.objects.count() == 0


def test_future_received_at_is_clamped_to_now(store):
    result = services.lead_create(store=store, data=lead_data(received_at=timezone.now() + dt.timedelta(days=2)))
    assert result.lead.received_at <= timezone.now()


def test_status_transitions_follow_the_allowed_path(store, org):
    lead = services.lead_create(store=store, data=lead_data()).lead
    for status in [LeadStatus.CONTACTED, LeadStatus.APPOINTMENT_SET, LeadStatus.SHOWN, LeadStatus.SOLD]:
        lead = services.lead_transition(lead=lead, to_status=status, by=org["agent"])
    assert lead.status == LeadStatus.SOLD
    changes = list(lead.status_changes.values_list("to_status", "changed_by"))
    assert changes[-1] == (LeadStatus.SOLD, org["agent"].pk)
    with pytest.raises(ValidationError) as excinfo:
        services.lead_transition(lead=lead, to_status=LeadStatus.CONTACTED, by=org["agent"])
    assert "status" in excinfo.value.message_dict


def test_skipping_a_status_is_refused(store):
    lead = services.lead_create(store=store, data=lead_data()).lead
    with pytest.raises(ValidationError):
        services.lead_transition(lead=lead, to_status=LeadStatus.SOLD, by=None)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW


def test_assign_to_staff_of_another_store_is_refused(store, org):
    lead = services.lead_create(store=store, data=lead_data()).lead
    from factories import StaffFactory

    stranger = StaffFactory(store=StoreFactory())
    with pytest.raises(ValidationError) as excinfo:
        ownership_writer.lead_owner_set(lead=lead, to_staff=stranger, by=org["manager"], reason="x")
    assert "to" in excinfo.value.message_dict


def test_route_due_routes_a_lead_once_and_without_rules_it_waits_for_a_manager(store):
    from django.utils import timezone

    from distribution.services import lead_route
    from distribution.sweeper import route_due

    lead = services.lead_create(store=store, data=lead_data()).lead
    assert route_due(now=timezone.now()) == 0  # the after-commit message has the first 15 s
    assert route_due(now=timezone.now() + services.ROUTING_GRACE) == 1
    lead.refresh_from_db()
    assert lead.routed_at is not None and lead.owner is None and lead.routing.state == "manager"
    assert route_due(now=timezone.now() + services.ROUTING_GRACE) == 0
    assert lead_route(lead_id=lead.pk) is False
    assert lead.assignments.count() == 1


def test_logged_contacts_are_self_reported(store, org):
    lead = services.lead_create(store=store, data=lead_data()).lead
    event = services.contact_event_log(
        staff=org["agent"], lead=lead, channel=Channel.CALL, outcome=Outcome.VOICEMAIL, body="left message",
        outside_company_channels=True,
    )
    assert event.evidence_level == EvidenceLevel.SELF_REPORTED
    assert event.outside_company_channels is True
    assert event.customer_id == lead.customer_id


def test_log_refuses_wrong_outcome_and_empty_note(store, org):
    lead = services.lead_create(store=store, data=lead_data()).lead
    with pytest.raises(ValidationError) as excinfo:
        services.contact_event_log(staff=org["agent"], lead=lead, channel=Channel.NOTE, outcome=Outcome.NOTE, body=" ")
    assert "body" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        services.contact_event_log(staff=org["agent"], lead=lead, channel=Channel.CALL, outcome=Outcome.REPLY)
    assert "outcome" in excinfo.value.message_dict
    assert ContactEvent.objects.count() == 0


def test_import_is_idempotent_and_marked_imported(store, org):
    customer = CustomerFactory(store=store)
    when = timezone.now() - dt.timedelta(days=40)
    events = [
        services.ImportedEvent(
            external_id=f"old-{i}", customer=customer, lead=None, staff=org["agent"], channel=Channel.CALL,
            direction="outbound", outcome=Outcome.CONNECTED, occurred_at=when + dt.timedelta(hours=i),
        )
        for i in range(3)
    ]
    assert services.contact_events_import(store=store, source_system="OldCRM", events=events) == (3, 0)
    assert services.contact_events_import(store=store, source_system="OldCRM", events=events) == (0, 3)
    assert ContactEvent.objects.filter(evidence_level=EvidenceLevel.IMPORTED).count() == 3
    assert ContactEvent.objects.order_by("occurred_at").first().occurred_at == when


def test_database_refuses_update_of_a_contact_event(store):
    event = ContactEventFactory(lead__store=store)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ContactEvent.objects.filter(pk=event.pk).update(body="edited")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE leads_contactevent SET outcome = 'connected' WHERE id = %s", [event.pk])
    assert ContactEvent.objects.get(pk=event.pk).body == "left message"


def test_database_refuses_delete_of_a_contact_event(store):
    event = ContactEventFactory(lead__store=store)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM leads_contactevent WHERE id = %s", [event.pk])
    assert ContactEvent.objects.filter(pk=event.pk).exists()


def test_model_save_refuses_to_rewrite_an_event(store):
    event = ContactEventFactory(lead__store=store)
    event.body = "edited"
    with pytest.raises(ValidationError):
        event.save()
