"""Writes for customers, leads and contact events: the one write path for each.

Views, serializers, intake parsers and tasks parse input and call these functions.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Max, Q
from django.dispatch import Signal
from django.utils import timezone

from leads import identity
from leads import merge as merge_services
from leads.events import contact_event_record, contact_events_record_batch
from leads.locks import identities_lock
from leads.models import (
    ALLOWED_TRANSITIONS,
    OPEN_STATUSES,
    Channel,
    ContactEvent,
    Customer,
    CustomerEmail,
    CustomerPhone,
    Direction,
    DuplicateStatus,
    EvidenceLevel,
    IntakeChannel,
    Lead,
    LeadStatus,
    LeadStatusChange,
    LeadVehicle,
    Outcome,
    PossibleDuplicate,
    RejectedIntake,
    SourceType,
)
from leads.normalize import email_normalize, phone_to_e164
from leads.ownership import lead_created
from org import rawsql
from org.models import Staff, Store

log = logging.getLogger("leads.services")

# Bounds on what one lead may carry (issue 14): a real lead has a phone or two, an email, one
# to three vehicles. Every intake path checks them before it writes; the service checks again.
MAX_PHONES = 5
MAX_EMAILS = 5
MAX_VEHICLES = 10
MAX_COMMENTS = 10_000
# A seven-digit odometer is the most any car shows; more is a typo or a test, and would not
# fit PostgreSQL's integer column anyway past 2147483647.
MAX_ODOMETER = 9_999_999


def implausible_odometer(value: int | None) -> bool:
    return value is not None and not 0 <= value <= MAX_ODOMETER


def text_for_db(value: str) -> str:
    """PostgreSQL text cannot hold NUL: replace it with U+FFFD (the replacement character)."""
    return value.replace("\x00", "\ufffd")


@dataclass
class VehicleData:
    interest: str = "buy"
    condition: str = ""
    year: int | None = None
    make: str = ""
    model: str = ""
    trim: str = ""
    stock_number: str = ""
    vin: str = ""
    odometer: int | None = None


def vehicle_from_text(text: str) -> VehicleData:
    """What a shopper typed ("2021 Toyota RAV4", "used tacoma"): year, make and model when it
    starts with a year, otherwise the words as the model so the lead still shows them."""
    words = text.split()
    condition = ""
    if words and words[0].lower() in {"new", "used"}:
        condition, words = words[0].lower(), words[1:]
    if len(words) >= 2 and words[0].isdigit() and 1900 <= int(words[0]) <= 2100:
        if len(words) == 2:  # "2024 Civic": a model without its make
            return VehicleData(condition=condition, year=int(words[0]), model=words[1][:80])
        return VehicleData(condition=condition, year=int(words[0]), make=words[1][:60], model=" ".join(words[2:])[:80])
    return VehicleData(condition=condition, model=" ".join(words)[:80])


@dataclass
class LeadData:
    """Everything an intake path extracted, before it touches the database."""

    source_type: str
    intake_channel: str
    first_name: str = ""
    last_name: str = ""
    phones: list[tuple[str, str]] = field(default_factory=list)  # (raw number, kind)
    emails: list[str] = field(default_factory=list)
    provider: str = ""
    provider_lead_id: str = ""
    comments: str = ""
    received_at: dt.datetime | None = None
    vehicles: list[VehicleData] = field(default_factory=list)
    original_document: str = ""


@dataclass
class LeadCreateResult:
    lead: Lead
    created: bool  # False when an identical (provider, provider lead id) was already stored
    duplicate: bool  # True when attached as a duplicate of the customer's open lead
    # The existing customer this lead's new customer may be (a pair to review, leads.identity).
    possible_duplicate_of: int | None = None


def normalized_contacts(data: LeadData) -> tuple[list[tuple[str, str]], list[str]]:
    """E.164 phones and normalized emails; raises ValidationError naming the field."""
    lead_data_check_bounds(data)
    phones: list[tuple[str, str]] = []
    for index, (raw, kind) in enumerate(data.phones):
        number = phone_to_e164(raw, field="phone" if index == 0 else f"phones[{index}]")
        if number not in [p for p, _ in phones]:
            phones.append((number, kind or "mobile"))
    emails: list[str] = []
    for index, raw in enumerate(data.emails):
        email = email_normalize(raw, field="email" if index == 0 else f"emails[{index}]")
        if email not in emails:
            emails.append(email)
    if not phones and not emails and not (data.first_name or data.last_name):
        raise ValidationError({"customer": "A lead needs at least a name, a phone number or an email address."})
    return phones, emails


def lead_data_check_bounds(data: LeadData) -> None:
    """Refuse a lead over the bounds, naming the field; intake paths check first with their own words."""
    errors: dict[str, str] = {}
    if len(data.phones) > MAX_PHONES:
        errors["phones"] = f"{len(data.phones)} phone numbers; a lead may carry at most {MAX_PHONES}."
    if len(data.emails) > MAX_EMAILS:
        errors["emails"] = f"{len(data.emails)} email addresses; a lead may carry at most {MAX_EMAILS}."
    if len(data.vehicles) > MAX_VEHICLES:
        errors["vehicles"] = f"{len(data.vehicles)} vehicles; a lead may carry at most {MAX_VEHICLES}."
    if len(data.comments) > MAX_COMMENTS:
        errors["comments"] = f"{len(data.comments)} characters; the limit is {MAX_COMMENTS}."
    for index, vehicle in enumerate(data.vehicles):
        if implausible_odometer(vehicle.odometer):
            errors[f"vehicles[{index}].odometer"] = f"{vehicle.odometer} is not a plausible odometer reading."
    texts = {
        "first_name": data.first_name, "last_name": data.last_name, "comments": data.comments,
        "provider": data.provider, "provider_lead_id": data.provider_lead_id,
        "original_document": data.original_document,
    }
    for name, value in texts.items():
        if "\x00" in value:
            errors.setdefault(name, "A NUL character is not allowed.")
    if errors:
        raise ValidationError(errors)


def customer_match(*, store: Store, phones: Iterable[str], emails: Iterable[str], first_name: str = "",
                   last_name: str = "") -> Customer | None:
    """The store's customer these phones or emails belong to, under a compatible name
    (leads.identity): imports of deals and notes ask by contact details, and by name when they have one."""
    _, candidates = _identities_find(store=store, phones=list(phones), emails=list(emails),
                                     name=f"{first_name} {last_name}".strip(), last_name=last_name.strip())
    verdict = identity.judge(first_name, last_name, [c for c, _ in candidates])
    return next((customer for c, customer in candidates if c.customer_id == verdict.customer_id), None)


def customer_for_number(*, store: Store, number: str) -> Customer | None:
    """Whose call or text this is: the store's customer with this number. Households share numbers
    (leads.identity): the one with the newest open lead, else the one with the newest lead, else
    the oldest customer; never one merged into another (the survivor has its numbers). One query."""
    if not number:
        return None
    return (
        Customer.objects.filter(store=store, phones__number=number, merged_into__isnull=True)
        .annotate(open_lead=Max("leads__received_at", filter=Q(leads__status__in=OPEN_STATUSES)),
                  any_lead=Max("leads__received_at"))
        .order_by(F("open_lead").desc(nulls_last=True), F("any_lead").desc(nulls_last=True), "pk")
        .first()
    )


MAX_CANDIDATES = 10  # customers sharing a lead's phones or emails that intake weighs


def _identities_find(
    *, store: Store, phones: list[str], emails: list[str], name: str = "", last_name: str = "", provider: str = "",
    provider_lead_id: str = "",
) -> tuple[int | None, list[tuple[identity.Candidate, Customer]]]:
    """(the id of the store's lead with this provider lead id, the customers sharing these phones
    or emails, oldest first, each with what it shares and its name's similarity to `name`), in one
    round trip of index lookups: intake asks both for every lead."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT (SELECT l.id FROM {Lead._meta.db_table} l
                     WHERE %(lead_id)s <> '' AND l.store_id = %(store)s AND l.provider = %(provider)s
                       AND l.provider_lead_id = %(lead_id)s
                     LIMIT 1),
                   hit.phones, hit.emails,
                   CASE WHEN %(name)s = '' OR btrim(c.first_name || ' ' || c.last_name) = '' THEN 0
                        ELSE similarity(lower(c.first_name || ' ' || c.last_name), lower(%(name)s)) END,
                   CASE WHEN %(last)s = '' OR c.last_name = '' THEN 0
                        ELSE similarity(lower(c.last_name), lower(%(last)s)) END,
                   {rawsql.columns(Customer, "c")}
              FROM (SELECT 1) AS one
              LEFT JOIN LATERAL (
                   SELECT coalesce(m.merged_into_id, m.id) AS customer_id, sum(phone) AS phones,
                          sum(1 - phone) AS emails FROM (
                       SELECT customer_id, 1 AS phone FROM {CustomerPhone._meta.db_table}
                        WHERE store_id = %(store)s AND number = ANY(%(phones)s::text[])
                       UNION ALL
                       SELECT customer_id, 0 AS phone FROM {CustomerEmail._meta.db_table}
                        WHERE store_id = %(store)s AND email = ANY(%(emails)s::text[])
                   ) AS hits
                   JOIN {Customer._meta.db_table} m ON m.id = hits.customer_id  -- a merged customer stands for its survivor
                   GROUP BY 1 ORDER BY 1 LIMIT {MAX_CANDIDATES}
              ) AS hit ON true
              LEFT JOIN {Customer._meta.db_table} c ON c.id = hit.customer_id
             ORDER BY c.id
            """,
            {"store": store.pk, "provider": provider, "lead_id": provider_lead_id, "phones": phones, "emails": emails,
             "name": name, "last": last_name},
        )
        rows = cursor.fetchall()
    lead_id = rows[0][0]
    candidates = []
    for _, phone_hits, email_hits, similarity, last_similarity, *customer_values in rows:
        if customer_values[0] is None:
            continue
        customer = rawsql.instance(Customer, customer_values)
        Customer.store.field.set_cached_value(customer, store)
        candidates.append((identity.Candidate(
            customer_id=customer.pk, first_name=customer.first_name, last_name=customer.last_name,
            phones=int(phone_hits), emails=int(email_hits), similarity=float(similarity),
            last_similarity=float(last_similarity),
        ), customer))
    return lead_id, candidates


def customer_add_contacts(*, customer: Customer, phones: list[tuple[str, str]], emails: list[str]) -> None:
    """Attach new phones/emails to the customer; one already on a customer of the store stays
    where it is (the per-store unique constraints decide, so no read is needed first)."""
    if phones:
        CustomerPhone.objects.bulk_create(
            [CustomerPhone(store_id=customer.store_id, customer=customer, number=n, kind=k) for n, k in phones],
            ignore_conflicts=True,
        )
    if emails:
        CustomerEmail.objects.bulk_create(
            [CustomerEmail(store_id=customer.store_id, customer=customer, email=e) for e in emails],
            ignore_conflicts=True,
        )


def _customer_insert(*, store: Store, first_name: str, last_name: str, phones: list[tuple[str, str]],
                     emails: list[str]) -> Customer:
    """A new customer with their phones and emails, in one statement (customer_add_contacts'
    rule: a phone or email already on a customer of the store stays where it is)."""
    customer = Customer(store=store, first_name=first_name[:100], last_name=last_name[:100], created_at=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH c AS (
                INSERT INTO {Customer._meta.db_table} (store_id, first_name, last_name, created_at)
                VALUES (%(store)s, %(first)s, %(last)s, %(created)s) RETURNING id
            ), p AS (
                INSERT INTO {CustomerPhone._meta.db_table} (store_id, customer_id, number, kind)
                SELECT %(store)s, c.id, t.number, t.kind FROM c, unnest(%(numbers)s::text[], %(kinds)s::text[]) AS t(number, kind)
                ON CONFLICT DO NOTHING
            ), e AS (
                INSERT INTO {CustomerEmail._meta.db_table} (store_id, customer_id, email)
                SELECT %(store)s, c.id, t.email FROM c, unnest(%(emails)s::text[]) AS t(email)
                ON CONFLICT DO NOTHING
            )
            SELECT id FROM c
            """,
            {
                "store": store.pk, "first": customer.first_name, "last": customer.last_name, "created": customer.created_at,
                "numbers": [n for n, _ in phones], "kinds": [k for _, k in phones], "emails": emails,
            },
        )
        (customer.pk,) = cursor.fetchone()
    customer._state.adding, customer._state.db = False, connection.alias
    return customer


