"""The agent's Today queue on the benchmark data set: an internet agent with 150 active customers
(open leads) and their follow-up tasks, coverage and appointments. Measures GET /today/ (the full
page), its htmx refresh (the queue alone) and the coverage section the page loads right after it
shows (it judges every event of the book): p50/p95 and the number of queries.

    .venv/bin/python bench/agent_queue.py [--stores 50] [--repeat 60] [--customers 150]
    BENCH_STORES=3 BENCH_REPEAT=20 .venv/bin/python bench/agent_queue.py      # a quick smoke run

The data lives in its own database (dealercrm_bench_agent_queue_<stores>), built on first use with
`manage.py demo_store --large --stores <stores>`. The busiest internet agent of the first store is
then topped up, with bulk inserts, to exactly --customers open leads: new ones with running
response clocks and their cadence day, contacted ones with a day's call, text and email due
(a third overdue) and a verified two-way call 30-70 h ago (so some coverage ends within 24 h),
and a few appointments today. Requests go through Django's test client in-process with
production settings (debug off), as bench/lead_list.py does.
Target: p95 under 200 ms; the query count does not grow with the rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time

import psycopg
from _common import django_setup, manage, percentile, services_env

PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdefghij",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
}


def database_for(stores: int) -> str:
    return f"dealercrm_bench_agent_queue_{stores}"


def ensure_database(env: dict[str, str], stores: int) -> None:
    url = env["DATABASE_URL"]
    try:
        with psycopg.connect(url) as conn:
            built = conn.execute("SELECT count(*) FROM org_store").fetchone()[0]
    except psycopg.Error:
        built = 0
    if built >= stores:
        return
    print(f"building the benchmark data set with {stores} stores in {url.rsplit('/', 1)[-1]} (one time) ...", flush=True)
    started = time.monotonic()
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "demo_store", "--large", "--stores", str(stores))
    print(f"built in {time.monotonic() - started:.0f} s", flush=True)


def top_up(customers: int):
    """The busiest internet agent of the first store, with exactly `customers` open leads."""
    from django.db.models import Count, Exists, OuterRef, Q
    from django.utils import timezone

    from distribution.models import LeadRouting, RoutingState
    from leads.models import (
        OPEN_STATUSES,
        Appointment,
        Channel,
        ContactEvent,
        Customer,
        CustomerEmail,
        CustomerPhone,
        Direction,
        EvidenceLevel,
        IntakeChannel,
        Lead,
        LeadStatus,
        LeadVehicle,
        Outcome,
        SourceType,
        Task,
        TaskKind,
    )
    from org.models import Role, Staff, Store

    store = Store.objects.order_by("pk").first()
    agents = (
        Staff.objects.filter(store=store, role=Role.INTERNET_AGENT, is_active=True)
        .annotate(open_leads=Count("owned_leads", filter=Q(owned_leads__status__in=OPEN_STATUSES)))
        .select_related("user", "store")
    )
    fitting = [a for a in agents if a.open_leads <= customers]
    agent = max(fitting, key=lambda a: a.open_leads) if fitting else min(agents, key=lambda a: a.open_leads)
    missing = customers - agent.open_leads
    now = timezone.now()
    tz = store.tz
    today = now.astimezone(tz).date()
    if missing > 0:
        made = Customer.objects.bulk_create([
            Customer(store=store, first_name=f"Queue{i}", last_name=f"Bench{agent.pk}") for i in range(missing)
        ])
        CustomerPhone.objects.bulk_create([
            CustomerPhone(store=store, customer=c, number=f"+1{200 + agent.pk % 700}{9000000 + c.pk % 999999:07d}")
            for c in made
        ], ignore_conflicts=True)
        CustomerEmail.objects.bulk_create([
            CustomerEmail(store=store, customer=c, email=f"queue{c.pk}@bench.example") for c in made
        ])
        statuses = []
        for i in range(missing):
            statuses.append(LeadStatus.NEW if i % 30 == 0 else LeadStatus.APPOINTMENT_SET if i % 25 == 1 else LeadStatus.CONTACTED)
        leads = Lead.objects.bulk_create([
            Lead(store=store, customer=c, owner=agent, source_type=SourceType.THIRD_PARTY, provider="Bench queue",
                 provider_lead_id=f"Q-{agent.pk}-{c.pk}", intake_channel=IntakeChannel.API, status=status,
                 received_at=now - (dt.timedelta(minutes=8 + i) if status == LeadStatus.NEW else dt.timedelta(days=1 + i % 5)),
                 routed_at=now)
            for i, (c, status) in enumerate(zip(made, statuses, strict=True))
        ])
        LeadVehicle.objects.bulk_create([
            LeadVehicle(lead=lead, condition="new", year=2025, make="Toyota", model="RAV4 Hybrid XLE") for lead in leads
        ])
        LeadRouting.objects.bulk_create([
            LeadRouting(lead=lead, store=store, state=RoutingState.ASSIGNED, rule_name="Internet", strategy="round_robin",
                        assigned_at=lead.received_at, clock_started_at=lead.received_at,
                        breach_at=lead.received_at + dt.timedelta(minutes=store.response_limit_minutes),
                        first_attempt_at=None if lead.status == LeadStatus.NEW else lead.received_at + dt.timedelta(minutes=5))
            for lead in leads
        ])
        tasks = []
        for i, lead in enumerate(leads):
            due = now - dt.timedelta(hours=2) if i % 3 == 0 else now + dt.timedelta(minutes=30)
            for channel in (Channel.CALL, Channel.TEXT, Channel.EMAIL):
                tasks.append(Task(store=store, customer_id=lead.customer_id, lead=lead, staff=agent, kind=TaskKind.CADENCE,
                                  channel=channel, step_day=1, due_at=due, reason=f"{channel} · day 2 of the new-lead cadence"))
        Task.objects.bulk_create(tasks)
        ContactEvent.objects.bulk_create([
            ContactEvent(store=store, customer_id=lead.customer_id, lead=lead, staff=agent, channel=Channel.CALL,
                         direction=Direction.OUTBOUND, outcome=Outcome.CONNECTED, talk_seconds=240, answered_by_person=True,
                         evidence_level=EvidenceLevel.VERIFIED, occurred_at=now - dt.timedelta(hours=30 + i % 40),
                         recorded_at=now, call_sid=f"CA{lead.pk:032d}")
            for i, lead in enumerate(leads) if lead.status != LeadStatus.NEW
        ])
        Appointment.objects.bulk_create([
            Appointment(store=store, lead=lead, customer_id=lead.customer_id, staff=agent,
                        starts_at=dt.datetime.combine(today, dt.time(10 + i % 8, 30), tzinfo=tz), note="Test drive")
            for i, lead in enumerate(leads) if lead.status == LeadStatus.APPOINTMENT_SET
        ])
    # The large data set has history but no follow-up plan: every open lead without an open task
    # gets one as the follow-up module would (a third a cadence day overdue, a third a keep-in-touch
    # task due today, a third due tomorrow), and the store the seeds' coverage policy.
    open_task = Task.objects.filter(lead_id=OuterRef("pk"), completed_at__isnull=True, canceled_at__isnull=True)
    bare = list(Lead.objects.filter(owner=agent, status__in=OPEN_STATUSES).exclude(Exists(open_task)).order_by("pk"))
    planned = []
    for i, lead in enumerate(bare):
        if i % 3 == 0:
            planned += [Task(store=store, customer_id=lead.customer_id, lead=lead, staff=agent, kind=TaskKind.CADENCE,
                             channel=channel, step_day=2, due_at=now - dt.timedelta(hours=2, minutes=i % 50),
                             reason=f"{channel} · day 3 of the new-lead cadence")
                        for channel in (Channel.CALL, Channel.TEXT, Channel.EMAIL)]
        else:
            due = now + dt.timedelta(minutes=10 + i) if i % 3 == 1 else now + dt.timedelta(days=1)
            planned.append(Task(store=store, customer_id=lead.customer_id, lead=lead, staff=agent,
                                kind=TaskKind.KEEP_IN_TOUCH, channel="", due_at=due,
                                reason="Keep in touch: stay inside your coverage window."))
    Task.objects.bulk_create(planned)
    from dealcoverage.presets import preset
    from dealcoverage.selectors import policies_in_force
    from dealcoverage.services import POLICY_FIELDS, policy_version_create

    if policies_in_force(store, now).get(Role.INTERNET_AGENT) is None:
        params = preset("internet-72h").to_dict()
        policy_version_create(store=store, role=Role.INTERNET_AGENT, effective_from=now - dt.timedelta(days=365),
                              created_by=None, note="bench", **{k: params[k] for k in POLICY_FIELDS})
    open_leads = Lead.objects.filter(owner=agent, status__in=OPEN_STATUSES).count()
    open_tasks = Task.objects.filter(staff=agent, completed_at__isnull=True, canceled_at__isnull=True).count()
    return agent, open_leads, open_tasks


def measure(customers: int, repeat: int) -> dict:
    from django.db import connection, connections
    from django.test import Client

    agent, open_leads, open_tasks = top_up(customers)
    client = Client()
    client.force_login(agent.user)
    page = client.get("/today/").content.decode()
    coverage_url = re.search(r'hx-get="(/today/coverage/[^"]*)"', page).group(1).replace("&amp;", "&")
    kinds = [
        ("GET /today/ (full page)", "/today/", {}),
        ("htmx refresh of the queue", "/today/", {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "queue"}),
        ("coverage section (loads next)", coverage_url, {"HTTP_HX_REQUEST": "true"}),
    ]
    rows = []
    sections = {}
    for label, url, headers in kinds:
        client.get(url, **headers)  # warm caches and connections
        queries: list[str] = []

        def count(execute, sql, params, many, context, log=queries):
            log.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = client.get(url, **headers)
        assert response.status_code == 200, (label, response.status_code)
        html = response.content.decode()
        for name in ("new", "task", "cov", "appt"):
            sections[name] = max(sections.get(name, 0), html.count(f'id="row-{name}-'))
        sections["flagged"] = max(sections.get("flagged", 0), html.count('hx-swap-oob="true"><span class="cov-flag"'))
        timings, cpu = [], []
        for _ in range(repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            client.get(url, **headers)
            timings.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        rows.append((label, percentile(timings, 50) * 1000, percentile(timings, 95) * 1000, len(queries), len(html),
                     percentile(cpu, 50) * 1000))
    connections.close_all()
    return {"agent": agent.user.username, "open_leads": open_leads, "open_tasks": open_tasks, "rows": sections,
            "results": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=int(os.environ.get("BENCH_STORES", 50)))
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", 60)))
    parser.add_argument("--customers", type=int, default=150)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    env = services_env(database_for(args.stores))
    if args.one:
        env.update(PRODUCTION)
        django_setup(env)
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)  # production serves a manifest
        print(json.dumps(measure(args.customers, args.repeat)))
        return
    ensure_database(env, args.stores)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())  # other work on the machine skews wall times
    out = subprocess.run(
        [sys.executable, __file__, "--one", "--stores", str(args.stores), "--repeat", str(args.repeat),
         "--customers", str(args.customers)],
        check=True, capture_output=True, text=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    rows = result["rows"]
    print(f"agent queue benchmark ({args.stores}-store data set; in-process Django client, production settings, "
          f"{args.repeat} requests each; load average {load} on {os.cpu_count()} CPUs)")
    print(f"  agent {result['agent']}: {result['open_leads']} open leads, {result['open_tasks']} open tasks; "
          f"rows: {rows['new']} new, {rows['task']} follow-ups, {rows['cov']} coverage ending (and {rows['flagged']} "
          f"flagged on the rows above), {rows['appt']} appointments")
    for label, p50, p95, queries, size, cpu in result["results"]:
        print(f"    {label:<30} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   {queries} queries   {size / 1024:.0f} KiB   "
              f"(Python CPU p50 {cpu:.0f} ms)")
    print("  target: p95 < 200 ms; a query count independent of the number of rows (tests/today/test_today.py)")
    print("  (Python CPU: the Django process's own time; wall time adds PostgreSQL and Redis, and waiting for a CPU)")


if __name__ == "__main__":
    main()
