"""The sandbox calling the app back: `Webhooks` sends Twilio-format requests (form-encoded,
signed with X-Twilio-Signature exactly like Twilio's) and records each, with the answer, in the
`Run` of the driver that sent it."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import requests
from django.utils import timezone

from telephony import twilio as tw

log = logging.getLogger("telephony.sandbox")

# The webhooks configured on every dealer number (telephony/urls.py).
INBOUND_VOICE_PATH = "/telephony/twilio/voice/inbound/"
INBOUND_SMS_PATH = "/telephony/twilio/sms/inbound/"
WEBHOOK_TIMEOUT = 15  # seconds: Twilio's limit for a webhook answer


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
