"""The telephony sandbox: Twilio without an account, only when explicitly enabled
(TELEPHONY_SANDBOX; `./dev start` sets it). What it produces is recorded as evidence level
"simulated", never "verified". The tests also use `SandboxHttpClient` alone, as
TWILIO_HTTP_CLIENT under real-looking credentials: Twilio faked at the HTTP boundary.

Two halves:

1. `SandboxHttpClient`, the HTTP client `telephony.twilio.client()` hands to the real
   `twilio.rest.Client`. It answers the REST API the app uses like Twilio does (same JSON
   shapes, new sids "CA"/"SM" + 32 hex, status "queued", Twilio's error codes):

       POST   /2010-04-01/Accounts/{AC}/Calls.json             place a call (To, From, Url or
              Twiml, StatusCallback, StatusCallbackEvent, MachineDetection, AsyncAmd...)
       GET    .../Calls/{CA}.json                              the call as it is now
       GET    .../Calls.json?ParentCallSid={CA}                 its child legs (<Dial>ed), as they are now
       POST   .../Calls/{CA}.json                              update: Twiml= or Url= (e.g. a
              voicemail drop on the customer's leg), Status=completed|canceled
       POST   .../Messages.json                                send a text
       GET    .../Messages/{SM}.json
       GET    .../Recordings/{RE}.json, DELETE .../Recordings/{RE}.json

   Nothing is dialed or texted. Once the surrounding transaction commits, a Celery task plays
   the call or the text out by calling the app's real webhooks over HTTP at PUBLIC_BASE_URL,
   form-encoded and signed exactly like Twilio (X-Twilio-Signature over the full URL and every
   parameter, with `telephony.twilio.auth_token()`):

   A call: the status callbacks of the first leg (initiated, ringing, in-progress: the events
   asked for in StatusCallbackEvent), the TwiML at Url (signed POST), which is then executed:
   <Dial> (action, method, timeout, callerId, record, recordingStatusCallback...) of
   <Number>s (statusCallback, statusCallbackEvent, machineDetection, amdStatusCallback, url)
   or <Client>s, <Say>, <Play>, <Pause>, <Redirect>, <Record>, <Gather> (no key is ever
   pressed), <Hangup>, <Reject>. A <Dial> starts child legs (their own CallSid,
   ParentCallSid, Direction outbound-dial) with their own status callbacks, the answering-
   machine verdict, the conversation, then the <Dial action> request (DialCallSid,
   DialCallStatus, DialCallDuration, DialBridged, RecordingUrl...) whose TwiML continues the
   call, the first leg's "completed", and last the recording callback. The RecordingUrl is the
   sandbox's own /telephony/sandbox/recordings/RE... (".mp3" or ".wav" appended also work),
   which serves a short generated WAV (a few seconds of tones; every format asked for gets WAV).
   A REST update during the call (Status=completed, or new TwiML on either leg: a voicemail
   drop on the customer's leg) takes effect at once, as on Twilio.

   A text: its status callbacks "sent", then "delivered" (or "undelivered", ErrorCode 30003).
   Twilio sends no callback for the initial queued/accepted.

2. "Play the customer": `customer_texts()` posts an inbound text from a customer's number to
   a dealer number (the number's SMS webhook, /telephony/twilio/sms/inbound/), and
   `customer_calls()` rings a dealer number (its voice webhook, /telephony/twilio/voice/inbound/)
   and plays out whatever the TwiML answer says (whom it forwards to, the voicemail it
   records). Used by the page /telephony/sandbox/ and `manage.py sandbox_customer`.

What a number does is decided by its last digit (OUTCOMES below, shown on the sandbox page).
Staff phones (desk or cell), dealer numbers and client: identities are people at the store:
they answer after two rings (for an inbound call, unless told that nobody picks up).

    last digit  call                                              text
    0           rings out: no-answer                              delivered
    1           busy                                              delivered
    2           voicemail answers (AnsweredBy machine_start, or   delivered
                machine_end_beep with DetectMessageEnd); waits a
                few seconds for a voicemail drop, else ends after 35 s
    3           failed (the number cannot be reached)             undelivered (30003)
    4           a person answers and hangs up after 12 s          delivered
                (connected, under the 30 s two-way minimum)
    5-9         a person answers and talks 95 s                   delivered

Durations are simulated (CallDuration 95 arrives about a second after "answered"): the whole
click-to-call sequence takes about two seconds (PACE), so a demo feels live. Twilio's own
STOP handling is imitated too: after a customer texts STOP (or UNSUBSCRIBE, ...) to a dealer
number, sending from that number answers error 21610 until they text START.
"""

from __future__ import annotations

import array
import dataclasses
import datetime as dt
import email.utils
import io
import json
import logging
import math
import random
import re
import secrets
import time
import wave
import xml.etree.ElementTree
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urljoin, urlsplit

import phonenumbers
import requests
from defusedxml import ElementTree
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from twilio.http import HttpClient
from twilio.http.response import Response

from telephony import twilio as tw

log = logging.getLogger("telephony.sandbox")

API_VERSION = "2010-04-01"
# The webhooks configured on every dealer number (telephony/urls.py).
INBOUND_VOICE_PATH = "/telephony/twilio/voice/inbound/"
INBOUND_SMS_PATH = "/telephony/twilio/sms/inbound/"
WEBHOOK_TIMEOUT = 15  # seconds: Twilio's limit for a webhook answer
STATE_TTL = 24 * 3600
RUN_LOG_LENGTH = 30
MAX_DOCUMENTS = 12  # TwiML documents one call may go through (a <Redirect> loop ends there)
OPT_OUT_KEYWORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
OPT_IN_KEYWORDS = {"START", "YES", "UNSTOP"}
TERMINAL = {"completed", "busy", "no-answer", "failed", "canceled"}  # a call's final statuses


# --------------------------------------------------------------------------------------
# What each number does
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Behaviour:
    digits: str
    call: str  # what the sandbox page says
    text: str
    answer: str  # "human", "machine" or "" (not answered)
    final_status: str  # the leg's CallStatus when it ends
    ring_seconds: int
    talk_seconds: int
    message_status: str = "delivered"
    message_error: str = ""


OUTCOMES: tuple[Behaviour, ...] = (
    Behaviour("0", "rings out, nobody answers (no-answer)", "delivered", "", "no-answer", 30, 0),
    Behaviour("1", "busy", "delivered", "", "busy", 2, 0),
    Behaviour(
        "2", "voicemail answers (AnsweredBy machine_start, or machine_end_beep with DetectMessageEnd); "
        "it waits a few seconds for a voicemail drop, else the call ends after 35 s",
        "delivered", "machine", "completed", 18, 35,
    ),
    Behaviour("3", "fails: the number cannot be reached (failed)", "undelivered, error 30003", "", "failed", 0, 0,
              "undelivered", "30003"),
    Behaviour("4", "a person answers and hangs up after 12 s (connected, not two-way)", "delivered", "human",
              "completed", 8, 12),
    Behaviour("5-9", "a person answers and talks 95 s (connected, two-way)", "delivered", "human", "completed", 8, 95),
)
STAFF_BEHAVIOUR = Behaviour("staff", "a person at the store answers after two rings", "delivered", "human",
                            "completed", 6, 95)
