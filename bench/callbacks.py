"""Twilio status callbacks: signed parent-leg callbacks (the voice status webhook of click-to-call)
against the app served by gunicorn on PostgreSQL, with production settings. 10 % of the
callbacks are sent twice at the same moment on two connections, as Twilio's retries and
overlapping deliveries do.

    .venv/bin/python bench/callbacks.py [--seconds 30] [--connections 8] [--workers 3]   (needs wrk)

Each call gets initiated, ringing, in-progress, completed (1 call in 10: initiated, ringing,
no-answer: the agent's phone was not answered, which settles the call with one event). The
callbacks are signed beforehand (X-Twilio-Signature over PUBLIC_BASE_URL + path and every
parameter) and replayed by wrk. Afterwards the database must hold exactly one WebhookReceipt
per (CallSid, status) that was sent, and at most one settled event per call.

Prints sustained callbacks/s, p50/p99 latency and the checks.
Target (2 cores): >= 300 callbacks/s sustained, p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from _common import django_setup, free_port, manage, services_env, start_gunicorn, worker_rss_mb

DATABASE = "dealercrm_bench_callbacks"
# start_gunicorn's secret key: the sandbox signing token derives from it, so the signatures
# made here must use the same one.
SERVER_SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdefghij"
DUPLICATE_SHARE = 0.10
CALLS_IN_FLIGHT = 16  # calls whose callbacks interleave in one thread's sequence
AGENT_DESK = "+16155550100"
DEALER_LINE = "+16155550199"


def prepare(env: dict[str, str], calls: int) -> list[str]:
    """A fresh database with one store, one agent, `calls` click-to-calls just placed (each with
    its attempt event), as call_start leaves them."""
    import psycopg

    with psycopg.connect(env["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    manage(env, "migrate", "--noinput", "-v", "0")
    django_setup(env)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from leads.models import Channel, ContactEvent, Customer, CustomerPhone, EvidenceLevel, Lead, Outcome
    from org.models import DealerGroup, Role, Staff, Store
    from telephony.models import Call, DealerNumber, NumberPurpose

    group = DealerGroup.objects.create(slug="bench", name="Bench Group")
    store = Store.objects.create(slug="bench-motors", name="Bench Motors", group=group)
    user = get_user_model().objects.create(username="bench-agent")
    agent = Staff.objects.create(user=user, store=store, role=Role.INTERNET_AGENT, desk_phone=AGENT_DESK)
    line = DealerNumber.objects.create(store=store, number=DEALER_LINE, purpose=NumberPurpose.MAIN)
    customers = Customer.objects.bulk_create(
        [Customer(store=store, first_name="Bench", last_name=f"Customer{i}") for i in range(calls)]
    )
    CustomerPhone.objects.bulk_create(
        [CustomerPhone(store=store, customer=c, number=f"+1615556{i:04d}") for i, c in enumerate(customers)]
    )
    now = timezone.now()
    leads = Lead.objects.bulk_create(
        [Lead(store=store, customer=c, source_type="third_party", intake_channel="api", owner=agent, routed_at=now)
         for c in customers]
    )
    sids = ["CA" + secrets.token_hex(16) for _ in range(calls)]
    Call.objects.bulk_create([
        Call(store=store, call_sid=sid, direction="outbound", staff=agent, customer=lead.customer, lead=lead,
             dealer_number=line, customer_number=f"+1615556{i:04d}", agent_number=AGENT_DESK, created_at=now)
        for i, (sid, lead) in enumerate(zip(sids, leads, strict=True))
    ])
    ContactEvent.objects.bulk_create([
        ContactEvent(store=store, customer=lead.customer, lead=lead, staff=agent, channel=Channel.CALL,
                     direction="outbound", outcome=Outcome.ATTEMPT, occurred_at=now,
                     evidence_level=EvidenceLevel.VERIFIED, call_sid=sid, body="Calling (bench).")
        for sid, lead in zip(sids, leads, strict=True)
    ])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return sids


def callback_params(call_sid: str, status: str, sequence: int) -> dict[str, str]:
    from telephony.twilio import account_sid

    params = {
        "AccountSid": account_sid(), "ApiVersion": "2010-04-01", "CallSid": call_sid, "CallStatus": status,
        "Called": AGENT_DESK, "Caller": DEALER_LINE, "Direction": "outbound-api", "From": DEALER_LINE,
        "To": AGENT_DESK, "CallbackSource": "call-progress-events", "SequenceNumber": str(sequence),
        "Timestamp": "Mon, 23 Nov 2026 14:23:13 +0000",
    }
    if status in ("completed", "no-answer"):
        params.update(CallDuration="104" if status == "completed" else "0", Duration="2")
    return params


def sequences(sids: list[str], rng: random.Random) -> dict[str, list[str]]:
    """Each call's statuses: 1 call in 10 is not answered by the agent."""
    return {
        sid: ["initiated", "ringing", "no-answer"] if rng.random() < 0.1 else
        ["initiated", "ringing", "in-progress", "completed"]
        for sid in sids
    }