def customer_match_or_create(
    *, store: Store, first_name: str, last_name: str, phones: list[tuple[str, str]], emails: list[str],
    candidates: list[tuple[identity.Candidate, Customer]] | None = None,
) -> tuple[Customer, bool, identity.Verdict]:
    """The lead's customer by leads.identity's rule: (customer, created, the verdict). A new customer
    that may be one of the candidates is recorded for review (PossibleDuplicate) unless a manager
    already said they are different people. `candidates`: what the caller already looked up
    (lead_create reads them with the provider lead id)."""
    if candidates is None:
        _, candidates = _identities_find(store=store, phones=[p for p, _ in phones], emails=emails,
                                         name=f"{first_name} {last_name}".strip(), last_name=last_name.strip())
    verdict = identity.judge(first_name, last_name, [c for c, _ in candidates])
    customer = next((customer for c, customer in candidates if c.customer_id == verdict.customer_id), None)
    if customer is None:
        customer = _customer_insert(store=store, first_name=first_name, last_name=last_name, phones=phones, emails=emails)
        return customer, True, verdict
    if not customer.full_name and (first_name or last_name):
        customer.first_name, customer.last_name = first_name[:100], last_name[:100]
        customer.save(update_fields=["first_name", "last_name"])
    customer_add_contacts(customer=customer, phones=phones, emails=emails)
    return customer, False, verdict


