"""The REST half of the sandbox: `SandboxHttpClient`, the HTTP client `telephony.twilio.client()`
hands to the real `twilio.rest.Client`, answering the part of Twilio's REST API the app uses
(see the package docstring) with Twilio's JSON shapes and error codes. A call or text it
accepts is handed to a driver (`state.dispatch`) once the surrounding transaction commits."""

from __future__ import annotations

import json
import logging
import math
import re
from urllib.parse import urlsplit

import phonenumbers
from django.db.models import Q
from twilio.http import HttpClient
from twilio.http.response import Response

from org.models import Staff
from telephony import twilio as tw
from telephony.sandbox import state
from telephony.sandbox.state import (
    API_VERSION,
    TERMINAL,
    _children,
    _rfc2822,
    _update_push,
    new_sid,
    opted_out,
    resource_delete,
    resource_get,
    resource_put,
)

log = logging.getLogger("telephony.sandbox")

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


def _call_list(query: dict) -> tuple[int, dict]:
    """Calls.json filtered by ParentCallSid (the only filter the app uses), newest first, in
    one page shaped like Twilio's."""
    parent = str(query.get("ParentCallSid", ""))
    if not parent:
        return _error(400, 20001, "The telephony sandbox lists calls only by ParentCallSid.")
    page_size = int(query.get("PageSize") or 50)
    resources = [r for r in (resource_get(sid) for sid in _children(parent)) if r is not None]
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
    state.dispatch("sandbox_call_task", sid, form)
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
    if from_ and opted_out(to, from_):
        return _error(400, 21610, "Attempt to send to unsubscribed recipient")
    sid = new_sid("MM" if media else "SM")
    resource = message_resource(sid, to=to, from_=from_, body=body, num_media=len(media),
                                status="queued" if from_ else "accepted")
    if form.get("MessagingServiceSid"):
        resource["messaging_service_sid"] = form["MessagingServiceSid"]
    resource_put(sid, resource)
    state.dispatch("sandbox_message_task", sid, form)
    return 201, resource


def _recording_delete(sid: str) -> tuple[int, None] | tuple[int, dict]:
    if resource_get(sid) is None:
        return _error(404, 20404, f"The requested resource {sid} was not found")
    resource_delete(sid)
    return 204, None


def _formatted(number: str) -> str:
    try:
        return phonenumbers.format_number(phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        return number


def _is_e164(number: str) -> bool:
    return bool(re.fullmatch(r"\+[1-9]\d{6,14}", number or ""))