UNANSWERED_STAFF = Behaviour("staff", "nobody at the store picks up", "delivered", "", "no-answer", 30, 0)


def outcome_for(number: str) -> Behaviour:
    """The behaviour of a customer's number, by its last digit."""
    digits = re.sub(r"\D", "", number or "")
    last = digits[-1:] or "9"
    for behaviour in OUTCOMES:
        if last in behaviour.digits or (behaviour.digits == "5-9" and last in "56789"):
            return behaviour
    return OUTCOMES[-1]


def is_store_phone(number: str) -> bool:
    """A phone of the store's people (desk, cell), a store's main phone, a dealer number, or a
    browser client: someone at the store answers it."""
    from org.models import Staff, Store
    from telephony.models import DealerNumber

    if number.startswith(("client:", "sip:")):
        return True
    return (
        Staff.objects.filter(Q(desk_phone=number) | Q(cell_phone=number)).exists()
        or Store.objects.filter(main_phone=number).exists()
        or DealerNumber.objects.filter(number=number).exists()
    )


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pace:
    """Real seconds the sandbox waits; the durations it reports are simulated."""

    first_callback: float = 0.3  # Twilio's first callback comes a moment after the REST answer
    step: float = 0.15  # between two callbacks
    talk: float = 0.6  # a whole conversation, however long its simulated talk time
    voicemail_drop_window: float = 6.0  # a voicemail waits this long for a drop (ends early on one)
    poll: float = 0.05  # how often a wait looks for REST updates


PACE = Pace()


# --------------------------------------------------------------------------------------
# State shared by the REST client (web process) and the drivers (Celery worker)
# --------------------------------------------------------------------------------------

_PREFIX = "telephony-sandbox:"


def resource_get(sid: str) -> dict | None:
    return cache.get(f"{_PREFIX}{sid}")


def resource_put(sid: str, resource: dict) -> None:
    cache.set(f"{_PREFIX}{sid}", resource, STATE_TTL)


def resource_update(sid: str, **changes) -> None:
    resource = resource_get(sid)
    if resource is not None:
        resource.update(changes, date_updated=_rfc2822())
        resource_put(sid, resource)


def _update_push(call_sid: str, update: dict) -> None:
    cache.set(f"{_PREFIX}{call_sid}:update", update, STATE_TTL)


def _update_pop(call_sids: Iterable[str]) -> tuple[str, dict] | None:
    for sid in call_sids:
        key = f"{_PREFIX}{sid}:update"
        update = cache.get(key)
        if update is not None:
            cache.delete(key)
            return sid, update
    return None


def _opt_out_key(customer: str, dealer_number: str) -> str:
    return f"{_PREFIX}opt-out:{dealer_number}:{customer}"


def run_log(store_id: int) -> list[dict]:
    """The latest sandbox runs for a store, newest first (for the sandbox page)."""
    return cache.get(f"{_PREFIX}log:{store_id}") or []


def _run_log_add(store_id: int | None, entry: dict) -> None:
    if store_id is None:
        return
    key = f"{_PREFIX}log:{store_id}"
    cache.set(key, [entry, *(cache.get(key) or [])][:RUN_LOG_LENGTH], STATE_TTL)


def _store_id_of(*numbers: str) -> int | None:
    from telephony.models import DealerNumber

    return (
        DealerNumber.objects.filter(number__in=[n for n in numbers if n and n.startswith("+")])
        .values_list("store_id", flat=True)
        .first()
    )


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _rfc2822(when: dt.datetime | None = None) -> str:
    return email.utils.format_datetime((when or timezone.now()).astimezone(dt.UTC))


def _formatted(number: str) -> str:
    try:
        return phonenumbers.format_number(phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        return number


def _is_e164(number: str) -> bool:
    return bool(re.fullmatch(r"\+[1-9]\d{6,14}", number or ""))


def recording_url(recording_sid: str) -> str:
    return tw.public_url(reverse("telephony:sandbox-recording", args=[recording_sid]))


def dispatch(task_name: str, *args) -> None:
    """Run a sandbox task in a Celery worker once the current transaction commits (the row the
    app writes about the call or text must exist when the callbacks come). Tests replace this
    to run the drivers in their own thread."""
    from leads.nudges import nudge
    from telephony import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: nudge(task, *args))


# --------------------------------------------------------------------------------------
# 1. The REST API
# --------------------------------------------------------------------------------------

_REST_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC[0-9a-fA-F]{32})/(?P<rest>.+)\.json$")


class SandboxHttpClient(HttpClient):
    """Answers Twilio's REST API in-process (see the module docstring)."""

    def __init__(self, timeout: float | None = None) -> None:
        super().__init__(log, is_async=False, timeout=timeout)

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        try:
            status, body = rest_answer(method.upper(), urlsplit(uri).path, _form(data), auth, _form(params))
        except Exception:  # noqa: BLE001 - like a Twilio outage: an error answer the caller handles
            log.exception("telephony sandbox failed to answer %s %s (is Redis up?)", method, uri)
            status, body = _error(503, 20503, "The telephony sandbox is unavailable; try again in a moment.")
        log.debug("sandbox REST %s %s -> %s", method, urlsplit(uri).path, status)
        text = "" if body is None else json.dumps(body)
        return Response(status, text, headers={"Content-Type": "application/json"})


def _form(data: dict[str, object] | None) -> dict[str, object]:
    """Twilio's client sends str, int, bool or lists (StatusCallbackEvent): keep lists, str the rest."""
    form: dict[str, object] = {}
    for key, value in (data or {}).items():
        if isinstance(value, list | tuple):
            form[key] = [str(v) for v in value]
        elif isinstance(value, bool):
            form[key] = "true" if value else "false"
        elif value is not None:
            form[key] = str(value)
    return form


def _error(status: int, code: int, message: str) -> tuple[int, dict]:
    return status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                    "status": status}


def rest_answer(method: str, path: str, form: dict, auth: tuple[str, str] | None,
                query: dict | None = None) -> tuple[int, dict | None]:
    match = _REST_PATH.match(path)
    if match is None:
        return _error(404, 20404, f"The telephony sandbox does not implement {method} {path}.")
    if match["account"] != tw.account_sid():
        return _error(404, 20404, f"The requested resource {path} was not found")
    if auth is not None and tuple(auth) != (tw.account_sid(), tw.auth_token()):
        return _error(401, 20003, "Authenticate")
    rest = match["rest"]
    routes = [
        ("POST", r"Calls", lambda: _call_create(form)),
        ("GET", r"Calls", lambda: _call_list(query or {})),
        ("GET", r"Calls/(CA[0-9a-f]{32})", lambda sid: _fetch(sid)),
        ("POST", r"Calls/(CA[0-9a-f]{32})", lambda sid: _call_update(sid, form)),
        ("POST", r"Messages", lambda: _message_create(form)),
        ("GET", r"Messages/((?:SM|MM)[0-9a-f]{32})", lambda sid: _fetch(sid)),
        ("GET", r"(?:Calls/CA[0-9a-f]{32}/)?Recordings/(RE[0-9a-f]{32})", lambda sid: _fetch(sid)),
        ("DELETE", r"(?:Calls/CA[0-9a-f]{32}/)?Recordings/(RE[0-9a-f]{32})", lambda sid: _recording_delete(sid)),
    ]
    for route_method, pattern, handler in routes:
        found = re.fullmatch(pattern, rest)
        if found and method == route_method:
            return handler(*found.groups())
    return _error(404, 20404, f"The telephony sandbox does not implement {method} {path}.")


