"""Email from the company address (Django's locmem backend: simulated evidence; a real SMTP
backend against a local SMTP server: verified) and replies through anymail's real Mailgun inbound
webhook behind our basic-auth guard, signed as Mailgun signs it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import socketserver
import threading
import time
import uuid

import pytest
from django.core import mail as django_mail
from factories import CustomerEmailFactory, CustomerPhoneFactory

from leads.models import Channel, ContactEvent, EvidenceLevel, LeadVehicle, Outcome
from telephony import mail
from telephony.models import EmailTemplate, EmailThread, WebhookReceipt

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

SIGNING_KEY = "mailgun-test-signing-key"
WEBHOOK_SECRET = "mailgun:inbound-basic-auth-secret"
INBOUND_PATH = "/telephony/email/anymail/mailgun/inbound/"
CUSTOMER_EMAIL = "sean@example.com"


@pytest.fixture(autouse=True)
def email_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "Sales <sales@northmotors.example>"
    settings.EMAIL_REPLY_DOMAIN = "reply.northmotors.example"
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY, "WEBHOOK_SECRET": WEBHOOK_SECRET}
    return settings


@pytest.fixture
def lead(org, lead_for):
    agent = org["agent"]
    agent.user.first_name, agent.user.last_name = "Dana", "Reyes"
    agent.user.save()
    lead = lead_for(owner=agent)
    lead.customer.first_name, lead.customer.last_name = "Sean", "O'Brien"
    lead.customer.save()
    CustomerEmailFactory(customer=lead.customer, email=CUSTOMER_EMAIL)
    CustomerPhoneFactory(customer=lead.customer, number="+13125550142")
    LeadVehicle.objects.create(lead=lead, interest="trade-in", year=2012, make="Honda", model="Civic")
    LeadVehicle.objects.create(lead=lead, condition="used", year=2021, make="Toyota", model="RAV4", stock_number="U1234")
    return lead


@pytest.fixture
def template(store):
    return EmailTemplate.objects.create(
        store=store,
        name="First response",
        subject="Your {{ vehicle }} at {{ store }}",
        body="Hi {{ customer.first_name }} {{ customer.last_name }},\n\n"
        "The {{ vehicle.year }} {{ vehicle.model }} (stock {{ vehicle.stock_number }}) is here.\n"
        "{{ agent.first_name }}, {{ store.name }}{{ agent.user.password }}",
    )


@pytest.fixture
def as_user(client):
    def log_in(staff):
        client.force_login(staff.user)
        return client

    return log_in


def send_email(client, lead, *, htmx=False, **data):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/telephony/email/leads/{lead.pk}/send/", {"to": CUSTOMER_EMAIL, **data}, headers=headers)


def flash_messages(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


# --- Sending --------------------------------------------------------------------------------------


def test_send_from_a_template_renders_fields_and_sets_reply_to_token_and_message_id(as_user, org, lead, template):
    response = send_email(as_user(org["agent"]), lead, template=str(template.pk), subject="", body="")

    assert response.status_code == 302 and flash_messages(response) == ["Email sent."]
    [message] = django_mail.outbox
    assert message.subject == "Your 2021 Toyota RAV4 at North Motors"
    assert message.body == (
        "Hi Sean O'Brien,\n\nThe 2021 RAV4 (stock U1234) is here.\nDana, North Motors"
    )  # plain text: no &#x27; for the apostrophe, and no way to reach the agent's password
    assert message.to == [CUSTOMER_EMAIL]
    assert message.from_email == "Dana Reyes <sales@northmotors.example>"
    thread = EmailThread.objects.get(lead=lead)
    assert message.reply_to == [f"sales+{thread.token}@reply.northmotors.example"]
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "O&#x27;Brien" in html

    event = ContactEvent.objects.get()
    assert (event.channel, event.direction, event.outcome, event.evidence_level) == (
        Channel.EMAIL, "outbound", Outcome.SENT, EvidenceLevel.SIMULATED,  # locmem delivers nothing
    )
    assert event.staff == org["agent"] and event.lead == lead and event.customer == lead.customer
    assert event.email_message_id == message.extra_headers["Message-ID"]
    assert message.message()["Message-ID"] == event.email_message_id
    assert event.email_message_id.startswith("<") and event.email_message_id.endswith("@northmotors.example>")
    assert event.body.startswith("Subject: Your 2021 Toyota RAV4 at North Motors\n\nHi Sean")


def test_hand_typed_email_is_sent_as_typed_and_the_thread_token_is_reused(as_user, org, lead):
    agent = as_user(org["agent"])
    send_email(agent, lead, subject="About {{ store }}", body="Literal {{ customer.first_name }}")
    send_email(agent, lead, subject="Second", body="Again")

    first, second = django_mail.outbox
    assert first.subject == "About {{ store }}" and first.body == "Literal {{ customer.first_name }}"
    assert EmailThread.objects.count() == 1
    assert first.reply_to == second.reply_to
    ids = list(ContactEvent.objects.values_list("email_message_id", flat=True))
    assert len(set(ids)) == 2


def test_compose_fills_the_fields_from_the_template(as_user, org, lead, template):
    response = as_user(org["agent"]).get(
        f"/telephony/email/leads/{lead.pk}/compose/", {"template": template.pk}, headers={"HX-Request": "true"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert 'value="Your 2021 Toyota RAV4 at North Motors"' in page and "Hi Sean O&#x27;Brien," in page
    assert not django_mail.outbox and not ContactEvent.objects.exists()


def test_compose_without_a_template_keeps_what_was_typed(as_user, org, lead):
    response = as_user(org["agent"]).get(
        f"/telephony/email/leads/{lead.pk}/compose/", {"template": "", "subject": "Mine", "body": "My words"}
    )
    page = response.content.decode()
    assert 'value="Mine"' in page and ">My words</textarea>" in page


def test_a_template_of_another_store_is_404(as_user, org, lead, other_store):
    foreign = EmailTemplate.objects.create(store=other_store, name="Theirs", subject="x", body="y")
    response = send_email(as_user(org["agent"]), lead, template=str(foreign.pk))
    assert response.status_code == 404 and not django_mail.outbox


def test_htmx_send_answers_the_forms_and_the_timeline(as_user, org, lead):
    response = send_email(as_user(org["agent"]), lead, htmx=True, subject="Hello", body="Are you free Saturday?")

    page = response.content.decode()
    assert response.status_code == 200 and "Email sent." in page and 'id="timeline-block"' in page
    assert "Are you free Saturday?" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"to": "someone@else.example", "subject": "Hi", "body": "x"}, "is not an address of"),
        ({"to": "not-an-address", "subject": "Hi", "body": "x"}, "is not an email address"),
        ({"subject": "", "body": ""}, "needs a subject and a message"),
    ],
)
def test_refused_emails_send_and_record_nothing(as_user, org, lead, data, message):
    response = send_email(as_user(org["agent"]), lead, htmx=True, **data)

    assert response.status_code == 422 and message in response.content.decode()
    assert not django_mail.outbox and not ContactEvent.objects.exists()


def test_someone_who_may_not_work_the_lead_cannot_email(as_user, org, lead_for):
    pool_lead = lead_for(owner=None, in_claim_pool=True)
    CustomerEmailFactory(customer=pool_lead.customer, email="pool@example.com")

    response = as_user(org["agent2"]).post(
        f"/telephony/email/leads/{pool_lead.pk}/send/", {"to": "pool@example.com", "subject": "Hi", "body": "x"}
    )

    assert "Only the lead's owner" in flash_messages(response)[0]
    assert not django_mail.outbox and not ContactEvent.objects.exists()


def test_a_failing_mail_backend_records_nothing(as_user, org, lead, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens

    response = send_email(as_user(org["agent"]), lead, subject="Hi", body="x")

    assert "did not accept the email" in flash_messages(response)[0]
    assert not ContactEvent.objects.exists()


# --- Inbound replies through anymail's Mailgun webhook ----------------------------------------------


def mailgun_post(client, *, to: str, message_id: str, body: str, cc: str = "", token: str | None = None,
                 extra_headers: list | None = None, signing_key: str = SIGNING_KEY, stripped: str | None = None,
                 from_: str = f"Sean O'Brien <{CUSTOMER_EMAIL}>", auth: str | None = WEBHOOK_SECRET,
                 path: str = INBOUND_PATH):
    """A Mailgun "forward()" route delivery: fully parsed fields plus the HMAC signature."""
    token = token or uuid.uuid4().hex
    timestamp = str(int(time.time()))
    signature = hmac.new(signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    headers = [
        ["From", from_],
        ["To", to],
        ["Subject", "Re: Your 2021 Toyota RAV4 at North Motors"],
        ["Message-Id", message_id],
        ["Date", "Mon, 03 Mar 2025 10:12:00 -0600"],
        *([["Cc", cc]] if cc else []),
        *(extra_headers or []),
    ]
    data = {
        "recipient": to if not cc else cc, "sender": CUSTOMER_EMAIL, "from": from_,
        "subject": "Re: Your 2021 Toyota RAV4 at North Motors", "body-plain": body,
        "message-headers": json.dumps(headers), "timestamp": timestamp, "token": token, "signature": signature,
    }
    if stripped is not None:
        data["stripped-text"] = stripped
    headers = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
    return client.post(path, data, headers=headers)


REPLY = (
    "Saturday at 10 works for me.\n"
    "Can you have it washed?\n"
    "\n"
    "On Mon, Mar 3, 2025 at 9:00 AM Dana Reyes <sales@northmotors.example>\n"
    "wrote:\n"
    "> Hi Sean O'Brien,\n"
    "> The 2021 RAV4 is here.\n"
)


@pytest.fixture
def thread(lead):
    return mail.email_thread_for(lead)


def reply_address(thread) -> str:
    return f"Dana Reyes <sales+{thread.token}@reply.northmotors.example>"


def test_inbound_reply_matched_by_token_is_a_verified_two_way_event(client, org, lead, thread):
    response = mailgun_post(client, to=reply_address(thread), message_id="<reply-1@mail.example.com>", body=REPLY)

    assert response.status_code == 200
    event = ContactEvent.objects.get()
    assert (event.channel, event.direction, event.outcome, event.evidence_level) == (
        Channel.EMAIL, "inbound", Outcome.REPLY, EvidenceLevel.VERIFIED,
    )
    assert event.customer == lead.customer and event.lead == lead and event.store == lead.store
    assert event.staff == org["agent"]
    assert event.email_message_id == "<reply-1@mail.example.com>"
    assert event.body == (
        "Subject: Re: Your 2021 Toyota RAV4 at North Motors\n\nSaturday at 10 works for me.\nCan you have it washed?"
    )
    assert "The 2021 RAV4 is here" not in event.body


def test_the_providers_stripped_text_is_preferred(client, lead, thread):
    mailgun_post(client, to=reply_address(thread), message_id="<r@x>", body=REPLY, stripped="Saturday works.")
    assert ContactEvent.objects.get().body.endswith("\n\nSaturday works.")


def test_a_second_delivery_of_the_same_reply_records_nothing_new(client, lead, thread):
    first = mailgun_post(client, to=reply_address(thread), message_id="<reply-1@mail.example.com>", body=REPLY,
                         token="a" * 50)
    same_event = mailgun_post(client, to=reply_address(thread), message_id="<reply-1@mail.example.com>", body=REPLY,
                              token="a" * 50)
    # A redelivery with a new provider event id but the same Message-ID.
    same_message = mailgun_post(client, to=reply_address(thread), message_id="<reply-1@mail.example.com>", body=REPLY)

    assert [r.status_code for r in (first, same_event, same_message)] == [200, 200, 200]
    assert ContactEvent.objects.count() == 1


def test_an_unknown_token_is_logged_and_stores_nothing(client, lead, thread, caplog):
    with caplog.at_level(logging.INFO, logger="telephony"):
        response = mailgun_post(
            client, to="sales+nosuchtoken1@reply.northmotors.example", message_id="<x@y>", body="Hello?"
        )

    assert response.status_code == 200
    assert not ContactEvent.objects.exists() and not WebhookReceipt.objects.exists()
    assert any("matches no reply token" in record.getMessage() for record in caplog.records)


def test_the_token_is_found_in_cc(client, lead, thread):
    mailgun_post(client, to="Someone <someone@example.org>", cc=reply_address(thread), message_id="<c@x>", body="Yes")
    assert ContactEvent.objects.get().lead == lead


def test_a_bad_mailgun_signature_is_refused_and_stores_nothing(client, lead, thread):
    response = mailgun_post(client, to=reply_address(thread), message_id="<r@x>", body="Hi", signing_key="wrong")

    assert response.status_code == 403
    assert not ContactEvent.objects.exists() and not WebhookReceipt.objects.exists()


def test_an_out_of_office_auto_reply_is_not_a_reply(client, lead, thread):
    mailgun_post(
        client, to=reply_address(thread), message_id="<ooo@x>", body="I am out of the office until Monday.",
        extra_headers=[["Auto-Submitted", "auto-replied"]],
    )
    assert not ContactEvent.objects.exists()


def test_a_reply_from_an_address_not_on_file_says_who_sent_it(client, lead, thread):
    mailgun_post(client, to=reply_address(thread), message_id="<s@x>", body="I'm his wife; call me.",
                 from_="Ann <ann@example.org>")

    event = ContactEvent.objects.get()
    assert event.customer == lead.customer and "(from ann@example.org)\nI'm his wife; call me." in event.body


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (REPLY, "Saturday at 10 works for me.\nCan you have it washed?"),
        ("Sounds good\n\n-----Original Message-----\nFrom: Dana\nSent: Monday", "Sounds good"),
        ("Sounds good\n________________________________\nFrom: Dana Reyes", "Sounds good"),
        ("Yes please\n\nSent from my iPhone\n\nOn Mar 3, 2025, at 9:00 AM, Dana wrote:\n> hi", "Yes please"),
        ("> only quoted text\n> nothing new", "> only quoted text\n> nothing new"),
    ],
)
def test_reply_text_strips_quoted_history(text, expected):
    assert mail.reply_text(text) == expected


# --- Evidence of sent mail: verified only through a real backend ------------------------------------


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for Django's SMTP backend: a real server at the network boundary."""

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 localhost ESMTP test")
        while line := self.rfile.readline():
            verb = line.decode("ascii", "replace").strip().split(" ")[0].upper()
            if verb == "EHLO":
                self.reply("250-localhost")
                self.reply("250 8BITMIME")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    chunk = self.rfile.readline()
                    if not chunk:
                        return
                    data += chunk
                self.server.messages.append(data)
                self.reply("250 OK queued")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:  # HELO, MAIL, RCPT, RSET, NOOP
                self.reply("250 OK")


