"""Every page of every role on a huge store: one store with 1,000,000 leads and a year of history.

    .venv/bin/python bench/pages.py [--leads 1000000] [--repeat 20] [--only today,leads]

The store lives in its own database (dealercrm_bench_pages_<size>, on the server DATABASE_URL
names, or the local/embedded one), built on first use and reused afterwards:

1. `manage.py demo_store --large --stores 1 --leads-per-store <size> --months 12`, the bulk
   generator (COPY), so each internet agent owns tens of thousands of old leads with their
   contact events, status changes and assignments;
2. what the large build leaves out, in one transaction, mostly as INSERT ... SELECT: the demo
   store's routing rules and coverage policies, a routing row for every lead (clocks, first
   attempt and first two-way contact from the events), a judged deal for every sold lead
   (a few hundred through the coverage engine, the rest copying one of their judgements),
   follow-up tasks and today's appointments for the open leads, and leads arriving now
   through the real services (lead_create, lead_route): each salesperson's new leads waiting
   for a first call, and used-car leads sitting in the claim pool.

Then every page each role can open (director, sales manager, internet agent, retail, receptionist)
is requested with Django's test client in-process, real PostgreSQL, production settings (debug
off, as bench/lead_list.py and bench/agent_queue.py do): one request to warm up and count the
queries, then --repeat timed ones. Prints p50, p95 and queries per page; a page a role may not
open prints its status instead. Target: p95 under 200 ms for every page.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import re
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg
from _common import django_setup, get_counting_queries, manage, percentile, services_env

PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdefghij",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
}
MARK = "BENCH-PAGES"  # provider of the leads step 2 adds: their presence says the store is complete
TARGET_MS = 200


def database_for(size: int) -> str:
    return f"dealercrm_bench_pages_{size // 1000}k" if size < 1_000_000 else f"dealercrm_bench_pages_{size // 1_000_000}m"


def bench_env(database: str) -> dict[str, str]:
    """services_env, but always on a database of our own: with DATABASE_URL set (a developer's own
    server or database), the same server under the benchmark's database name."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return services_env(database)
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(database)))
    env = services_env(database)
    env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{database}"))
    return env


def ensure_generated(env: dict[str, str], size: int) -> None:
    """Step 1, the bulk generator, unless the database already has the leads."""
    try:
        with psycopg.connect(env["DATABASE_URL"]) as conn:
            leads = conn.execute("SELECT count(*) FROM leads_lead").fetchone()[0]
    except psycopg.Error:
        leads = 0
    if leads >= size * 0.9:
        # Built by an older checkout: this one's migrations, then a vacuum, since a migration that
        # rewrites rows leaves the visibility map empty and every index-only scan reads the heap.
        manage(env, "migrate", "--noinput", "-v", "0")
        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
            for table in ("leads_lead", "distribution_leadrouting", "leads_contactevent"):
                conn.execute(psycopg.sql.SQL("VACUUM (ANALYZE) {}").format(psycopg.sql.Identifier(table)))
        return
    print(f"building a store with {size:,} leads in {env['DATABASE_URL'].rsplit('/', 1)[-1]} (one time) ...", flush=True)
    started = time.monotonic()
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "demo_store", "--large", "--stores", "1", "--leads-per-store", str(size), "--months", "12")
    print(f"generated in {time.monotonic() - started:.0f} s", flush=True)


# --- step 2: what the large build leaves out ------------------------------------------------------

ROUTING_SQL = """
INSERT INTO distribution_leadrouting (lead_id, store_id, rule_id, rule_name, strategy, state, warning, moves,
    queued_at, assigned_at, clock_started_at, breach_at, first_attempt_at, first_two_way_at, lead_closed)
SELECT l.id, l.store_id, r.id, coalesce(r.name, ''), coalesce(r.strategy, ''),
       CASE WHEN l.owner_id IS NOT NULL THEN 'assigned' WHEN l.in_claim_pool THEN 'pool' ELSE 'manager' END,
       '', 0, coalesce(l.routed_at, l.received_at),
       CASE WHEN l.owner_id IS NOT NULL THEN coalesce(l.routed_at, l.received_at) END,
       l.received_at, l.received_at + make_interval(mins => %(limit)s), e.first_attempt, e.first_two_way,
       l.status IN ('sold', 'lost')
FROM leads_lead l
LEFT JOIN (
    SELECT lead_id, min(occurred_at) FILTER (WHERE is_attempt) AS first_attempt,
           min(occurred_at) FILTER (WHERE is_two_way) AS first_two_way
    FROM leads_contactevent WHERE store_id = %(store)s AND lead_id IS NOT NULL GROUP BY lead_id
) e ON e.lead_id = l.id
LEFT JOIN distribution_routingrule r ON r.id = CASE
    WHEN l.source_type = 'phone_up' THEN %(phone_rule)s WHEN l.source_type = 'walk_in' THEN %(walk_rule)s
    WHEN l.in_claim_pool THEN %(pool_rule)s ELSE %(fallback_rule)s END
WHERE l.store_id = %(store)s AND l.duplicate_of_id IS NULL
  AND NOT EXISTS (SELECT 1 FROM distribution_leadrouting x WHERE x.lead_id = l.id)
"""

