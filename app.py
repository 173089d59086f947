"""Entry point: serves Callit on eventlet's own server (``make run``)."""
import warnings

# eventlet is the customer's choice and works; its import-time notice that it is in bugfix mode
# tells a newcomer running `make run` nothing they can act on (README: "Run and test")
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import errno  # noqa: E402
import gc  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402

import eventlet.wsgi  # noqa: E402

from questions import create_app  # noqa: E402
from questions.collector import start_collector_task  # noqa: E402
from questions.config import Settings  # noqa: E402
from questions.database import client_timeout, use_eventlet_wait_callback  # noqa: E402
from questions.deadlines import start_deadline_task  # noqa: E402
from questions.factory import open_host_lane, warm_host_lane  # noqa: E402
from questions.serving import lan_address, listen_backlog, raise_fd_limit, with_public_url  # noqa: E402
from questions.socketio_internals import (  # noqa: E402
    ReleasesBuffersOnUpgrade,
    read_frames_buffered,
    start_message_queue,
    unmask_frames_quickly,
)

settings, where_phones_join = with_public_url(Settings.from_env(), lan_address())
app = create_app(settings)
# psycopg2 waits on the eventlet hub instead of blocking the process, and gives up on a frozen
# database after DB_TIMEOUT_SECONDS (+ grace) instead of waiting for ever
use_eventlet_wait_callback(client_timeout(app.extensions["callit"].settings.db_timeout_seconds))

FDS_BEYOND_CONNECTIONS = 1024  # database pool, Redis, log files, listening socket...


class RequestTooSlow(Exception):
    pass


class BoundedRequestProtocol(ReleasesBuffersOnUpgrade, eventlet.wsgi.HttpProtocol):
    """A connection must deliver a complete request head (request line and headers) within
    ``request_timeout`` seconds of opening, or of the previous answer on a kept-alive
    connection; otherwise it is closed. Idle or trickling connections would each hold one of
    the ``max_size`` greenthreads for ever, and enough of them lock everyone out. The timer
    stops once the head is in: a long-lived websocket is not cut (and gives back its HTTP
    buffers, see ReleasesBuffersOnUpgrade)."""

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
    connection timeouts, and websocket frames unmasked without a Python loop per byte and read
    with one system call rather than four."""
    socketio = app.extensions["socketio"]
    unmask_frames_quickly()
    read_frames_buffered()
    if not start_message_queue(socketio):
        print("  Warning: not subscribed to the Redis message queue yet; retrying in the background.",
              flush=True)
    BoundedRequestProtocol.request_timeout = idle_timeout
    # max_size: greenthreads = simultaneous connections (a websocket holds one for its lifetime);
    # eventlet's default of 1024 would stop accepting the 1025th phone.
    eventlet.wsgi.server(listener, app, max_size=max_connections, log_output=False,
                         protocol=BoundedRequestProtocol, socket_timeout=SOCKET_READ_TIMEOUT)


def quiet_garbage_collector() -> None:
    """Everything built so far (the app, SQLAlchemy's mappers, pydantic's validators) lives as
    long as the process: ``gc.freeze`` keeps it out of every later collection, and fewer, larger
    young collections follow a lobby's churn of small objects. Each full collection walked the
    whole heap: a fifth of a pick's CPU at 1,000 phones (py-spy, ``bench.run --profile``; 1.5-1.6
    -> 1.26-1.29 ms per pick, docs/benchmarks.md). Garbage with cycles is still collected."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def main() -> None:
    socketio = app.extensions["socketio"]
    start_deadline_task(app)  # timed rounds lock on time, whichever process is up
    start_collector_task(app, app.extensions["callit"].collector)  # no collector pauses in a burst
    if socketio.async_mode != "eventlet":  # ASYNC_MODE=threading: Werkzeug's server
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
    if where_phones_join:
        print(f"  {where_phones_join}", flush=True)
    try:
        open_host_lane(app)
        warm_host_lane(app)  # the first host command of the night costs what the next ones do
    except Exception as exc:  # noqa: BLE001 - the database may come up later: the lane opens on first use
        print(f"  Warning: could not reach the database yet ({type(exc).__name__}); serving anyway.", flush=True)
    quiet_garbage_collector()
    serve(listener, settings.max_connections, settings.idle_timeout_seconds)


if __name__ == "__main__":
    main()
