"""python-socketio's client managers (``Server.manager``): who is in which room, in this
process; and disconnecting a whole room."""
from __future__ import annotations

from typing import Any

import socketio


def local_sockets(socketio: Any, room: str, namespace: str = "/") -> int:
    """How many sockets this process holds in ``room`` (not the other processes'): 0 before the
    server has started. Relies on: ``manager.rooms[namespace][room]`` holding one entry per socket."""
    server = getattr(socketio, "server", None)
    if server is None:
        return 0
    return len(server.manager.rooms.get(namespace, {}).get(room, ()))


def disconnect_local(manager: Any, room: str, namespace: str) -> None:
    """Disconnect this process's sockets in ``room``. Relies on: ``manager.get_participants``
    yielding ``(sid, eio_sid)`` and ``server.disconnect(sid, namespace=, ignore_queue=True)``."""
    for sid, _eio_sid in list(manager.get_participants(namespace, room)):
        manager.server.disconnect(sid, namespace=namespace, ignore_queue=True)


class LocalManager(socketio.Manager):
    """One process, no message queue; ``disconnect_room(room, namespace)``."""

    def disconnect_room(self, room: str, namespace: str = "/") -> None:
        disconnect_local(self, room, namespace)
        self.close_room(room, namespace)