def _possible_duplicate_record(*, store: Store, customer: Customer, verdict: identity.Verdict,
                               lead: Lead) -> PossibleDuplicate | None:
    """The new customer may be `verdict.duplicate_of`: to review, unless already decided for the pair."""
    if verdict.duplicate_of is None:
        return None
    decided = PossibleDuplicate.objects.filter(
        Q(customer_id=customer.pk, other_id=verdict.duplicate_of) | Q(customer_id=verdict.duplicate_of, other_id=customer.pk)
    ).exists()
    if not decided:
        return PossibleDuplicate.objects.create(store=store, customer=customer, other_id=verdict.duplicate_of,
                                                lead=lead, reason=verdict.reason[:300], score=verdict.score)
    return None


def _auto_merge(*, store: Store, pair_id: int, provider: str, candidate: identity.Candidate) -> None:
    """The store's automatic merge (leads.identity.auto_merge_reason), recorded like a manual one.
    Run once the lead is committed, in a transaction of its own: the merge's locks never hold up
    intake, and whatever stops it leaves the pair waiting for a person, the lead safe."""
    try:
        with transaction.atomic():
            pair = PossibleDuplicate.objects.select_related("customer", "other").get(pk=pair_id)
            recently = Lead.objects.filter(
                customer_id=pair.other_id, provider=provider[:120], provider__gt="",
                received_at__gte=timezone.now() - dt.timedelta(days=store.auto_merge_days),
            ).exists()
            reason = identity.auto_merge_reason(
                candidate, enabled=store.auto_merge, min_similarity_percent=store.auto_merge_similarity,
                within_days=store.auto_merge_days, same_provider_recently=recently,
            )
            if reason and pair.status == DuplicateStatus.PENDING:
                merge_services.customers_merge(survivor=pair.other, merged=pair.customer, user=None, pair=pair,
                                               reason=reason)
    except (DatabaseError, ValidationError):
        log.warning("automatic merge of possible duplicate #%s not done: left for review", pair_id, exc_info=True)


