"""python-socketio's ``Server`` (``SocketIO.server``) and the Engine.IO server under it.

python-socketio has no hooks for refusing a client's event before its handler runs, for seeing
Engine.IO sessions open and close, or for answering an ack itself: these reach in for them."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from socketio import packet

NAMESPACE = "/"


def gate_events(server: Any, admit: Callable[[str, str, Any, Any], bool],
                finished: Callable[[str], None]) -> None:
    """``admit(eio_sid, namespace, id, data)`` sees every event a client sends, before any
    handler (``data`` as received: ``[name, *args]``, or whatever a broken client sent); only
    events it returns True for go on. ``finished(eio_sid)`` is called after each handler run,
    however it ended.

    Relies on: ``Server._handle_event(eio_sid, namespace, id, data)`` receiving every EVENT
    packet, and ``_handle_event_internal(server, sid, eio_sid, data, namespace, id)`` running
    its handler (maybe in a background task), both looked up on the instance when called."""
    handle_event, handle_internal = server._handle_event, server._handle_event_internal

    def gated(eio_sid, namespace, id, data):
        if admit(eio_sid, namespace or NAMESPACE, id, data):
            handle_event(eio_sid, namespace, id, data)

    def counted(srv, sid, eio_sid, data, namespace, id):
        try:
            handle_internal(srv, sid, eio_sid, data, namespace, id)
        finally:
            finished(eio_sid)

    server._handle_event = gated
    server._handle_event_internal = counted


def watch_sessions(server: Any, opened: Callable[[str], None], closed: Callable[[str], None]) -> None:
    """``opened(eio_sid)`` right after python-socketio has taken in a new Engine.IO session,
    ``closed(eio_sid)`` right before it lets one go.

    Relies on: ``Server._handle_eio_connect(eio_sid, environ)`` and
    ``_handle_eio_disconnect(eio_sid, reason)``, which the Engine.IO server was given as its
    ``connect`` and ``disconnect`` handlers (``eio.on``) as bound methods at construction: the
    wrappers replace them there too."""
    eio_connect, eio_disconnect = server._handle_eio_connect, server._handle_eio_disconnect

    def connected(eio_sid, environ):
        result = eio_connect(eio_sid, environ)
        opened(eio_sid)
        return result

    def disconnected(eio_sid, reason=None):
        closed(eio_sid)
        return eio_disconnect(eio_sid, reason)

    server._handle_eio_connect = connected
    server._handle_eio_disconnect = disconnected
    server.eio.on("connect", connected)
    server.eio.on("disconnect", disconnected)


def is_reserved_event(server: Any, name: str) -> bool:
    """Whether ``name`` is one python-socketio raises itself (``connect``, ``disconnect``).
    Relies on: ``Server.reserved_events``."""
    return name in server.reserved_events


def has_handler(server: Any, namespace: str, name: str) -> bool:
    """Whether the app registered a handler for event ``name`` (no catch-all handlers: Callit
    registers none). Relies on: ``Server.handlers[namespace][name]``."""
    return name in server.handlers.get(namespace, {})


def remote_address(server: Any, eio_sid: str, default: str = "-") -> str:
    """The address an Engine.IO session came from, before (or without) a Socket.IO connect.
    Relies on: ``Server.environ[eio_sid]``, the session's WSGI environ while it is open."""
    return (server.environ.get(eio_sid) or {}).get("REMOTE_ADDR", default)


def session_open(server: Any, eio_sid: str) -> bool:
    """Whether the Engine.IO session is still open. Relies on: ``Server.environ`` holding an
    entry from ``_handle_eio_connect`` until ``_handle_eio_disconnect``."""
    return eio_sid in server.environ


def eio_sid_to_sid(server: Any, eio_sid: str, namespace: str = NAMESPACE) -> str | None:
    """The Socket.IO sid the Engine.IO session connected as in ``namespace``; None while it has
    not connected there. Relies on: ``manager.sid_from_eio_sid(eio_sid, namespace)``."""
    return server.manager.sid_from_eio_sid(eio_sid, namespace)


def send_ack(server: Any, eio_sid: str, namespace: str, id: Any, data: list) -> None:
    """Answer the client's event ``id`` with ``data`` (the ack's arguments) without running a
    handler. Relies on: ``Server._send_packet(eio_sid, packet)`` and ``Server.packet_class``."""
    server._send_packet(eio_sid, server.packet_class(packet.ACK, namespace=namespace, id=id, data=data))


def close_session(server: Any, eio_sid: str) -> None:
    """Close the Engine.IO session at once (its queued frames are dropped with it), whether or
    not it connected to a namespace, without waiting for the close packet to be delivered:
    ``eio.disconnect`` waits on the socket's queue, which over long-polling never empties once
    the client has taken the close packet, so every session the guard closed would keep a
    greenthread for ever. Relies on: ``Server.eio``, the Engine.IO server, its ``sockets`` (sid
    -> socket) and ``reason``, and ``engineio.socket.Socket.close(wait=, reason=)``."""
    eio = server.eio
    socket = eio.sockets.get(eio_sid)
    if socket is None:
        return  # already gone
    socket.close(wait=False, reason=eio.reason.SERVER_DISCONNECT)
    eio.sockets.pop(eio_sid, None)


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
