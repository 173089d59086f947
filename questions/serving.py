"""What a server process needs from the machine: file descriptors, a listen backlog, a free
port, and the address phones on the LAN reach it at."""
from __future__ import annotations

import os
import resource
import socket
from dataclasses import replace

from .config import Settings

# Pending connections the kernel queues before the server accepts them. eventlet.listen's
# default of 50 drops SYNs when thousands of phones connect at once (the round starts, the Wi-Fi
# comes back); the kernel caps it at net.core.somaxconn anyway.
DEFAULT_LISTEN_BACKLOG = 4096
ALL_INTERFACES = ("0.0.0.0", "::", "")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for test and bench servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lan_address() -> str | None:
    """The address phones on the same network would use (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))
            return probe.getsockname()[0]
    except OSError:
        return None


def with_public_url(settings: Settings, lan: str | None) -> tuple[Settings, str | None]:
    """The settings the server runs with, and a line saying where phones reach it.

    Listening on every interface (``HOST=0.0.0.0``) without ``PUBLIC_URL``, the LAN address
    becomes the public URL: the printed links and the join QR code must name an address a phone
    can reach, not the 127.0.0.1 or 0.0.0.0 the laptop's own browser used."""
    if settings.public_url:
        return settings, f"Links and the QR code use PUBLIC_URL={settings.public_url}."
    if settings.host in ALL_INTERFACES:
        if lan is None:
            return settings, ("Could not detect this machine's LAN address: set PUBLIC_URL "
                              "to the address phones should open.")
        url = f"http://{lan}:{settings.port}"
        return replace(settings, public_url=url), (
            f"Phones on this network join at {url} (LAN address detected; set PUBLIC_URL to "
            "use another).")
    if settings.host in LOOPBACK:
        return settings, ("Only this machine can reach 127.0.0.1: `make lan` (or "
                          "`make run HOST=0.0.0.0`) serves the phones on your network.")
    return settings, None
