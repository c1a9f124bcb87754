"""Lead accepted -> lead assigned -> owner notified, under a steady stream of leads: the JSON
intake API served by gunicorn, a real Celery worker and beat, PostgreSQL and Redis, with
production settings.

    .venv/bin/python bench/distribution.py [--seconds 60] [--rate 50] [--workers 3] [--concurrency 2]
    BENCH_SECONDS=5 .venv/bin/python bench/distribution.py          # a quick smoke run
    (also BENCH_RATE, BENCH_WEB_WORKERS, BENCH_CELERY_CONCURRENCY)
    .venv/bin/python bench/distribution.py --baseline ../wt-base    # the same run of another tree, then this one

--baseline DIR runs the benchmark twice with the same parameters, back to back: first on the code
in DIR (a worktree of an earlier commit, e.g. `git worktree add ../wt-base <commit>` with the same
.venv linked in; the schema must be the same), then on this checkout, and prints both figures and
their ratios. On a shared machine the CPU figures move with the load: compare runs made together.

A paced sender (a thread pool of urllib clients) posts new customers' leads at --rate leads/s
for --seconds; a round robin rule hands them to eight agents on shift. For every lead it
reports the time from Lead.received_at (stamped when the intake accepted it) to the owner's
"new lead" notification (Notification.created_at, written in the transaction that assigns it),
p50/p99, and the leads left unassigned.
Target: p99 under 1 s, no lead left unassigned. It also counts the SQL statements of one intake
post and of routing one lead (run in this process after the servers stopped).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import (
    PRODUCTION,
    cpu_of,
    django_setup,
    free_port,
    manage,
    percentile,
    post_json,
    recreate_database,
    services_env,
    start_celery,
    start_gunicorn,
)

DATABASE = "dealercrm_bench_distribution"
QUEUE = "bench-distribution"
AGENTS = 8


def prepare(env: dict[str, str]) -> tuple[str, str]:
    recreate_database(env)
    manage(env, "migrate", "--noinput", "-v", "0")
    django_setup(env)
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from dealercrm.celery import app as celery_app
    from distribution import pools
    from distribution.models import RoutingRule, Strategy
    from org.models import DealerGroup, Role, Shift, Staff, Store, Team

    group = DealerGroup.objects.create(slug="bench", name="Bench Group")
    # Open around the clock and everyone on shift, so the figures do not depend on the hour.
    all_day = {day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    store = Store.objects.create(group=group, slug="bench-motors", name="Bench Motors", business_hours=all_day)
    users = get_user_model().objects
    integration = Staff.objects.create(user=users.create(username="bench-integration"), store=store, role=Role.ADMIN)
    manager = Staff.objects.create(user=users.create(username="bench-manager", first_name="Max", last_name="Manager"),
                                   store=store, role=Role.SALES_MANAGER)
    team = Team.objects.create(store=store, name="Internet", manager=manager)
    agents = [
        Staff.objects.create(user=users.create(username=f"bench-agent{i}", first_name=f"Agent{i}", last_name="Bench"),
                             store=store, role=Role.INTERNET_AGENT, team=team)
        for i in range(AGENTS)
    ]
    Shift.objects.bulk_create(
        [Shift(staff=a, weekday=d, starts=dt.time(0), ends=dt.time(23, 59, 59, 999999)) for a in agents for d in range(7)]
    )
    pools.rule_save(RoutingRule(store=store, name="Everything", strategy=Strategy.ROUND_ROBIN, is_fallback=True),
                    teams=[team], staff=[])
    token, _ = Token.objects.get_or_create(user=integration.user)
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(QUEUE)
    return store.slug, token.key


class Sender:
    """Posts lead n as a new customer's JSON lead; records the HTTP status and latency."""

    def __init__(self, port: int, token: str, store: str):
        self.url = f"http://127.0.0.1:{port}/api/v1/leads/"
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.store = store
        self.lock = threading.Lock()
        self.results: list[tuple[int, float]] = []

    def post(self, prefix: str, n: int) -> None:
        body = json.dumps({
            "store": self.store, "source_type": "third_party", "provider": "CarGurus",
            "provider_lead_id": f"{prefix}-{n}",
            "customer": {"first_name": "Bench", "last_name": f"Shopper{n}", "phone": f"+1773{2000000 + n:07d}",
                         "email": f"{prefix.lower()}{n}@example.com"},
            "vehicles": [{"condition": "used", "year": 2020, "make": "Toyota", "model": "Camry"}],
        }).encode()
        status, seconds = post_json(self.url, body, self.headers)
        with self.lock:
            self.results.append((status, seconds))

    def paced(self, prefix: str, rate: float, seconds: float, threads: int, first: int = 0) -> float:
        """Send rate*seconds leads, lead i at start + i/rate; returns the wall time it took."""
        total = round(rate * seconds)
        with ThreadPoolExecutor(max_workers=threads) as pool:
            start = time.perf_counter()
            for i in range(total):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(self.post, prefix, first + i)
        return time.perf_counter() - start


