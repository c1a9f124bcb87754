"""The sales board for a 50-store group: a director's store board and a group admin's view.

    .venv/bin/python bench/salesboard.py [--stores 50] [--repeat 40]
    BENCH_REPEAT=5 .venv/bin/python bench/salesboard.py      # a quick smoke run
    BENCH_REDIS_DB=13 ...                                        # a Redis db of its own

Builds, once, the database dealercrm_bench_salesboard with `manage.py demo_store --large`
(3 months of leads, contact events and status changes for 50 stores), then fills in what the
large data set leaves out and the board reads: all stores in one dealer group (a 50-store
group), a routing row with response clocks for every lead of the last 45 days (first attempt =
the lead's first outbound event; breach at the store's limit), an appointment for every lead
that reached "appointment set" (shown when it reached "shown"), and a deal with its frozen
coverage credit for every sold lead (bench/credit.py's `ensure_deals`, through the services).

Then prints, through the full Django stack with production settings (in-process client):
- computing one store's board from scratch (what the Celery worker does; the page never waits
  for it unless the snapshot is missing or older than 15 minutes): p50/p95 and queries;
- refreshing every store's snapshot once (the worker's load for one round);
- GET /sales-board/ for the director of the busiest store, for one of its sales managers, in TV
  mode and as CSV, and GET /sales-board/ for the group admin (50 stores): p50/p95, queries.
Target: p95 under 200 ms for the director's board and the group admin's view, with a number
of queries that does not grow with the staff or the stores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import psycopg
from _common import django_setup, manage, percentile, services_env

DATABASE = "dealercrm_bench_salesboard"
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdefghij",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
}


def ensure_data_set(env: dict[str, str], stores: int) -> None:
    try:
        with psycopg.connect(env["DATABASE_URL"]) as conn:
            leads = conn.execute("SELECT count(*) FROM leads_lead").fetchone()[0]
    except psycopg.Error:
        leads = 0
    if leads:
        return
    print(f"building the benchmark data set in {DATABASE} (one time, about a minute) ...", flush=True)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "demo_store", "--large", "--stores", str(stores))


ROUTING_SQL = """
INSERT INTO distribution_leadrouting
    (lead_id, store_id, rule_name, strategy, state, warning, moves, queued_at, assigned_at,
     clock_started_at, breach_at, first_attempt_at, first_two_way_at)
SELECT l.id, l.store_id, 'bench', 'round_robin', 'assigned', '', 0, l.received_at, l.received_at,
       l.received_at, l.received_at + make_interval(mins => s.response_limit_minutes),
       (SELECT min(e.occurred_at) FROM leads_contactevent e
         WHERE e.lead_id = l.id AND e.staff_id IS NOT NULL AND e.direction = 'outbound'
           AND e.channel IN ('call', 'text', 'email')),
       NULL
FROM leads_lead l JOIN org_store s ON s.id = l.store_id
WHERE l.received_at >= now() - interval '45 days' AND l.owner_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM distribution_leadrouting r WHERE r.lead_id = l.id)
"""

APPOINTMENT_SQL = """
INSERT INTO leads_appointment
    (store_id, lead_id, customer_id, staff_id, starts_at, status, note, outside_hours, created_at,
     shown_at, reminder_error)
SELECT l.store_id, l.id, l.customer_id, l.owner_id, c.changed_at + interval '1 day',
       CASE WHEN sh.changed_at IS NULL THEN 'set' ELSE 'shown' END, '', false, c.changed_at,
       sh.changed_at, ''
FROM leads_leadstatuschange c
JOIN leads_lead l ON l.id = c.lead_id
LEFT JOIN LATERAL (SELECT min(x.changed_at) AS changed_at FROM leads_leadstatuschange x
                   WHERE x.lead_id = c.lead_id AND x.to_status = 'shown') sh ON true
