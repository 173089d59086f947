"""The parts of python-socketio that Callit relies on beyond its public API, behind one door.

Each is pinned down by tests/test_socketio_internals.py, which fails loudly (naming what moved)
when a python-socketio upgrade changes what is used here; nothing else in Callit touches them."""
from __future__ import annotations

import time
from typing import Any

import socketio
from socketio.packet import Packet

from .messagequeue import ResyncingRedisManager


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


# ---- disconnecting every socket in a room, in every process
#
# python-socketio can disconnect one socket id anywhere (over the message queue), but a removed
# player's sockets may sit in any process, under ids nobody else knows. So the request rides on
# the queue's ``close_room`` message (with ``"disconnect": true``), which every process already
# handles for the room; each process disconnects its own sockets in the room, then empties it.
# Messages on the queue keep their order, so an event emitted to the room before arrives first.
# Relies on: ``PubSubManager._handle_close_room(message)`` (called for this process and, from
# the listener, for every other one), ``_publish(message)``, ``host_id``, ``get_participants``
# and ``server.disconnect(sid, namespace=, ignore_queue=True)``.


def _disconnect_local(manager: Any, room: str, namespace: str) -> None:
    for sid, _eio_sid in list(manager.get_participants(namespace, room)):
        manager.server.disconnect(sid, namespace=namespace, ignore_queue=True)


class LocalManager(socketio.Manager):
    """One process, no message queue; ``disconnect_room(room, namespace)``."""

    def disconnect_room(self, room: str, namespace: str = "/") -> None:
        _disconnect_local(self, room, namespace)
        self.close_room(room, namespace)


class RedisManager(ResyncingRedisManager):
    """Several processes sharing a Redis message queue (degrading clearly, see messagequeue);
    ``disconnect_room(room, namespace)``."""

    def disconnect_room(self, room: str, namespace: str = "/") -> None:
        message = {"method": "close_room", "room": room, "namespace": namespace,
                   "host_id": self.host_id, "disconnect": True}
        self._handle_close_room(message)  # this process, then every other one
        self._publish(message)

    def _handle_close_room(self, message: dict) -> None:
        if message.get("disconnect"):
            _disconnect_local(self, message.get("room", ""), message.get("namespace") or "/")
        super()._handle_close_room(message)


def client_manager(redis_url: str | None, channel: str) -> LocalManager | RedisManager:
    """The app's client manager: python-socketio's own, able to disconnect a room."""
    if redis_url:
        return RedisManager(redis_url, channel)
    return LocalManager()