def _fetch(sid: str) -> tuple[int, dict]:
    resource = resource_get(sid)
    if resource is None:
        return _error(404, 20404, f"The requested resource {sid} was not found")
    return 200, resource


def _children_key(parent_sid: str) -> str:
    return f"{_PREFIX}{parent_sid}:children"


def _child_add(parent_sid: str, child_sid: str) -> None:
    children = cache.get(_children_key(parent_sid)) or []
    cache.set(_children_key(parent_sid), [*children, child_sid], STATE_TTL)


def _call_list(query: dict) -> tuple[int, dict]:
    """Calls.json filtered by ParentCallSid (the only filter the app uses), newest first, in
    one page shaped like Twilio's."""
    parent = str(query.get("ParentCallSid", ""))
    if not parent:
        return _error(400, 20001, "The telephony sandbox lists calls only by ParentCallSid.")
    page_size = int(query.get("PageSize") or 50)
    resources = [r for r in (resource_get(sid) for sid in cache.get(_children_key(parent)) or []) if r is not None]
    resources = list(reversed(resources))[:page_size]
    uri = f"/{API_VERSION}/Accounts/{tw.account_sid()}/Calls.json?ParentCallSid={parent}&PageSize={page_size}"
    return 200, {
        "calls": resources, "end": max(len(resources) - 1, 0), "first_page_uri": f"{uri}&Page=0",
        "next_page_uri": None, "page": 0, "page_size": page_size, "previous_page_uri": None, "start": 0,
        "uri": f"{uri}&Page=0",
    }


def _is_our_caller_id(number: str) -> bool:
    """A number the sandbox account may call from: one of its dealer numbers, or a staff phone
    (Twilio's verified caller ids)."""
    from org.models import Staff
    from telephony.models import DealerNumber

    return (
        DealerNumber.objects.filter(number=number, is_active=True).exists()
        or Staff.objects.filter(Q(desk_phone=number) | Q(cell_phone=number)).exists()
    )


def call_resource(sid: str, *, to: str, from_: str, direction: str, parent_sid: str | None = None) -> dict:
    now = _rfc2822()
    uri = f"/{API_VERSION}/Accounts/{tw.account_sid()}/Calls/{sid}"
    return {
        "account_sid": tw.account_sid(), "annotation": None, "answered_by": None, "api_version": API_VERSION,
        "caller_name": None, "date_created": now, "date_updated": now, "direction": direction,
        "duration": None, "end_time": None, "forwarded_from": None, "from": from_,
        "from_formatted": _formatted(from_), "group_sid": None, "parent_call_sid": parent_sid,
        "phone_number_sid": None, "price": None, "price_unit": "USD", "queue_time": "0", "sid": sid,
        "start_time": None, "status": "queued", "to": to, "to_formatted": _formatted(to), "trunk_sid": None,
        "uri": f"{uri}.json",
        "subresource_uris": {
            name: f"{uri}/{path}.json"
            for name, path in [("notifications", "Notifications"), ("recordings", "Recordings"),
                               ("payments", "Payments"), ("events", "Events"), ("siprec", "Siprec"),
                               ("streams", "Streams"), ("transcriptions", "Transcriptions"),
                               ("user_defined_message_subscriptions", "UserDefinedMessageSubscriptions"),
                               ("user_defined_messages", "UserDefinedMessages")]
        },
    }


def _call_create(form: dict) -> tuple[int, dict]:
    to, from_ = str(form.get("To", "")).strip(), str(form.get("From", "")).strip()
    if not to:
        return _error(400, 21201, "No 'To' number is specified")
    if not from_:
        return _error(400, 21213, "No 'From' number is specified")
    if not (_is_e164(to) or to.startswith(("client:", "sip:"))):
        return _error(400, 21211, f"Invalid 'To' Phone Number: {to}")
    if not _is_our_caller_id(from_):
        return _error(
            400, 21210,
            f"The source phone number provided, {from_}, is not yet verified for your account. You may only make "
            "calls from phone numbers that you've verified or purchased from Twilio.",
        )
    if not (form.get("Url") or form.get("Twiml") or form.get("ApplicationSid")):
        return _error(400, 21205, "Url parameter is required.")
    sid = new_sid("CA")
    resource = call_resource(sid, to=to, from_=from_, direction="outbound-api")
    resource_put(sid, resource)
    dispatch("sandbox_call_task", sid, form)
    return 201, resource


def _call_update(sid: str, form: dict) -> tuple[int, dict]:
    resource = resource_get(sid)
    if resource is None:
        return _error(404, 20404, f"The requested resource /{API_VERSION}/Accounts/{tw.account_sid()}/Calls/{sid}"
                                  ".json was not found")
    terminal = resource["status"] in TERMINAL
    status = str(form.get("Status", "")).lower()
    if form.get("Twiml") or form.get("Url"):
        if terminal:
            return _error(400, 21220, "Call is not in-progress. Cannot redirect.")
        _update_push(sid, {key: form[key] for key in ("Twiml", "Url", "Method") if form.get(key)})
    elif status in ("completed", "canceled"):
        if not terminal:
            _update_push(sid, {"Status": status})
    elif status:
        return _error(400, 21218, f"Invalid Status: {status}")
    return 200, resource_get(sid) or resource


def message_resource(sid: str, *, to: str, from_: str, body: str, status: str, num_media: int) -> dict:
    now = _rfc2822()
    uri = f"/{API_VERSION}/Accounts/{tw.account_sid()}/Messages/{sid}"
    return {
        "account_sid": tw.account_sid(), "api_version": API_VERSION, "body": body, "date_created": now,
        "date_sent": None, "date_updated": now, "direction": "outbound-api", "error_code": None,
        "error_message": None, "from": from_, "messaging_service_sid": None, "num_media": str(num_media),
        "num_segments": str(max(1, math.ceil(len(body) / 153)) if len(body) > 160 else 1), "price": None,
        "price_unit": "USD", "sid": sid, "status": status, "to": to, "uri": f"{uri}.json",
        "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
    }


