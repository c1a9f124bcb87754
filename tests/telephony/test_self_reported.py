"""Self-reported activity from outside the CRM: DMS notes imported from a CSV export
(manage.py import_dms_notes) as self-reported note events, matched by phone or email in the
store, idempotent on a hash of the row."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from factories import CustomerEmailFactory, CustomerFactory, CustomerPhoneFactory, LeadFactory

from common.csvimport import parse_when
from leads.models import Channel, ContactEvent, EvidenceLevel, Outcome

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def people(org):
    agent, retail = org["agent"], org["retail"]
    agent.user.first_name, agent.user.last_name = "Dana", "Reyes"
    agent.user.save()
    retail.user.first_name, retail.user.last_name = "Bob", "Miller"
    retail.user.save()
    return org


@pytest.fixture
def customers(store, other_store):
    maria = CustomerFactory(store=store, first_name="Maria", last_name="Lopez")
    CustomerPhoneFactory(customer=maria, number="+13125550142")
    lead = LeadFactory(store=store, customer=maria, received_at=dt.datetime(2025, 3, 1, 9, 0, tzinfo=CHICAGO))
    walt = CustomerFactory(store=store, first_name="Walter", last_name="Robinson")
    CustomerEmailFactory(customer=walt, email="walt@example.com")
    # Only the other store knows this number: not a customer of ours.
    CustomerPhoneFactory(customer=CustomerFactory(store=other_store), number="+13125550199")
    return {"maria": maria, "maria_lead": lead, "walt": walt}


CSV = (
    "Note Date,SALESPERSON,Customer Phone,E-Mail,Note Text\n"
    '3/14/2025 2:35 PM,agent,(312) 555-0142,,"Called, left message about the RAV4"\n'
    '03/15/25,"Miller, Bob",,WALT@example.com,Walked the lot with Walter\n'
    "3/16/2025 9:05am,Dana Reyes,312.555.0142,,Texted from my cell: coming Saturday\n"
    "3/16/2025 10:00 AM,agent,(312) 555-0199,,Someone else's customer\n"
    "3/16/2025 11:00 AM,Nobody Here,(312) 555-0142,,Unknown salesperson\n"
    "someday,agent,(312) 555-0142,,Bad date\n"
    "3/17/2025 1:00 PM,agent,(312) 555-0142,,\n"
)


def run(path, *args, store="north-motors"):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_dms_notes", str(path), "--store", store, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_dms_notes_become_self_reported_note_events(tmp_path, people, customers):
    path = tmp_path / "notes.csv"
    path.write_text(CSV)

    out, err = run(path)

    assert "3 note(s) imported, 0 already imported, 4 skipped." in out
    events = list(ContactEvent.objects.order_by("occurred_at"))
    assert [e.body for e in events] == [
        "Called, left message about the RAV4", "Walked the lot with Walter", "Texted from my cell: coming Saturday",
    ]
    for event in events:
        assert (event.channel, event.outcome, event.direction) == (Channel.NOTE, Outcome.NOTE, "")
        assert event.evidence_level == EvidenceLevel.SELF_REPORTED
        assert event.source_system == "dms-csv" and len(event.external_id) == 64
    called, walked, texted = events
    assert called.occurred_at == dt.datetime(2025, 3, 14, 14, 35, tzinfo=CHICAGO)
    assert called.customer == customers["maria"] and called.lead == customers["maria_lead"]
    assert called.staff == people["agent"]
    assert walked.customer == customers["walt"] and walked.staff == people["retail"] and walked.lead is None
    assert walked.occurred_at == dt.datetime(2025, 3, 15, 12, 0, tzinfo=CHICAGO)  # a date alone: noon
    assert texted.staff == people["agent"] and texted.occurred_at == dt.datetime(2025, 3, 16, 9, 5, tzinfo=CHICAGO)
    assert "line 5: no customer of north-motors with (312) 555-0199" in err
    assert "line 6: unknown salesperson 'Nobody Here'" in err
    assert "line 7: unreadable date 'someday'" in err
    assert "line 8: no note text" in err


def test_a_reimport_creates_nothing_new(tmp_path, people, customers):
    path = tmp_path / "notes.csv"
    path.write_text(CSV)
    run(path)
    ids = set(ContactEvent.objects.values_list("pk", flat=True))

    out, _ = run(path)

    assert "0 note(s) imported, 3 already imported, 4 skipped." in out
    assert set(ContactEvent.objects.values_list("pk", flat=True)) == ids


def test_a_later_export_with_one_more_row_imports_only_that_row(tmp_path, people, customers):
    path = tmp_path / "notes.csv"
    path.write_text(CSV)
    run(path)
    # The next export formats phones and dates differently and has one new row.
    reformatted = CSV.replace("(312) 555-0142", "+1 312-555-0142").replace("3/14/2025 2:35 PM", "03/14/2025 14:35")
    path.write_text(reformatted + "3/18/2025 4:00 PM,agent,(312) 555-0142,,Appointment set for Saturday\n")

    out, _ = run(path)

    assert "1 note(s) imported, 3 already imported" in out
    assert ContactEvent.objects.count() == 4


def test_semicolons_a_bom_other_header_names_and_iso_dates(tmp_path, people, customers):
    path = tmp_path / "export.csv"
    text = '\ufeffCREATED;Sales Rep;Phone Number;Comments\n2025-03-14 08:00;AGENT;3125550142;"Sent brochure; will call back"\n'
    path.write_bytes(text.encode("utf-8"))

    run(path)

    event = ContactEvent.objects.get()
    assert event.body == "Sent brochure; will call back" and event.staff == people["agent"]
    assert event.occurred_at == dt.datetime(2025, 3, 14, 8, 0, tzinfo=CHICAGO)


def test_windows_1252_export(tmp_path, people, customers):
    path = tmp_path / "excel.csv"
    path.write_bytes("Date,User,Phone,Notes\n3/14/2025 2:35 PM,agent,3125550142,Caf\xe9 talk \u2013 ok\n".encode("cp1252"))

    run(path)

    assert ContactEvent.objects.get().body == "Caf\xe9 talk \u2013 ok"


def test_dry_run_stores_nothing(tmp_path, people, customers):
    path = tmp_path / "notes.csv"
    path.write_text(CSV)

    out, _ = run(path, "--dry-run")

    assert "3 note(s) would be imported" in out
    assert not ContactEvent.objects.exists()


def test_unknown_store_and_missing_columns_are_errors(tmp_path, people, customers):
    path = tmp_path / "notes.csv"
    path.write_text(CSV)
    with pytest.raises(CommandError, match="Unknown store"):
        run(path, store="nowhere")
    path.write_text("Date,Salesperson,Note\n3/14/2025,agent,hello\n")
    with pytest.raises(CommandError, match="phone or email"):
        run(path)


@pytest.mark.parametrize(
    ("date", "time", "expected"),
    [
        ("3/14/2025 2:35 PM", "", dt.datetime(2025, 3, 14, 14, 35)),
        ("03/14/25 14:35", "", dt.datetime(2025, 3, 14, 14, 35)),
        ("3/14/2025", "2:35 p.m.", dt.datetime(2025, 3, 14, 14, 35)),
        ("Mar 14, 2025 2:35 PM", "", dt.datetime(2025, 3, 14, 14, 35)),
        ("2025-03-14", "", dt.datetime(2025, 3, 14, 12, 0)),
        ("03-14-2025", "", dt.datetime(2025, 3, 14, 12, 0)),
    ],
)
def test_us_dates_are_read_in_the_stores_zone(date, time, expected):
    assert parse_when(date, time, CHICAGO) == expected.replace(tzinfo=CHICAGO)


def test_an_iso_time_with_a_zone_keeps_it():
    assert parse_when("2025-03-14T20:35:00+00:00", "", CHICAGO) == dt.datetime(2025, 3, 14, 20, 35, tzinfo=dt.UTC)