ROUTING_GRACE = dt.timedelta(seconds=15)


def lead_create(
    *, store: Store, data: LeadData, created_by: Staff | None = None, owner: Staff | None = None
) -> LeadCreateResult:
    """Store a lead, or return the one already stored for the same provider lead id.

    The lead, its customer, vehicles and first status row are written in one transaction;
    routing is enqueued only after commit, and the routing_due_at column lets the sweeper
    route it anyway if that message is lost.

    `owner`: the salesperson who met the customer (a walk-in or phone-up they typed). The lead
    is theirs in the creating transaction: it is never routed (no routing_due_at, no nudge), and
    the owner is written by distribution, which receives `leads.ownership.lead_created` inside
    this transaction. A lead that turns out to duplicate the customer's open lead follows that
    lead instead, as every duplicate does.
    """
    if owner is not None and owner.store_id != store.pk:
        raise ValidationError({"owner": "That person is not staff of this store."})
    if owner is not None and not owner.is_active:
        raise ValidationError({"owner": "That person is no longer active."})
    phones, emails = normalized_contacts(data)
    keys = [f"tel:{p}" for p, _ in phones] + [f"mail:{e}" for e in emails]
    if data.provider_lead_id:
        keys.append(f"provider:{data.provider}:{data.provider_lead_id}")
    with transaction.atomic():
        identities_lock(store, keys)
        existing_id, candidates = _identities_find(
            store=store, phones=[p for p, _ in phones], emails=emails,
            name=f"{data.first_name} {data.last_name}".strip(), last_name=data.last_name.strip(),
            provider=data.provider, provider_lead_id=data.provider_lead_id,
        )
        if existing_id is not None:
            existing = Lead.objects.get(pk=existing_id)
            return LeadCreateResult(lead=existing, created=False, duplicate=existing.duplicate_of_id is not None)
        customer, new_customer, verdict = customer_match_or_create(
            store=store, first_name=data.first_name, last_name=data.last_name, phones=phones, emails=emails,
            candidates=candidates,
        )
        result = _lead_insert(
            store=store, customer=customer, data=data, created_by=created_by, new_customer=new_customer, owner=owner,
            phones=[p for p, _ in phones], emails=emails,
        )
        pair = _possible_duplicate_record(store=store, customer=customer, verdict=verdict, lead=result.lead)
        result.possible_duplicate_of = pair.other_id if pair is not None else None
        if pair is not None and store.auto_merge:
            candidate = next(c for c, _ in candidates if c.customer_id == pair.other_id)
            transaction.on_commit(functools.partial(_auto_merge, store=store, pair_id=pair.pk,
                                                    provider=data.provider, candidate=candidate))
        if result.lead.routing_due_at is not None:
            lead_id = result.lead.pk
            transaction.on_commit(lambda: routing_due.send(sender=Lead, lead_id=lead_id))
    return result