def cpu_seconds(processes: list[subprocess.Popen]) -> dict[str, float]:
    """CPU time (user + system) so far of the web server, the worker and beat (each with its
    children) and of this sender."""
    import psutil

    def tree(pid: int) -> float:
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        return cpu_of(procs)

    me = psutil.Process()
    names = ["web (gunicorn)", "worker (celery)", "beat"]
    return {**{name: tree(proc.pid) for name, proc in zip(names, processes, strict=True)},
            "sender (this script)": me.cpu_times().user + me.cpu_times().system}


def machine_busy() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine so far, monotonic time): every process, PostgreSQL included."""
    import psutil

    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0), time.monotonic()


def settled(prefix: str, expected: int, timeout: float) -> float:
    """Wait until every lead of `prefix` has an owner and a new-lead notification (or timeout)."""
    from distribution.models import Notification, NotificationKind
    from leads.models import Lead

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        leads = Lead.objects.filter(provider_lead_id__startswith=f"{prefix}-")
        notified = Notification.objects.filter(kind=NotificationKind.NEW_LEAD, lead__provider_lead_id__startswith=f"{prefix}-")
        if leads.filter(owner__isnull=False).count() >= expected and notified.count() >= expected:
            break
        time.sleep(0.5)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", "60")))
    parser.add_argument("--rate", type=float, default=float(os.environ.get("BENCH_RATE", "50")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WEB_WORKERS", "3")))
    parser.add_argument("--concurrency", type=int, default=int(os.environ.get("BENCH_CELERY_CONCURRENCY", "2")))
    parser.add_argument("--threads", type=int, default=16, help="sender threads")
    parser.add_argument("--baseline", metavar="DIR", help="run on the code in DIR first, then on this checkout, and compare")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    args = parser.parse_args()
    if args.baseline:
        compare(args)
        return
    env = {**services_env(DATABASE), "CELERY_QUEUE": QUEUE}
    store, token = prepare(env)
    workdir = Path(tempfile.mkdtemp(prefix="bench-distribution-"))
    port = free_port()
    server = start_gunicorn(env, port, args.workers)
    processes = [server]
    try:
        processes += start_celery({**env, **PRODUCTION}, workdir, args.concurrency)
        sender = Sender(port, token, store)
        sender.paced("WARM", rate=20, seconds=1, threads=4)  # imports, connections, caches; not counted
        settled("WARM", 20, timeout=30)
        sender.results.clear()
        load_before = os.getloadavg()[0]
        cpu_before = cpu_seconds(processes)
        busy_before = machine_busy()
        sent_in = sender.paced("BENCH", rate=args.rate, seconds=args.seconds, threads=args.threads, first=100000)
        drained_in = settled("BENCH", round(args.rate * args.seconds), timeout=max(120, args.seconds * 2))
        cpu_after = cpu_seconds(processes)
        busy_after = machine_busy()
        busy = (busy_after[0] - busy_before[0]) / ((busy_after[1] - busy_before[1]) * (os.cpu_count() or 1))
        cpu = {name: cpu_after[name] - cpu_before[name] for name in cpu_before}
        log = (workdir / "worker.log").read_text().splitlines()
        sweeps = sum(1 for line in log if "sweep_task[" in line and " succeeded " in line)
    finally:
        for proc in reversed(processes):
            proc.terminate()
        for proc in processes:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    figures = report(args, sender, sent_in, drained_in, sweeps, workdir, cpu, load_before, busy)
    figures.update(queries_per_lead(token, store))
    print(f"  SQL statements                       intake post {figures['intake_queries']}, routing {figures['routing_queries']}"
          f"   (one lead, counted in this process)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


def queries_per_lead(token: str, store: str) -> dict[str, int]:
    """The SQL statements of one intake post (token authentication included) and of routing
    that lead, as the code under test runs them."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from distribution.services import lead_route

    body = json.dumps({
        "store": store, "source_type": "third_party", "provider": "CarGurus", "provider_lead_id": "COUNT-1",
        "customer": {"first_name": "Bench", "last_name": "Counted", "phone": "+17735550199", "email": "counted@example.com"},
        "vehicles": [{"condition": "used", "year": 2020, "make": "Toyota", "model": "Camry"}],
    })
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    with CaptureQueriesContext(connection) as intake:
        response = client.post("/api/v1/leads/", body, content_type="application/json")
    if response.status_code != 201:
        raise RuntimeError(f"counting queries: the intake answered {response.status_code}: {response.content[:300]!r}")
    with CaptureQueriesContext(connection) as routing:
        routed = lead_route(lead_id=response.json()["id"])
    if not routed:
        raise RuntimeError("counting queries: the lead was not routed")
    return {"intake_queries": len(intake.captured_queries), "routing_queries": len(routing.captured_queries)}


