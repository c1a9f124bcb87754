"""Import sold deals from a DMS deal export (CSV) and judge each one's credit once.

    ./dev manage import_dms_deals --store north-motors deals.csv

Columns are found by header name, any case: the deal number, the sold date, the customer's
phone and/or email, the salesperson (username or full name), the vehicle and the stock number.
Each row becomes services.deal_record(source="dms_csv", external_id=<deal number>), so running
the same file again (or a later export repeating its rows) records nothing new. A row whose
customer or salesperson is unknown in the store is reported and skipped; a re-run once they
exist imports it.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from common.csvimport import ImportReport, normalize_header, open_csv, parse_when, read_export
from dealcoverage import services
from dealcoverage.models import Deal, DealSource
from leads.normalize import email_normalize, phone_to_e164
from leads.services import customer_match
from org.directory import StaffDirectory
from org.models import Store

HEADER_ALIASES = {
    "deal_number": {
        "deal number", "deal no", "deal", "deal id", "deal num", "dealno", "deal nbr", "number",
    },
    "date": {"sold date", "date sold", "sold", "sold on", "sale date", "deal date", "date", "sold at", "contract date"},
    "salesperson": {
        "salesperson", "sales person", "salesman", "sales rep", "rep", "username", "user", "employee", "staff",
        "closer", "sales consultant", "consultant", "salesperson 1",
    },
    "phone": {"phone", "customer phone", "phone number", "cell", "cell phone", "mobile", "home phone", "telephone"},
    "email": {"email", "e mail", "email address", "customer email", "customer e mail"},
    "vehicle": {"vehicle", "vehicle description", "year make model", "unit", "car", "description"},
    "stock": {"stock", "stock number", "stock no", "stock num", "stk", "stock nbr"},
}


def column_map(headers: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for header in headers:
        # "#" is punctuation to normalize_header; keep "deal #" / "stock #" recognisable.
        key = normalize_header(header.replace("#", " number"))
        for column, aliases in HEADER_ALIASES.items():
            if key in aliases and column not in found:
                found[column] = header
    return found


def dms_deals_import(*, store: Store, text: str) -> ImportReport:
    reader, columns = open_csv(text, column_map, required=("deal_number", "date", "salesperson"))
    directory = StaffDirectory(store)
    report = ImportReport()

    def cell(row: dict, column: str) -> str:
        return (row.get(columns[column]) or "").strip() if column in columns else ""

    for line_number, row in enumerate(reader, start=2):
        label = f"line {line_number}"
        number = cell(row, "deal_number")[:120]
        if not number:
            report.skipped.append(f"{label}: no deal number")
            continue
        label = f"{label} (deal {number})"
        if Deal.objects.filter(store=store, external_id=number).exists():
            report.already_present += 1
            continue
        sold_at = parse_when(cell(row, "date"), "", store.tz)
        if sold_at is None:
            report.skipped.append(f"{label}: unreadable sold date {cell(row, 'date')!r}")
            continue
        raw_phone, raw_email = cell(row, "phone"), cell(row, "email")
        phones: list[str] = []
        emails: list[str] = []
        for raw, normalize, into in ((raw_phone, phone_to_e164, phones), (raw_email, email_normalize, emails)):
            if raw:
                try:
                    into.append(normalize(raw))
                except ValidationError:
                    pass
        customer = customer_match(store=store, phones=phones, emails=emails) if phones or emails else None
        if customer is None:
            who = " / ".join(v for v in (raw_phone, raw_email) if v) or "no phone or email"
            report.skipped.append(f"{label}: unknown customer ({who})")
            continue
        raw_staff = cell(row, "salesperson")
        closer = directory.find(raw_staff) if raw_staff else None
        if closer is None:
            report.skipped.append(f"{label}: unknown salesperson {raw_staff!r}")
            continue
        try:
            services.deal_record(
                store=store, customer=customer, closer=closer, sold_at=sold_at, vehicle=cell(row, "vehicle"),
                stock_number=cell(row, "stock"), source=DealSource.DMS_CSV, external_id=number,
            )
        except ValidationError as exc:
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            report.skipped.append(f"{label}: {problems}")
            continue
        report.created += 1
    return report


class Command(BaseCommand):
    help = "Import sold deals from a DMS CSV export and freeze each one's credit (idempotent on deal number)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file exported from the DMS")
        parser.add_argument("--store", required=True, help="Slug of the store the deals belong to")

    def handle(self, *args, file: str, store: str, **options):
        store_obj = Store.objects.filter(slug=store).first()
        if store_obj is None:
            raise CommandError(f"Unknown store {store!r}.")
        report = dms_deals_import(store=store_obj, text=read_export(file))
        for line in report.skipped:
            self.stderr.write(f"skipped {line}")
        self.stdout.write(
            f"{report.created} deal(s) imported, {report.already_present} already imported, "
            f"{len(report.skipped)} skipped."
        )