def open_lead_for(customer: Customer, *, now: dt.datetime, window_days: int) -> Lead | None:
    return (
        Lead.objects.select_for_update()
        .filter(
            customer=customer,
            duplicate_of__isnull=True,
            status__in=OPEN_STATUSES,
            received_at__gte=now - dt.timedelta(days=window_days),
        )
        .order_by("-received_at", "-id")
        .first()
    )


def _lead_insert(
    *, store: Store, customer: Customer, data: LeadData, created_by: Staff | None, new_customer: bool,
    owner: Staff | None = None, phones: Sequence[str] = (), emails: Sequence[str] = (),
) -> LeadCreateResult:
    now = timezone.now()
    received_at = data.received_at or now
    if received_at > now + dt.timedelta(minutes=5):
        # Providers' clocks drift and zone-less ADF dates guess a zone: never let a lead
        # look as if it arrived in the future, which would distort response times.
        received_at = now
    # A customer created a moment ago in this transaction has no lead yet.
    original = None if new_customer else open_lead_for(customer, now=received_at, window_days=store.duplicate_window_days)
    lead = Lead(
        store=store,
        customer=customer,
        source_type=data.source_type,
        provider=data.provider[:120],
        provider_lead_id=data.provider_lead_id[:120],
        intake_channel=data.intake_channel,
        comments=data.comments,
        received_at=received_at,
        original_document=data.original_document,
        created_by=created_by,
        first_name=data.first_name[:100],
        last_name=data.last_name[:100],
        phones=list(phones),
        emails=list(emails),
    )
    if original is not None:
        # It follows the original's owner (written by distribution on lead_created, below).
        # Routed like any lead: the router tells the owner their customer is back.
        lead.duplicate_of = original
        lead.routing_due_at = now + ROUTING_GRACE
    elif owner is not None:
        # Its owner met the customer: nothing to route, and no moment without that owner.
        lead.routed_at = now
        lead.routing_due_at = None
    else:
        # The after-commit message routes it at once; the sweeper only takes what is still
        # unrouted after the grace (a lost message, a dead worker), so under load the two do
        # not race for the same fresh leads.
        lead.routing_due_at = now + ROUTING_GRACE
    lead.save()
    LeadVehicle.objects.bulk_create(
        [
            LeadVehicle(
                lead=lead,
                interest=v.interest if v.interest in {"buy", "trade-in", "lease"} else "other",
                condition=v.condition if v.condition in {"new", "used"} else "",
                year=v.year if v.year and 1900 <= v.year <= 2100 else None,
                make=v.make[:60],
                model=v.model[:80],
                trim=v.trim[:80],
                stock_number=v.stock_number[:40],
                vin=v.vin[:17].upper(),
                odometer=v.odometer if v.odometer and v.odometer >= 0 else None,
            )
            for v in data.vehicles
        ]
    )
    LeadStatusChange.objects.create(
        lead=lead, from_status="", to_status=LeadStatus.NEW, changed_by=created_by, changed_at=received_at
    )
    lead_created.send(
        sender=Lead, lead=lead, owner=owner if original is None else None, original=original, by=created_by
    )
    return LeadCreateResult(lead=lead, created=True, duplicate=original is not None)


