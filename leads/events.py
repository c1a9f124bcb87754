"""The one write path for contact events.

Every contact event is inserted here: `contact_event_record` for one event (a webhook, a click,
a typed log, a check-in) and `contact_events_record_batch` for imports, whose side-effect policy
is explicit. tests/leads/test_contact_write_path.py fails if any other module inserts one.

What a new event sets off elsewhere (the response clocks in distribution, follow-up tasks,
the lead's status) is not known here: those apps subscribe to `contact_event_recorded`, a
signal this app owns, so leads imports nothing above it. Receivers run in the transaction that
writes the event: the event and its consequences are stored together or not at all.

The event's classification (attempt, two-way) is a pair of generated columns computed by
PostgreSQL from the event and the store's minimum talk time stored with it (leads.contact).
An attempt also stamps Lead.attempted_at on the customer's new leads that arrived before it, here
with the event, whatever the path: the Today page finds the leads still waiting by that column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone
from psycopg import sql

from leads.locks import identities_lock
from leads.models import ContactEvent, Lead, LeadStatus
from org.models import Store

# Sent once per recorded event, inside its transaction: kwargs event (with is_attempt and
# is_two_way read back from PostgreSQL) and store (with min_talk_seconds, time_zone and
# business_hours loaded).
contact_event_recorded = Signal()

STORE_FIELDS = ("min_talk_seconds", "time_zone", "business_hours", "group_id")


def _store(store: Store | int) -> Store:
    if isinstance(store, Store):
        return store
    return Store.objects.only(*STORE_FIELDS).get(pk=store)


def contact_event_record(
    *,
    store: Store | int,
    customer_id: int,
    channel: str,
    outcome: str,
    evidence_level: str,
    lead_id: int | None = None,
    staff_id: int | None = None,
    direction: str = "",
    occurred_at: dt.datetime | None = None,
    recorded_at: dt.datetime | None = None,
    body: str = "",
    talk_seconds: int | None = None,
    answered_by_person: bool | None = None,
    outside_company_channels: bool = False,
    call_sid: str = "",
    message_sid: str = "",
    recording_sid: str = "",
    email_message_id: str = "",
    supersedes: ContactEvent | None = None,
) -> ContactEvent:
    """Append one event and run its side effects, in one transaction."""
    store = _store(store)
    now = timezone.now()
    with transaction.atomic():
        event = ContactEvent.objects.create(
            store_id=store.pk, customer_id=customer_id, lead_id=lead_id, staff_id=staff_id, channel=channel,
            direction=direction, outcome=outcome, occurred_at=occurred_at or now, recorded_at=recorded_at or now,
            evidence_level=evidence_level, outside_company_channels=outside_company_channels, body=body,
            talk_seconds=talk_seconds, answered_by_person=answered_by_person, call_sid=call_sid,
            message_sid=message_sid, recording_sid=recording_sid, email_message_id=email_message_id,
            supersedes=supersedes, min_talk_seconds=store.min_talk_seconds,
        )
        if event.is_attempt:
            Lead.objects.filter(
                Q(attempted_at__isnull=True) | Q(attempted_at__gt=event.occurred_at),
                customer_id=customer_id, status=LeadStatus.NEW, received_at__lte=event.occurred_at,
            ).update(attempted_at=event.occurred_at)
        contact_event_recorded.send(sender=ContactEvent, event=event, store=store)
    return event


# The customer's new leads that arrived before an attempt among the chosen events get its time (the
# earliest, when several), in one statement: a batch import or a bulk load.
_ATTEMPTED_SQL = """
UPDATE leads_lead l SET attempted_at = a.first_attempt
FROM (
    SELECT n.id, min(e.occurred_at) AS first_attempt
    FROM leads_contactevent e
    JOIN leads_lead n ON n.customer_id = e.customer_id AND n.received_at <= e.occurred_at
    WHERE e.is_attempt AND n.status = %s AND e.store_id = ANY(%s) {events}
    GROUP BY n.id
) a
WHERE l.id = a.id AND (l.attempted_at IS NULL OR l.attempted_at > a.first_attempt)
"""


def new_leads_attempted_mark(*, store_ids: Sequence[int], keys: Iterable[tuple[str, str]] | None = None) -> int:
    """Stamp attempted_at from the stores' events (all of them, or only those with these
    (source_system, external_id) keys). For events written without contact_event_record: batch
    imports, and the demo's COPY. Returns the number of leads stamped."""
    params: list[Any] = [LeadStatus.NEW, list(store_ids)]
    events = ""
    if keys is not None:
        pairs = sorted(set(keys))
        events = "AND (e.source_system, e.external_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
        params += [[system for system, _ in pairs], [external_id for _, external_id in pairs]]
    with connection.cursor() as cursor:
        cursor.execute(_ATTEMPTED_SQL.format(events=events), params)
        return cursor.rowcount


