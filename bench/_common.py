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


def start_gunicorn(env: dict[str, str], port: int, workers: int) -> subprocess.Popen:
    """The production web server with production settings (debug off)."""
    server_env = {
        **env,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdefghij",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "dealercrm.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--log-level", "warning", "--no-control-socket"],
        cwd=ROOT, env=server_env,
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
