"""factory_boy factories for the organization, customers, leads and contact events."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from leads.models import (
    Channel,
    ContactEvent,
    Customer,
    CustomerEmail,
    CustomerPhone,
    EvidenceLevel,
    IntakeChannel,
    Lead,
    Outcome,
    SourceType,
)
from org.models import DealerGroup, Role, Shift, Staff, Store, Team


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DealerGroup

    name = factory.Sequence(lambda n: f"Dealer Group {n}")
    slug = factory.Sequence(lambda n: f"group-{n}")


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    group = factory.SubFactory(GroupFactory)
    name = factory.Sequence(lambda n: f"Store {n} Motors")
    slug = factory.Sequence(lambda n: f"store-{n}")
    time_zone = "America/Chicago"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("pw-for-tests-1")


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Staff

    user = factory.SubFactory(UserFactory)
    store = factory.SubFactory(StoreFactory)
    role = Role.INTERNET_AGENT


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    store = factory.SubFactory(StoreFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


class ShiftFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shift

    staff = factory.SubFactory(StaffFactory)
    weekday = 0
    starts = dt.time(9, 0)
    ends = dt.time(18, 0)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    store = factory.SubFactory(StoreFactory)
    # Not Faker: a random "Lopez" would match the name searches the tests make.
    first_name = factory.Sequence(lambda n: f"Pat{n}")
    last_name = factory.Sequence(lambda n: f"Shopper{n}")


class CustomerPhoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerPhone

    customer = factory.SubFactory(CustomerFactory)
    store = factory.SelfAttribute("customer.store")
    number = factory.Sequence(lambda n: f"+1312555{n % 10000:04d}")


class CustomerEmailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerEmail

    customer = factory.SubFactory(CustomerFactory)
    store = factory.SelfAttribute("customer.store")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    store = factory.SubFactory(StoreFactory)
    customer = factory.SubFactory(CustomerFactory, store=factory.SelfAttribute("..store"))
    source_type = SourceType.THIRD_PARTY
    provider = "CarGurus"
    provider_lead_id = factory.Sequence(lambda n: f"CG-{n}")
    intake_channel = IntakeChannel.API
    received_at = factory.LazyFunction(timezone.now)
    routed_at = factory.LazyFunction(timezone.now)


class ContactEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactEvent

    lead = factory.SubFactory(LeadFactory)
    store = factory.SelfAttribute("lead.store")
    customer = factory.SelfAttribute("lead.customer")
    channel = Channel.NOTE
    direction = ""
    outcome = Outcome.NOTE
    evidence_level = EvidenceLevel.SELF_REPORTED
    body = "left message"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Through the one write path (leads.events), side effects included, like the app."""
        from leads.events import contact_event_record

        store = kwargs.pop("store")
        fields = {}
        for relation in ("customer", "lead", "staff", "supersedes"):
            value = kwargs.pop(relation, None)
            if relation == "supersedes":
                fields["supersedes"] = value
            else:
                fields[f"{relation}_id"] = value.pk if value is not None else kwargs.pop(f"{relation}_id", None)
        if kwargs.get("external_id"):
            from leads.events import contact_events_record_batch

            fields.pop("supersedes")
            contact_events_record_batch(store=store, events=[{**fields, **kwargs}], side_effects=True)
            return model_class.objects.get(external_id=kwargs["external_id"], source_system=kwargs["source_system"])
        kwargs.pop("source_system", None)
        kwargs.pop("external_id", None)
        return contact_event_record(store=store, **fields, **kwargs)
