"""Entry point: serves Callit on eventlet's own server (``make run``)."""
import eventlet

eventlet.monkey_patch()

import resource  # noqa: E402
import socket  # noqa: E402

from psycogreen.eventlet import patch_psycopg  # noqa: E402

patch_psycopg()  # psycopg2 waits on the eventlet hub instead of blocking the process

from questions import create_app  # noqa: E402

app = create_app()


def raise_fd_limit(wanted: int) -> int:
    """Each connection is a file descriptor; lift the soft limit as far as the hard one allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def lan_address() -> str | None:
    """The address phones on the same network would use (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))
            return probe.getsockname()[0]
    except OSError:
        return None


def main() -> None:
    settings = app.extensions["callit"].settings
    raise_fd_limit(settings.max_connections + 1024)
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    print(f"Callit is running.\n  Host a game:  {base}/\n  Players join: {base}/join\n"
          f"  Question bank: {base}/questions   API docs: {base}/api/docs", flush=True)
    if settings.host in ("127.0.0.1", "localhost") and not settings.public_url:
        lan = lan_address()
        hint = f" (e.g. HOST=0.0.0.0 PUBLIC_URL=http://{lan}:{settings.port})" if lan else ""
        print(f"  Phones can't reach 127.0.0.1: set HOST=0.0.0.0 and PUBLIC_URL{hint}.", flush=True)
    socketio = app.extensions["socketio"]
    socketio.run(app, host=settings.host, port=settings.port, max_size=settings.max_connections,
                 log_output=False)


if __name__ == "__main__":
    main()