DEALS_SQL = """
INSERT INTO coverage_deal (store_id, customer_id, lead_id, vehicle, stock_number, closer_id, sold_at, source,
    external_id, recorded_by_id, recorded_at, decision)
SELECT l.store_id, l.customer_id, l.id, '', '', l.owner_id, coalesce(s.changed_at, l.received_at), 'dms_csv',
       'BENCH-' || l.id, NULL, coalesce(s.changed_at, l.received_at), t.decision
FROM leads_lead l
JOIN (SELECT lead_id, max(changed_at) AS changed_at FROM leads_leadstatuschange WHERE to_status = 'sold'
      GROUP BY lead_id) s ON s.lead_id = l.id
CROSS JOIN (SELECT decision FROM coverage_deal WHERE store_id = %(store)s ORDER BY id LIMIT 1) t
WHERE l.store_id = %(store)s AND l.status = 'sold' AND l.owner_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM coverage_deal d WHERE d.lead_id = l.id)
"""

CREDITS_SQL = """
INSERT INTO coverage_dealcredit (deal_id, staff_id, share, reason, policy_id, team_manager_id, overrides_id,
    override_reason, active, created_by_id, created_at)
SELECT d.id, d.closer_id, 1.000, 'Closed the deal with coverage', NULL, NULL, NULL, '', true, NULL, d.recorded_at
FROM coverage_deal d
WHERE d.store_id = %(store)s AND NOT EXISTS (SELECT 1 FROM coverage_dealcredit c WHERE c.deal_id = d.id)
"""

# A salesperson works about 150 customers at a time (bench/agent_queue.py): each one's 150 newest
# contacted leads get the follow-up module's keep-in-touch call (a third overdue, a third due later
# today, a third tomorrow), and their 6 newest appointment-set leads an appointment today.
TASKS_SQL = """
INSERT INTO leads_task (store_id, customer_id, lead_id, staff_id, kind, channel, step_day, reason, due_at,
    created_at, completed_at, completed_by_event_id, canceled_at, cancel_reason, notified_at)
SELECT l.store_id, l.customer_id, l.id, l.owner_id, 'keep_in_touch', 'call', NULL,
       'Keep in touch: stay inside your coverage window.',
       %(now)s + make_interval(hours => ((l.rank %% 3) * 12 - 6)::int), %(now)s - interval '1 day', NULL, NULL, NULL,
       '', NULL
FROM (SELECT id, store_id, customer_id, owner_id, row_number() OVER (PARTITION BY owner_id ORDER BY received_at DESC) AS rank
      FROM leads_lead WHERE store_id = %(store)s AND status = 'contacted' AND owner_id IS NOT NULL) l
WHERE l.rank <= 150 AND NOT EXISTS (SELECT 1 FROM leads_task t WHERE t.lead_id = l.id)
"""

APPOINTMENTS_SQL = """
INSERT INTO leads_appointment (store_id, lead_id, customer_id, staff_id, starts_at, status, note, outside_hours,
    created_at, created_by_id, confirmed_at, shown_at, checked_in_by_id, visit_event_id, closed_at,
    reminder_due_at, reminder_sent_at, reminder_error, no_show_due_at)
SELECT l.store_id, l.id, l.customer_id, l.owner_id, %(now)s + make_interval(mins => (l.rank * 60 - 180)::int), 'set',
       'Test drive', false, %(now)s - interval '1 day', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '',
       %(now)s + make_interval(mins => (l.rank * 60 - 60)::int)
FROM (SELECT id, store_id, customer_id, owner_id, row_number() OVER (PARTITION BY owner_id ORDER BY received_at DESC) AS rank
      FROM leads_lead WHERE store_id = %(store)s AND status = 'appointment_set' AND owner_id IS NOT NULL) l
WHERE l.rank <= 6 AND NOT EXISTS (SELECT 1 FROM leads_appointment a WHERE a.lead_id = l.id)
"""


