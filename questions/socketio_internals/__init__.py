"""The one door to what Callit needs from python-socketio, python-engineio and Flask-SocketIO
beyond their public API, and from eventlet beyond its: one module per part of the library
(``packets``, ``server``, ``sessions``, ``managers``, ``redis_manager``, ``wsgi``, and
``websocket``: eventlet's, which python-engineio reads frames with), each saying what it relies
on.

Nothing else in Callit touches a private attribute of those libraries (tests/test_layout.py
checks the source). tests/test_socketio_internals.py pins everything relied on here and fails
naming what moved when an upgrade changes it."""
from __future__ import annotations

from .keepalive import take_over_monitoring
from .managers import LocalManager, local_sockets
from .packets import JsonPacket, RawJson
from .redis_manager import RedisManager
from .server import (
    close_session,
    eio_sid_to_sid,
    gate_events,
    has_handler,
    is_reserved_event,
    remote_address,
    send_ack,
    session_open,
    start_message_queue,
    watch_sessions,
)
from .sessions import CallitSocket, adopt_session, call_later, turn_away_events
from .websocket import read_frames_buffered, unmask_frames_quickly
from .wsgi import ReleasesBuffersOnUpgrade

__all__ = [
    "CallitSocket", "JsonPacket", "LocalManager", "RawJson", "RedisManager",
    "ReleasesBuffersOnUpgrade", "adopt_session", "call_later", "close_session", "eio_sid_to_sid",
    "gate_events", "has_handler", "is_reserved_event", "local_sockets", "read_frames_buffered",
    "remote_address",
    "send_ack", "session_open", "start_message_queue", "take_over_monitoring", "turn_away_events",
    "unmask_frames_quickly",
    "watch_sessions",
]