# Sent in the transaction that moved a lead along ALLOWED_TRANSITIONS (lead, from_status,
# to_status): higher apps keep what they derive from the status (distribution: a closed lead's
# routing row) without leads knowing them.
lead_status_changed = Signal()
# Sent after the commit of a lead created with a routing deadline (sender=Lead, lead_id=...):
# distribution nudges a worker to route it now (distribution.signals). The deadline column is
# what guarantees it: a nudge lost with Redis down is picked up by the sweeper.
routing_due = Signal()


def lead_transition(*, lead: Lead, to_status: str, by: Staff | None, sale_recorded: bool = False) -> Lead:
    """Move a lead along ALLOWED_TRANSITIONS. A recorded sale (dealcoverage.services.deal_record,
    `sale_recorded=True`) is the fact: the lead becomes sold from any status but sold."""
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        allowed = ALLOWED_TRANSITIONS.get(locked.status, set())
        if sale_recorded and locked.status != LeadStatus.SOLD:
            allowed = allowed | {LeadStatus.SOLD}
        if to_status not in allowed:
            allowed_text = ", ".join(sorted(ALLOWED_TRANSITIONS[locked.status])) or "none (final status)"
            raise ValidationError(
                {"status": f"A {locked.get_status_display().lower()} lead cannot become {to_status!r}; allowed: {allowed_text}."}
            )
        from_status = locked.status
        LeadStatusChange.objects.create(lead=locked, from_status=from_status, to_status=to_status, changed_by=by)
        locked.status = to_status
        locked.save(update_fields=["status"])
        lead_status_changed.send(sender=Lead, lead=locked, from_status=from_status, to_status=to_status)
    return locked


SELF_REPORTED_CHANNELS: set[str] = {Channel.NOTE, Channel.CALL, Channel.VISIT, Channel.TEXT, Channel.EMAIL}
MANUAL_OUTCOMES: dict[str, set[str]] = {
    Channel.NOTE: {Outcome.NOTE},
    Channel.CALL: {Outcome.CONNECTED, Outcome.VOICEMAIL, Outcome.NO_ANSWER, Outcome.BUSY},
    Channel.VISIT: {Outcome.VISITED},
    Channel.TEXT: {Outcome.SENT, Outcome.REPLY},
    Channel.EMAIL: {Outcome.SENT, Outcome.REPLY},
}


