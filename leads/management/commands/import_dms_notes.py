"""Import salespeople's notes from a DMS CSV export as self-reported contact events.

    ./dev manage import_dms_notes --store north-motors notes.csv [--dry-run]

Columns are found by header name, any case: a date (and optionally a separate time), the
salesperson (username or full name, "First Last" or "Last, First"), the customer's phone
and/or email, and the note text. Dates may be US style (3/14/2025 2:35 PM, 03-14-25) or ISO;
a time without a zone is the store's local time, a date alone is read as noon.

Each row becomes a note (evidence self-reported: typed by a person in another system) on the
customer matched by phone or email in that store. A row is skipped and reported when the
customer is unknown, the salesperson is named but unknown, or the date or note is missing.
Re-running with the same file (or a later export that repeats its rows) creates nothing new:
each event carries source_system "dms-csv" and external_id = a hash of the row's meaning
(time, customer, salesperson, note text), not of its formatting.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from common.csvimport import ImportReport, normalize_header, open_csv, parse_when, read_export
from leads.events import contact_events_record_batch
from leads.models import Channel, ContactEvent, Direction, EvidenceLevel, Lead, Outcome
from leads.normalize import email_normalize, phone_to_e164
from leads.services import customer_match
from org.directory import StaffDirectory
from org.models import Store

SOURCE_SYSTEM = "dms-csv"
MAX_NOTE_CHARS = 10000

# Normalized header -> our column. Headers are lowercased with punctuation as spaces.
HEADER_ALIASES = {
    "date": {
        "date", "note date", "date time", "datetime", "created", "created at", "created on", "created date",
        "entered", "entered on", "date entered", "timestamp", "activity date", "contact date", "when",
    },
    "time": {"time", "note time", "activity time", "time entered"},
    "salesperson": {
        "salesperson", "sales person", "salesman", "sales rep", "salesrep", "rep", "user", "username", "user name",
        "employee", "staff", "agent", "author", "entered by", "created by", "sales consultant", "consultant",
    },
    "phone": {
        "phone", "customer phone", "phone number", "phone 1", "cell", "cell phone", "mobile", "mobile phone",
        "home phone", "work phone", "telephone", "tel", "customer cell",
    },
    "email": {"email", "e mail", "email address", "customer email", "customer e mail"},
    "note": {"note", "notes", "note text", "text", "comment", "comments", "description", "activity", "body", "details"},
}

def column_map(headers: list[str]) -> dict[str, str]:
    """Our column name -> the file's header, first match wins."""
    found: dict[str, str] = {}
    for header in headers:
        key = normalize_header(header)
        for column, aliases in HEADER_ALIASES.items():
            if key in aliases and column not in found:
                found[column] = header
    return found


def _row_id(*, occurred_at: dt.datetime, customer_id: int, salesperson: str, note: str) -> str:
    """The same note, at the same moment, on the same customer, by the same person: one event,
    however a later export formats the phone number, the date or the spacing."""
    parts = [
        occurred_at.astimezone(dt.UTC).isoformat(), str(customer_id), " ".join(salesperson.lower().split()),
        " ".join(note.split()),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def dms_notes_import(*, store: Store, text: str, dry_run: bool = False) -> ImportReport:
    """Import the CSV text for a store; see the module docstring."""
    reader, columns = open_csv(text, column_map, required=("date", "note"))
    directory = StaffDirectory(store)
    report = ImportReport()
    events: list[dict] = []
    now = timezone.now()

    def cell(row: dict, column: str) -> str:
        return (row.get(columns[column]) or "").strip() if column in columns else ""

    for line_number, row in enumerate(reader, start=2):
        label = f"line {line_number}"
        note = cell(row, "note")
        raw_phone, raw_email, raw_staff = cell(row, "phone"), cell(row, "email"), cell(row, "salesperson")
        if not note:
            report.skipped.append(f"{label}: no note text")
            continue
        occurred_at = parse_when(cell(row, "date"), cell(row, "time"), store.tz)
        if occurred_at is None:
            report.skipped.append(f"{label}: unreadable date {cell(row, 'date')!r}")
            continue
        if occurred_at > now + dt.timedelta(minutes=5):
            report.skipped.append(f"{label}: date {cell(row, 'date')!r} is in the future")
            continue
        phones, emails = [], []
        try:
            if raw_phone:
                phones.append(phone_to_e164(raw_phone))
        except ValidationError:
            pass
        try:
            if raw_email:
                emails.append(email_normalize(raw_email))
        except ValidationError:
            pass
        customer = customer_match(store=store, phones=phones, emails=emails) if phones or emails else None
        if customer is None:
            who = " / ".join(v for v in (raw_phone, raw_email) if v) or "no phone or email"
            report.skipped.append(f"{label}: no customer of {store.slug} with {who}")
            continue
        staff = None
        if raw_staff:
            staff = directory.find(raw_staff)
            if staff is None:
                # Skipped, not imported without a name: once the person exists a re-run imports it.
                report.skipped.append(f"{label}: unknown salesperson {raw_staff!r}")
                continue
        lead = (
            Lead.objects.filter(customer=customer, duplicate_of__isnull=True)
            .filter(received_at__lte=occurred_at)
            .order_by("-received_at", "-id")
            .first()
        )
        events.append(
            {
                "customer_id": customer.pk, "lead_id": lead.pk if lead else None,
                "staff_id": staff.pk if staff else None, "channel": Channel.NOTE, "direction": Direction.NONE,
                "outcome": Outcome.NOTE, "occurred_at": occurred_at, "recorded_at": now,
                # Typed by the store's own staff into the DMS: self-reported, like a note typed here.
                "evidence_level": EvidenceLevel.SELF_REPORTED, "body": note[:MAX_NOTE_CHARS],
                "source_system": SOURCE_SYSTEM,
                "external_id": _row_id(occurred_at=occurred_at, customer_id=customer.pk, salesperson=raw_staff, note=note),
            }
        )

    if dry_run:
        ids = {e["external_id"] for e in events}
        present = ContactEvent.objects.filter(store=store, source_system=SOURCE_SYSTEM, external_id__in=ids).count()
        report.already_present, report.created = present, len(ids) - present
        return report
    # Notes neither attempt nor reach the customer; history restarts no clocks either way.
    report.created, report.already_present = contact_events_record_batch(
        store=store, events=events, side_effects=False, lock_key=f"import:{SOURCE_SYSTEM}"
    )
    return report


class Command(BaseCommand):
    help = "Import DMS notes from a CSV export as self-reported note events (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file exported from the DMS")
        parser.add_argument("--store", required=True, help="Slug of the store the notes belong to")
        parser.add_argument("--dry-run", action="store_true", help="Report what would be imported; store nothing")

    def handle(self, *args, file: str, store: str, dry_run: bool, **options):
        store_obj = Store.objects.filter(slug=store).first()
        if store_obj is None:
            raise CommandError(f"Unknown store {store!r}.")
        report = dms_notes_import(store=store_obj, text=read_export(file), dry_run=dry_run)
        for line in report.skipped:
            self.stderr.write(f"skipped {line}")
        verb = "would be imported" if dry_run else "imported"
        self.stdout.write(
            f"{report.created} note(s) {verb}, {report.already_present} already imported, "
            f"{len(report.skipped)} skipped."
        )
