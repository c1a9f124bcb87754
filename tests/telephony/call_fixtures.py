"""Fixtures and webhook builders shared by the test_calls*.py modules."""

from __future__ import annotations

import base64
import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.etree import ElementTree

import pytest
from django.urls import reverse
from factories import CustomerPhoneFactory, LeadFactory, ShiftFactory

from org.models import WEEKDAYS
from telephony.models import DealerNumber, NumberPurpose
from telephony.twilio import account_sid, auth_token
from tests.telephony.twilio_helpers import install_fake_twilio, sid

MAIN_LINE = "+13125550150"
AGENT_LINE = "+13125550151"
TRACKING_LINE = "+13125550170"
STORE_MAIN_PHONE = "+13125550100"
AGENT_DESK = "+13125550111"
AGENT_CELL = "+17735550112"
CUSTOMER_PHONE = "+13125550142"

STATUS = reverse("telephony:voice_status")
OUTBOUND = reverse("telephony:voice_outbound")
LEG = reverse("telephony:voice_leg_status")
AMD = reverse("telephony:voice_amd")
DIAL = reverse("telephony:voice_dial_complete")
RECORDING = reverse("telephony:voice_recording")
INBOUND = reverse("telephony:voice_inbound")


@pytest.fixture
def twilio_http(settings, monkeypatch):
    return install_fake_twilio(settings, monkeypatch)


@pytest.fixture
def lines(store, org):
    """The store's main line, the agent's own line and a Cars.com tracking number."""
    store.main_phone = STORE_MAIN_PHONE
    store.save(update_fields=["main_phone"])
    agent = org["agent"]
    agent.desk_phone, agent.cell_phone = AGENT_DESK, AGENT_CELL
    agent.save(update_fields=["desk_phone", "cell_phone"])
    return {
        "main": DealerNumber.objects.create(store=store, number=MAIN_LINE, purpose=NumberPurpose.MAIN),
        "agent": DealerNumber.objects.create(store=store, number=AGENT_LINE, purpose=NumberPurpose.AGENT, staff=agent),
        "tracking": DealerNumber.objects.create(
            store=store, number=TRACKING_LINE, purpose=NumberPurpose.TRACKING, source_type="third_party",
            provider="Cars.com listing",
        ),
    }


@pytest.fixture
def agent_lead(store, org):
    """A lead the agent owns; the customer is Maria, at CUSTOMER_PHONE."""
    lead = LeadFactory(store=store, owner=org["agent"], customer__first_name="Maria", customer__last_name="Gonzalez")
    CustomerPhoneFactory(customer=lead.customer, number=CUSTOMER_PHONE)
    return lead


@pytest.fixture
def agent_client(client, org):
    client.force_login(org["agent"].user)
    return client


def on_shift_all_week(staff) -> None:
    for weekday in range(len(WEEKDAYS)):
        ShiftFactory(staff=staff, weekday=weekday, starts=dt.time(0, 0), ends=dt.time(23, 59, 59))


# Twilio's parameters, as it posts them (only what our views read, plus the usual extras).


def base(call_sid: str, **extra) -> dict[str, str]:
    return {"AccountSid": "AC" + "1" * 32, "ApiVersion": "2010-04-01", "CallSid": call_sid, **extra}


def parent_status(call_sid: str, status: str, **extra) -> dict[str, str]:
    params = base(call_sid, CallStatus=status, Direction="outbound-api", From=AGENT_LINE, To=AGENT_DESK, **extra)
    if status == "completed":
        params.setdefault("CallDuration", "100")
    return params


def leg_status(parent_sid: str, leg_sid: str, status: str, **extra) -> dict[str, str]:
    return base(leg_sid, ParentCallSid=parent_sid, CallStatus=status, Direction="outbound-dial", From=AGENT_LINE,
                To=CUSTOMER_PHONE, **extra)


def leg_path(parent_sid: str) -> str:
    return f"{LEG}?parent={parent_sid}"


def amd_path(parent_sid: str) -> str:
    return f"{AMD}?parent={parent_sid}"


def amd(leg_sid: str, answered_by: str) -> dict[str, str]:
    return base(leg_sid, AnsweredBy=answered_by, MachineDetectionDuration="2300")


def dial_complete(parent_sid: str, leg_sid: str, status: str, duration: int | None = None) -> dict[str, str]:
    params = base(parent_sid, CallStatus="in-progress", DialCallSid=leg_sid, DialCallStatus=status)
    if duration is not None:
        params["DialCallDuration"] = str(duration)
    return params


def new_leg() -> str:
    return sid("CA")


def xml(response) -> ElementTree.Element:
    assert response["Content-Type"].startswith("text/xml"), response["Content-Type"]
    return ElementTree.fromstring(response.content)


# A stand-in for Twilio's recording URLs.

AUDIO = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 8


class FakeRecordings(BaseHTTPRequestHandler):
    """Serves /Recordings/RE....mp3 to the account's basic auth, like api.twilio.com; the
    first `failures` requests get a 404 (Twilio's "not ready yet")."""

    failures = 0
    seen: list[tuple[str, str]] = []
    content_type = "audio/mpeg"

    def do_GET(self):  # noqa: N802 - http.server's name
        type(self).seen.append((self.path, self.headers.get("Authorization", "")))
        hook = getattr(type(self), "on_request", None)
        if hook is not None:  # a test's look at the database while the download is under way
            hook(self)
        expected = "Basic " + base64.b64encode(f"{account_sid()}:{auth_token()}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.end_headers()
            return
        if type(self).failures > 0 or not self.path.endswith(".mp3"):
            type(self).failures -= 1
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", type(self).content_type)
        self.send_header("Content-Length", str(len(AUDIO)))
        self.end_headers()
        self.wfile.write(AUDIO)

    def log_message(self, *args):
        pass


@pytest.fixture
def recording_server(settings, tmp_path):
    """A local server in a thread, as the sandbox's own recording URLs are: PUBLIC_BASE_URL
    points at it (Twilio faked at the HTTP boundary by the sandbox's client, whose recordings
    are served from our public URL), and media goes to a temporary dir."""
    settings.MEDIA_ROOT = tmp_path
    FakeRecordings.failures, FakeRecordings.seen, FakeRecordings.content_type = 0, [], "audio/mpeg"
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRecordings)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    settings.PUBLIC_BASE_URL = base
    yield base
    server.shutdown()
    server.server_close()
