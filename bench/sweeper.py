"""One distribution sweeper pass on a store with 100,000 open leads, each with its routing row.

    .venv/bin/python bench/sweeper.py [--leads 100000] [--repeat 20]

Builds (every run, about a minute) a store whose open leads all carry deadline columns, most
of them in the future and a few hundred due: reassignments, response warnings, claim-pool
limits and unrouted leads. Then times distribution.sweeper.sweep(): passes when nothing is
due (the cost every beat tick pays, whatever the table size) and one pass that does the due
work, and prints EXPLAIN (ANALYZE, BUFFERS) of the sweeper's own due-id queries to show the
partial indexes (lead_routing_due, routing_claim_due, routing_warn_due, routing_response_due,
notification_sms_due) that keep them range scans over only what is due.
Target: a pass under 200 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import time

from _common import django_setup, manage, recreate_database, services_env

DATABASE = "dealercrm_bench_sweeper"
BATCH = 5000
DUE = {"reassign": 300, "warn": 200, "claim": 100, "route": 100}
ALL_DAY = {day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def build(total: int, base: dt.datetime) -> dict:
    """The store, its floor and rules, and `total` open leads with routing rows (bulk inserts)."""
    from django.contrib.auth import get_user_model

    from distribution import pools
    from distribution.models import LeadRouting, Notification, NotificationKind, RoutingRule, RoutingState, Strategy
    from leads.models import Customer, IntakeChannel, Lead, LeadAssignment, LeadStatus, SourceType
    from org.models import DealerGroup, Role, Shift, Staff, Store, Team

    rng = random.Random(6)
    group = DealerGroup.objects.create(slug="bench", name="Bench Group")
    store = Store.objects.create(group=group, slug="bench-sweeper", name="Sweeper Motors",
                                 time_zone="America/Chicago", business_hours=ALL_DAY)
    users = get_user_model().objects
    manager = Staff.objects.create(user=users.create(username="bench-manager", first_name="Max", last_name="Manager"),
                                   store=store, role=Role.SALES_MANAGER)
    team = Team.objects.create(store=store, name="Internet", manager=manager)
    agents = [
        Staff.objects.create(user=users.create(username=f"bench-agent{i}", first_name=f"Agent{i}", last_name="Bench"),
                             store=store, role=Role.INTERNET_AGENT, team=team)
        for i in range(10)
    ]
    Shift.objects.bulk_create(
        [Shift(staff=a, weekday=d, starts=dt.time(0), ends=dt.time(23, 59, 59, 999999)) for a in agents for d in range(7)]
    )
    reassign = pools.rule_save(RoutingRule(store=store, name="Third party", strategy=Strategy.ROUND_ROBIN_REASSIGN,
                                           source_type=SourceType.THIRD_PARTY, position=1), teams=[team], staff=[])
    pool = pools.rule_save(RoutingRule(store=store, name="Website pool", strategy=Strategy.CLAIM_POOL, claim_minutes=10,
                                       source_type=SourceType.DEALER_WEBSITE, position=2), teams=[team], staff=[])
    pools.rule_save(RoutingRule(store=store, name="Everything else", strategy=Strategy.ROUND_ROBIN, is_fallback=True),
                    teams=[team], staff=[])

    # Which leads are due: the first few hundred ids of each kind; everything else is in the future.
    kinds = ["reassign"] * DUE["reassign"] + ["warn"] * DUE["warn"] + ["claim"] * DUE["claim"] + ["route"] * DUE["route"]
    kinds += ["pool" if i % 10 == 0 else "owned" for i in range(total - len(kinds))]
    rng.shuffle(kinds)

    def past() -> dt.datetime:
        return base - dt.timedelta(seconds=rng.randint(1, 300))

    def future() -> dt.datetime:
        return base + dt.timedelta(minutes=rng.randint(60, 7 * 24 * 60))

    for start in range(0, total, BATCH):
        chunk = kinds[start:start + BATCH]
        customers = Customer.objects.bulk_create(
            [Customer(store=store, first_name="Bench", last_name=f"Shopper{start + i}") for i in range(len(chunk))]
        )
        leads = []
        for i, (kind, customer) in enumerate(zip(chunk, customers, strict=True)):
            received = base - dt.timedelta(minutes=rng.randint(1, 30 * 24 * 60))
            website = kind in ("pool", "claim")
            leads.append(Lead(
                store=store, customer=customer, provider="Website" if website else "CarGurus",
                source_type=SourceType.DEALER_WEBSITE if website else SourceType.THIRD_PARTY,
                provider_lead_id=f"SW-{start + i}", intake_channel=IntakeChannel.API, received_at=received,
                status=LeadStatus.NEW if kind in ("reassign", "warn", "route") or rng.random() < 0.1 else LeadStatus.CONTACTED,
                owner=None if kind in ("pool", "claim", "route") else agents[(start + i) % len(agents)],
                in_claim_pool=kind in ("pool", "claim"),
                routing_due_at=past() if kind == "route" else received,
                routed_at=None if kind == "route" else received,
            ))
        leads = Lead.objects.bulk_create(leads)
        routings, history = [], []
        for lead, kind in zip(leads, chunk, strict=True):
            if kind == "route":
                continue
            routing = LeadRouting(lead=lead, store=store, queued_at=lead.received_at, clock_started_at=lead.received_at,
                                  breach_at=lead.received_at + dt.timedelta(minutes=20))
            if kind in ("pool", "claim"):
                routing.rule, routing.rule_name, routing.strategy = pool, pool.name, pool.strategy
                routing.state = RoutingState.POOL
                routing.claim_due_at = past() if kind == "claim" else future()
            else:
                routing.rule, routing.rule_name, routing.strategy = reassign, reassign.name, reassign.strategy
                routing.state, routing.assigned_at = RoutingState.ASSIGNED, lead.received_at
                due = past() if kind == "reassign" else future()
                routing.response_due_at = due
                routing.warn_at = past() if kind == "warn" else (None if kind == "reassign" else due - dt.timedelta(minutes=5))
            routings.append(routing)
            history.append(LeadAssignment(lead=lead, to_staff_id=lead.owner_id, reason="Next in line.",
                                          rule_name=routing.rule_name, strategy=routing.strategy, assigned_at=lead.received_at))
        LeadRouting.objects.bulk_create(routings)
        LeadAssignment.objects.bulk_create(history)
        # The owners' read "new lead" notifications: the table the text sweeper scans is not empty.
        Notification.objects.bulk_create([
            Notification(store=store, staff_id=lead.owner_id, lead=lead, kind=NotificationKind.NEW_LEAD,
                         text="New lead.", created_at=lead.received_at, read_at=lead.received_at)
            for lead in leads if lead.owner_id is not None
        ])
        print(f"  {start + len(chunk):>7,} leads", end="\r", flush=True)
    print()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # what autovacuum keeps up in production
    return {"store": store}


def capture(run):
    """Run `run()`, returning its result and the (sql, params) of every query it made."""
    from django.db import connection

    queries: list[tuple[str, tuple]] = []

    def record(execute, sql, params, many, context):
        queries.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        result = run()
    return result, queries


def explain(sql: str, params: tuple) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=int(os.environ.get("BENCH_LEADS", "100000")))
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    env = services_env(DATABASE)
    recreate_database(env)
    manage(env, "migrate", "--noinput", "-v", "0")
    django_setup(env)
    from django.db import connection
    from django.utils import timezone

    from distribution import sweeper
    from distribution.models import LeadRouting
    from leads.models import Lead

    base = timezone.now()
    print(f"building {args.leads:,} open leads with routing rows in {DATABASE} ...", flush=True)
    started = time.perf_counter()
    build(args.leads, base)
    print(f"  built in {time.perf_counter() - started:.0f} s")

    # Nothing due: ten minutes before the earliest due deadline.
    quiet_now = base - dt.timedelta(minutes=10)
    connection.ensure_connection()
    cold_started = time.perf_counter()
    quiet_counts, quiet_queries = capture(lambda: sweeper.sweep(now=quiet_now))
    cold_ms = (time.perf_counter() - cold_started) * 1000
    assert not any(quiet_counts.values()), quiet_counts
    quiet_ms = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        sweeper.sweep(now=quiet_now)
        quiet_ms.append((time.perf_counter() - t0) * 1000)

    # The due-id queries as the sweeper ran them, explained at the instant the due pass uses.
    due_now = timezone.now()
    shift = due_now - quiet_now
    plans = []
    for sql, params in quiet_queries:
        moved = tuple(p + shift if isinstance(p, dt.datetime) else p for p in params)
        plans.append((sql, explain(sql, moved)))

    due_before = {
        "unrouted leads due (lead_routing_due)": Lead.objects.filter(routed_at__isnull=True, routing_due_at__lte=due_now).count(),
        "claim limits due (routing_claim_due)": LeadRouting.objects.filter(claim_due_at__lte=due_now).count(),
        "warnings due (routing_warn_due)": LeadRouting.objects.filter(warn_at__lte=due_now).count(),
        "reassignments due (routing_response_due)": LeadRouting.objects.filter(response_due_at__lte=due_now).count(),
    }
    t0 = time.perf_counter()
    due_counts, due_queries = capture(lambda: sweeper.sweep(now=due_now))
    due_ms = (time.perf_counter() - t0) * 1000
    handled = sum(due_counts.values())
    t0 = time.perf_counter()
    again = sweeper.sweep(now=due_now)
    again_ms = (time.perf_counter() - t0) * 1000

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c WHERE c.relname = ANY(%s) ORDER BY c.relname",
            [["lead_routing_due", "routing_claim_due", "routing_warn_due", "routing_response_due", "notification_sms_due"]],
        )
        index_sizes = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM leads_lead WHERE status IN ('new','contacted','appointment_set','shown')")
        open_leads = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM distribution_leadrouting")
        routing_rows = cursor.fetchone()[0]

    print()
    print(f"sweeper benchmark: {open_leads:,} open leads, {routing_rows:,} routing rows (PostgreSQL, in-process)")
    print("  partial index sizes: " + ", ".join(f"{name} {size / 1024:.0f} kB" for name, size in index_sizes))
    print(f"  pass with nothing due   first {cold_ms:.1f} ms; then over {args.repeat} passes median "
          f"{statistics.median(quiet_ms):.1f} ms, max {max(quiet_ms):.1f} ms; {len(quiet_queries)} queries   (target < 200 ms)")
    print("  due before the due pass: " + "; ".join(f"{label} {n}" for label, n in due_before.items()))
    print(f"  pass with due work      {due_ms:.1f} ms, {len(due_queries)} queries, {handled} handled {due_counts}")
    print(f"                          = {due_ms / max(handled, 1):.2f} ms per handled lead")
    print(f"  the same pass again     {again_ms:.1f} ms, {again} (everything done once)")
    print()
    print("EXPLAIN (ANALYZE, BUFFERS) of the sweeper's due-id queries, at the due pass's instant:")
    for sql, plan in plans:
        print()
        print("  " + sql)
        print("\n".join("    " + line for line in plan.splitlines()))


if __name__ == "__main__":
    main()
