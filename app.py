"""Entry point: serves Callit on eventlet's own server (``make run``)."""
import eventlet

eventlet.monkey_patch()

import errno  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import eventlet.wsgi  # noqa: E402

from questions import create_app  # noqa: E402
from questions.database import client_timeout, use_eventlet_wait_callback  # noqa: E402

app = create_app()
# psycopg2 waits on the eventlet hub instead of blocking the process, and gives up on a frozen
# database after DB_TIMEOUT_SECONDS (+ grace) instead of waiting for ever
use_eventlet_wait_callback(client_timeout(app.extensions["callit"].settings.db_timeout_seconds))

# Pending connections the kernel queues before eventlet accepts them. eventlet.listen's default
# of 50 drops SYNs when thousands of phones connect at once (the round starts, the Wi-Fi comes
# back); the kernel caps it at net.core.somaxconn anyway.
DEFAULT_LISTEN_BACKLOG = 4096
FDS_BEYOND_CONNECTIONS = 1024  # database pool, Redis, log files, listening socket...


def raise_fd_limit(wanted: int) -> int:
    """Each connection is a file descriptor; lift the soft limit as far as the hard one allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def listen_backlog() -> int:
    backlog = int(os.environ.get("LISTEN_BACKLOG") or DEFAULT_LISTEN_BACKLOG)
    try:
        with open("/proc/sys/net/core/somaxconn") as f:
            return max(1, min(backlog, int(f.read())))
    except (OSError, ValueError):
        return backlog


def lan_address() -> str | None:
    """The address phones on the same network would use (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))
            return probe.getsockname()[0]
    except OSError:
        return None


def start_message_queue(socketio, timeout: float = 5.0) -> None:
    """Subscribe to the Redis message queue before accepting connections.

    python-socketio subscribes lazily, on a process's first connection, so the events other
    processes raised while that subscription was being set up never reached its first phones.
    Without REDIS_URL the manager is in-process and this is a no-op."""
    server = socketio.server
    if server.manager_initialized:
        return
    server.manager_initialized = True
    server.manager.initialize()
    if not hasattr(server.manager, "pubsub"):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # the listener greenthread subscribes
        pubsub = server.manager.pubsub
        if pubsub is not None and pubsub.subscribed:
            return
        eventlet.sleep(0.01)
    print("  Warning: not subscribed to the Redis message queue yet; retrying in the background.",
          flush=True)


class RequestTooSlow(Exception):
    pass


class BoundedRequestProtocol(eventlet.wsgi.HttpProtocol):
    """A connection must deliver a complete request head (request line and headers) within
    ``request_timeout`` seconds of opening, or of the previous answer on a kept-alive
    connection; otherwise it is closed. Idle or trickling connections would each hold one of
    the ``max_size`` greenthreads for ever, and enough of them lock everyone out. The timer
    stops once the head is in: a long-lived websocket is not cut."""

    request_timeout = 10.0

    def handle_one_request(self):
        self._head_timer = eventlet.Timeout(self.request_timeout, RequestTooSlow)
        try:
            super().handle_one_request()
        except RequestTooSlow:
            self.close_connection = 1
        finally:
            self._head_timer.cancel()

    def parse_request(self):
        try:
            return super().parse_request()
        finally:
            self._head_timer.cancel()


# Per read once the head is in (a request body, a websocket frame). Engine.IO pings every 25 s
# and waits 20 s for the pong, so a live websocket reads well within this.
SOCKET_READ_TIMEOUT = 60


def bind(host: str, port: int):
    """The listening socket. SO_REUSEPORT stays off (eventlet turns it on by default): with it,
    a second server on a busy port would start and the kernel would split connections between
    the two, breaking every long-polling session that lands on the wrong one."""
    family, _type, _proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    try:
        return eventlet.listen(address, family, backlog=listen_backlog(), reuse_port=False)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            sys.exit(f"Cannot start: {host}:{port} is already in use (another Callit server?). "
                     "Stop it, or set PORT to a free port.")
        raise


def serve(listener, max_connections: int, idle_timeout: float) -> None:
    """eventlet's WSGI server, as ``socketio.run`` starts it, but with our listen backlog and
    connection timeouts."""
    socketio = app.extensions["socketio"]
    start_message_queue(socketio)
    BoundedRequestProtocol.request_timeout = idle_timeout
    # max_size: greenthreads = simultaneous connections (a websocket holds one for its lifetime);
    # eventlet's default of 1024 would stop accepting the 1025th phone.
    eventlet.wsgi.server(listener, app, max_size=max_connections, log_output=False,
                         protocol=BoundedRequestProtocol, socket_timeout=SOCKET_READ_TIMEOUT)


def main() -> None:
    settings = app.extensions["callit"].settings
    socketio = app.extensions["socketio"]
    if socketio.server.eio.async_mode != "eventlet":  # ASYNC_MODE=threading: Werkzeug's server
        socketio.run(app, host=settings.host, port=settings.port, log_output=False)
        return
    listener = bind(settings.host, settings.port)  # first: a busy port is refused at once
    fds = raise_fd_limit(settings.max_connections + FDS_BEYOND_CONNECTIONS)
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    print(f"Callit is running.\n  Host a game:  {base}/\n  Players join: {base}/join\n"
          f"  Question bank: {base}/questions   API docs: {base}/api/docs", flush=True)
    if fds < settings.max_connections + FDS_BEYOND_CONNECTIONS:
        print(f"  Warning: the open-file limit is {fds}, so at most about "
              f"{max(fds - FDS_BEYOND_CONNECTIONS, 0)} phones can connect (raise `ulimit -Hn`).",
              flush=True)
    if settings.host in ("127.0.0.1", "localhost") and not settings.public_url:
        lan = lan_address()
        hint = f" (e.g. HOST=0.0.0.0 PUBLIC_URL=http://{lan}:{settings.port})" if lan else ""
        print(f"  Phones can't reach 127.0.0.1: set HOST=0.0.0.0 and PUBLIC_URL{hint}.", flush=True)
    serve(listener, settings.max_connections, settings.idle_timeout_seconds)


if __name__ == "__main__":
    main()