FIGURES = [  # (key, label, unit); lower is better for all
    ("web_cpu_ms", "web CPU per lead", "ms"),
    ("worker_cpu_ms", "worker CPU per lead", "ms"),
    ("cpu_ms", "web + worker CPU per lead", "ms"),
    ("intake_queries", "SQL statements per intake post", ""),
    ("routing_queries", "SQL statements per routing", ""),
    ("assigned_p50_ms", "accepted -> assigned p50", "ms"),
    ("assigned_p99_ms", "accepted -> assigned p99", "ms"),
    ("intake_p99_ms", "intake HTTP p99", "ms"),
    ("unassigned", "left unassigned", ""),
]


def compare(args) -> None:
    """The benchmark on the baseline tree, then on this one, same parameters; then both side by side."""
    baseline = Path(args.baseline).resolve()
    if not (baseline / "manage.py").exists():
        raise SystemExit(f"--baseline {baseline}: not a DealerCRM checkout (no manage.py)")
    here = Path(__file__).resolve().parent.parent
    passed = ["--seconds", str(args.seconds), "--rate", str(args.rate), "--workers", str(args.workers),
              "--concurrency", str(args.concurrency), "--threads", str(args.threads)]
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        for name, code in (("baseline", baseline), ("this checkout", here)):
            out = Path(tmp) / "figures.json"
            print(f"=== {name}: {code}", flush=True)
            # cwd too: some imports (Celery's) put the working directory first on sys.path.
            subprocess.run([sys.executable, __file__, *passed, "--json", str(out)], env={**os.environ, "BENCH_CODE": str(code)},
                           cwd=code, check=True)
            results[name] = json.loads(out.read_text())
    before, after = results["baseline"], results["this checkout"]
    print(f"\n=== comparison, one after the other with the same parameters ({args.rate:g} leads/s for {args.seconds:g} s)")
    print(f"  {'':34} {'baseline':>10} {'this':>10} {'ratio':>7}")
    for key, label, unit in FIGURES:
        ratio = f"{after[key] / before[key]:.2f}" if before[key] else "-"
        print(f"  {label:34} {before[key]:>8.1f}{unit:2} {after[key]:>8.1f}{unit:2} {ratio:>7}")


