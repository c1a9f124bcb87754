"""Concurrent intake on real PostgreSQL with real threads: the advisory locks keep one lead per
provider lead id and one customer per phone/email, however the posts interleave."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from leads import services
from leads.models import Customer, CustomerPhone, IntakeChannel, Lead, SourceType

pytestmark = pytest.mark.django_db(transaction=True)


def in_threads(count: int, work) -> list:
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:  # noqa: BLE001 - collected and asserted on below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def data(provider_lead_id: str, phone: str = "+13125550100", email: str = "pat@example.com") -> services.LeadData:
    return services.LeadData(
        source_type=SourceType.THIRD_PARTY, intake_channel=IntakeChannel.API, first_name="Pat", last_name="Race",
        phones=[(phone, "mobile")], emails=[email], provider="Autotrader", provider_lead_id=provider_lead_id,
    )


def test_simultaneous_resends_store_one_lead(store):
    results = in_threads(8, lambda i: services.lead_create(store=store, data=data("AT-1")))
    assert Lead.objects.count() == 1
    assert sum(1 for r in results if r.created) == 1
    assert len({r.lead.pk for r in results}) == 1


def test_simultaneous_first_leads_of_one_person_make_one_customer(store):
    """Two sites post the same new shopper at once: one customer, one lead and one duplicate."""
    results = in_threads(6, lambda i: services.lead_create(store=store, data=data(f"SITE-{i}")))
    assert Customer.objects.count() == 1
    assert CustomerPhone.objects.count() == 1
    assert Lead.objects.count() == 6
    originals = [r for r in results if not r.duplicate]
    assert len(originals) == 1
    assert Lead.objects.filter(duplicate_of=originals[0].lead).count() == 5