def complete_store(log) -> None:
    """Step 2, once: everything the pages show that the bulk generator does not write."""
    from django.db import connection, transaction
    from django.utils import timezone

    from dealcoverage.services import deal_record
    from devtools.demo.dealer_numbers import create_dealer_numbers
    from devtools.demo.deals import install_coverage_policies
    from devtools.demo.routing import install_routing_rules
    from distribution.models import RoutingRule, Strategy
    from distribution.services import lead_route
    from leads.models import IntakeChannel, Lead, LeadStatusChange, SourceType
    from leads.services import LeadData, VehicleData, lead_create
    from org.models import Role, Staff, Store

    store = Store.objects.order_by("pk").first()
    if Lead.objects.filter(store=store, provider=MARK).exists():
        return
    now = timezone.now()
    started = time.monotonic()
    with transaction.atomic():
        if not RoutingRule.objects.filter(store=store).exists():
            install_routing_rules(store.pk)
            install_coverage_policies(store.pk, now - dt.timedelta(days=400))
            create_dealer_numbers(store.pk)
        rules = {r.position if not r.is_fallback else 0: r for r in RoutingRule.objects.filter(store=store)}
        pool_rule = next(r for r in rules.values() if r.strategy == Strategy.CLAIM_POOL)
        ids = {"phone_rule": rules[1].pk, "walk_rule": rules[2].pk, "pool_rule": pool_rule.pk,
               "fallback_rule": next(r for r in rules.values() if r.is_fallback).pk}
        with connection.cursor() as cursor:
            cursor.execute(ROUTING_SQL, {"store": store.pk, "limit": store.response_limit_minutes, **ids})
            log(f"  {cursor.rowcount:,} routing rows ({time.monotonic() - started:.0f} s)")
        # A few hundred deals judged by the coverage engine, the rest copy the first judgement.
        retail = list(Staff.objects.filter(store=store, role=Role.RETAIL).order_by("pk"))
        sold = Lead.objects.filter(store=store, status="sold", owner__isnull=False).select_related("customer", "owner")
        for i, lead in enumerate(sold.order_by("-received_at")[:300]):
            sold_at = (LeadStatusChange.objects.filter(lead=lead, to_status="sold").order_by("-changed_at")
                       .values_list("changed_at", flat=True).first()) or lead.received_at
            deal_record(store=store, customer=lead.customer, lead=lead, closer=retail[i % len(retail)] if i % 4 == 0
                        else lead.owner, source="dms_csv", sold_at=sold_at, external_id=f"BENCH-{lead.pk}")
        with connection.cursor() as cursor:
            cursor.execute(DEALS_SQL, {"store": store.pk})
            deals = cursor.rowcount
            cursor.execute(CREDITS_SQL, {"store": store.pk})
            cursor.execute(TASKS_SQL, {"store": store.pk, "now": now})
            tasks = cursor.rowcount
            cursor.execute(APPOINTMENTS_SQL, {"store": store.pk, "now": now})
            log(f"  {deals + 300:,} deals, {tasks:,} tasks, {cursor.rowcount:,} appointments "
                f"({time.monotonic() - started:.0f} s)")
        # Leads arriving now, through the services: each salesperson's new leads waiting for a
        # first call, and used-car leads in the claim pool (the claim-pool rule takes them).
        sellers = list(Staff.objects.filter(store=store, role__in=[Role.INTERNET_AGENT, Role.RETAIL], is_active=True)
                       .order_by("pk"))
        arrivals = [(seller, n) for seller in sellers for n in range(4)] + [(None, n) for n in range(40)]
        for index, (seller, n) in enumerate(arrivals):
            condition = "used" if seller is None else "new"
            result = lead_create(store=store, owner=seller, data=LeadData(
                source_type=SourceType.THIRD_PARTY, intake_channel=IntakeChannel.API, first_name=f"Arrival{index}",
                last_name="Now", phones=[(f"+1612555{index:04d}", "mobile")], provider=MARK,
                provider_lead_id=f"{MARK}-{index}", received_at=now - dt.timedelta(minutes=3 + 2 * n),
                vehicles=[VehicleData(condition=condition, year=2024, make="Toyota", model="RAV4")],
            ))
            if seller is None:
                lead_route(lead_id=result.lead.pk, now=now - dt.timedelta(minutes=2 + 2 * n))
    for table in ("distribution_leadrouting", "coverage_deal", "coverage_dealcredit", "leads_task",
                  "leads_appointment", "leads_lead"):
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    pool = Lead.objects.filter(store=store, provider=MARK, owner__isnull=True, in_claim_pool=True).count()
    log(f"  completed the store: {len(sellers) * 4} new leads waiting, {pool} in the claim pool "
        f"({time.monotonic() - started:.0f} s)")


