"""Texts through dealer numbers: sending (Twilio faked at its HTTP layer only), status callbacks
(repeated, out of order, early), inbound replies, STOP/START, and signature checks.

Webhooks are posted with twilio_helpers.signed_post (signed over the public URL like Twilio);
its FakeTwilioHttp answers the Calls API only, so the Messages API fake lives here."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone
from factories import CustomerFactory, CustomerPhoneFactory, LeadFactory
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from leads.models import Channel, ContactEvent, EvidenceLevel, Lead, LeadStatus, Outcome
from leads.selectors import lead_timeline
from telephony import sms
from telephony.models import DealerNumber, MessageStatus, NumberPurpose, OptOut, TextMessage, WebhookReceipt
from telephony.twilio import account_sid, auth_token, public_url
from tests.telephony.twilio_helpers import signed_post

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

CUSTOMER_NUMBER = "+13125550142"
MAIN_LINE = "+13125550100"
AGENT_LINE = "+13125550111"
STATUS_PATH = "/telephony/twilio/sms/status/"
INBOUND_PATH = "/telephony/twilio/sms/inbound/"


# --- Twilio at the HTTP boundary ------------------------------------------------------------------


class FakeTwilioHttp(HttpClient):
    """Answers the Messages API like Twilio and records every request; nothing else is faked."""

    def __init__(self):
        super().__init__(logger=logging.getLogger("fake-twilio"), is_async=False)
        self.requests: list[dict] = []
        self.next_sids: list[str] = []
        self.next_error: dict | None = None

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False):
        self.requests.append({"method": method, "uri": uri, "data": dict(data or {}), "auth": auth})
        if self.next_error is not None:
            error, self.next_error = self.next_error, None
            return Response(error["status"], json.dumps(error))
        sid = self.next_sids.pop(0) if self.next_sids else new_sid()
        body = {
            "sid": sid, "account_sid": account_sid(), "to": data["To"], "from": data["From"], "body": data["Body"],
            "status": "queued", "direction": "outbound-api", "num_segments": "1", "num_media": "0",
            "date_created": "Mon, 03 Mar 2025 16:00:00 +0000", "date_updated": "Mon, 03 Mar 2025 16:00:00 +0000",
            "date_sent": None, "error_code": None, "error_message": None, "price": None, "price_unit": "USD",
            "api_version": "2010-04-01", "messaging_service_sid": None,
            "uri": f"/2010-04-01/Accounts/{account_sid()}/Messages/{sid}.json", "subresource_uris": {},
        }
        return Response(201, json.dumps(body))


def new_sid() -> str:
    return "SM" + uuid.uuid4().hex


@pytest.fixture
def twilio_http(monkeypatch):
    fake = FakeTwilioHttp()
    monkeypatch.setattr("telephony.twilio.client", lambda: Client(account_sid(), auth_token(), http_client=fake))
    return fake


# --- Fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def lines(store, org):
    return {
        "main": DealerNumber.objects.create(store=store, number=MAIN_LINE, purpose=NumberPurpose.MAIN),
        "agent": DealerNumber.objects.create(
            store=store, number=AGENT_LINE, purpose=NumberPurpose.AGENT, staff=org["agent"]
        ),
    }


@pytest.fixture
def lead(org, lead_for, lines):
    lead = lead_for(owner=org["agent"])
    lead.customer.first_name, lead.customer.last_name = "Maria", "Lopez"
    lead.customer.save()
    CustomerPhoneFactory(customer=lead.customer, number=CUSTOMER_NUMBER)
    return lead


@pytest.fixture
def as_user(client):
    def log_in(staff):
        client.force_login(staff.user)
        return client

    return log_in


def send_text(client, lead, body="Hi Maria, the RAV4 is here.", to=CUSTOMER_NUMBER, htmx=False):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/telephony/twilio/sms/leads/{lead.pk}/send/", {"to": to, "body": body}, headers=headers)


def status_params(sid: str, status: str, **extra) -> dict[str, str]:
    return {
        "MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status, "AccountSid": account_sid(),
        "From": AGENT_LINE, "To": CUSTOMER_NUMBER, "ApiVersion": "2010-04-01", **extra,
    }


def inbound_params(body: str, *, sid: str | None = None, from_=CUSTOMER_NUMBER, to=AGENT_LINE) -> dict[str, str]:
    sid = sid or new_sid()
    return {
        "MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid, "AccountSid": account_sid(), "From": from_, "To": to,
        "Body": body, "NumMedia": "0", "NumSegments": "1", "FromCountry": "US", "ToCountry": "US",
        "ApiVersion": "2010-04-01",
    }


def flash_messages(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def sent_sid(lead) -> str:
    return TextMessage.objects.get(lead=lead, direction="outbound").message_sid


# --- Sending --------------------------------------------------------------------------------------


def test_agent_texts_from_their_line_with_a_status_callback(as_user, org, lead, twilio_http):
    response = send_text(as_user(org["agent"]), lead)

    assert response.status_code == 302 and response.url == f"/leads/{lead.pk}/"
    assert flash_messages(response) == ["Text sent."]
    [request] = twilio_http.requests
    assert request["method"] == "POST"
    assert urlparse(request["uri"]).path == f"/2010-04-01/Accounts/{account_sid()}/Messages.json"
    assert request["data"]["To"] == CUSTOMER_NUMBER
    assert request["data"]["From"] == AGENT_LINE
    assert request["data"]["Body"] == "Hi Maria, the RAV4 is here."
    assert request["data"]["StatusCallback"] == "http://localhost:8000/telephony/twilio/sms/status/"

    text = TextMessage.objects.get()
    assert (text.direction, text.staff, text.customer, text.lead, text.status) == (
        "outbound", org["agent"], lead.customer, lead, MessageStatus.QUEUED,
    )
    assert str(text.customer_number) == CUSTOMER_NUMBER and text.dealer_number.purpose == NumberPurpose.AGENT
    event = ContactEvent.objects.get()
    assert (event.channel, event.direction, event.outcome, event.evidence_level) == (
        Channel.TEXT, "outbound", Outcome.SENT, EvidenceLevel.VERIFIED,
    )
    assert event.message_sid == text.message_sid and event.staff == org["agent"] and event.lead == lead
    assert event.customer == lead.customer and event.body == "Hi Maria, the RAV4 is here."


def test_without_an_own_line_the_main_line_is_used(as_user, org, lead, twilio_http):
    response = send_text(as_user(org["manager"]), lead)  # the owner's manager may work the lead

    assert response.status_code == 302
    assert twilio_http.requests[0]["data"]["From"] == MAIN_LINE
    assert ContactEvent.objects.get().staff == org["manager"]


def test_htmx_send_answers_the_forms_and_the_refreshed_timeline(as_user, org, lead, twilio_http):
    response = send_text(as_user(org["agent"]), lead, htmx=True)

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="message-forms"' in page and "Text sent." in page
    assert 'id="timeline-block"' in page and "the RAV4 is here." in page


def test_someone_who_may_not_work_the_lead_cannot_text(as_user, org, lead_for, lines, twilio_http):
    pool_lead = lead_for(owner=None, in_claim_pool=True)  # agent2 sees the pool, has not claimed it
    CustomerPhoneFactory(customer=pool_lead.customer, number="+13125550177")

    response = send_text(as_user(org["agent2"]), pool_lead, to="+13125550177", htmx=True)

    assert response.status_code == 422
    assert "Only the lead&#x27;s owner" in response.content.decode()
    assert twilio_http.requests == [] and not TextMessage.objects.exists() and not ContactEvent.objects.exists()


def test_a_lead_outside_the_viewers_scope_is_404(as_user, org, lead, twilio_http):
    assert send_text(as_user(org["agent2"]), lead).status_code == 404
    assert twilio_http.requests == []


@pytest.mark.parametrize("number", ["12345", "not a phone", "+1 312 555 01"])
def test_an_invalid_number_is_refused_and_nothing_is_sent(as_user, org, lead, twilio_http, number):
    response = send_text(as_user(org["agent"]), lead, to=number, htmx=True)

    assert response.status_code == 422
    assert "is not a valid phone number; nothing was sent." in response.content.decode()
    assert twilio_http.requests == [] and not TextMessage.objects.exists() and not ContactEvent.objects.exists()


def test_a_number_that_is_not_the_customers_is_refused(as_user, org, lead, twilio_http):
    response = send_text(as_user(org["agent"]), lead, to="+13125550199")

    assert flash_messages(response) == [f"+13125550199 is not a number of {lead.customer}; nothing was sent."]
    assert twilio_http.requests == []


def test_a_store_without_a_texting_number_is_refused(as_user, org, lead, twilio_http):
    DealerNumber.objects.all().delete()

    response = send_text(as_user(org["agent"]), lead)

    assert "has no texting number" in flash_messages(response)[0]
    assert twilio_http.requests == []


def test_twilio_refusing_an_unsubscribed_number_records_the_opt_out(as_user, org, lead, twilio_http):
    twilio_http.next_error = {
        "code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400,
        "more_info": "https://www.twilio.com/docs/errors/21610",
    }

    response = send_text(as_user(org["agent"]), lead)

    assert "opted out" in flash_messages(response)[0]
    assert OptOut.objects.get(number=CUSTOMER_NUMBER).active is True
    assert not TextMessage.objects.exists() and not ContactEvent.objects.exists()


# --- Status callbacks -----------------------------------------------------------------------------


def test_delivered_callback_appends_a_superseding_event(client, as_user, org, lead, twilio_http):
    send_text(as_user(org["agent"]), lead)
    sid = sent_sid(lead)
    sent = ContactEvent.objects.get()

    assert signed_post(client, STATUS_PATH, status_params(sid, "sent")).status_code == 200
    assert ContactEvent.objects.count() == 1  # "sent" confirms what we know: no event
    response = signed_post(client, STATUS_PATH, status_params(sid, "delivered"))

    assert response.status_code == 200
    delivered = ContactEvent.objects.exclude(pk=sent.pk).get()
    assert delivered.supersedes == sent and delivered.outcome == Outcome.DELIVERED
    assert delivered.evidence_level == EvidenceLevel.VERIFIED and delivered.message_sid == sid
    assert delivered.staff == org["agent"] and delivered.occurred_at == sent.occurred_at
    sent_again = ContactEvent.objects.get(pk=sent.pk)  # the original is untouched
    assert sent_again.outcome == Outcome.SENT and sent_again.body == delivered.body
    assert [e.pk for e in lead_timeline(lead)] == [delivered.pk]
    assert TextMessage.objects.get().status == MessageStatus.DELIVERED


def test_the_same_callback_three_times_records_one_event(client, as_user, org, lead, twilio_http):
    send_text(as_user(org["agent"]), lead)
    params = status_params(sent_sid(lead), "delivered")

    for _ in range(3):
        assert signed_post(client, STATUS_PATH, params).status_code == 200

    assert ContactEvent.objects.filter(outcome=Outcome.DELIVERED).count() == 1
    assert ContactEvent.objects.count() == 2
    assert WebhookReceipt.objects.filter(kind="sms-status", status="delivered").count() == 1


def test_a_late_sent_after_delivered_does_not_regress(client, as_user, org, lead, twilio_http):
    send_text(as_user(org["agent"]), lead)
    sid = sent_sid(lead)

    signed_post(client, STATUS_PATH, status_params(sid, "delivered"))
    response = signed_post(client, STATUS_PATH, status_params(sid, "sent"))

    assert response.status_code == 200
    assert TextMessage.objects.get().status == MessageStatus.DELIVERED
    assert [e.outcome for e in lead_timeline(lead)] == [Outcome.DELIVERED]
    assert ContactEvent.objects.count() == 2
    assert set(WebhookReceipt.objects.filter(sid=sid).values_list("status", flat=True)) == {"delivered", "sent"}


def test_undelivered_is_a_failed_event_that_says_why(client, as_user, org, lead, twilio_http):
    send_text(as_user(org["agent"]), lead)
    sid = sent_sid(lead)

    signed_post(client, STATUS_PATH, status_params(sid, "undelivered", ErrorCode="30006"))

    [head] = lead_timeline(lead)
    assert head.outcome == Outcome.FAILED and head.supersedes is not None
    assert "Twilio 30006" in head.body and "landline" in head.body
    text = TextMessage.objects.get()
    assert text.status == MessageStatus.UNDELIVERED and text.error_code == "30006"


def test_a_callback_that_overtakes_the_send_is_applied_when_the_row_lands(client, as_user, org, lead, twilio_http):
    sid = new_sid()
    assert signed_post(client, STATUS_PATH, status_params(sid, "delivered")).status_code == 200
    assert not ContactEvent.objects.exists()

    twilio_http.next_sids.append(sid)
    send_text(as_user(org["agent"]), lead)

    assert TextMessage.objects.get().status == MessageStatus.DELIVERED
    [head] = lead_timeline(lead)
    assert head.outcome == Outcome.DELIVERED and head.supersedes.outcome == Outcome.SENT


def test_unknown_message_sid_is_200_and_logged(client, lead, caplog):
    sid = new_sid()
    with caplog.at_level(logging.INFO, logger="telephony"):
        response = signed_post(client, STATUS_PATH, status_params(sid, "delivered"))

    assert response.status_code == 200
    assert not ContactEvent.objects.exists() and not TextMessage.objects.exists()
    assert any(sid in record.getMessage() and "unknown" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    "params",
    [
        {"MessageStatus": "delivered"},
        {"MessageSid": "SM" + "a" * 32},
        {"MessageSid": "SM" + "a" * 32, "MessageStatus": "exploded"},
        {"MessageSid": "not-a-sid", "MessageStatus": "delivered"},
    ],
)
def test_status_callback_with_missing_or_malformed_parameters_is_400(client, params):
    assert signed_post(client, STATUS_PATH, params).status_code == 400
    assert not WebhookReceipt.objects.exists()


# --- Inbound texts --------------------------------------------------------------------------------


def test_inbound_reply_is_a_verified_two_way_event_on_the_customers_newest_open_lead(client, org, lead, other_store):
    older = LeadFactory(store=lead.store, customer=lead.customer, received_at=timezone.now() - dt.timedelta(days=90))
    Lead.objects.filter(pk=older.pk).update(status=LeadStatus.LOST)
    # The same number belongs to someone else in another store: the dealer number decides.
    CustomerPhoneFactory(customer=CustomerFactory(store=other_store), number=CUSTOMER_NUMBER)

    response = signed_post(client, INBOUND_PATH, inbound_params("Saturday at 10 works"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.decode().replace(" ", "").endswith("<Response/>")
    event = ContactEvent.objects.get()
    assert (event.channel, event.direction, event.outcome, event.evidence_level) == (
        Channel.TEXT, "inbound", Outcome.REPLY, EvidenceLevel.VERIFIED,
    )
    assert event.customer == lead.customer and event.lead == lead and event.store == lead.store
    assert event.staff == org["agent"]  # it came to the agent's own line
    assert event.body == "Saturday at 10 works"
    text = TextMessage.objects.get()
    assert text.direction == "inbound" and text.customer == lead.customer and text.message_sid == event.message_sid


def test_inbound_reply_to_the_main_line_goes_to_whoever_texted_from_it(client, as_user, org, lead, twilio_http):
    send_text(as_user(org["manager"]), lead)  # from the main line

    signed_post(client, INBOUND_PATH, inbound_params("Thanks!", to=MAIN_LINE))

    reply = ContactEvent.objects.get(outcome=Outcome.REPLY)
    assert reply.staff == org["manager"]


def test_a_repeated_inbound_records_nothing_new(client, lead):
    params = inbound_params("See you then")
    for _ in range(2):
        assert signed_post(client, INBOUND_PATH, params).status_code == 200

    assert TextMessage.objects.count() == 1 and ContactEvent.objects.count() == 1


def test_inbound_from_an_unknown_sender_becomes_a_new_lead_with_the_text_on_it(client, lead):
    """A stranger texting a dealer number is a prospect: a phone-up lead, the text a verified reply on it."""
    leads_before = Lead.objects.count()
    response = signed_post(client, INBOUND_PATH, inbound_params("Is the white RAV4 still available?", from_="+13125550188"))

    assert response.status_code == 200
    assert Lead.objects.count() == leads_before + 1
    new_lead = Lead.objects.latest("pk")
    text = TextMessage.objects.get()
    assert text.customer == new_lead.customer and text.lead == new_lead
    assert [str(p.number) for p in new_lead.customer.phones.all()] == ["+13125550188"]
    assert new_lead.store == lead.store and new_lead.intake_channel == "phone"
    assert "Is the white RAV4 still available?" in new_lead.comments
    event = ContactEvent.objects.get()
    assert (event.channel, event.direction, event.outcome, event.evidence_level) == (
        "text", "inbound", "reply", "verified"
    )
    assert event.lead == new_lead


def test_inbound_with_missing_or_malformed_parameters_is_400(client, lead):
    params = inbound_params("hi")
    del params["From"]
    assert signed_post(client, INBOUND_PATH, params).status_code == 400
    assert signed_post(client, INBOUND_PATH, inbound_params("hi", from_="garbage")).status_code == 400
    assert not TextMessage.objects.exists()


# --- Opt-out --------------------------------------------------------------------------------------


def test_stop_blocks_texting_naming_the_date_and_start_reenables_it(client, as_user, org, lead, twilio_http):
    assert signed_post(client, INBOUND_PATH, inbound_params("  Stop ")).status_code == 200

    opt_out = OptOut.objects.get(store=lead.store, number=CUSTOMER_NUMBER)
    assert opt_out.active and opt_out.keyword == "STOP"
    # STOP is not a conversation: a system note, not a reply.
    note = ContactEvent.objects.get()
    assert note.channel == Channel.NOTE and note.staff is None and "Texted STOP" in note.body
    assert not ContactEvent.objects.filter(outcome=Outcome.REPLY).exists()

    OptOut.objects.filter(pk=opt_out.pk).update(changed_at=dt.datetime(2025, 3, 3, 18, 0, tzinfo=dt.UTC))
    agent = as_user(org["agent"])
    response = send_text(agent, lead, htmx=True)

    assert response.status_code == 422
    assert "Maria Lopez texted STOP on Mar 3, 2025; texting is blocked until they text START." in (
        response.content.decode().replace("&#x27;", "'")
    )
    assert twilio_http.requests == [] and not TextMessage.objects.filter(direction="outbound").exists()

    signed_post(client, INBOUND_PATH, inbound_params("START"))

    assert OptOut.objects.get(pk=opt_out.pk).active is False
    assert send_text(agent, lead).status_code == 302
    assert len(twilio_http.requests) == 1 and TextMessage.objects.filter(direction="outbound").count() == 1


@pytest.mark.parametrize("keyword", sorted(sms.OPT_OUT_KEYWORDS))
def test_every_twilio_opt_out_keyword_opts_out(client, lead, keyword):
    signed_post(client, INBOUND_PATH, inbound_params(keyword.lower()))
    assert OptOut.objects.get(number=CUSTOMER_NUMBER).active


def test_twilios_opt_out_type_covers_a_custom_keyword(client, lead):
    signed_post(client, INBOUND_PATH, {**inbound_params("Please remove me"), "OptOutType": "STOP"})

    opt_out = OptOut.objects.get(number=CUSTOMER_NUMBER)
    assert opt_out.active and opt_out.keyword == "STOP"
    assert not ContactEvent.objects.filter(outcome=Outcome.REPLY).exists()


def test_yes_from_a_customer_who_never_opted_out_is_an_ordinary_reply(client, lead):
    signed_post(client, INBOUND_PATH, inbound_params("Yes"))

    assert ContactEvent.objects.get().outcome == Outcome.REPLY
    assert not OptOut.objects.exists()


def test_a_stop_from_an_unknown_sender_still_opts_the_number_out(client, lead):
    signed_post(client, INBOUND_PATH, inbound_params("STOP", from_="+13125550188"))

    assert OptOut.objects.get(number="+13125550188").active
    assert not ContactEvent.objects.exists()


# --- Signatures -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [INBOUND_PATH, STATUS_PATH])
def test_bad_signature_is_403_and_stores_nothing(client, as_user, org, lead, twilio_http, path):
    send_text(as_user(org["agent"]), lead)
    sid = sent_sid(lead)
    params = inbound_params("STOP") if path == INBOUND_PATH else status_params(sid, "delivered")
    events_before = ContactEvent.objects.count()

    wrong_key = signed_post(
        client, path, params, signature=RequestValidator("f" * 32).compute_signature(public_url(path), params)
    )
    tampered = client.post(
        path, {**params, "Body": "changed"} if path == INBOUND_PATH else {**params, "MessageStatus": "failed"},
        HTTP_X_TWILIO_SIGNATURE=RequestValidator(auth_token()).compute_signature(public_url(path), params),
    )
    unsigned = client.post(path, params)

    assert [r.status_code for r in (wrong_key, tampered, unsigned)] == [403, 403, 403]
    assert ContactEvent.objects.count() == events_before
    assert not OptOut.objects.exists() and not WebhookReceipt.objects.exists()
    assert TextMessage.objects.count() == 1


def test_webhooks_answer_only_post(client):
    assert client.get(STATUS_PATH).status_code == 405
    assert client.get(INBOUND_PATH).status_code == 405


# --- Lead page ------------------------------------------------------------------------------------


def test_lead_page_shows_the_text_and_email_forms_to_who_may_work_the_lead(as_user, org, lead):
    page = as_user(org["agent"]).get(f"/leads/{lead.pk}/").content.decode()
    assert 'id="text-form"' in page and f'value="{CUSTOMER_NUMBER}"' in page
    assert 'id="email-box"' in page


def test_lead_page_hides_the_forms_from_the_receptionist(as_user, org, lead):
    page = as_user(org["receptionist"]).get(f"/leads/{lead.pk}/").content.decode()
    assert 'id="text-form"' not in page


def test_status_callback_url_is_built_from_the_public_base_url(as_user, org, lead, twilio_http, settings):
    settings.PUBLIC_BASE_URL = "https://crm.example.com"
    send_text(as_user(org["agent"]), lead)
    callback = twilio_http.requests[0]["data"]["StatusCallback"]
    assert callback == "https://crm.example.com/telephony/twilio/sms/status/"
    assert parse_qs(urlparse(callback).query) == {}
