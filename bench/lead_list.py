"""The logged-in lead list for an internet director: the first page, a deep page, a search and
a filter, on a store with 100,000 leads and on one with 1,000,000 (built by the demo command).

    .venv/bin/python bench/lead_list.py [--sizes 100000 1000000] [--repeat 40]

Each size lives in its own database (dealercrm_bench_<size>), built on first use with
`manage.py demo_store --large --stores 1 --leads-per-store <size>` (minutes for 1M).
Prints p50/p95 per request kind and the query count, which must not grow with the page or
the table. Target: p95 under 300 ms at both sizes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import psycopg
from _common import django_setup, manage, percentile, services_env


def ensure_database(env: dict[str, str], size: int) -> None:
    url = env["DATABASE_URL"]
    try:
        with psycopg.connect(url) as conn:
            leads = conn.execute("SELECT count(*) FROM leads_lead").fetchone()[0]
    except psycopg.Error:
        leads = 0
    if leads >= size * 0.9:
        return
    print(f"building a store with {size} leads in {url.rsplit('/', 1)[-1]} (one time) ...", flush=True)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "demo_store", "--large", "--stores", "1", "--leads-per-store", str(size))


def measure(size: int, repeat: int) -> list[tuple[str, float, float, int]]:
    from django.db import connection, connections
    from django.test import Client

    from leads.models import Lead
    from org.models import Role, Staff

    store_id = Lead.objects.values("store_id").order_by().first()["store_id"]
    director = Staff.objects.select_related("user").filter(store_id=store_id, role=Role.INTERNET_DIRECTOR).first()
    sample = Lead.objects.filter(store_id=store_id).select_related("customer").order_by("-id")[1234]
    client = Client()
    client.force_login(director.user)
    kinds = [
        ("first page", "/leads/"),
        ("page 40", "/leads/?page=40"),
        ("search by last name", f"/leads/?q={sample.customer.last_name[:5]}"),
        ("search by phone", f"/leads/?q={sample.customer.phones.first().number}"),
        ("filter status=sold", "/leads/?status=sold"),
        ("filter source + unassigned", "/leads/?source_type=phone_up&owner=none"),
    ]
    rows = []
    for label, url in kinds:
        client.get(url)  # warm caches and connections
        queries: list[str] = []

        def count(execute, sql, params, many, context, log=queries):
            log.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            client.get(url)
            timings.append(time.perf_counter() - started)
        rows.append((label, percentile(timings, 50) * 1000, percentile(timings, 95) * 1000, len(queries)))
    connections.close_all()
    return rows


def database_for(size: int) -> str:
    return f"dealercrm_bench_{size // 1000}k" if size < 1_000_000 else f"dealercrm_bench_{size // 1_000_000}m"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        # One size per process: Django is set up once, against that size's database.
        env = services_env(database_for(args.one))
        env.update(
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY="bench-secret-key-not-for-production-0123456789abcdefghij",
            DJANGO_SECURE_SSL_REDIRECT="0",
        )
        django_setup(env)
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)  # production serves a manifest
        print(json.dumps(measure(args.one, args.repeat)))
        return
    results = {}
    for size in args.sizes:
        ensure_database(services_env(database_for(size)), size)
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--repeat", str(args.repeat)],
            check=True, capture_output=True, text=True,
        ).stdout
        results[size] = json.loads(out.strip().splitlines()[-1])
    print("lead list benchmark (director, 50 rows a page, in-process Django client, production settings)")
    for size, rows in results.items():
        print(f"  store with {size:,} leads")
        for label, p50, p95, queries in rows:
            print(f"    {label:<28} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   {queries} queries")
    print("  target: p95 < 300 ms; query counts equal across pages, searches and sizes")


if __name__ == "__main__":
    main()
