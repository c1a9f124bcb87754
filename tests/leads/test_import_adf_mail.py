"""ADF leads that arrive by email, read from a Maildir / mbox / .eml by a management command."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from leads.models import IntakeChannel, Lead, RejectedIntake

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures" / "adf"


def adf_mail(fixture: str) -> bytes:
    """A provider's notification with an ADF sample pasted into the plain-text body."""
    message = EmailMessage()
    message["From"] = "leads@marketplace.example"
    message["To"] = "leads@dealer.example"
    message["Subject"] = "New lead"
    message.set_content("A shopper sent a lead:\n\n" + (FIXTURES / fixture).read_text())
    return message.as_bytes()


def run(*args) -> str:
    out, err = StringIO(), StringIO()
    call_command("import_adf_mail", *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def test_maildir_messages_become_leads_once(tmp_path, store):
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for name in ["email_plain_text.eml", "email_no_adf.eml"]:
        box.add((FIXTURES / name).read_bytes())
    box.add(adf_mail("marketplace_used_car.xml"))
    output = run("--store", store.slug, str(tmp_path / "Maildir"))
    assert "2 new lead(s), 0 already stored, 1 rejected" in output
    leads = Lead.objects.filter(store=store)
    assert leads.count() == 2
    assert set(leads.values_list("intake_channel", flat=True)) == {IntakeChannel.EMAIL}
    grace = leads.get(provider_lead_id="CS-448812")
    assert grace.customer.first_name == "Grace"
    assert "<adf>" in grace.original_document
    assert RejectedIntake.objects.get().reason == "no_adf_in_email"
    # Read again: every message is marked seen, nothing is imported twice.
    assert "0 new lead(s), 0 already stored, 0 rejected" in run("--store", store.slug, str(tmp_path / "Maildir"))
    assert Lead.objects.count() == 2


def test_same_eml_twice_is_idempotent(store):
    path = str(FIXTURES / "email_quoted_printable.eml")
    assert "1 new lead(s)" in run("--store", store.slug, path)
    assert "0 new lead(s), 1 already stored" in run("--store", store.slug, path)
    assert Lead.objects.count() == 1


def test_mbox_file(tmp_path, store):
    box = mailbox.mbox(tmp_path / "leads.mbox", create=True)
    box.add((FIXTURES / "email_multipart_xml_attachment.eml").read_bytes())
    box.flush()
    assert "1 new lead(s)" in run("--store", store.slug, str(tmp_path / "leads.mbox"))


def test_unknown_store_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="Unknown store"):
        run("--store", "nope", str(tmp_path))


def test_same_lead_in_plain_and_html_mail_is_stored_once(tmp_path, store):
    """Providers often send a plain and an HTML copy of one lead: the provider id dedupes them."""
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for name in ["email_plain_text.eml", "email_html_escaped.eml"]:
        box.add((FIXTURES / name).read_bytes())
    assert "1 new lead(s), 1 already stored" in run("--store", store.slug, str(tmp_path / "Maildir"))
    assert Lead.objects.count() == 1