# --- step 3: the pages ----------------------------------------------------------------------------

def pages_for(role: str, staff, lead_pk: int, deal_pk: int, coverage_url: str | None) -> list[tuple[str, str, dict]]:
    """(label, url, headers) of every page, in the order a role's menu lists them."""
    htmx = {"HTTP_HX_REQUEST": "true"}
    common = [
        ("lead list", "/leads/", {}),
        ("lead list page 40", "/leads/?page=40", {}),
        ("lead list search", "/leads/?q=Garc", {}),
        ("lead list search, a rare name", "/leads/?q=Zzyx", {}),
        ("lead list owner=none", "/leads/?owner=none", {}),
        ("lead detail", f"/leads/{lead_pk}/", {}),
        ("lead timeline", f"/leads/{lead_pk}/timeline/", htmx),
        ("new lead form", "/leads/new/", {}),
        ("notifications", "/distribution/notifications/", {}),
        ("notification bell", "/distribution/notifications/bell/", htmx),
        ("sales board", "/sales-board/", {}),
        ("coverage ending", "/coverage/ending/", {}),
        ("deal list", "/coverage/deals/", {}),
        ("deal detail", f"/coverage/deals/{deal_pk}/", {}),
        ("lead coverage (live)", f"/coverage/leads/{lead_pk}/live/", htmx),
        ("appointments (arrivals)", "/appointments/", {}),
        ("schedules", "/schedules/", {}),
    ]
    sales = [
        ("today", "/today/", {}),
        ("today queue (htmx)", "/today/", {**htmx, "HTTP_HX_TARGET": "queue"}),
        *([("today coverage section", coverage_url, htmx)] if coverage_url else []),
        ("today: work a lead", f"/today/leads/{lead_pk}/work/", htmx),
    ]
    managing = [
        ("manager queue", "/distribution/queue/", {}),
        ("distribution board", "/distribution/board/", {}),
        ("distribution board live", "/distribution/board/live/", htmx),
        ("routing rules", "/distribution/rules/", {}),
        ("new routing rule", "/distribution/rules/new/", {}),
        ("new deal form", "/coverage/deals/new/", {}),
        ("coverage policies", "/coverage/policies/", {}),
        ("policy what-if replay", "/coverage/replay/", {}),
        ("calls review", "/calls/review/", {}),
        ("cadence editor", "/follow-up/cadence/", {}),
        ("schedule of one person", f"/schedules/{staff.pk}/", {}),
    ]
    if role == "agent with a backlog":
        return sales[:3]
    if role in ("internet agent", "retail"):
        return sales + common
    if role == "receptionist":
        return common + [("distribution board", "/distribution/board/", {}),
                         ("distribution board live", "/distribution/board/live/", htmx)]
    return common + managing


def waiting_count(staff) -> int:
    """New leads of theirs with no first attempt: the rows of the Today page's first section."""
    from leads.models import Lead, LeadStatus

    return Lead.objects.filter(owner=staff, status=LeadStatus.NEW, duplicate_of__isnull=True,
                               routing__first_attempt_at__isnull=True).count()


def people():
    """The staff the benchmark logs in as. The Today page lists every lead waiting for a first call,
    so its time follows the backlog, as it should; what must not weigh is the history. So "internet
    agent" is the one owning the most leads among those with a working day's queue (at most 100
    waiting), and "agent with a backlog" the one with the most waiting (a weekend of leads nobody
    called: its Today page alone is timed)."""
    from django.db.models import Count

    from org.models import Role, Staff, Store

    store = Store.objects.order_by("pk").first()
    members = Staff.objects.filter(store=store, is_active=True).select_related("user", "store")
    first = lambda role: members.filter(role=role).order_by("pk").first()  # noqa: E731
    by_history = lambda role: list(members.filter(role=role).annotate(n=Count("owned_leads"))  # noqa: E731
                                   .order_by("-n", "pk"))
    agents = [(agent, waiting_count(agent)) for agent in by_history(Role.INTERNET_AGENT)]
    usual = next((agent for agent, waiting in agents if waiting <= 100), agents[-1][0])
    backlog = max(agents, key=lambda pair: pair[1])[0]
    return store, [
        ("internet director", first(Role.INTERNET_DIRECTOR)),
        ("sales manager", first(Role.SALES_MANAGER)),
        ("internet agent", usual),
        ("retail", by_history(Role.RETAIL)[0]),
        ("receptionist", first(Role.RECEPTIONIST)),
        ("agent with a backlog", backlog),
    ]