def _message_create(form: dict) -> tuple[int, dict]:
    from telephony.models import DealerNumber

    to, from_ = str(form.get("To", "")).strip(), str(form.get("From", "")).strip()
    body = str(form.get("Body", ""))
    media = form.get("MediaUrl") or []
    media = [media] if isinstance(media, str) else list(media)
    if not to:
        return _error(400, 21604, "A 'To' phone number is required.")
    if not from_ and not form.get("MessagingServiceSid"):
        return _error(400, 21603, "A 'From' phone number is required.")
    if not _is_e164(to):
        return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if from_ and not DealerNumber.objects.filter(number=from_, is_active=True).exists():
        return _error(400, 21606, f"The From phone number {from_} is not a valid, SMS-capable inbound phone number "
                                  "or short code for your account.")
    if not body and not media:
        return _error(400, 21602, "Message body is required.")
    if len(body) > 1600:
        return _error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
    if from_ and cache.get(_opt_out_key(to, from_)):
        return _error(400, 21610, "Attempt to send to unsubscribed recipient")
    sid = new_sid("MM" if media else "SM")
    resource = message_resource(sid, to=to, from_=from_, body=body, num_media=len(media),
                                status="queued" if from_ else "accepted")
    if form.get("MessagingServiceSid"):
        resource["messaging_service_sid"] = form["MessagingServiceSid"]
    resource_put(sid, resource)
    dispatch("sandbox_message_task", sid, form)
    return 201, resource


def _recording_delete(sid: str) -> tuple[int, None] | tuple[int, dict]:
    if resource_get(sid) is None:
        return _error(404, 20404, f"The requested resource {sid} was not found")
    cache.delete(f"{_PREFIX}{sid}")
    return 204, None



# --------------------------------------------------------------------------------------
# 2. The drivers: Twilio calling the app back
# --------------------------------------------------------------------------------------


@dataclass
class Exchange:
    """One request the sandbox made to the app, and the answer."""

    kind: str
    url: str
    params: dict[str, str]
    status: int | None
    body: str = ""
    method: str = "POST"

    @property
    def path(self) -> str:
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class Run:
    """What one driver did: the requests it sent, in order, and a one-line outcome."""

    kind: str
    sid: str
    exchanges: list[Exchange] = field(default_factory=list)
    summary: str = ""

    def of_kind(self, kind: str) -> list[Exchange]:
        return [e for e in self.exchanges if e.kind == kind]

    @property
    def failures(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.status is None or e.status >= 400]

    def as_log_entry(self) -> dict:
        return {
            "at": timezone.now().isoformat(),
            "kind": self.kind,
            "sid": self.sid,
            "summary": self.summary,
            "steps": [(e.kind, e.method, e.path, e.status) for e in self.exchanges],
        }


class Webhooks:
    """Sends Twilio-format requests to the app and records them in a Run."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.session = requests.Session()

    def send(self, kind: str, url: str, params: dict[str, str], method: str = "POST") -> requests.Response | None:
        """A signed request, as Twilio makes it: POST form-encoded with the signature over the
        URL and all parameters, or GET with the parameters in the query string (signed as a URL)."""
        params = {k: str(v) for k, v in params.items() if v is not None}
        headers = {"User-Agent": "TwilioProxy/1.1 (DealerCRM telephony sandbox)",
                   "I-Twilio-Idempotency-Token": secrets.token_hex(16)}
        try:
            if method.upper() == "GET":
                full = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
                headers["X-Twilio-Signature"] = tw.sign(full, {})
                answer = self.session.get(full, headers=headers, timeout=WEBHOOK_TIMEOUT, allow_redirects=False)
            else:
                headers["X-Twilio-Signature"] = tw.sign(url, params)
                answer = self.session.post(url, data=params, headers=headers, timeout=WEBHOOK_TIMEOUT,
                                           allow_redirects=False)
        except requests.RequestException as exc:
            log.warning("sandbox %s to %s failed: %s", kind, url, exc)
            self.run.exchanges.append(Exchange(kind, url, params, None, str(exc), method.upper()))
            return None
        if answer.status_code >= 400:
            log.warning("sandbox %s to %s answered %s: %s", kind, url, answer.status_code, answer.text[:300])
        self.run.exchanges.append(Exchange(kind, url, params, answer.status_code, answer.text[:2000], method.upper()))
        return answer


# ---- texts ----------------------------------------------------------------------------


def message_drive(message_sid: str, form: dict, pace: Pace | None = None) -> Run:
    """A text we were asked to send: its status callbacks, sent then delivered/undelivered."""
    pace = pace or PACE
    run = Run("text", message_sid)
    hooks = Webhooks(run)
    to, from_ = str(form.get("To", "")), str(form.get("From", ""))
    behaviour = outcome_for(to)
    callback = str(form.get("StatusCallback", ""))
    base = {"AccountSid": tw.account_sid(), "ApiVersion": API_VERSION, "From": from_, "To": to,
            "MessageSid": message_sid, "SmsSid": message_sid}
    if form.get("MessagingServiceSid"):
        base["MessagingServiceSid"] = str(form["MessagingServiceSid"])
    steps = [("sent", {})]
    if behaviour.message_status == "delivered":
        steps.append(("delivered", {"RawDlrDoneDate": timezone.now().astimezone(dt.UTC).strftime("%y%m%d%H%M")}))
    else:
        steps.append((behaviour.message_status, {"ErrorCode": behaviour.message_error}))
    time.sleep(pace.first_callback)
    for status, extra in steps:
        changes = {"status": status}
        if status == "sent":
            changes["date_sent"] = _rfc2822()
        if extra.get("ErrorCode"):
            changes.update(error_code=int(extra["ErrorCode"]), error_message="Unreachable destination handset")
        resource_update(message_sid, **changes)
        if callback:
            hooks.send("message-status", callback, {**base, "MessageStatus": status, "SmsStatus": status, **extra})
        time.sleep(pace.step)
    run.summary = f"text to {to}: {steps[-1][0]}"
    _run_log_add(_store_id_of(from_), run.as_log_entry())
    return run


def customer_texts(from_number: str, to_number: str, body: str, pace: Pace | None = None) -> Run:
    """The customer at from_number texts the dealer number to_number: the number's SMS webhook."""
    sid = new_sid("SM")
    run = Run("inbound-text", sid)
    params = {
        "AccountSid": tw.account_sid(), "ApiVersion": API_VERSION, "MessageSid": sid, "SmsMessageSid": sid,
        "SmsSid": sid, "From": from_number, "To": to_number, "Body": body, "NumMedia": "0", "NumSegments": "1",
        "SmsStatus": "received", "FromCountry": "US", "ToCountry": "US",
    }
    keyword = body.strip().upper()
    if keyword in OPT_OUT_KEYWORDS:
        cache.set(_opt_out_key(from_number, to_number), True, None)
        params["OptOutType"] = "STOP"
    elif keyword in OPT_IN_KEYWORDS:
        cache.delete(_opt_out_key(from_number, to_number))
        params["OptOutType"] = "START"
    answer = Webhooks(run).send("sms-inbound", tw.public_url(INBOUND_SMS_PATH), params)
    replies = _message_replies(answer.text) if answer is not None and answer.ok else []
    run.summary = f"text from {from_number} to {to_number}: " + (
        f"the app answered {answer.status_code}" if answer is not None else "the app did not answer"
    ) + (f"; auto-reply: {' / '.join(replies)}" if replies else "")
    _run_log_add(_store_id_of(to_number), run.as_log_entry())
    return run


