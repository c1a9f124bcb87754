"""Lead intake throughput: JSON and ADF posts (half of them existing customers) against the app
served by gunicorn on PostgreSQL, with production settings.

    ./dev manage shell -c "" >/dev/null   # once, so .venv exists
    .venv/bin/python bench/intake.py [--seconds 30] [--connections 6] [--workers 3]   (needs wrk)

Prints sustained leads/s, p50/p99 latency and the web workers' resident memory.
Target (2 cores): >= 150 leads/s sustained, p99 < 150 ms, each web worker < 150 MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from _common import django_setup, free_port, manage, services_env, start_gunicorn, worker_rss_mb

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
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh statistics, as autovacuum keeps them in production
    return store.slug, token.key, phones


def run_wrk(port: int, token: str, store: str, phones_file: str, seconds: float, connections: int) -> dict:
    """wrk (C, epoll) drives the load: a Python client would eat a core of this 2-core machine."""
    env = dict(os.environ, BENCH_TOKEN=token, BENCH_STORE=store, BENCH_PHONES=phones_file)
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds:.0f}s", "--timeout", "10s",
         "-s", str(Path(__file__).with_name("intake.lua")), f"http://127.0.0.1:{port}"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return {key: int(value) for key, value in (part.split("=") for part in line.split()[1:])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--connections", type=int, default=6)
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench/intake needs wrk: apt-get install wrk")
    env = services_env(DATABASE)
    store, token, existing = prepare(env)
    phones_file = Path(tempfile.mkstemp(suffix=".txt")[1])
    phones_file.write_text("\n".join(existing) + "\n")
    port = free_port()
    server = start_gunicorn(env, port, args.workers)
    try:
        run_wrk(port, token, store, str(phones_file), 3, args.connections)  # warm-up, not counted
        result = run_wrk(port, token, store, str(phones_file), args.seconds, args.connections)
        rss = worker_rss_mb(server)
    finally:
        server.terminate()
        server.wait(timeout=30)
    from leads.models import Lead

    ok = result["requests"] - result["errors"]
    print(f"intake benchmark: {args.seconds:.0f} s, {args.connections} connections (wrk), {args.workers} gunicorn workers")
    print(f"  leads accepted      {ok} ({result['errors']} failed)")
    print(f"  sustained           {ok / (result['duration_us'] / 1e6):.1f} leads/s   (target >= 150)")
    print(f"  latency p50         {result['p50_us'] / 1000:.1f} ms")
    print(f"  latency p99         {result['p99_us'] / 1000:.1f} ms   (target < 150)")
    print(f"  web worker RSS      {', '.join(f'{r} MB' for r in rss)}   (target < 150 each)")
    print(
        f"  stored              {Lead.objects.count()} leads, {Lead.objects.filter(duplicate_of__isnull=False).count()}"
        " of them duplicates of an open lead"
    )


if __name__ == "__main__":
    main()
