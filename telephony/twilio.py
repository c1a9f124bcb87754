"""Twilio plumbing shared by calls, texts and the sandbox: the client, the public URLs Twilio
calls back, and the signature check every webhook goes through.

The telephony sandbox (telephony.sandbox) runs only when explicitly enabled (TELEPHONY_SANDBOX,
on for `./dev start`): the client is then the real twilio.rest.Client with the sandbox's HTTP
client, nothing leaves the machine, and the sandbox answers the REST API like Twilio and calls
our webhooks back with correctly signed requests. What it records is evidence level
"simulated", never "verified". Missing Twilio credentials never turn the sandbox on (the deploy
check `telephony.E001` refuses that configuration).

TWILIO_HTTP_CLIENT (a dotted path, empty in production) replaces only the HTTP client under
real credentials: the tests fake Twilio at the HTTP boundary with the sandbox's client.
"""

from __future__ import annotations

import functools
import hashlib
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from leads.models import EvidenceLevel
from org.clientip import client_ip

log = logging.getLogger("telephony.webhooks")

SANDBOX_ACCOUNT_SID = "AC" + "0" * 32


SANDBOX_HTTP_CLIENT = "telephony.sandbox.SandboxHttpClient"


def sandbox_enabled() -> bool:
    """The sandbox is the configured telephony: only when explicitly switched on."""
    return bool(getattr(settings, "TELEPHONY_SANDBOX", False))


def credentials_configured() -> bool:
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN)


def sandbox_answers_rest() -> bool:
    """The sandbox answers Twilio's REST API (and serves its recordings): the sandbox itself, or
    real credentials with the sandbox's HTTP client as TWILIO_HTTP_CLIENT (the tests)."""
    return sandbox_enabled() or (
        credentials_configured() and getattr(settings, "TWILIO_HTTP_CLIENT", "") == SANDBOX_HTTP_CLIENT
    )


def evidence_level() -> str:
    """The evidence level of what a call or text through this configuration records: a
    sandbox-made event is simulated, never verified."""
    return EvidenceLevel.SIMULATED if sandbox_enabled() else EvidenceLevel.VERIFIED


def account_sid() -> str:
    return SANDBOX_ACCOUNT_SID if sandbox_enabled() else settings.TWILIO_ACCOUNT_SID


def auth_token() -> str:
    """The token webhooks are signed with. The sandbox derives one from the secret key, so its
    signatures are checked exactly like Twilio's."""
    if not sandbox_enabled():
        return settings.TWILIO_AUTH_TOKEN
    return hashlib.sha256(f"telephony-sandbox:{settings.SECRET_KEY}".encode()).hexdigest()[:32]


def client() -> Client:
    if sandbox_enabled():
        from telephony.sandbox.rest import SandboxHttpClient

        return Client(account_sid(), auth_token(), http_client=SandboxHttpClient())
    http_client_path = getattr(settings, "TWILIO_HTTP_CLIENT", "")
    if http_client_path:
        return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN,
                      http_client=import_string(http_client_path)())
    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)


def public_url(path: str) -> str:
    """An absolute URL Twilio can reach. Built from PUBLIC_BASE_URL, never from the request:
    behind a TLS-terminating proxy the request says http://internal-host while Twilio signed
    https://public-host."""
    return f"{settings.PUBLIC_BASE_URL}{path}"


def signature_is_valid(request: HttpRequest) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    params = {key: request.POST.get(key) for key in request.POST}
    return RequestValidator(auth_token()).validate(public_url(request.get_full_path()), params, signature)


def twilio_webhook(view):
    """POST only, no CSRF (Twilio has no cookie), and a valid X-Twilio-Signature or 403."""

    @csrf_exempt
    @require_POST
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not signature_is_valid(request):
            log.warning(
                "refused Twilio webhook with a bad signature: %s from %s",
                request.get_full_path(), client_ip(request),
            )
            return HttpResponseForbidden("Invalid Twilio signature.")
        return view(request, *args, **kwargs)

    return wrapper


def sign(url: str, params: dict[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send for these parameters (used by the sandbox)."""
    return RequestValidator(auth_token()).compute_signature(url, params)


def twiml_response(twiml) -> HttpResponse:
    return HttpResponse(str(twiml), content_type="text/xml")