def _message_replies(twiml: str) -> list[str]:
    try:
        root = ElementTree.fromstring(twiml)
    except ElementTree.ParseError:
        return []
    return [(m.findtext("Body") or m.text or "").strip() for m in root.iter("Message")]


# ---- calls ----------------------------------------------------------------------------

STATUS_EVENT = {"initiated": "initiated", "ringing": "ringing", "in-progress": "answered"}
SIP_CODES = {"completed": "200", "busy": "486", "no-answer": "487", "failed": "404", "canceled": "487"}


@dataclass
class Leg:
    sid: str
    direction: str  # inbound | outbound-api | outbound-dial
    from_: str
    to: str
    behaviour: Behaviour
    parent_sid: str = ""
    status_callback: str = ""
    status_callback_method: str = "POST"
    events: frozenset[str] = frozenset({"completed"})
    machine_detection: str = ""  # Enable | DetectMessageEnd
    amd_callback: str = ""
    amd_callback_method: str = "POST"
    status: str = "queued"
    answered_by: str = ""
    answered_at: float | None = None
    ended_at: float | None = None
    sequence: int = 0

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL

    @property
    def answered_by_value(self) -> str:
        if self.behaviour.answer == "human":
            return "human"
        if self.behaviour.answer == "machine":
            return "machine_end_beep" if self.machine_detection == "DetectMessageEnd" else "machine_start"
        return ""


class Hangup(Exception):
    """The leg running the TwiML hung up (or was hung up by a REST update)."""


class Redirected(Exception):
    """A REST update gave the leg new TwiML: run it instead of the current document."""

    def __init__(self, update: dict) -> None:
        super().__init__("redirected")
        self.update = update