def report(args, sender: Sender, sent_in: float, drained_in: float, sweeps: int, workdir: Path, cpu: dict[str, float],
           load_before: float, busy: float) -> dict[str, float]:
    from django.db.models import Count, F

    from distribution.models import Notification, NotificationKind
    from leads.models import Lead

    leads = Lead.objects.filter(provider_lead_id__startswith="BENCH-")
    accepted = sum(1 for status, _ in sender.results if status in (200, 201))
    failed = len(sender.results) - accepted
    notes = Notification.objects.filter(
        kind=NotificationKind.NEW_LEAD, lead__provider_lead_id__startswith="BENCH-", staff_id=F("lead__owner_id")
    ).values_list("lead_id", "created_at", "lead__received_at")
    notified = {lead_id: (created - received).total_seconds() for lead_id, created, received in notes}
    # routed_at is the instant lead_route took the lead (a worker had it, row locked); the owner
    # and the notification are written later in that transaction, after the rule's rotation lock.
    picked = {
        lead_id: (routed - received).total_seconds()
        for lead_id, routed, received in leads.filter(routed_at__isnull=False).values_list("pk", "routed_at", "received_at")
    }
    unassigned = leads.filter(owner__isnull=True).count()
    per_agent = sorted(leads.values("owner_id").annotate(n=Count("pk")).values_list("n", flat=True))
    http = [latency for status, latency in sender.results if status in (200, 201)]
    total = round(args.rate * args.seconds)
    note_ms = [s * 1000 for s in notified.values()]
    picked_ms = [s * 1000 for s in picked.values()]
    print(f"distribution benchmark: {total} leads at {args.rate:g} leads/s for {args.seconds:g} s (JSON intake API), "
          f"{args.workers} gunicorn workers, Celery worker (prefork, concurrency {args.concurrency}) + beat, "
          f"round robin over {AGENTS} agents on shift")
    print(f"  sent                                 {len(sender.results)} in {sent_in:.1f} s = {len(sender.results) / sent_in:.1f} leads/s "
          f"({accepted} accepted, {failed} failed); intake HTTP p50 {percentile(http, 50) * 1000:.0f} ms, "
          f"p99 {percentile(http, 99) * 1000:.0f} ms")
    print(f"  stored                               {leads.count()} leads; " + (
        f"all assigned and notified {drained_in:.1f} s after the last was sent" if not unassigned and len(notified) == leads.count()
        else f"NOT all assigned and notified {drained_in:.0f} s after the last was sent"))
    print(f"  accepted -> a worker has it          p50 {percentile(picked_ms, 50):.0f} ms   p99 {percentile(picked_ms, 99):.0f} ms   "
          f"max {max(picked_ms, default=float('nan')):.0f} ms")
    print(f"  accepted -> assigned, owner notified p50 {percentile(note_ms, 50):.0f} ms   p99 {percentile(note_ms, 99):.0f} ms   "
          f"max {max(note_ms, default=float('nan')):.0f} ms   (target p99 < 1000 ms)")
    print(f"  owners notified                      {len(notified)} of {leads.count()}")
    print(f"  left unassigned                      {unassigned}   (target 0)")
    print(f"  leads per agent                      {per_agent[0] if per_agent else 0} .. {per_agent[-1] if per_agent else 0}")
    print("  CPU per lead                         " + ", ".join(f"{name} {seconds / max(len(notified), 1) * 1000:.1f} ms"
                                                                  for name, seconds in cpu.items()))
    print(f"  machine                              {os.cpu_count()} CPUs, load average {load_before:.2f} before the run, "
          f"{busy:.0%} busy while sending and draining (every process, PostgreSQL and anything else included)")
    print(f"  beat sweeps run                      {sweeps}  (worker and beat logs in {workdir})")
    per_lead = {name: seconds / max(len(notified), 1) * 1000 for name, seconds in cpu.items()}
    return {
        "web_cpu_ms": per_lead["web (gunicorn)"], "worker_cpu_ms": per_lead["worker (celery)"],
        "cpu_ms": per_lead["web (gunicorn)"] + per_lead["worker (celery)"],
        "assigned_p50_ms": percentile(note_ms, 50), "assigned_p99_ms": percentile(note_ms, 99),
        "intake_p99_ms": percentile(http, 99) * 1000, "unassigned": unassigned, "failed": failed, "busy": busy,
    }


if __name__ == "__main__":
    main()
