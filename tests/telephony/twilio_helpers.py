"""Helpers for telephony tests: Twilio faked only at its HTTP boundary.

- `signed_post(client, path, params)`: POST a Twilio-format webhook through the Django test
  client, signed like Twilio signs it: over the PUBLIC URL (settings.PUBLIC_BASE_URL + path,
  query string included) and every POST parameter, with telephony.twilio.sign().
- `FakeTwilioHttp`: a `twilio.http.HttpClient` for a real `twilio.rest.Client`; it records each
  REST request and answers with Twilio-shaped JSON (or a Twilio error).
- `install_fake_twilio(settings, monkeypatch)`: test credentials + a FakeTwilioHttp behind
  telephony.twilio.client().
- `sid(prefix)`: a fresh, well-formed Twilio sid ("CA" + 32 hex).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from twilio.http import HttpClient
from twilio.http.response import Response

from telephony.twilio import public_url, sign


def sid(prefix: str = "CA") -> str:
    return prefix + secrets.token_hex(16)


def signed_post(client, path: str, params: dict[str, str], *, signature: str | None = None, **extra):
    """POST `params` form-encoded to `path` (which may carry a query string) with the
    X-Twilio-Signature Twilio would send; `signature=` overrides it (to test a bad one)."""
    params = {key: str(value) for key, value in params.items()}
    header = sign(public_url(path), params) if signature is None else signature
    return client.post(path, data=params, HTTP_X_TWILIO_SIGNATURE=header, **extra)


@dataclass
class RecordedRequest:
    method: str
    url: str
    data: dict[str, object]
    auth: tuple[str, str] | None
    params: dict[str, object] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


@dataclass
class FakeTwilioHttp(HttpClient):
    """Answers the Calls API like Twilio: create -> {"sid": "CA...", "status": "queued", ...};
    update -> the call with its new status; fetch (GET Calls/CA...) and list by ParentCallSid
    -> what `call_state` set (unknown sids are Twilio's 404). Set `fail_with = (status, code,
    message)` to make the next requests fail as Twilio does."""

    requests: list[RecordedRequest] = field(default_factory=list)
    fail_with: tuple[int, int, str] | None = None
    created_sids: list[str] = field(default_factory=list)
    calls: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        import logging

        super().__init__(logger=logging.getLogger("tests.twilio"), is_async=False)

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False) -> Response:
        self.requests.append(RecordedRequest(method=method, url=uri, data=dict(data or {}), auth=auth,
                                             params=dict(params or {})))
        if self.fail_with is not None:
            status, code, message = self.fail_with
            body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                    "status": status}
            return Response(status, json.dumps(body))
        path = urlsplit(uri).path
        account = path.split("/Accounts/")[1].split("/")[0]
        if method == "POST" and path.endswith("/Calls.json"):
            call_sid = sid("CA")
            self.created_sids.append(call_sid)
            return Response(201, json.dumps(self._call(account, call_sid, "queued", data or {})))
        if method == "POST" and "/Calls/" in path:
            call_sid = path.rsplit("/", 1)[-1].removesuffix(".json")
            return Response(200, json.dumps(self._call(account, call_sid, "in-progress", data or {})))
        if method == "GET" and "/Calls/" in path and path.count("/") == 5:
            call_sid = path.rsplit("/", 1)[-1].removesuffix(".json")
            if call_sid in self.calls:
                return Response(200, json.dumps(self.calls[call_sid]))
        if method == "GET" and path.endswith("/Calls.json"):
            parent = (params or {}).get("ParentCallSid")
            children = [c for c in self.calls.values() if parent and c["parent_call_sid"] == parent]
            uri = f"/2010-04-01/Accounts/{account}/Calls.json?ParentCallSid={parent}&PageSize=50&Page=0"
            return Response(200, json.dumps({
                "calls": children, "end": max(len(children) - 1, 0), "first_page_uri": uri, "next_page_uri": None,
                "page": 0, "page_size": 50, "previous_page_uri": None, "start": 0, "uri": uri,
            }))
        return Response(404, json.dumps({"code": 20404, "message": "Not found", "status": 404}))

    def call_state(self, call_sid: str, status: str, *, parent: str | None = None, duration: int | None = None,
                   answered_by: str | None = None) -> None:
        """What Twilio's REST API says of a call (a leg, when `parent` is given) from now on."""
        self.calls[call_sid] = {
            **self._call("AC" + "1" * 32, call_sid, status, {}),
            "direction": "outbound-dial" if parent else "outbound-api", "parent_call_sid": parent,
            "duration": None if duration is None else str(duration), "answered_by": answered_by,
        }

    def lookups(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "GET" and "/Calls" in r.path]

    @staticmethod
    def _call(account: str, call_sid: str, status: str, data: dict) -> dict:
        return {
            "sid": call_sid,
            "account_sid": account,
            "status": status,
            "to": data.get("To"),
            "from": data.get("From"),
            "direction": "outbound-api",
            "uri": f"/2010-04-01/Accounts/{account}/Calls/{call_sid}.json",
        }

    def calls_created(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/Calls.json")]

    def calls_updated(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and "/Calls/" in r.path]



TEST_ACCOUNT_SID = "AC" + "1" * 32
TEST_AUTH_TOKEN = "test-auth-token-0123456789abcdef"


def install_fake_twilio(settings, monkeypatch) -> FakeTwilioHttp:
    """Real credentials in settings (so the sandbox is off and webhooks are signed with this
    token) and every `telephony.twilio.client()` a real twilio.rest.Client over a FakeTwilioHttp."""
    from twilio.rest import Client

    settings.TWILIO_ACCOUNT_SID = TEST_ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = TEST_AUTH_TOKEN
    settings.TWILIO_HTTP_CLIENT = ""  # this fake, not the sandbox's client, answers the REST API
    http = FakeTwilioHttp()
    monkeypatch.setattr("telephony.twilio.Client", lambda account, token, **_: Client(account, token, http_client=http))
    return http