class CallSimulation:
    """One call and the legs its TwiML starts, played out against the app's webhooks."""

    def __init__(self, run: Run, pace: Pace, *, staff_answers: bool = True, talk_seconds: int | None = None):
        self.run = run
        self.hooks = Webhooks(run)
        self.pace = pace
        self.staff_answers = staff_answers
        self.talk_seconds = talk_seconds
        self.clock = 0.0  # simulated seconds since the call began
        self.legs: dict[str, Leg] = {}
        self.after_call: list[tuple[str, str, dict[str, str], str]] = []  # recording callbacks, sent last
        self.recordings: list[str] = []

    # -- people and time ----------------------------------------------------------------

    def behaviour(self, number: str) -> Behaviour:
        if not is_store_phone(number):
            return outcome_for(number)
        if not self.staff_answers:
            return UNANSWERED_STAFF
        if self.talk_seconds is not None:
            return dataclasses.replace(STAFF_BEHAVIOUR, talk_seconds=self.talk_seconds)
        return STAFF_BEHAVIOUR

    def wait(self, real: float, simulated: float = 0.0, watch: Iterable[str] = ()) -> tuple[str, dict] | None:
        """Sleep `real` seconds (simulating `simulated`), or less if a REST update arrives for
        one of the `watch`ed legs: then return (sid, update), the clock moved pro rata."""
        watch = list(watch)
        start = time.monotonic()
        deadline = start + real
        while True:
            if watch:
                update = _update_pop(watch)
                if update is not None:
                    elapsed = time.monotonic() - start
                    self.clock += simulated * (elapsed / real if real else 1)
                    return update
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(self.pace.poll, remaining) if watch else remaining)
        self.clock += simulated
        return None

    # -- webhooks -------------------------------------------------------------------------

    def leg_params(self, leg: Leg) -> dict[str, str]:
        params = {
            "AccountSid": tw.account_sid(), "ApiVersion": API_VERSION, "CallSid": leg.sid, "CallStatus": leg.status,
            "Called": leg.to, "Caller": leg.from_, "Direction": leg.direction, "From": leg.from_, "To": leg.to,
        }
        if leg.parent_sid:
            params["ParentCallSid"] = leg.parent_sid
        if leg.direction == "inbound":
            params.update(FromCountry="US", ToCountry="US")
        return params

    def set_status(self, leg: Leg, status: str) -> None:
        """Move a leg to `status`: its resource, and its status callback when subscribed."""
        leg.status = status
        changes: dict = {"status": status}
        if status == "in-progress":
            leg.answered_at = self.clock
            changes["start_time"] = _rfc2822()
        if status in TERMINAL:
            leg.ended_at = self.clock
            changes.update(end_time=_rfc2822(), duration=str(self.duration(leg)))
        if leg.answered_by:
            changes["answered_by"] = leg.answered_by
        resource_update(leg.sid, **changes)
        event = "completed" if status in TERMINAL else STATUS_EVENT.get(status)
        if not leg.status_callback or event not in leg.events:
            return
        leg.sequence += 1
        params = {**self.leg_params(leg), "CallbackSource": "call-progress-events",
                  "SequenceNumber": str(leg.sequence - 1), "Timestamp": _rfc2822()}
        if leg.answered_by:
            params["AnsweredBy"] = leg.answered_by
        if status in TERMINAL:
            seconds = self.duration(leg)
            params.update(CallDuration=str(seconds), Duration=str(math.ceil(seconds / 60)),
                          SipResponseCode=SIP_CODES[status])
        self.hooks.send(f"status:{leg.direction}", leg.status_callback, params, leg.status_callback_method)

    def duration(self, leg: Leg) -> int:
        if leg.answered_at is None:
            return 0
        end = leg.ended_at if leg.ended_at is not None else self.clock
        return max(0, round(end - leg.answered_at))

    def twiml(self, leg: Leg, url: str, method: str = "POST", extra: dict[str, str] | None = None) -> str | None:
        answer = self.hooks.send(f"twiml:{leg.direction}", url, {**self.leg_params(leg), **(extra or {})}, method)
        if answer is None or not answer.ok:
            return None
        return answer.text

    # -- the first leg ----------------------------------------------------------------------

    def start_outbound(self, sid: str, form: dict) -> None:
        """A call placed with the REST API (click-to-call: the agent's phone first)."""
        to, from_ = str(form["To"]), str(form["From"])
        events = form.get("StatusCallbackEvent") or []
        events = events.split() if isinstance(events, str) else list(events)
        leg = Leg(
            sid=sid, direction="outbound-api", from_=from_, to=to, behaviour=self.behaviour(to),
            status_callback=str(form.get("StatusCallback", "")),
            status_callback_method=str(form.get("StatusCallbackMethod", "POST")).upper(),
            events=frozenset(events or ["completed"]),
            machine_detection=str(form.get("MachineDetection", "")),
            amd_callback=str(form.get("AsyncAmdStatusCallback", "")) if form.get("AsyncAmd") == "true" else "",
            amd_callback_method=str(form.get("AsyncAmdStatusCallbackMethod", "POST")).upper(),
        )
        self.legs[sid] = leg
        if self.wait(self.pace.first_callback, watch=[sid]) is not None:  # hung up before it started
            self.set_status(leg, "canceled")
            return
        self.set_status(leg, "initiated")
        if not self.ring(leg, timeout=int(form.get("Timeout") or 60)):
            return
        extra = {}
        if leg.machine_detection:
            leg.answered_by = leg.answered_by_value
            if leg.amd_callback:
                self.amd_report(leg)
            else:
                extra["AnsweredBy"] = leg.answered_by
        if form.get("Twiml"):
            document_url, document = str(form.get("Url") or tw.public_url("/")), str(form["Twiml"])
        else:
            document_url = str(form["Url"])
            document = self.twiml(leg, document_url, str(form.get("Method", "POST")).upper(), extra)
        self.execute(leg, document_url, document)
        self.finish()

    def start_inbound(self, sid: str, from_: str, to: str, status_callback: str) -> None:
        """A customer rings a dealer number: Twilio asks the number's voice webhook."""
        leg = Leg(sid=sid, direction="inbound", from_=from_, to=to, behaviour=STAFF_BEHAVIOUR,
                  status_callback=status_callback, status="ringing")
        self.legs[sid] = leg
        resource_put(sid, {**call_resource(sid, to=to, from_=from_, direction="inbound"), "status": "ringing"})
        url = tw.public_url(INBOUND_VOICE_PATH)
        document = self.twiml(leg, url)
        # Twilio answers an inbound call when it starts executing TwiML (other than <Reject>).
        if document is not None and not re.search(r"<Response>\s*<Reject", document):
            self.set_status(leg, "in-progress")
        self.execute(leg, url, document)
        self.finish()

    def ring(self, leg: Leg, timeout: int) -> bool:
        """initiated -> ringing -> answered, or the leg's failure. True when answered."""
        behaviour = leg.behaviour
        if behaviour.final_status == "failed":
            self.wait(self.pace.step, 1)
            self.set_status(leg, "failed")
            return False
        update = self.wait(self.pace.step, 1, watch=[leg.sid])
        if update is None and behaviour.final_status == "busy":
            self.set_status(leg, "busy")
            return False
        if update is None:
            self.set_status(leg, "ringing")
            ring = min(behaviour.ring_seconds, timeout) if behaviour.answer else timeout
            update = self.wait(self.pace.step, ring, watch=[leg.sid])
        if update is not None:  # hung up (or redirected) while ringing: canceled
            self.set_status(leg, "canceled")
            return False
        if not behaviour.answer or behaviour.ring_seconds > timeout:
            self.set_status(leg, "no-answer")
            return False
        self.set_status(leg, "in-progress")
        return True

    def amd_report(self, leg: Leg) -> None:
        params = {"AccountSid": tw.account_sid(), "CallSid": leg.sid, "AnsweredBy": leg.answered_by,
                  "MachineDetectionDuration": "3400" if leg.behaviour.answer == "machine" else "1800"}
        self.hooks.send("amd", leg.amd_callback, params, leg.amd_callback_method)

    def finish(self) -> None:
        for kind, url, params, method in self.after_call:
            self.wait(self.pace.step)
            self.hooks.send(kind, url, params, method)

    # -- TwiML ------------------------------------------------------------------------------

    def execute(self, leg: Leg, url: str, document: str | None) -> None:
        """Run TwiML on a leg until it hangs up; then its "completed" callback."""
        for _ in range(MAX_DOCUMENTS):
            if document is None:
                break  # the app did not answer: Twilio says "an application error has occurred"
            try:
                next_document = self.run_document(leg, url, document)
            except Redirected as redirect:
                next_document = self.redirect(leg, url, redirect.update)
            except Hangup:
                break
            if next_document is None:
                break
            url, document = next_document
        if not leg.ended:
            self.set_status(leg, "completed")

    def redirect(self, leg: Leg, url: str, update: dict) -> tuple[str, str | None] | None:
        if update.get("Status"):
            return None
        if update.get("Twiml"):
            return url, update["Twiml"]
        target = str(update["Url"])
        return target, self.twiml(leg, target, str(update.get("Method", "POST")).upper())

    def run_document(self, leg: Leg, url: str, document: str) -> tuple[str, str | None] | None:
        """Execute one TwiML document; returns the next (url, document) or None at its end."""
        try:
            root = ElementTree.fromstring(document)
        except ElementTree.ParseError:
            log.warning("sandbox: the TwiML from %s does not parse (Twilio error 12100)", url)
            return None
        if root.tag != "Response":
            log.warning("sandbox: the TwiML from %s is not a <Response> (Twilio error 12100)", url)
            return None
        for verb in root:
            attributes = verb.attrib
            if verb.tag in ("Say", "Play", "Pause"):
                self.speak(leg, verb)
            elif verb.tag == "Hangup":
                raise Hangup
            elif verb.tag == "Reject":
                self.set_status(leg, "busy" if attributes.get("reason") == "busy" else "no-answer")
                raise Hangup
            elif verb.tag == "Redirect":
                target = urljoin(url, (verb.text or "").strip())
                return target, self.twiml(leg, target, attributes.get("method", "POST").upper())
            elif verb.tag == "Dial":
                next_document = self.dial(leg, verb, url)
                if next_document is not None:
                    return next_document
            elif verb.tag == "Record":
                return self.record(leg, verb, url)
            elif verb.tag == "Gather":
                for child in verb:
                    if child.tag in ("Say", "Play", "Pause"):
                        self.speak(leg, child)
                self.wait(self.pace.step, int(attributes.get("timeout", 5)), watch=[leg.sid])
                if attributes.get("actionOnEmptyResult") == "true" and attributes.get("action"):
                    target = urljoin(url, attributes["action"])
                    return target, self.twiml(leg, target, attributes.get("method", "POST").upper(), {"Digits": ""})
            else:
                log.info("sandbox: <%s> is not simulated; skipped", verb.tag)
        return None

    def speak(self, leg: Leg, verb) -> None:
        if verb.tag == "Say":
            seconds = max(1, round(len((verb.text or "").split()) / 2.5))
        elif verb.tag == "Play":
            seconds = 5 * max(1, int(verb.attrib.get("loop", 1) or 1))
        else:
            seconds = int(verb.attrib.get("length", 1))
        self.check(leg, self.wait(self.pace.step, seconds, watch=[leg.sid]))

    def check(self, leg: Leg, update: tuple[str, dict] | None) -> None:
        """Apply a REST update that arrived for this leg while it was busy."""
        if update is None:
            return
        _, change = update
        if change.get("Status"):
            raise Hangup
        raise Redirected(change)

    # -- <Dial> -----------------------------------------------------------------------------

    def dial(self, parent: Leg, verb, url: str) -> tuple[str, str | None] | None:
        attributes = verb.attrib
        timeout = int(attributes.get("timeout", 30))
        caller_id = attributes.get("callerId") or parent.from_
        record = attributes.get("record", "do-not-record")
        recording = record not in ("do-not-record", "false", "")
        legs: list[tuple[Leg, str]] = []
        targets = [child for child in verb if child.tag in ("Number", "Client", "Sip")]
        if not targets and (verb.text or "").strip():
            bare = xml.etree.ElementTree.Element("Number")  # <Dial>+1312...</Dial>
            bare.text = (verb.text or "").strip()
            targets = [bare]
        for target in targets:
            number = (target.text or "").strip()
            if target.tag == "Client":
                number = number if number.startswith("client:") else f"client:{number}"
            ta = target.attrib
            events = ta.get("statusCallbackEvent", "completed").replace(",", " ").split()
            leg = Leg(
                sid=new_sid("CA"), direction="outbound-dial", from_=caller_id, to=number,
                behaviour=self.behaviour(number), parent_sid=parent.sid,
                status_callback=urljoin(url, ta["statusCallback"]) if ta.get("statusCallback") else "",
                status_callback_method=ta.get("statusCallbackMethod", "POST").upper(), events=frozenset(events),
                machine_detection=ta.get("machineDetection", ""),
                amd_callback=urljoin(url, ta["amdStatusCallback"]) if ta.get("amdStatusCallback") else "",
                amd_callback_method=ta.get("amdStatusCallbackMethod", "POST").upper(),
            )
            self.legs[leg.sid] = leg
            resource_put(leg.sid, call_resource(leg.sid, to=number, from_=caller_id, direction="outbound-dial",
                                                parent_sid=parent.sid))
            _child_add(parent.sid, leg.sid)
            legs.append((leg, urljoin(url, ta["url"]) if ta.get("url") else ""))
        if not legs:
            log.info("sandbox: <Dial> without a <Number>/<Client> (a conference or queue) is not simulated")
            return None

        # All targets ring together (busy and failed lines do not ring); the first to answer is
        # bridged and the others are hung up (canceled).
        for leg, _ in legs:
            self.set_status(leg, "initiated")
        self.wait(self.pace.step, 1)
        for leg, _ in legs:
            if leg.behaviour.final_status in ("failed", "busy"):
                self.set_status(leg, leg.behaviour.final_status)
        ringing = [(leg, whisper) for leg, whisper in legs if not leg.ended]
        for leg, _ in ringing:
            self.set_status(leg, "ringing")
        answering = [(leg, w) for leg, w in ringing if leg.behaviour.answer and leg.behaviour.ring_seconds <= timeout]
        winner = min(answering, key=lambda pair: pair[0].behaviour.ring_seconds, default=None)
        ring = winner[0].behaviour.ring_seconds if winner else (timeout if ringing else 0)
        update = self.wait(self.pace.step, ring, watch=[parent.sid])
        if update is not None:  # the caller hung up (or was taken elsewhere) while it rang
            for leg, _ in ringing:
                self.set_status(leg, "canceled")
            return self.leave_dial(parent, verb, url, update[1], "canceled", legs[0][0], 0, None)
        for leg, _ in ringing:
            if winner is None:
                self.set_status(leg, "no-answer")
            elif leg is not winner[0]:
                self.set_status(leg, "canceled")
        if winner is None:
            first = legs[0][0]
            return self.dial_action(parent, verb, url, first.status, first.sid, 0, bridged=False, recording=None)

        child, whisper = winner
        if child.machine_detection and not child.amd_callback:
            child.answered_by = child.answered_by_value  # synchronous detection: known at answer
        self.set_status(child, "in-progress")
        if whisper and self.twiml(child, whisper) is None:
            log.info("sandbox: the whisper TwiML at %s did not answer", whisper)
        recording_sid = new_sid("RE") if recording else None
        recording_started = self.clock
        parent_change = self.conversation(parent, child)
        if not child.ended:
            self.set_status(child, "completed")
        talk = self.duration(child)
        recording_params = self.add_recording(parent, verb, url, recording_sid, recording_started)
        if parent_change is not None:
            return self.leave_dial(parent, verb, url, parent_change, "completed", child, talk, recording_params)
        return self.dial_action(parent, verb, url, "completed", child.sid, talk, bridged=True,
                                recording=recording_params)

    def leave_dial(self, parent: Leg, verb, url: str, change: dict, dial_status: str, child: Leg, talk: int,
                   recording: dict | None) -> tuple[str, str | None] | None:
        """A REST update on the parent ended the <Dial>. Hung up: the action is still requested
        (CallStatus completed) and what it answers has nobody to play to. New TwiML: the parent
        goes on with it and the action is not requested."""
        if change.get("Status"):
            parent.status = "completed"
            self.dial_action(parent, verb, url, dial_status, child.sid, talk, bridged=talk > 0, recording=recording)
            parent.status = "in-progress"
            raise Hangup
        return self.redirect(parent, url, change)

    def conversation(self, parent: Leg, child: Leg) -> dict | None:
        """The bridged call. It ends when the customer (or their voicemail) hangs up, or on a
        REST update: on the customer's leg (hang up, or new TwiML it plays before hanging up: a
        voicemail drop), or on the parent's (returned: hang up, or new TwiML that takes the
        parent out of the <Dial>)."""
        watch = [child.sid, parent.sid]
        talk = child.behaviour.talk_seconds
        if child.behaviour.answer == "machine":
            greeting = 12
            update = self.wait(self.pace.step, greeting, watch)
            if update is None:
                self.amd_verdict(child)
                update = self.wait(self.pace.voicemail_drop_window, talk - greeting, watch)
        else:
            self.amd_verdict(child)
            update = self.wait(self.pace.talk, talk, watch)
        if update is None:
            return None
        sid, change = update
        if sid == parent.sid:
            return change
        if not change.get("Status"):
            target = self.redirect(child, tw.public_url("/"), change)
            try:
                if target is not None and target[1] is not None:
                    self.run_document(child, *target)
            except (Hangup, Redirected):
                pass
        self.set_status(child, "completed")
        return None

    def amd_verdict(self, leg: Leg) -> None:
        """Asynchronous machine detection: the verdict goes to amdStatusCallback."""
        if leg.machine_detection and leg.amd_callback:
            leg.answered_by = leg.answered_by_value
            resource_update(leg.sid, answered_by=leg.answered_by)
            self.amd_report(leg)

    def add_recording(self, parent: Leg, verb, url: str, recording_sid: str | None, started: float) -> dict | None:
        """A <Dial record> recording: its resource now, its status callback after the call."""
        if recording_sid is None:
            return None
        attributes = verb.attrib
        seconds = max(1, round(self.clock - started))
        dual = attributes.get("record", "").endswith("-dual")
        recording = {"RecordingSid": recording_sid, "RecordingUrl": recording_url(recording_sid),
                     "RecordingDuration": str(seconds)}
        self.store_recording(recording_sid, parent.sid, seconds, channels=2 if dual else 1, source="DialVerb")
        callback = attributes.get("recordingStatusCallback")
        events = attributes.get("recordingStatusCallbackEvent", "completed").replace(",", " ").split()
        if callback and "completed" in events:
            params = {
                "AccountSid": tw.account_sid(), "CallSid": parent.sid, **recording, "RecordingStatus": "completed",
                "RecordingChannels": "2" if dual else "1", "RecordingStartTime": _rfc2822(),
                "RecordingSource": "DialVerb", "RecordingTrack": "both", "ErrorCode": "0",
            }
            self.after_call.append(("recording", urljoin(url, callback), params,
                                    attributes.get("recordingStatusCallbackMethod", "POST").upper()))
        return recording

    def store_recording(self, sid: str, call_sid: str, seconds: int, *, channels: int, source: str) -> None:
        now = _rfc2822()
        uri = f"/{API_VERSION}/Accounts/{tw.account_sid()}/Recordings/{sid}"
        resource_put(sid, {
            "account_sid": tw.account_sid(), "api_version": API_VERSION, "call_sid": call_sid,
            "conference_sid": None, "channels": channels, "date_created": now, "date_updated": now,
            "start_time": now, "duration": str(seconds), "sid": sid, "price": None, "price_unit": "USD",
            "status": "completed", "source": source, "error_code": None, "encryption_details": None,
            "track": "both", "uri": f"{uri}.json", "media_url": recording_url(sid),
            "subresource_uris": {"transcriptions": f"{uri}/Transcriptions.json"},
        })
        self.recordings.append(sid)

    def dial_action(self, parent: Leg, verb, url: str, dial_status: str, dial_sid: str, seconds: int, *,
                    bridged: bool, recording: dict | None) -> tuple[str, str | None] | None:
        action = verb.attrib.get("action")
        if not action:
            return None  # no action: the document goes on after the <Dial>
        target = urljoin(url, action)
        extra = {"DialCallStatus": dial_status, "DialBridged": "true" if bridged else "false"}
        if dial_sid:
            extra.update(DialCallSid=dial_sid, DialCallDuration=str(seconds))
        if recording:
            extra.update(recording)
        self.wait(self.pace.step)
        document = self.twiml(parent, target, verb.attrib.get("method", "POST").upper(), extra)
        # With an action, whatever follows the <Dial> is unreachable: the action's TwiML goes on
        # (if the action fails, the call ends, as Twilio's "application error" does).
        return target, document

    # -- <Record> (a caller leaving a voicemail) ------------------------------------------------

    def record(self, leg: Leg, verb, url: str) -> None:
        attributes = verb.attrib
        seconds = min(20, int(attributes.get("maxLength", 3600)))
        self.check(leg, self.wait(self.pace.talk, seconds, watch=[leg.sid]))
        sid = new_sid("RE")
        self.store_recording(sid, leg.sid, seconds, channels=1, source="RecordVerb")
        recording = {"RecordingSid": sid, "RecordingUrl": recording_url(sid), "RecordingDuration": str(seconds)}
        callback = attributes.get("recordingStatusCallback")
        if callback:
            self.after_call.append(("recording", urljoin(url, callback), {
                "AccountSid": tw.account_sid(), "CallSid": leg.sid, **recording, "RecordingStatus": "completed",
                "RecordingChannels": "1", "RecordingStartTime": _rfc2822(), "RecordingSource": "RecordVerb",
                "RecordingTrack": "inbound", "ErrorCode": "0",
            }, attributes.get("recordingStatusCallbackMethod", "POST").upper()))
        # The caller hangs up after the message: the action is asked, its TwiML has nobody to play to.
        action = attributes.get("action")
        target = urljoin(url, action) if action else url
        params = {**self.leg_params(leg), "CallStatus": "completed", **recording, "Digits": "hangup"}
        self.hooks.send(f"twiml:{leg.direction}", target, params, attributes.get("method", "POST").upper())
        raise Hangup


