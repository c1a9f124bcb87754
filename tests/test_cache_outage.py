"""A cache outage (issue 14, faults): pages and the public web form work without Redis.

The web form's rate limit, the sales board's snapshot and Today's activity strip read the cache.
With Django's RedisCache each of them answered 500 while Redis refused connections, and hung on
one that accepted and never answered. dealercrm.cache answers as an empty cache instead, tries
Redis once per back-off, and says so once in the log.
"""

from __future__ import annotations

import logging

import pytest

from leads.models import Lead
from tests.test_broker_outage import SilentBroker, free_port

pytestmark = pytest.mark.django_db


def _cache_at(settings, url: str) -> None:
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": url,
        }
    }
    settings.CACHE_BACKOFF_SECONDS = 60


def _post(client, i: int):
    data = {"first_name": "Dana", "last_name": f"Wu{i}", "phone": f"(312) 555-01{i:02d}", "email": "", "website": ""}
    return client.post("/f/north-motors/", data, REMOTE_ADDR="198.51.100.7")


def _warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "dealercrm.cache" and r.levelno >= logging.WARNING]


def test_the_web_form_takes_leads_while_redis_refuses_connections(client, store, settings, caplog):
    _cache_at(settings, f"redis://127.0.0.1:{free_port()}/0")
    settings.WEB_FORM_RATE = "2/m"

    with caplog.at_level(logging.WARNING):
        statuses = [_post(client, i).status_code for i in range(4)]

    # No 500, and no 429 either: the limiter cannot count, so it fails open (a lead is worth more).
    assert statuses == [200, 200, 200, 200]
    assert Lead.objects.filter(store=store).count() == 4
    warnings = _warnings(caplog)
    assert len(warnings) == 1 and "cache unreachable" in warnings[0].getMessage()
    assert all(r.exc_info is None for r in warnings)


def test_a_frozen_redis_is_tried_once_per_back_off_and_pages_still_answer(client, store, org, settings):
    broker = SilentBroker()
    try:
        _cache_at(settings, broker.url)
        statuses = [_post(client, i).status_code for i in range(3)]
        client.force_login(org["manager"].user)
        board = client.get("/sales-board/")
        client.force_login(org["agent"].user)
        today = client.get("/today/")
        accepted = len(broker.accepted)
    finally:
        broker.close()

    assert statuses == [200, 200, 200]
    assert Lead.objects.filter(store=store).count() == 3
    assert (board.status_code, today.status_code) == (200, 200)
    # One attempt, timed out after the socket timeout; every later call skipped Redis.
    assert accepted == 1


def test_an_unreachable_cache_answers_as_an_empty_one_and_another_location_is_unaffected(store, settings):
    from django.core.cache import cache

    from dealercrm import cache as failsoft

    _cache_at(settings, f"redis://127.0.0.1:{free_port()}/0")
    assert cache.get("k", "missing") == "missing"
    assert cache.add("k", 1) is False
    with pytest.raises(ValueError):
        cache.incr("k")
    assert failsoft._open_until, "the breaker opened"

    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": settings.REDIS_URL}}
    cache.set("k", 7)
    assert cache.get("k") == 7