@pytest.fixture
def smtp_backend(settings):
    """Django's real SMTP backend delivering to an SMTP server in a thread on 127.0.0.1."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
    server.daemon_threads = True
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.server_address[1], 5
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield server
    server.shutdown()
    server.server_close()


def test_mail_sent_through_a_real_smtp_backend_is_verified(as_user, org, lead, smtp_backend):
    response = send_email(as_user(org["agent"]), lead, subject="Your RAV4", body="It is here.")

    assert flash_messages(response) == ["Email sent."]
    [delivered] = smtp_backend.messages
    assert b"Subject: Your RAV4" in delivered
    event = ContactEvent.objects.get()
    assert event.evidence_level == EvidenceLevel.VERIFIED
    assert event.email_message_id.encode() in delivered


def test_mail_sent_through_the_console_backend_is_simulated_never_verified(as_user, org, lead, settings, capsys):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

    send_email(as_user(org["agent"]), lead, subject="Your RAV4", body="It is here.")

    assert "Subject: Your RAV4" in capsys.readouterr().out  # printed, delivered to nobody
    assert ContactEvent.objects.get().evidence_level == EvidenceLevel.SIMULATED


@pytest.mark.parametrize("backend, level", [
    ("django.core.mail.backends.console.EmailBackend", EvidenceLevel.SIMULATED),
    ("django.core.mail.backends.locmem.EmailBackend", EvidenceLevel.SIMULATED),
    ("django.core.mail.backends.filebased.EmailBackend", EvidenceLevel.SIMULATED),
    ("django.core.mail.backends.dummy.EmailBackend", EvidenceLevel.SIMULATED),
    ("anymail.backends.test.EmailBackend", EvidenceLevel.SIMULATED),
    ("django.core.mail.backends.smtp.EmailBackend", EvidenceLevel.VERIFIED),
    ("anymail.backends.mailgun.EmailBackend", EvidenceLevel.VERIFIED),
    ("anymail.backends.postmark.EmailBackend", EvidenceLevel.VERIFIED),
])
def test_the_sent_evidence_level_follows_the_backend(settings, backend, level):
    settings.EMAIL_BACKEND = backend
    assert mail.sent_evidence_level() == level


# --- The inbound webhook refuses what it cannot authenticate -----------------------------------------


def test_inbound_without_a_configured_secret_is_refused_and_records_nothing(client, lead, thread, settings):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}  # no WEBHOOK_SECRET

    for auth in (None, WEBHOOK_SECRET):
        response = mailgun_post(client, to=reply_address(thread), message_id="<open@x>", body="Hi", auth=auth)
        assert response.status_code == 403
    assert not ContactEvent.objects.exists() and not WebhookReceipt.objects.exists()


@pytest.mark.parametrize("auth", [None, "mailgun:wrong-password", "someone:inbound-basic-auth-secret"])
def test_inbound_with_missing_or_wrong_basic_auth_is_refused(client, lead, thread, auth):
    response = mailgun_post(client, to=reply_address(thread), message_id="<wrong@x>", body="Hi", auth=auth)

    assert response.status_code == 403
    assert not ContactEvent.objects.exists() and not WebhookReceipt.objects.exists()


def test_inbound_for_an_unknown_provider_is_404(client, lead, thread):
    for path in ("/telephony/email/anymail/nosuchesp/inbound/", "/telephony/email/anymail/postmark/inbound_mime/"):
        response = mailgun_post(client, to=reply_address(thread), message_id="<u@x>", body="Hi", path=path)
        assert response.status_code == 404
    assert not ContactEvent.objects.exists()


def test_inbound_for_a_provider_without_its_settings_is_4xx_not_500(client, lead, thread, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET}  # Mailgun's signing key missing

    response = mailgun_post(client, to=reply_address(thread), message_id="<nc@x>", body="Hi")

    assert response.status_code == 404
    assert not ContactEvent.objects.exists()


def test_inbound_with_the_right_basic_auth_records_a_verified_reply(client, lead, thread):
    response = mailgun_post(client, to=reply_address(thread), message_id="<ok@x>", body="Saturday works.",
                            auth=WEBHOOK_SECRET)

    assert response.status_code == 200
    event = ContactEvent.objects.get()
    assert (event.direction, event.outcome, event.evidence_level) == ("inbound", Outcome.REPLY, EvidenceLevel.VERIFIED)
