"""python-socketio's client managers (``Server.manager``): who is in which room, in this
process; and disconnecting a whole room."""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import socketio

if TYPE_CHECKING:  # the library has no types: to mypy the mixin's base is the manager it mixes into
    _Manager = Any
else:
    _Manager = object


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


class Waiting:
    """The sockets of one namespace that are connecting (or disconnecting), as python-socketio
    keeps them in a list: but ``in`` and ``remove`` cost O(1), not O(how many are waiting)
    (a crowd reconnecting at once after a Wi-Fi blip). A count per socket id, like a list that
    held it that many times."""
    __slots__ = ("counts", "size")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.size = 0

    def append(self, sid: str) -> None:
        self.counts[sid] = self.counts.get(sid, 0) + 1
        self.size += 1

    def remove(self, sid: str) -> None:
        left = self.counts.get(sid, 0) - 1
        if left < 0:
            raise ValueError(f"{sid!r} is not waiting")  # as list.remove
        if left:
            self.counts[sid] = left
        else:
            del self.counts[sid]
        self.size -= 1

    def __contains__(self, sid: object) -> bool:
        return sid in self.counts

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[str]:
        for sid, count in self.counts.items():
            yield from itertools.repeat(sid, count)

    def __repr__(self) -> str:
        return f"Waiting({list(self)!r})"


class RoomIndex(_Manager):
    """A manager that also knows, per namespace, the rooms each socket is in, so that a
    disconnect (and ``get_rooms``) costs O(the socket's rooms): python-socketio looks for the
    socket in every room of the namespace, and every socket has a room of its own, so each
    disconnect costs O(sockets connected) and a crowd leaving at once O(N²) (96 s of CPU for
    10,000 phones). Its lists of sockets connecting and disconnecting are ``Waiting``. Nothing
    else changes: ``rooms`` stays ``rooms[namespace][room][sid] = eio_sid`` (a bidict per room,
    emptied rooms and namespaces deleted), ``get_rooms`` answers in the same order.

    Relies on: ``rooms`` holding that layout, a room being created only by
    ``basic_enter_room`` (at the end of ``rooms[namespace]``, so in the order rooms were created)
    and a socket leaving one only through ``basic_leave_room`` (``basic_close_room`` calls it per
    participant; ``pre_connect`` enters through ``basic_enter_room``) except in
    ``basic_disconnect`` and ``get_rooms``, which are replaced here; ``pending_connect`` and
    ``pending_disconnect`` being ``{namespace: list of sid}`` created by ``pre_connect`` and
    ``pre_disconnect`` when the namespace has none and otherwise only used with ``in``,
    ``append``, ``remove`` and ``len`` (deleted when emptied); and ``callbacks`` keyed by sid."""
    rooms: dict
    pending_connect: dict
    pending_disconnect: dict
    callbacks: dict

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rooms_of: dict[str, dict[str, dict[Any, None]]] = {}  # [namespace][sid] = {room: None}
        self.room_born: dict[str, dict[Any, int]] = {}  # [namespace][room] = when it was created
        self.births = itertools.count()

    def basic_enter_room(self, sid, namespace, room, eio_sid=None):
        try:
            super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        finally:  # the library may create the room and then refuse the socket: it stays, empty
            if room in self.rooms.get(namespace, ()):
                born = self.room_born.setdefault(namespace, {})
                if room not in born:
                    born[room] = next(self.births)
        self.rooms_of.setdefault(namespace, {}).setdefault(sid, {})[room] = None

    def basic_leave_room(self, sid, namespace, room):
        super().basic_leave_room(sid, namespace, room)
        if namespace not in self.rooms:
            self.room_born.pop(namespace, None)
        elif room not in self.rooms[namespace]:
            self.room_born.get(namespace, {}).pop(room, None)
        sockets = self.rooms_of.get(namespace)
        if sockets is not None and sid in sockets:
            sockets[sid].pop(room, None)
            if not sockets[sid]:
                del sockets[sid]
                if not sockets:
                    del self.rooms_of[namespace]

    def rooms_in_order(self, sid: str, namespace: str) -> list:
        """The rooms ``sid`` is in (``None`` too), in the order of ``rooms[namespace]``."""
        rooms = self.rooms_of.get(namespace, {}).get(sid)
        if not rooms:
            return []
        born = self.room_born.get(namespace, {})
        return sorted(rooms, key=lambda room: born.get(room, -1))

    def get_rooms(self, sid, namespace):
        return [room for room in self.rooms_in_order(sid, namespace) if room is not None]

    def basic_disconnect(self, sid, namespace, **kwargs):
        if namespace not in self.rooms:
            return
        for room in self.rooms_in_order(sid, namespace):
            self.basic_leave_room(sid, namespace, room)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            waiting = pending.get(namespace)
            if waiting is not None and sid in waiting:
                waiting.remove(sid)
                if len(waiting) == 0:
                    del pending[namespace]

    def pre_connect(self, eio_sid, namespace):
        if namespace not in self.pending_connect:
            self.pending_connect[namespace] = Waiting()
        try:
            return super().pre_connect(eio_sid, namespace)
        finally:  # refused (already connected): the library would not have made the list
            if len(self.pending_connect.get(namespace, (None,))) == 0:
                del self.pending_connect[namespace]

    def pre_disconnect(self, sid, namespace):
        if namespace not in self.pending_disconnect:
            self.pending_disconnect[namespace] = Waiting()
        return super().pre_disconnect(sid, namespace)


class LocalManager(RoomIndex, socketio.Manager):
    """One process, no message queue; ``disconnect_room(room, namespace)``."""

    def disconnect_room(self, room: str, namespace: str = "/") -> None:
        disconnect_local(self, room, namespace)
        self.close_room(room, namespace)
