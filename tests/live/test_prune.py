"""The live event log keeps a day: a stream away longer reloads its page's live parts."""

from __future__ import annotations

import datetime as dt

import pytest

from live import events
from live.models import LiveEvent

pytestmark = [pytest.mark.django_db, pytest.mark.clock]


def test_prune_keeps_the_last_day(store, settings):
    settings.LIVE_EVENT_KEEP_HOURS = 24
    now = dt.datetime(2026, 3, 8, 8, 30, tzinfo=dt.UTC)
    old = events.publish(store_id=store.pk, topic=events.ROUTING, now=now - dt.timedelta(hours=25))
    kept = events.publish(store_id=store.pk, topic=events.ROUTING, now=now - dt.timedelta(hours=23))
    assert events.prune(now=now) == 1
    assert list(LiveEvent.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not LiveEvent.objects.filter(pk=old.pk).exists()
