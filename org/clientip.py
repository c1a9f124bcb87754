"""The address of the person on the other end of a request, the one place that decides it.

Behind TRUSTED_PROXY_COUNT reverse proxies (a TLS terminator, a load balancer) the connecting
address is the nearest proxy's; each proxy appends the address it was reached from to
X-Forwarded-For, so the visitor is the hop that many places from the end of the chain
"X-Forwarded-For, REMOTE_ADDR". Anything further left was written by the visitor and is never
believed. With no trusted proxy (the default) X-Forwarded-For is ignored: a visitor who reaches
the app directly can't pick their own address and escape a rate limit or a lockout.

Used by the web form's rate limit (RATELIMIT_IP_META_KEY), the sign-in lockout
(AXES_CLIENT_IP_CALLABLE) and the records that keep where a request came from.
"""

from __future__ import annotations

from types import SimpleNamespace

from django.conf import settings
from django.http import HttpRequest
from ipware import get_client_ip

FORWARDED_HEADER = "HTTP_X_FORWARDED_FOR"


def client_ip(request: HttpRequest) -> str:
    """The visitor's address, or the connecting address when no trusted proxy is configured or
    the request did not come through as many proxies as configured."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get(FORWARDED_HEADER, "")
    if proxies <= 0 or not forwarded:
        return remote
    # ipware counts proxies within the chain it is given, so hand it the whole chain, the
    # connecting proxy included: the visitor is then `proxies` hops before its end. A proxy on a
    # Unix socket leaves REMOTE_ADDR empty; it is on this machine.
    nearest = remote or "127.0.0.1"
    ip, _routable = get_client_ip(
        SimpleNamespace(META={FORWARDED_HEADER: f"{forwarded}, {nearest}"}),  # type: ignore[arg-type]
        proxy_count=proxies,
        request_header_order=[FORWARDED_HEADER],
        strict=False,
    )
    return ip or remote