def write_thread_files(directory: Path, url: str, plan: dict[str, list[str]], threads: int,
                       rng: random.Random) -> list[list[tuple[str, str]]]:
    """One file per wrk thread; a call's callbacks stay in one thread, in order, interleaved
    with the other calls in flight. Returns each thread's (sid, status) per line."""
    from telephony.twilio import sign

    directory.mkdir(parents=True, exist_ok=True)
    sids = list(plan)
    per_thread = [sids[i::threads] for i in range(threads)]
    order: list[list[tuple[str, str]]] = []
    for index, thread_sids in enumerate(per_thread):
        lines, keys = [], []
        for start in range(0, len(thread_sids), CALLS_IN_FLIGHT):
            batch = thread_sids[start:start + CALLS_IN_FLIGHT]
            for step in range(4):
                for sid in batch:
                    if step >= len(plan[sid]):
                        continue
                    status = plan[sid][step]
                    params = callback_params(sid, status, step)
                    line = f"{sign(url, params)}\t{urlencode(params)}"
                    copies = 2 if rng.random() < DUPLICATE_SHARE else 1
                    lines.extend([line] * copies)
                    keys.extend([(sid, status)] * copies)
        (directory / f"thread-{index}.txt").write_text("\n".join(lines) + "\n")
        order.append(keys)
    return order


def run_wrk(port: int, directory: Path, path: str, seconds: float, connections: int, threads: int) -> dict:
    env = dict(os.environ, BENCH_DIR=str(directory), BENCH_PATH=path)
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:.0f}s", "--timeout", "10s",
         "-s", str(Path(__file__).with_name("callbacks.lua")), f"http://127.0.0.1:{port}"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    result: dict = {"sent": {}}
    for line in out.splitlines():
        if line.startswith("RESULT "):
            result.update({key: int(value) for key, value in (part.split("=") for part in line.split()[1:])})
        elif line.startswith("SENT "):
            fields = dict(part.split("=") for part in line.split()[1:])
            result["sent"][int(fields["thread"])] = (int(fields["count"]), int(fields["lines"]))
    return result


