"""The visitor's address behind the configured number of trusted proxies (org.clientip), and the
web form's rate limit keyed on it (issue 14: behind the TLS proxy every visitor shared a bucket)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from leads.models import IntakeChannel, Lead, RejectedIntake
from org.clientip import client_ip

PROXY = "10.0.0.1"


def _request(remote: str = PROXY, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "visitor"),
    [
        # No trusted proxy: X-Forwarded-For is whatever the visitor typed, never believed.
        (0, "198.51.100.7", "203.0.113.5", "198.51.100.7"),
        # One proxy (nginx appends the address it was reached from): the last entry.
        (1, PROXY, "203.0.113.5", "203.0.113.5"),
        # What the visitor wrote before the proxy's entry is ignored.
        (1, PROXY, "6.6.6.6, 203.0.113.5", "203.0.113.5"),
        # Two proxies: the visitor is the entry before the first proxy's.
        (2, PROXY, "6.6.6.6, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        # Not through the proxy (no header, or fewer hops than proxies): the connecting address.
        (1, "198.51.100.7", None, "198.51.100.7"),
        (2, PROXY, "203.0.113.5", PROXY),
        # A proxy on a Unix socket leaves REMOTE_ADDR empty.
        (1, "", "203.0.113.5", "203.0.113.5"),
        # IPv6 visitors too.
        (1, PROXY, "2001:db8::5", "2001:db8::5"),
    ],
)
def test_client_ip_counts_only_trusted_proxies(settings, proxies, remote, forwarded, visitor):
    settings.TRUSTED_PROXY_COUNT = proxies
    assert client_ip(_request(remote, forwarded)) == visitor


def _post(client, visitor: str | None, phone: str, remote: str = PROXY):
    data = {"first_name": "Dana", "last_name": "Wu", "phone": phone, "email": "", "website": ""}
    extra = {"REMOTE_ADDR": remote}
    if visitor is not None:
        extra["HTTP_X_FORWARDED_FOR"] = visitor
    return client.post("/f/north-motors/", data, **extra)


def test_behind_one_trusted_proxy_two_visitors_have_their_own_buckets(client, store, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.WEB_FORM_RATE = "2/m"
    first = [_post(client, "203.0.113.5", f"(312) 555-01{i}0").status_code for i in range(3)]
    assert first == [200, 200, 429]

    second = [_post(client, "203.0.113.6", f"(312) 555-02{i}0").status_code for i in range(2)]

    assert second == [200, 200]
    assert Lead.objects.count() == 4


def test_without_a_trusted_proxy_a_forged_forwarded_for_does_not_escape_the_limit(client, store, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.WEB_FORM_RATE = "2/m"
    statuses = [
        _post(client, f"203.0.113.{i}", f"(312) 555-01{i}0", remote="198.51.100.7").status_code for i in range(4)
    ]
    assert statuses == [200, 200, 429, 429]
    assert Lead.objects.count() == 2


def test_a_rejected_web_form_keeps_the_visitor_address_not_the_proxy(client, store, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    data = {"first_name": "Bot", "last_name": "Bot", "phone": "(312) 555-0100", "website": "spam.example"}
    client.post("/f/north-motors/", data, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.9")
    rejected = RejectedIntake.objects.get()
    assert (rejected.channel, rejected.remote_addr) == (IntakeChannel.WEB_FORM, "203.0.113.9")