def contact_events_record_batch(
    *,
    store: Store | int,
    events: Iterable[dict[str, Any]],
    side_effects: bool,
    lock_key: str = "",
) -> tuple[int, int]:
    """Append many events (an import), idempotent on (source_system, external_id).

    Each dict holds ContactEvent fields (ids for relations, `source_system` and `external_id`
    set). `side_effects`: whether each new event sets off what a live one would (response clocks,
    follow-up); history from another system usually must not. `lock_key`: a transaction-level
    advisory lock so two runs of the same import cannot interleave. Returns (created, already
    present): a resend of the same batch answers (0, N)."""
    store = _store(store)
    rows = [ContactEvent(**fields, store_id=store.pk, min_talk_seconds=store.min_talk_seconds) for fields in events]
    keys = {(row.source_system, row.external_id) for row in rows}
    if any(not external_id for _, external_id in keys):
        raise ValueError("every imported event needs an external_id, so a resend is recognised")
    ids = {external_id for _, external_id in keys}
    systems = {system for system, _ in keys}
    with transaction.atomic():
        if lock_key:
            identities_lock(store, [lock_key])
        present_q = ContactEvent.objects.filter(store=store, source_system__in=systems, external_id__in=ids)
        before = set(present_q.values_list("source_system", "external_id"))
        ContactEvent.objects.bulk_create(
            [row for row in rows if (row.source_system, row.external_id) not in before],
            ignore_conflicts=True, batch_size=500,
        )
        if side_effects:
            for event in present_q.order_by("occurred_at", "id"):
                if (event.source_system, event.external_id) not in before:
                    contact_event_recorded.send(sender=ContactEvent, event=event, store=store)
        created = present_q.count() - len(before)
        if created:
            new_leads_attempted_mark(store_ids=[store.pk], keys=keys)
    return created, len(before)


def contact_events_copy(*, pg_connection: Any, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """Synthetic history in bulk (the demo store), by COPY: no side effects (the demo builds the
    routing records itself, and stamps the leads' attempts with new_leads_attempted_mark once the
    load is done). PostgreSQL computes the classification columns, so they can't be written here;
    a column left out takes its default (the minimum talk time: 30 s)."""
    generated = {f.column for f in ContactEvent._meta.concrete_fields if f.generated}
    if generated & set(columns):
        raise ValueError(f"{sorted(generated)} are computed by PostgreSQL; leave them out")
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(ContactEvent._meta.db_table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    written = 0
    with pg_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            written += 1
    return written


def first_two_way_since(*, customer_id: int, since: dt.datetime) -> dt.datetime | None:
    """When the customer's first current two-way contact (one no later event supersedes) at or
    after `since` happened, by anyone; None if there is none. A read, kept beside the writes as
    the one place that spells out this table's SQL: routing asks it for every lead, and the ORM
    took longer to compose the statement than PostgreSQL took to answer it."""
    from django.db import connection

    table = ContactEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT e.occurred_at FROM {table} e
             WHERE e.customer_id = %s AND e.is_two_way AND e.occurred_at >= %s
               AND NOT EXISTS (SELECT 1 FROM {table} later WHERE later.supersedes_id = e.id)
             ORDER BY e.occurred_at LIMIT 1
            """,
            [customer_id, since],
        )
        row = cursor.fetchone()
    return row[0] if row else None


__all__ = ["contact_events_copy", "contact_event_record", "contact_event_recorded", "contact_events_record_batch",
           "first_two_way_since", "new_leads_attempted_mark"]
