"""Entry point: serves Callit on eventlet's own server (``make run``)."""
import eventlet

eventlet.monkey_patch()

import os  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402

from psycogreen.eventlet import patch_psycopg  # noqa: E402

patch_psycopg()  # psycopg2 waits on the eventlet hub instead of blocking the process

from questions import create_app  # noqa: E402

app = create_app()

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


def serve(host: str, port: int, max_connections: int) -> None:
    """eventlet's WSGI server, as ``socketio.run`` starts it, but with our listen backlog."""
    import eventlet.wsgi

    socketio = app.extensions["socketio"]
    if socketio.server.eio.async_mode != "eventlet":  # ASYNC_MODE=threading: Werkzeug's server
        socketio.run(app, host=host, port=port, log_output=False)
        return
    start_message_queue(socketio)
    family, _type, _proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    listener = eventlet.listen(address, family, backlog=listen_backlog())
    # max_size: greenthreads = simultaneous connections (a websocket holds one for its lifetime);
    # eventlet's default of 1024 would stop accepting the 1025th phone.
    eventlet.wsgi.server(listener, app, max_size=max_connections, log_output=False)


def main() -> None:
    settings = app.extensions["callit"].settings
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
    serve(settings.host, settings.port, settings.max_connections)


if __name__ == "__main__":
    main()
