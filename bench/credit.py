"""Coverage judging and the what-if replay on the benchmark data set.

    .venv/bin/python bench/credit.py [--stores 50] [--judge 300]

Builds, once, the database dealercrm_bench_coverage with `manage.py demo_store --large`, installs
each store's policies from presets (internet-old-7d, retail-3d) through services, and records a
deal for every sold lead (sold_at = the lead's last contact event + 2 h, closer = the owner or a
retail person of the store) through `deal_record`, so credits are frozen as in production.
Then prints: judging one deal (`deal_judge`) median/p99, and a full replay of every deal of every
store under internet-new-7d: seconds, deals, changes and peak RSS.
Targets: judging < 10 ms median; replaying all deals < 30 s and < 1 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import sys
import time

import psycopg
from _common import django_setup, manage, percentile, services_env

DATABASE = "dealercrm_bench_coverage"


def ensure_data_set(env: dict[str, str], stores: int) -> None:
    try:
        with psycopg.connect(env["DATABASE_URL"]) as conn:
            leads = conn.execute("SELECT count(*) FROM leads_lead").fetchone()[0]
    except psycopg.Error:
        leads = 0
    if leads:
        return
    print(f"building the benchmark data set in {DATABASE} (one time) ...", flush=True)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "demo_store", "--large", "--stores", str(stores))


def ensure_deals() -> None:
    """Policies from presets and a deal per sold lead, through the services (idempotent by external_id)."""
    from django.db.models import Max

    from dealcoverage import services
    from dealcoverage.models import CoveragePolicy, Deal
    from dealcoverage.presets import preset
    from leads.models import Lead, LeadStatus
    from org.models import Role, Staff, Store

    if Deal.objects.exists():
        return
    started = time.perf_counter()
    since = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    for store in Store.objects.all():
        for name, role in (("internet-old-7d", Role.INTERNET_AGENT), ("retail-3d", Role.RETAIL)):
            if not CoveragePolicy.objects.filter(store=store, role=role).exists():
                params = preset(name).to_dict()
                services.policy_version_create(store=store, role=role, effective_from=since, created_by=None,
                                               **{k: params[k] for k in services.POLICY_FIELDS})
    retail = {}
    for staff in Staff.objects.filter(role=Role.RETAIL, is_active=True).order_by("pk"):
        retail.setdefault(staff.store_id, []).append(staff)
    rng = random.Random(5)
    now = dt.datetime.now(dt.UTC)
    sold = (
        Lead.objects.filter(status=LeadStatus.SOLD)
        .select_related("store", "customer", "owner")
        .annotate(last_event=Max("contact_events__occurred_at"))
        .order_by("pk")
    )
    count = 0
    for lead in sold.iterator(chunk_size=500):
        if lead.last_event is None:
            continue
        closer = lead.owner if lead.owner and lead.owner.is_active else None
        if closer is None or rng.random() < 0.3:  # often retail closes what an agent worked
            closer = rng.choice(retail[lead.store_id]) if retail.get(lead.store_id) else closer
        if closer is None:
            continue
        sold_at = min(lead.last_event + dt.timedelta(hours=2), now - dt.timedelta(minutes=5))
        services.deal_record(store=lead.store, customer=lead.customer, lead=lead, closer=closer, sold_at=sold_at,
                             source="dms_csv", external_id=f"bench-{lead.pk}")
        count += 1
        if count % 2000 == 0:
            print(f"  {count} deals recorded ...", flush=True)
    print(f"recorded {count} deals in {time.perf_counter() - started:.0f} s", flush=True)


def measure(judge_samples: int) -> None:
    from dealcoverage import services
    from dealcoverage.models import Deal
    from dealcoverage.presets import preset
    from dealcoverage.replay import replay
    from org.models import Role, Store

    deals = list(Deal.objects.select_related("store", "customer", "closer").order_by("?")[:judge_samples])
    services.deal_judge(store=deals[0].store, customer=deals[0].customer, closer=deals[0].closer,
                        sold_at=deals[0].sold_at)  # warm up
    timings = []
    for deal in deals:
        started = time.perf_counter()
        services.deal_judge(store=deal.store, customer=deal.customer, closer=deal.closer, sold_at=deal.sold_at)
        timings.append(time.perf_counter() - started)

    proposal = {Role.INTERNET_AGENT: preset("internet-new-7d")}
    start, end = dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    total = changed = 0
    slowest = (0.0, "")
    for store in Store.objects.order_by("pk"):
        one = time.perf_counter()
        result = replay(store=store, proposed=proposal, start=start, end=end)
        total += len(result.deals)
        changed += len(result.changed)
        slowest = max(slowest, (time.perf_counter() - one, f"{store.name} ({len(result.deals)} deals)"))
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print("coverage benchmark (in-process, DEBUG off)")
    print(f"  deal_judge over {len(timings)} deals: median {percentile(timings, 50) * 1000:.1f} ms, "
          f"p99 {percentile(timings, 99) * 1000:.1f} ms   (target: median < 10 ms)")
    print(f"  replay of every deal under internet-new-7d: {total} deals in {elapsed:.1f} s, {changed} would change; "
          f"slowest store {slowest[0]:.2f} s {slowest[1]}   (target < 30 s)")
    print(f"  peak RSS {peak:.0f} MB (before the replay {rss_before:.0f} MB)   (target < 1024 MB)")
    dashboard_p50, dashboard_p95, queries = measure_dashboard()
    print(f"  manager dashboard /coverage/deals/ (director of the busiest store): p50 {dashboard_p50:.1f} ms, "
          f"p95 {dashboard_p95:.1f} ms, {queries} queries   (target: p95 < 200 ms, bounded queries)")


def measure_dashboard(repeat: int = 30) -> tuple[float, float, int]:
    """The page a manager opens every morning: this month's deals, splits, disputes, credits per
    person and team, near misses; through the full Django stack, production settings."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.test import Client

    from dealcoverage.models import Deal
    from org.models import Role, Staff

    call_command("collectstatic", interactive=False, verbosity=0)
    store_id = Deal.objects.values("store_id").annotate(n=Count("id")).order_by("-n")[0]["store_id"]
    director = Staff.objects.select_related("user").filter(store_id=store_id, role=Role.INTERNET_DIRECTOR).first()
    client = Client()
    client.force_login(director.user)
    client.get("/coverage/deals/")
    queries: list[str] = []

    def count(execute, sql, params, many, context, log=queries):
        log.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        assert client.get("/coverage/deals/").status_code == 200
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get("/coverage/deals/")
        timings.append(time.perf_counter() - started)
    return percentile(timings, 50) * 1000, percentile(timings, 95) * 1000, len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=50, help="stores for a first build (default 50)")
    parser.add_argument("--judge", type=int, default=300, help="deals to judge for the timing (default 300)")
    args = parser.parse_args()
    env = services_env(DATABASE)
    ensure_data_set(env, args.stores)
    env.update(DJANGO_DEBUG="0", DJANGO_SECRET_KEY="bench-secret-key-not-for-production-0123456789abcdefghij",
               DJANGO_SECURE_SSL_REDIRECT="0")
    django_setup(env)
    ensure_deals()
    measure(args.judge)


if __name__ == "__main__":
    sys.exit(main())