WHERE c.to_status = 'appointment_set' AND l.owner_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM leads_appointment a WHERE a.lead_id = l.id)
"""


def ensure_board_inputs() -> None:
    """What the board reads and the large data set does not have (idempotent)."""
    from django.db import connection

    from org.models import DealerGroup, Store

    first = Store.objects.order_by("pk").first()
    if Store.objects.exclude(group_id=first.group_id).exists():
        Store.objects.update(group_id=first.group_id)
        DealerGroup.objects.filter(pk=first.group_id).update(name="Bench Auto Group (50 stores)")
        print("put every store in one dealer group", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(ROUTING_SQL)
        if cursor.rowcount:
            print(f"added {cursor.rowcount} routing rows with response clocks", flush=True)
        cursor.execute(APPOINTMENT_SQL)
        if cursor.rowcount:
            print(f"added {cursor.rowcount} appointments", flush=True)
        cursor.execute("ANALYZE distribution_leadrouting")
        cursor.execute("ANALYZE leads_appointment")
    from credit import ensure_deals  # bench/credit.py: a deal per sold lead, judged by the services

    ensure_deals()


class Counter:
    def __init__(self):
        self.queries = 0

    def __call__(self, execute, sql, params, many, context):
        self.queries += 1
        return execute(sql, params, many, context)


def timed(fn, repeat: int) -> tuple[float, float, int]:
    """p50 and p95 in ms over `repeat` calls, and the queries of one call."""
    from django.db import connection

    fn()  # warm
    counter = Counter()
    with connection.execute_wrapper(counter):
        fn()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - started)
    return percentile(timings, 50) * 1000, percentile(timings, 95) * 1000, counter.queries


def measure(repeat: int) -> None:
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db.models import Count
    from django.test import Client

    from leads.models import ContactEvent
    from org.models import Role, Staff, Store
    from reporting import salesboard

    call_command("collectstatic", interactive=False, verbosity=0)  # production serves a manifest
    busiest = (
        ContactEvent.objects.filter(occurred_at__gte=salesboard.periods_for(Store.objects.first(), _now())["mtd"].start)
        .values("store_id").annotate(n=Count("id")).order_by("-n").first()["store_id"]
    )
    store = Store.objects.get(pk=busiest)
    stores = Store.objects.count()
    staff = Staff.objects.filter(store=store).count()
    events = ContactEvent.objects.filter(store=store, occurred_at__gte=salesboard.periods_for(store, _now())["mtd"].start).count()
    director = Staff.objects.select_related("user").filter(store=store, role=Role.INTERNET_DIRECTOR).first()
    manager = Staff.objects.select_related("user").filter(store=store, role=Role.SALES_MANAGER, managed_teams__isnull=False).first()
    admin = Staff.objects.select_related("user").filter(role=Role.ADMIN, store__group_id=store.group_id).order_by("pk").first()

    print(f"sales board benchmark: {stores} stores in one group; busiest store {store.name}: {staff} staff, "
          f"{events:,} contact events month to date (in-process client, production settings)")

    p50, p95, queries = timed(lambda: salesboard.compute(store), max(5, repeat // 4))
    print(f"  compute one store's board from scratch (the worker's job)  p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   {queries} queries")

    cache.clear()
    started = time.perf_counter()
    for each in Store.objects.order_by("pk"):
        salesboard.snapshot_refresh(each.pk)
    round_s = time.perf_counter() - started
    print(f"  refresh every store's snapshot once (one worker)            {round_s:6.1f} s for {stores} stores "
          f"(the beat keeps each at most {salesboard.IDLE_REFRESH_SECONDS // 60} min old; watched boards every "
          f"{salesboard.FRESH_SECONDS} s)")

    def page(user, url):
        client = Client()
        client.force_login(user)

        def get():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            return response
        return get

    rows = [
        ("director: store board, today", director.user, "/sales-board/"),
        ("director: store board, month to date", director.user, "/sales-board/?period=mtd"),
        ("sales manager: their team", manager.user, "/sales-board/"),
        ("director: TV mode", director.user, "/sales-board/?tv=1"),
        ("director: CSV export", director.user, "/sales-board/?format=csv&period=mtd"),
        (f"group admin: {stores} stores", admin.user, "/sales-board/"),
        (f"group admin: {stores} stores, month to date", admin.user, "/sales-board/?period=mtd"),
        ("group admin: one store (?store=)", admin.user, f"/sales-board/?store={store.pk}"),
    ]
    for label, user, url in rows:
        p50, p95, queries = timed(page(user, url), repeat)
        flag = "" if p95 < 200 else "   <-- over the 200 ms target"
        print(f"  {label:<45} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   {queries} queries{flag}")

    # The same page when the snapshot is missing (first look of the day with no worker running):
    # the request computes it once.
    def cold():
        cache.delete(salesboard._key(store.pk))
        page(director.user, "/sales-board/")()

    p50, p95, queries = timed(cold, max(5, repeat // 4))
    print(f"  {'director: no snapshot yet (computed in the request)':<45} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   {queries} queries")
    print("  target: p95 < 200 ms for the director's board and the group admin's view; queries do not grow with staff or stores")


def _now():
    from django.utils import timezone

    return timezone.now()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=50, help="stores for a first build (default 50)")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", "40")))
    args = parser.parse_args()
    env = services_env(DATABASE)
    if os.environ.get("BENCH_REDIS_DB"):  # another Redis db than the shared bench one (tests flush theirs)
        env["REDIS_URL"] = env["REDIS_URL"].rsplit("/", 1)[0] + "/" + os.environ["BENCH_REDIS_DB"]
    env["CACHE_KEY_PREFIX"] = "bench-salesboard"
    ensure_data_set(env, args.stores)
    env.update(PRODUCTION)
    django_setup(env)
    ensure_board_inputs()
    measure(args.repeat)


if __name__ == "__main__":
    sys.exit(main())
