"""Shared plumbing for the benchmarks: a database to run on, a gunicorn to measure, percentiles."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

# The code tree under test: this checkout, or BENCH_CODE (another worktree, e.g. a baseline
# commit a benchmark compares against; bench/distribution.py --baseline sets it).
ROOT = Path(os.environ.get("BENCH_CODE") or Path(__file__).resolve().parent.parent).resolve()
sys.path.insert(0, str(ROOT))


def services_env(database: str) -> dict[str, str]:
    """DATABASE_URL for `database` on the resolved server, REDIS_URL on a bench-only Redis db."""
    from devtools import embedded

    base_url = embedded.resolve_database_url(database)
    return dict(
        os.environ,
        DATABASE_URL=base_url,
        REDIS_URL=embedded.resolve_redis_url(db=5),
        DJANGO_SETTINGS_MODULE="dealercrm.settings",
    )


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_DEBUG", "1")
    import django

    django.setup()


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**env, "DJANGO_DEBUG": "1"}, check=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The settings every benchmark's servers run with: production (debug off), on 127.0.0.1.
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdefghij",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DJANGO_SECURE_COOKIES": "0",
    "LOG_LEVEL": "WARNING",
}


def start_gunicorn(env: dict[str, str], port: int, workers: int, *, asgi: bool = False,
                   log: Path | None = None) -> subprocess.Popen:
    """The production web server with production settings (debug off). asgi=True: the ASGI
    application under uvicorn's worker class, as `./dev start` serves it (pages, API and the
    live streams); otherwise the WSGI application under gunicorn's sync workers. `log`: its
    output goes to that file instead of this terminal."""
    server_env = {**env, **PRODUCTION}
    if asgi:
        # Open streams never finish by themselves: stopping does not wait the default 30 s for them.
        app = ["dealercrm.asgi:application", "--worker-class", "uvicorn_worker.UvicornWorker", "--graceful-timeout", "3"]
    else:
        app = ["dealercrm.wsgi:application"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *app, "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--log-level", "warning", "--no-control-socket"],
        cwd=ROOT, env=server_env, **({"stdout": open(log, "ab"), "stderr": subprocess.STDOUT} if log else {}),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def start_celery(env: dict[str, str], workdir: Path, concurrency: int, *,
                 sweeps_concurrency: int = 0) -> list[subprocess.Popen]:
    """A prefork worker and a separate beat, as `./dev start` runs them; logs in `workdir`.
    sweeps_concurrency > 0: the worker takes only the nudges (a new lead's routing) and a second
    worker of that many processes the sweeps, as README's "Scaling out" advises for a busy store."""
    command = [sys.executable, "-m", "celery", "-A", "dealercrm"]
    queue = env.get("CELERY_QUEUE", "dealercrm")

    def worker_(log: str, processes: int, *queues: str) -> subprocess.Popen:
        return subprocess.Popen(
            [*command, "worker", "--loglevel", "INFO", "--concurrency", str(processes), "--without-gossip",
             "--without-mingle", *(["-Q", ",".join(queues)] if queues else []), "-n", f"{log}@%h"],
            cwd=ROOT, env=env, stdout=open(workdir / f"{log}.log", "wb"), stderr=subprocess.STDOUT,
        )

    if sweeps_concurrency > 0:
        workers = [worker_("worker", concurrency, queue), worker_("sweeps", sweeps_concurrency, f"{queue}-sweeps")]
    else:
        workers = [worker_("worker", concurrency)]
    beat = subprocess.Popen(
        [*command, "beat", "--loglevel", "INFO", "--schedule", str(workdir / "beat-schedule")],
        cwd=ROOT, env=env, stdout=open(workdir / "beat.log", "wb"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    logs = ["worker", "sweeps"][: len(workers)]
    while not all(b"ready." in (workdir / f"{log}.log").read_bytes() for log in logs):
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            for proc in (*workers, beat):
                proc.kill()
            raise RuntimeError(f"the Celery workers did not start; see {workdir}/*.log")
        time.sleep(0.2)
    return [*workers, beat]


def stop(processes: list[subprocess.Popen], timeout: float = 15) -> None:
    """Terminate the processes (the newest first) and wait; whatever of them or of their children
    (gunicorn's workers, Celery's pool) is still there after `timeout` s is killed."""
    import psutil

    family: list[psutil.Process] = []
    for proc in processes:
        try:
            root = psutil.Process(proc.pid)
            family += [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
    for proc in reversed(processes):
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + timeout
    for proc in processes:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    _, alive = psutil.wait_procs(family, timeout=max(0.1, deadline - time.monotonic()))
    for leftover in alive:
        try:
            leftover.kill()
        except psutil.NoSuchProcess:
            pass
    for proc in processes:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def worker_rss_mb(proc: subprocess.Popen) -> list[float]:
    import psutil

    return [round(child.memory_info().rss / 2**20, 1) for child in psutil.Process(proc.pid).children()]


def post_json(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, float]:
    """POST `body`; (the HTTP status, or 0 when there was no answer, and the seconds it took)."""
    import urllib.error
    import urllib.request

    started = time.perf_counter()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=30) as response:
            status = response.status
            response.read()
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError:
        status = 0
    return status, time.perf_counter() - started


def get_counting_queries(client, url: str, headers: dict):
    """One GET through Django's test client: (the response, the number of SQL queries it ran)."""
    from django.db import connection

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(url, **headers)
    return response, queries


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def recreate_database(env: dict[str, str]) -> None:
    url = env["DATABASE_URL"]
    base, name = url.split("?")[0].rsplit("/", 1)
    if not name.startswith("dealercrm_bench"):
        raise SystemExit(f"refusing to rebuild {name!r}: unset DATABASE_URL or point it at a dealercrm_bench_* database")
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def cpu_of(processes) -> float:
    """CPU seconds (user + system) the psutil processes used; those gone count nothing."""
    import psutil

    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total
