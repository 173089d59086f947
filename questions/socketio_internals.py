"""The parts of python-socketio that Callit relies on beyond its public API, behind one door.

Each is pinned down by tests/test_socketio_internals.py, which fails loudly (naming what moved)
when a python-socketio upgrade changes what is used here; nothing else in Callit touches them."""
from __future__ import annotations

import time
from typing import Any

from socketio.packet import Packet


class JsonPacket(Packet):
    """Socket.IO packets without binary attachments: Callit only ever emits JSON, so skip
    python-socketio's recursive search for ``bytes`` in every outgoing event (a big lobby's
    ``state`` is one large document, sent on every connect). Relies on: ``Packet.__init__``
    looks for binary data only when the class attribute ``uses_binary_events`` is true."""
    uses_binary_events = False


def start_message_queue(socketio: Any, timeout: float = 5.0) -> bool:
    """Subscribe to the Redis message queue now, before accepting connections; True once
    subscribed (or when there is no queue to subscribe to).

    python-socketio subscribes lazily, on a process's first connection, so the events other
    processes raised while that subscription was being set up never reached its first phones.
    Relies on: ``Server.manager_initialized`` (set and checked by ``_handle_eio_connect``),
    ``manager.initialize()``, and a Redis manager's ``pubsub`` with its ``subscribed`` flag."""
    server = socketio.server
    if server.manager_initialized:
        return True
    server.manager_initialized = True
    server.manager.initialize()
    if not hasattr(server.manager, "pubsub"):  # in-process manager: nothing to subscribe to
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # the listener task subscribes
        pubsub = server.manager.pubsub
        if pubsub is not None and pubsub.subscribed:
            return True
        socketio.sleep(0.01)
    return False


def local_sockets(socketio: Any, room: str, namespace: str = "/") -> int:
    """How many sockets this process holds in ``room`` (not the other processes'): 0 before the
    server has started. Relies on: ``manager.rooms[namespace][room]`` holding one entry per socket."""
    server = getattr(socketio, "server", None)
    if server is None:
        return 0
    return len(server.manager.rooms.get(namespace, {}).get(room, ()))
