"""The possible duplicates' review queue with 1,000 pairs waiting (issue 15).

    .venv/bin/python bench/duplicates.py [--pairs 1000] [--repeat 20]

Builds a store in its own database (dealercrm_bench_duplicates, rebuilt each run): customers with
a phone, a lead and a few contact events each, then as many leads again through the real intake
(leads.services.lead_create) that share a customer's phone under another name, so each records a
pending pair. Then, in-process with production settings, times the queue's first page for the
sales manager, a later page, and the API's pending list: p50, p95 and queries.
Target: p95 under 200 ms with 1,000 pairs pending.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import psycopg
from _common import django_setup, get_counting_queries, manage, percentile, services_env

DATABASE = "dealercrm_bench_duplicates"
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdefghij",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
}
TARGET_MS = 200


def fresh_database(env: dict[str, str]) -> None:
    url = env["DATABASE_URL"]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    manage(env, "migrate", "--noinput", "-v", "0")


def build(pairs: int):
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from leads.events import contact_events_copy
    from leads.models import Customer, CustomerPhone, Lead, PossibleDuplicate
    from leads.services import LeadData, lead_create
    from org.models import DealerGroup, Role, Staff, Store

    group = DealerGroup.objects.create(slug="bench", name="Bench Group")
    store = Store.objects.create(slug="bench-motors", name="Bench Motors", group=group)
    users = get_user_model().objects
    manager = Staff.objects.create(user=users.create_user("bench-manager", first_name="Mia", last_name="Manager"),
                                   store=store, role=Role.SALES_MANAGER)
    agent = Staff.objects.create(user=users.create_user("bench-agent", first_name="Al", last_name="Agent"),
                                 store=store, role=Role.INTERNET_AGENT)
    started = time.monotonic()
    customers = Customer.objects.bulk_create(
        [Customer(store=store, first_name="Noah", last_name=f"Brown{i}") for i in range(pairs)])
    numbers = [f"+1615555{i:04d}" for i in range(pairs)]
    CustomerPhone.objects.bulk_create(
        [CustomerPhone(store=store, customer=c, number=n) for c, n in zip(customers, numbers, strict=True)])
    now = timezone.now()
    leads = Lead.objects.bulk_create([
        Lead(store=store, customer=c, source_type="third_party", intake_channel="api", owner=agent, routed_at=now,
             provider="Bench", provider_lead_id=f"OLD-{i}", received_at=now)
        for i, c in enumerate(customers)])
    columns = ("store_id", "customer_id", "lead_id", "staff_id", "channel", "direction", "outcome", "occurred_at",
               "recorded_at", "evidence_level", "outside_company_channels", "body", "call_sid", "message_sid",
               "recording_sid", "email_message_id", "source_system", "external_id")
    with connection.cursor():
        contact_events_copy(pg_connection=connection.connection, columns=columns, rows=[
            (store.pk, lead.customer_id, lead.pk, agent.pk, "call", "outbound", "no_answer", now, now, "self_reported",
             False, "", "", "", "", "", "", "")
            for lead in leads for _ in range(3)])
    for i, number in enumerate(numbers):
        lead_create(store=store, data=LeadData(
            source_type="third_party", intake_channel="api", first_name="Derek", last_name=f"Halvorsen{i}",
            phones=[(number, "mobile")], provider="Bench", provider_lead_id=f"NEW-{i}"))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    waiting = PossibleDuplicate.objects.filter(store=store, status="pending").count()
    print(f"built {pairs:,} customers and {waiting:,} pending pairs in {time.monotonic() - started:.0f} s", flush=True)
    return manager


def measure(manager, repeat: int) -> list[tuple]:
    from django.test import Client

    import dealercrm.wsgi  # noqa: F401 - the process gunicorn runs: its garbage collector tuned as there

    client = Client()
    client.force_login(manager.user)
    rows = []
    for label, url in [
        ("review queue", "/customers/duplicates/"),
        ("review queue page 20", "/customers/duplicates/?page=20"),
        ("API pending list", "/api/v1/possible-duplicates/?status=pending"),
    ]:
        client.get(url)
        response, queries = get_counting_queries(client, url, {})
        assert response.status_code == 200, (url, response.status_code)
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        rows.append((label, percentile(timings, 50), percentile(timings, 95), queries))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    env = services_env(DATABASE)
    fresh_database(env)
    env.update(PRODUCTION)
    django_setup(env)
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)  # production serves a manifest
    manager = build(args.pairs)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"possible duplicates with {args.pairs:,} pairs pending (in-process Django client, real PostgreSQL, "
          f"production settings; {args.repeat} warm requests; load average {load} on {os.cpu_count()} CPUs)")
    over = []
    for label, p50, p95, queries in measure(manager, args.repeat):
        flag = "  OVER" if p95 > TARGET_MS else ""
        print(f"  {label:<24} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   {queries:3d} queries{flag}")
        if p95 > TARGET_MS:
            over.append(label)
    print(f"  target: p95 < {TARGET_MS} ms; over: {', '.join(over) if over else 'none'}")
    sys.exit(0)


if __name__ == "__main__":
    main()
