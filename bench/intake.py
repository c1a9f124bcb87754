"""Lead intake throughput: JSON and ADF posts (half of them existing customers) against the app
served by gunicorn on PostgreSQL, with production settings.

    ./dev manage shell -c "" >/dev/null   # once, so .venv exists
    .venv/bin/python bench/intake.py [--seconds 30] [--concurrency 12] [--workers 4]

Prints sustained leads/s, p50/p99 latency and the web workers' resident memory.
Target (2 cores): >= 150 leads/s sustained, p99 < 150 ms, each web worker < 150 MB.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import threading
import time
from itertools import count

from _common import django_setup, free_port, manage, percentile, services_env, start_gunicorn, worker_rss_mb

DATABASE = "dealercrm_bench_intake"
EXISTING_CUSTOMERS = 2000


def prepare(env: dict[str, str]) -> tuple[str, str, list[str]]:
    import psycopg

    admin = env["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres" if "?" not in env["DATABASE_URL"] else None
    if admin:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DATABASE}")
    manage(env, "migrate", "--noinput", "-v", "0")
    django_setup(env)
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from leads.models import Customer, CustomerPhone
    from org.models import DealerGroup, Role, Staff, Store

    group, _ = DealerGroup.objects.get_or_create(slug="bench", defaults={"name": "Bench Group"})
    store, _ = Store.objects.get_or_create(slug="bench-motors", defaults={"name": "Bench Motors", "group": group})
    user, _ = get_user_model().objects.get_or_create(username="bench-integration")
    Staff.objects.get_or_create(user=user, defaults={"store": store, "role": Role.ADMIN})
    token, _ = Token.objects.get_or_create(user=user)
    customers = Customer.objects.bulk_create(
        [Customer(store=store, first_name="Existing", last_name=f"Customer{i}") for i in range(EXISTING_CUSTOMERS)]
    )
    phones = [f"+1615555{1000 + i:04d}" for i in range(EXISTING_CUSTOMERS)]
    CustomerPhone.objects.bulk_create(
        [CustomerPhone(store=store, customer=c, number=p) for c, p in zip(customers, phones, strict=True)]
    )
    return store.slug, token.key, phones


ADF = """<?xml version="1.0"?><?adf version="1.0"?><adf><prospect>
<id sequence="1" source="Autotrader">{lead_id}</id><requestdate>2026-11-20T9:15:00</requestdate>
<vehicle interest="buy" status="used"><year>2021</year><make>Toyota</make><model>RAV4</model><stock>U{n}</stock></vehicle>
<vehicle interest="trade-in"><year>2015</year><make>Honda</make><model>Civic</model></vehicle>
<customer><contact><name part="first">Bench</name><name part="last">Shopper{n}</name>
<phone type="cellphone">{phone}</phone><email>shopper{n}@example.com</email></contact>
<comments>Is it still available?</comments></customer>
<vendor><vendorname>Bench Motors</vendorname></vendor><provider><name part="full">Autotrader</name></provider>
</prospect></adf>"""


def make_request(n: int, store: str, existing: list[str]) -> tuple[str, str, str]:
    duplicate = n % 2 == 0
    phone = random.choice(existing) if duplicate else f"+1773{2000000 + n:07d}"
    if n % 4 < 2:
        body = json.dumps({
            "store": store, "source_type": "third_party", "provider": "CarGurus", "provider_lead_id": f"CG-{n}",
            "customer": {"first_name": "Bench", "last_name": f"Shopper{n}", "phone": phone,
                         "email": f"shopper{n}@example.com"},
            "vehicles": [{"condition": "used", "year": 2020, "make": "Toyota", "model": "Camry"}],
        })
        return "/api/v1/leads/", "application/json", body
    return f"/api/v1/leads/adf/?store={store}", "application/xml", ADF.format(lead_id=f"AT-{n}", n=n, phone=phone)


def run_load(port: int, token: str, store: str, existing: list[str], seconds: float, concurrency: int):
    numbers = count(1)
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop_at:
            with lock:
                n = next(numbers)
            path, ctype, body = make_request(n, store, existing)
            started = time.perf_counter()
            conn.request("POST", path, body=body.encode(), headers={
                "Content-Type": ctype, "Authorization": f"Token {token}", "Host": "127.0.0.1"})
            response = conn.getresponse()
            payload = response.read()
            elapsed = time.perf_counter() - started
            with lock:
                if response.status in (200, 201):
                    latencies.append(elapsed)
                else:
                    failures.append(f"{response.status} {payload[:200]!r}")

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=12)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    env = services_env(DATABASE)
    store, token, existing = prepare(env)
    port = free_port()
    server = start_gunicorn(env, port, args.workers)
    try:
        run_load(port, token, store, existing, 3, args.concurrency)  # warm-up, not counted
        latencies, failures, elapsed = run_load(port, token, store, existing, args.seconds, args.concurrency)
        rss = worker_rss_mb(server)
    finally:
        server.terminate()
        server.wait(timeout=30)
    from leads.models import Lead

    print(f"intake benchmark: {args.seconds:.0f} s, {args.concurrency} clients, {args.workers} gunicorn workers")
    print(f"  leads accepted      {len(latencies)} ({len(failures)} failed)")
    print(f"  sustained           {len(latencies) / elapsed:.1f} leads/s   (target >= 150)")
    print(f"  latency p50         {percentile(latencies, 50) * 1000:.1f} ms")
    print(f"  latency p99         {percentile(latencies, 99) * 1000:.1f} ms   (target < 150)")
    print(f"  web worker RSS      {', '.join(f'{r} MB' for r in rss)}   (target < 150 each)")
    print(f"  duplicates stored   {Lead.objects.filter(duplicate_of__isnull=False).count()} of {Lead.objects.count()} leads")
    for failure in failures[:5]:
        print("  failure:", failure)


if __name__ == "__main__":
    main()