def verify(order: list[list[tuple[str, str]]], sent: dict[int, tuple[int, int]], connections_per_thread: int,
           plan: dict[str, list[str]]) -> tuple[list[str], int, int]:
    """Exactly one receipt per (sid, status) that was surely delivered, none for what was never
    sent, and at most one settled event per call. Returns the problems found."""
    from django.db.models import Count, Q

    from leads.models import ContactEvent
    from telephony.models import WebhookReceipt

    surely, maybe = set(), set()
    for thread, keys in enumerate(order):
        count, total = sent[thread]
        # wrk calls request() once on its first thread to check the script, and sends nothing:
        # that thread's first line never goes out.
        first = 1 if thread == 0 else 0
        if count >= total + first + connections_per_thread:  # wrapped around: everything went out
            surely.update(keys)
            continue
        surely.update(keys[first:max(first, count - connections_per_thread)])
        maybe.update(keys[max(first, count - connections_per_thread):count])
    maybe -= surely
    receipts = list(WebhookReceipt.objects.filter(kind="call", sid__in=list(plan)).values_list("sid", "status"))
    problems = []
    doubles = len(receipts) - len(set(receipts))
    if doubles:
        problems.append(f"{doubles} (sid, status) pairs have more than one receipt")
    stored = set(receipts)
    if missing := surely - stored:
        problems.append(f"{len(missing)} callbacks sent and answered have no receipt, e.g. {sorted(missing)[:3]}")
    if unexpected := stored - surely - maybe:
        problems.append(f"{len(unexpected)} receipts for callbacks never sent, e.g. {sorted(unexpected)[:3]}")
    twice_settled = (
        ContactEvent.objects.filter(call_sid__startswith="CA").values("call_sid")
        .annotate(open=Count("id", filter=Q(superseded_by__isnull=True))).filter(open__gt=1).count()
    )
    if twice_settled:
        problems.append(f"{twice_settled} calls have more than one current event")
    unanswered = {sid for sid, statuses in plan.items() if statuses[-1] == "no-answer" and (sid, "no-answer") in surely}
    settled = set(
        ContactEvent.objects.filter(call_sid__in=unanswered, supersedes__isnull=False, superseded_by__isnull=True)
        .values_list("call_sid", flat=True)
    )
    if unanswered - settled:
        problems.append(f"{len(unanswered - settled)} unanswered calls were not settled by one event")
    return problems, len(surely), len(unanswered)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--calls", type=int, default=0, help="calls to prepare (default: enough for the run)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench/callbacks needs wrk: apt-get install wrk")
    port = free_port()
    env = services_env(DATABASE)
    env["DATABASE_URL"] = env["DATABASE_URL"].rsplit("/", 1)[0] + f"/{DATABASE}"
    env.update(DJANGO_SECRET_KEY=SERVER_SECRET_KEY, PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
               TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="")
    warmup_calls = 300
    calls = args.calls or int(args.seconds * 700 / 3.8 * 1.1) + 200  # more than 700 callbacks/s would use
    sids = prepare(env, calls + warmup_calls)
    from django.urls import reverse

    from telephony.twilio import public_url

    path = reverse("telephony:voice_status")
    url = public_url(path)
    rng = random.Random(20261123)
    work = Path(tempfile.mkdtemp(prefix="bench-callbacks-"))
    warmup_plan = sequences(sids[:warmup_calls], rng)
    plan = sequences(sids[warmup_calls:], rng)
    write_thread_files(work / "warmup", url, warmup_plan, args.threads, rng)
    order = write_thread_files(work / "run", url, plan, args.threads, rng)
    server = start_gunicorn(env, port, args.workers)
    try:
        probe = run_wrk(port, work / "warmup", path, 3, args.connections, args.threads)  # warm-up, not counted
        if probe["non2xx"] == probe["requests"]:
            raise SystemExit("every callback was refused: the signing token or PUBLIC_BASE_URL does not match")
        result = run_wrk(port, work / "run", path, args.seconds, args.connections, args.threads)
        rss = worker_rss_mb(server)
    finally:
        server.terminate()
        server.wait(timeout=30)
    from django.db import connection

    connection.close()  # see what the server committed
    problems, checked, unanswered = verify(order, result["sent"], -(-args.connections // args.threads), plan)
    ok = result["requests"] - result["errors"] - result["non2xx"]
    duplicates = sum(1 for keys in order for a, b in zip(keys, keys[1:], strict=False) if a == b)
    print(f"callbacks benchmark: {args.seconds:.0f} s, {args.connections} connections (wrk), "
          f"{args.workers} gunicorn workers, POST {path}")
    print(f"  callbacks answered  {ok} ({result['errors']} failed, {result['non2xx']} not 2xx); "
          f"{duplicates} of the prepared ones are concurrent duplicates")
    print(f"  sustained           {ok / (result['duration_us'] / 1e6):.1f} callbacks/s   (target >= 300)")
    print(f"  latency p50         {result['p50_us'] / 1000:.1f} ms")
    print(f"  latency p99         {result['p99_us'] / 1000:.1f} ms   (target < 50)")
    print(f"  web worker RSS      {', '.join(f'{r} MB' for r in rss)}")
    print(f"  checked             {checked} (sid, status) pairs surely delivered, {unanswered} unanswered calls")
    if problems:
        for problem in problems:
            print(f"  PROBLEM             {problem}")
        raise SystemExit(1)
    print("  exactly one WebhookReceipt per (CallSid, status); at most one current event per call: OK")


if __name__ == "__main__":
    main()