def contact_event_log(
    *,
    staff: Staff,
    lead: Lead,
    channel: str,
    outcome: str,
    body: str = "",
    direction: str = Direction.OUTBOUND,
    occurred_at: dt.datetime | None = None,
    outside_company_channels: bool = False,
    spoke_with_customer: bool = False,
    talk_minutes: float | None = None,
) -> ContactEvent:
    """A note, call, visit or message typed by staff: self-reported, never verified.

    A typed call where the person says they spoke with the customer is a conversation: it
    counts as two-way at the self-reported level (leads.contact), and a duration they type, when
    given, must meet the store's minimum talk time."""
    if channel not in SELF_REPORTED_CHANNELS:
        raise ValidationError({"channel": f"Unknown channel {channel!r}."})
    if spoke_with_customer and channel != Channel.CALL:
        raise ValidationError({"spoke_with_customer": "Only a call can say you spoke with the customer."})
    if spoke_with_customer and outcome not in ("", Outcome.CONNECTED):
        raise ValidationError({"outcome": f"A call where you spoke with the customer is connected, not {outcome!r}."})
    if spoke_with_customer:
        outcome = Outcome.CONNECTED
    if outcome not in MANUAL_OUTCOMES[channel]:
        allowed = ", ".join(sorted(MANUAL_OUTCOMES[channel]))
        raise ValidationError({"outcome": f"A {channel} cannot have outcome {outcome!r}; use one of: {allowed}."})
    if staff.store_id != lead.store_id:
        raise ValidationError({"lead": "That lead belongs to another store."})
    if talk_minutes is not None and (channel != Channel.CALL or not spoke_with_customer):
        raise ValidationError({"talk_minutes": "A duration goes with a call where you spoke with the customer."})
    if talk_minutes is not None and not 0 < talk_minutes <= 600:
        raise ValidationError({"talk_minutes": "Type how many minutes you talked, between 0 and 600."})
    now = timezone.now()
    occurred_at = occurred_at or now
    if occurred_at > now + dt.timedelta(minutes=1):
        raise ValidationError({"occurred_at": "A contact cannot be logged in the future."})
    if channel in (Channel.NOTE, Channel.VISIT):
        direction = Direction.NONE
    if channel == Channel.NOTE:
        if not body.strip():
            raise ValidationError({"body": "A note needs some text."})
    spoke = channel == Channel.CALL and spoke_with_customer
    return contact_event_record(
        store=lead.store_id,
        customer_id=lead.customer_id,
        lead_id=lead.pk,
        staff_id=staff.pk,
        channel=channel,
        direction=direction,
        outcome=outcome,
        occurred_at=occurred_at,
        recorded_at=now,
        evidence_level=EvidenceLevel.SELF_REPORTED,
        outside_company_channels=outside_company_channels,
        body=body,
        answered_by_person=True if spoke else None,
        talk_seconds=round(talk_minutes * 60) if spoke and talk_minutes is not None else None,
    )


def met_customer_log(*, staff: Staff, lead: Lead) -> ContactEvent | None:
    """A walk-in or phone-up typed by the salesperson who met the customer: the meeting itself is
    the first contact (self-reported: typed, not checked in or recorded), so the lead starts
    contacted, its new-lead cadence does not start, and their coverage runs from it."""
    if lead.source_type == SourceType.WALK_IN:
        return contact_event_log(staff=staff, lead=lead, channel=Channel.VISIT, outcome=Outcome.VISITED,
                                 body="Met in the showroom (entered with the walk-in).")
    if lead.source_type == SourceType.PHONE_UP:
        return contact_event_log(staff=staff, lead=lead, channel=Channel.CALL, outcome=Outcome.CONNECTED,
                                 direction=Direction.INBOUND, spoke_with_customer=True,
                                 body="Took the customer's call (entered with the phone-up).")
    return None


@dataclass
class ImportedEvent:
    external_id: str
    customer: Customer
    lead: Lead | None
    staff: Staff | None
    channel: str
    direction: str
    outcome: str
    occurred_at: dt.datetime
    body: str = ""
    talk_seconds: int | None = None


