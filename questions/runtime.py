"""The app's shared parts, registered once on the Flask app by ``create_app``."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, request

from .config import Settings
from .core.context import Context
from .core.events import EventSink
from .core.extensions import db
from .socketio_internals import local_sockets


@dataclass
class Runtime:
    settings: Settings
    events: EventSink
    clock: Callable[[], datetime]
    socketio: Any
    limiter: Any = None
    host_db: Any = None  # scoped session of the host commands' own pool (PostgreSQL), or None
    reads_db: Any = None  # scoped session of the autocommit engine for reads (PostgreSQL), or None
    pick_writer: Any = None  # group commit of picks (PostgreSQL), or None
    collector: Any = None  # when garbage is collected (collector.Collector): what arrives is counted

    def context(self, token: str | None = None, client_ip: str | None = None) -> Context:
        return Context(db=db.session, events=self.events, settings=self.settings, clock=self.clock,
                       token=token, client_ip=client_ip, limiter=self.limiter,
                       host_db=self.host_db,  # a session is made only if a host command runs
                       reads_db=self.reads_db, pick_writer=self.pick_writer)


log = logging.getLogger(__name__)


class ThrottledEvents:
    """An event sink that sends each ``throttled`` event at most once per interval and room.

    For room-wide updates whose latest data supersedes the earlier ones: ``picks_updated``
    (who has picked so far) would otherwise go to every phone once per submission, N x N
    messages when N phones pick at once. The first one goes at once; later ones within the
    interval fold into one sent at its end, with the latest data. Any other event to the room
    first sends what is held, so a room's events keep their order. The interval grows with the
    number of sockets this process holds in the room (one more ``interval`` per
    ``recipients_per_interval``): such an update's size grows with the room too. An event with
    a function in ``merge`` carries a change rather than the latest whole: ``merge(held, new)``
    folds the two instead of keeping only the new one."""

    def __init__(self, inner: EventSink, socketio, throttled: dict[str, float],
                 recipients_per_interval: int = 500,
                 merge: Mapping[str, Callable[[Any, Any], Any]] | None = None):
        self.inner, self.socketio, self.throttled = inner, socketio, throttled
        self.merge = merge or {}
        self.recipients_per_interval = recipients_per_interval
        self.last_sent: dict[tuple[str, str], float] = {}
        self.held: dict[tuple[str, str], Any] = {}
        self.lock = threading.Lock()

    def emit(self, room: str, event: str, data: Any) -> None:
        interval = self.throttled.get(event)
        if not interval:
            self._send_held(room)
            self.inner.emit(room, event, data)
            return
        interval *= max(1.0, local_sockets(self.socketio, room) / self.recipients_per_interval)
        key, now = (room, event), time.monotonic()
        with self.lock:
            if key in self.held:  # a send is due at the end of the interval: it takes this data
                merge = self.merge.get(event)
                self.held[key] = merge(self.held[key], data) if merge else data
                return
            wait = self.last_sent.get(key, float("-inf")) + interval - now
            if wait <= 0:
                self.last_sent[key] = now
                if len(self.last_sent) > 10_000:  # forget rooms quiet for a while
                    self.last_sent = {k: t for k, t in self.last_sent.items() if t > now - interval}
            else:
                self.held[key] = data
        if wait <= 0:
            self.inner.emit(room, event, data)
        else:
            self.socketio.start_background_task(self._send_later, key, wait)

    def close_room(self, room: str) -> None:
        self._send_held(room)
        self.inner.close_room(room)

    def disconnect_room(self, room: str) -> None:
        self._send_held(room)
        self.inner.disconnect_room(room)

    def _send_later(self, key: tuple[str, str], wait: float) -> None:
        self.socketio.sleep(wait)
        self._send(key)

    def _send_held(self, room: str) -> None:
        if self.held:
            for key in [k for k in list(self.held) if k[0] == room]:
                self._send(key)

    def _send(self, key: tuple[str, str]) -> None:
        with self.lock:
            if key not in self.held:  # already sent ahead of another event
                return
            data = self.held.pop(key)
            self.last_sent[key] = time.monotonic()
        try:
            self.inner.emit(key[0], key[1], data)
        except Exception:  # noqa: BLE001 - a background send has no caller to tell
            log.exception("Could not send %s to %s", key[1], key[0])


def runtime() -> Runtime:
    return current_app.extensions["callit"]


def context(token: str | None = None) -> Context:
    """A context for the current request, on behalf of the given token."""
    return runtime().context(token=token, client_ip=request.remote_addr if request else None)