def call_drive(call_sid: str, form: dict, pace: Pace | None = None) -> Run:
    """Play out a call placed with the REST API (the sandbox_call_task)."""
    run = Run("call", call_sid)
    simulation = CallSimulation(run, pace or PACE)
    simulation.start_outbound(call_sid, form)
    run.summary = _call_summary(simulation, call_sid)
    _run_log_add(_store_id_of(str(form.get("From", "")), str(form.get("To", ""))), run.as_log_entry())
    return run


def voice_status_callback() -> str:
    """The status callback URL the sandbox configures on every dealer number (Twilio's
    "call status changes" of a phone number): the app's voice status webhook, if it has one."""
    try:
        return tw.public_url(reverse("telephony:voice_status"))
    except NoReverseMatch:
        return ""


def customer_calls(from_number: str, to_number: str, *, staff_answers: bool = True, talk_seconds: int | None = None,
                   pace: Pace | None = None) -> Run:
    """The customer at from_number calls the dealer number to_number."""
    sid = new_sid("CA")
    run = Run("inbound-call", sid)
    simulation = CallSimulation(run, pace or PACE, staff_answers=staff_answers, talk_seconds=talk_seconds)
    simulation.start_inbound(sid, from_number, to_number, voice_status_callback())
    run.summary = _call_summary(simulation, sid)
    _run_log_add(_store_id_of(to_number), run.as_log_entry())
    return run