def contact_events_import(*, store: Store, source_system: str, events: list[ImportedEvent]) -> tuple[int, int]:
    """Historical events from another CRM: evidence 'imported', idempotent on external_id.
    History does not restart anyone's clocks or tasks (no side effects).

    Returns (created, already_present): a resend of the same batch answers (0, N)."""
    for event in events:
        if event.customer.store_id != store.pk or (event.staff and event.staff.store_id != store.pk):
            raise ValidationError({"events": f"Event {event.external_id!r} refers to another store."})
        if event.lead is not None and event.lead.customer_id != event.customer.pk:
            raise ValidationError({"events": f"Event {event.external_id!r}: the lead is another customer's."})
    return contact_events_record_batch(
        store=store,
        side_effects=False,
        lock_key=f"import:{source_system}",
        events=[
            {
                "customer_id": e.customer.pk, "lead_id": e.lead.pk if e.lead else None,
                "staff_id": e.staff.pk if e.staff else None, "channel": e.channel, "direction": e.direction,
                "outcome": e.outcome, "occurred_at": e.occurred_at, "evidence_level": EvidenceLevel.IMPORTED,
                "body": e.body, "talk_seconds": e.talk_seconds, "source_system": source_system,
                "external_id": e.external_id,
            }
            for e in events
        ],
    )


def rejected_intake_record(
    *, store: Store | None, channel: str, reason: str, message: str, body: bytes | str, remote_addr: str | None
) -> RejectedIntake:
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    # What was refused may be anything, NUL bytes included, which PostgreSQL text cannot hold.
    return RejectedIntake.objects.create(
        store=store,
        channel=channel,
        reason=text_for_db(reason[:40]),
        message=text_for_db(message),
        body_excerpt=text_for_db(raw[:4000]),
        body_size=len(body),
        remote_addr=remote_addr or None,
    )


def lead_search_q(term: str) -> Q:
    """Search by phone (digits), email (has @), provider lead id, or customer name prefix.

    Phone and email go through subqueries rather than joins, so a customer with several
    numbers does not repeat their leads and no DISTINCT is needed.
    """
    term = term.strip()
    digits = "".join(ch for ch in term if ch.isdigit())
    bare = term.lstrip("#").strip()
    if bare.isdigit() and len(bare) < 7:
        # "1889" or "#1889": the lead id shown on the page (or a provider's numeric id).
        return Q(pk=int(bare)) | Q(provider_lead_id=bare)
    if "," in term and "@" not in term:
        # "Robinson, Walter": last name first, as DMS exports write it.
        last, _, first = (part.strip() for part in term.partition(","))
        return _named(Q(last_name__istartswith=last, first_name__istartswith=first))
    if "@" in term:
        return Q(customer_id__in=CustomerEmail.objects.filter(email=term.lower()).values("customer_id"))
    if len(digits) >= 7 and len(digits) >= len(term.replace(" ", "")) - 4:
        try:
            number = phone_to_e164(term)
        except ValidationError:
            return Q(provider_lead_id=term)
        return Q(customer_id__in=CustomerPhone.objects.filter(number=number).values("customer_id"))
    parts = term.split()
    if len(parts) >= 2:
        return _named(Q(first_name__istartswith=parts[0], last_name__istartswith=parts[-1]))
    named = _named(Q(last_name__istartswith=term) | Q(first_name__istartswith=term))
    # A provider's lead id carries a digit ("CG-20931"); a bare word is a name, searched through
    # the customers' name indexes alone (an OR with a lead column would read every lead instead).
    return named | Q(provider_lead_id=term) if any(ch.isdigit() for ch in term) else named


def _named(customers: Q) -> Q:
    """Leads whose customer matches `customers`: a subquery on the customers, so PostgreSQL can
    start from the name prefix indexes (customer_last_name_prefix) when few customers match."""
    return Q(customer_id__in=Customer.objects.filter(customers).values("pk"))


__all__ = [
    "IntakeChannel",
    "LeadCreateResult",
    "LeadData",
    "VehicleData",
    "contact_event_log",
    "contact_events_import",
    "lead_create",
    "lead_transition",
]
