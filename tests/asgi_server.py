"""The app under a real ASGI server (uvicorn) in a thread of the test process, for browser tests that
need what only ASGI serves: the live streams (live/views.py answers 204 under pytest-django's WSGI
live_server, and pages fall back to polling).

It serves the test database: the test must be transactional (committed rows are what the server's
threads and PostgreSQL's NOTIFY see). Static files come from the finders, as the WSGI live server
serves them. uvicorn only installs signal handlers on the main thread, so a server in a thread
leaves the test runner's Ctrl-C alone.

`stop()` drops every open connection first (as a killed process would: the browser sees its streams
end and reconnects), then lets uvicorn shut down; the end of its event loop cancels the live hub's
LISTEN task, which closes its connection. `start()` again binds the same port: a restart.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import uvicorn
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application


class AsgiLiveServer:
    host = "127.0.0.1"

    def __init__(self) -> None:
        self.app = ASGIStaticFilesHandler(get_asgi_application())
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.bind((self.host, 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        assert self.thread is None, "already running"
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning", lifespan="off",
                                timeout_graceful_shutdown=2)
        server = uvicorn.Server(config)
        self.server, self.error = server, None

        def run() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # noqa: BLE001 - reported to the test thread by start()
                self.error = exc
            finally:
                sock.close()

        original = server.startup

        async def startup(sockets=None):
            self.loop = asyncio.get_running_loop()
            await original(sockets=sockets)

        server.startup = startup
        self.thread = threading.Thread(target=run, name=f"asgi-live-server-{self.port}", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the ASGI server did not start on {self.url}: {self.error!r}")
            time.sleep(0.02)

    def _drop_connections(self) -> None:
        for protocol in list(self.server.server_state.connections):
            protocol.transport.close()

    def stop(self, timeout: float = 10.0) -> None:
        server, thread = self.server, self.thread
        if thread is None:
            return
        if self.loop is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self._drop_connections)
            except RuntimeError:  # the loop closed meanwhile
                pass
        server.should_exit = True
        thread.join(timeout)
        self.thread = self.server = self.loop = None
        if thread.is_alive():
            raise RuntimeError(f"the ASGI server on port {self.port} did not stop within {timeout} s")