def _call_summary(simulation: CallSimulation, sid: str) -> str:
    first = simulation.legs.get(sid)
    if first is None:
        return "no call"
    parts = [f"{first.direction} call {first.from_} -> {first.to}: {first.status}, {simulation.duration(first)} s"]
    for leg in simulation.legs.values():
        if leg.parent_sid:
            answered = f", answered by {leg.answered_by}" if leg.answered_by else ""
            parts.append(f"dialed {leg.to}: {leg.status}{answered}, {simulation.duration(leg)} s")
    if simulation.recordings:
        parts.append(f"{len(simulation.recordings)} recording(s)")
    return "; ".join(parts)


# --------------------------------------------------------------------------------------
# Recordings: a few seconds of generated tones
# --------------------------------------------------------------------------------------


def recording_wav(recording_sid: str, *, seconds: float = 4.0, rate: int = 8000, channels: int = 2) -> bytes:
    """A short WAV, the same for the same sid: the agent's tones on the left channel, the
    customer's on the right, taking turns like a conversation."""
    rng = random.Random(recording_sid)
    total = int(seconds * rate)
    samples = array.array("h", bytes(2 * total * channels))
    turn = int(0.5 * rate)
    for start in range(0, total, turn):
        speaker = (start // turn) % channels
        frequency = rng.choice([330.0, 392.0, 440.0, 494.0, 523.0, 587.0])
        length = min(turn - rate // 20, total - start)  # a short pause between turns
        step = 2 * math.pi * frequency / rate
        for i in range(max(0, length)):
            envelope = min(1.0, i / 200, (length - i) / 200)
            samples[(start + i) * channels + speaker] = int(9000 * envelope * math.sin(step * i))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


def recording_channels(recording_sid: str) -> int | None:
    """The channel count of a recording the sandbox made, or None when it has no such recording."""
    resource = resource_get(recording_sid)
    return None if resource is None else int(resource.get("channels") or 1)