def measure(repeat: int, only: list[str]) -> dict:
    from django.db import connections
    from django.db.models import Count
    from django.test import Client

    import dealercrm.wsgi  # noqa: F401 - the process gunicorn runs: its garbage collector tuned as there
    from dealcoverage.models import Deal
    from leads.models import ContactEvent, Lead
    from leads.scoping import leads_for

    store, logins = people()
    results = []
    for role, staff in logins:
        client = Client()
        client.force_login(staff.user)
        # A lead the role sees, with a long recent history (the detail pages), and a judged deal.
        recent = list(ContactEvent.objects.filter(store=store, lead__isnull=False).order_by("-occurred_at")
                      .values_list("lead_id", flat=True)[:20_000])
        lead_pk = (leads_for(staff.user).filter(pk__in=recent).annotate(n=Count("contact_events"))
                   .order_by("-n", "-pk").values_list("pk", flat=True).first())
        judged = Deal.objects.filter(store=store, pk__lte=Deal.objects.filter(store=store).order_by("pk")[299].pk)
        deal_pk = (judged.filter(credits__staff=staff).order_by("pk").values_list("pk", flat=True).first()
                   or judged.order_by("pk")[0].pk)  # one the engine judged (not a copy), theirs if they have one
        coverage_url = None
        if role in ("internet agent", "retail", "agent with a backlog"):
            found = re.search(r'hx-get="(/today/coverage/[^"]*)"', client.get("/today/").content.decode())
            coverage_url = found.group(1).replace("&amp;", "&") if found else None
        owned = (Lead.objects.filter(owner=staff).count(), waiting_count(staff), staff.user.username)
        for label, url, headers in pages_for(role, staff, lead_pk, deal_pk, coverage_url):
            if only and label not in only:
                continue
            client.get(url, **headers)  # warm caches and connections
            response, queries = get_counting_queries(client, url, headers)
            if response.status_code != 200:
                results.append((role, owned, label, url, response.status_code, None, None, queries))
                continue
            timings = []
            for _ in range(repeat):
                started = time.perf_counter()
                client.get(url, **headers)
                timings.append(time.perf_counter() - started)
            results.append((role, owned, label, url, 200, percentile(timings, 50) * 1000,
                            percentile(timings, 95) * 1000, queries))
    connections.close_all()
    leads = Lead.objects.filter(store=store).count()
    return {"leads": leads, "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", 20)))
    parser.add_argument("--only", default="", help="comma-separated page labels (as printed): time only those")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    only = [word for word in args.only.split(",") if word]
    env = bench_env(database_for(args.leads))
    if args.one:
        env.update(PRODUCTION)
        django_setup(env)
        logging.getLogger("django.request").setLevel(logging.ERROR)  # a page a role may not open is a row, not a log
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)  # production serves a manifest
        complete_store(lambda message: print(message, file=sys.stderr, flush=True))
        print(json.dumps(measure(args.repeat, only)))
        return
    ensure_generated(env, args.leads)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())  # other work on the machine skews wall times
    out = subprocess.run(
        [sys.executable, __file__, "--one", "--leads", str(args.leads), "--repeat", str(args.repeat), "--only", args.only],
        check=True, stdout=subprocess.PIPE, text=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    print(f"every page of every role on a store with {result['leads']:,} leads (in-process Django client, real "
          f"PostgreSQL, production settings; {args.repeat} warm requests a page; load average {load} on "
          f"{os.cpu_count()} CPUs)")
    over = []
    current = None
    for role, owned, label, _url, status, p50, p95, queries in result["results"]:
        if role != current:
            current = role
            print(f"  {role} {owned[2]} (owns {owned[0]:,} leads, {owned[1]:,} new ones waiting for a first call)")
        if status != 200:
            print(f"    {label:<28} {status} (not this role's page)   {queries} queries")
            continue
        flag = "  OVER" if p95 > TARGET_MS else ""
        print(f"    {label:<28} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   {queries:3d} queries{flag}")
        if p95 > TARGET_MS:
            over.append(f"{role}: {label}")
    print(f"  target: p95 < {TARGET_MS} ms on every page; over: {', '.join(over) if over else 'none'}")


if __name__ == "__main__":
    main()
