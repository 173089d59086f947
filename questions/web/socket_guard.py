"""What stands between a Socket.IO client and the event handlers: hostile or broken clients
cost the server a bounded amount, and everyone else stays served.

- Only the app's own event names run a handler: a client emitting ``connect`` or
  ``disconnect`` as an ordinary event, or a name that is not a string, is answered 400 and
  never re-runs the connect handler. An unknown event with an ack id is answered 404, so no
  client waits for an ack that will never come.
- Each socket has a small bucket of events (``SOCKET_EVENT_BURST``, refilled at
  ``SOCKET_EVENTS_PER_SECOND``) and at most ``MAX_IN_FLIGHT`` events being handled at once;
  each address (a whole NAT) has a larger bucket. An event over a limit is answered
  ``{"ok": false, "status": 429, "retry_after": N, ...}`` at once, before any database work,
  and the socket is held back for those N seconds: what it sends meanwhile is dropped at the
  door, unread and unanswered (it was told to wait), so a flood costs the server one frame read
  per event and gets no more events through. A socket refused ``CLOSE_AFTER_REFUSALS`` times in
  a row (answered or dropped) is disconnected. Callit's phones send one pick at a time and wait
  at least 2 s after a 429 (static/js/picks.js), so they are never held back.
- An Engine.IO session that has not sent its Socket.IO ``connect`` within
  ``IDLE_TIMEOUT_SECONDS`` of opening is closed, so connections that only answer pings cannot
  fill the server.

python-socketio has no hooks for these: the guard hooks in through questions/socketio_internals."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .. import socketio_internals as internals
from ..collector import Collector
from ..config import Settings
from ..throttle import TokenBuckets

log = logging.getLogger(__name__)

# a phone has at most a get_state and a submit_picks on their way; over a websocket its reader
# runs its events one at a time (async_handlers=False), over long-polling each request one
MAX_IN_FLIGHT = 2
CLOSE_AFTER_REFUSALS = 50
NAMESPACE = "/"


class SocketGuard:
    def __init__(self, server, settings: Settings, clock: Callable[[], float] = time.monotonic,
                 collector: Collector | None = None):
        self.server = server
        self.clock = clock
        self.collector = collector or Collector()  # told of every event handled, and of sessions
        self.idle_timeout = settings.idle_timeout_seconds
        self.per_socket = TokenBuckets(settings.socket_event_burst, settings.socket_events_per_second)
        self.per_address = TokenBuckets(settings.address_event_burst, settings.address_events_per_second)
        self.in_flight: dict[str, int] = {}  # eio sid -> events being handled
        self.refused: dict[str, int] = {}    # eio sid -> refusals since the last accepted event
        self.held_until: dict[str, float] = {}  # eio sid -> when a refused socket may send again
        self.lock = threading.Lock()

    def install(self) -> None:
        internals.gate_events(self.server, self.admit, self.finished)
        internals.watch_sessions(self.server, self.opened, self.closed)
        internals.turn_away_events(self.server, self.turn_away)
        # the sessions it adopts are pinged, timed out and forgotten by one task per process
        internals.take_over_monitoring(self.server)

    # ---------------------------------------------------------------- events

    def admit(self, eio_sid: str, namespace: str, id, data) -> bool:
        server = self.server
        if not internals.session_open(server, eio_sid):
            # closed meanwhile (a flood): Engine.IO had already read and queued the rest of its
            # burst, each to be handled on its own; drop them at the cost of a lookup, rather
            # than answer, count and close again thousands of times while others wait
            return False
        if self.turn_away(eio_sid):  # held back: a binary event, which the door passes on
            return False
        name = data[0] if isinstance(data, list) and data else None
        if not isinstance(name, str) or internals.is_reserved_event(server, name):
            self._answer(eio_sid, namespace, id, 400, "Not an event a client may send")
            return False
        if not internals.has_handler(server, namespace, name):
            self._answer(eio_sid, namespace, id, 404, f"Unknown event: {name[:64]}")
            return False
        address = internals.remote_address(server, eio_sid)
        with self.lock:
            busy = self.in_flight.get(eio_sid, 0) >= MAX_IN_FLIGHT
        wait = 0.0 if busy else self.per_socket.take(eio_sid) or self.per_address.take(address)
        if busy or wait:
            retry_after = max(1, round(wait)) if wait else 1
            if not self._refuse(eio_sid, hold=retry_after):
                self._answer(eio_sid, namespace, id, 429,
                             "Too many events from this device; wait a moment and try again",
                             retry_after=retry_after)
            return False
        with self.lock:
            self.refused.pop(eio_sid, None)
            self.in_flight[eio_sid] = self.in_flight.get(eio_sid, 0) + 1
        self.collector.started()  # its handler runs next, and calls ``finished``
        return True

    def turn_away(self, eio_sid: str) -> bool:
        """Asked at the door about every event, before it is decoded: True while the socket is
        held back after a 429, and the event is dropped unanswered (and counted as refused)."""
        until = self.held_until.get(eio_sid)
        if until is None:
            return False
        if self.clock() >= until:
            with self.lock:
                self.held_until.pop(eio_sid, None)
            return False
        self._refuse(eio_sid)
        return True

    def _refuse(self, eio_sid: str, hold: float = 0) -> bool:
        """Count a refusal, holding the socket back ``hold`` seconds from now; True when that
        was one too many in a row and the socket is closed (what it had queued is dropped with
        it)."""
        with self.lock:
            refusals = self.refused[eio_sid] = self.refused.get(eio_sid, 0) + 1
            if hold:
                self.held_until[eio_sid] = self.clock() + hold
        if refusals <= CLOSE_AFTER_REFUSALS:
            return False
        log.warning("Closing socket %s (%s): %d events refused in a row", eio_sid,
                    internals.remote_address(self.server, eio_sid), refusals)
        internals.close_session(self.server, eio_sid)
        return True

    def finished(self, eio_sid: str) -> None:
        with self.lock:
            if eio_sid in self.in_flight:
                self.in_flight[eio_sid] = max(0, self.in_flight[eio_sid] - 1)
        self.collector.finished()

    def _answer(self, eio_sid, namespace, id, status: int, message: str, **extra) -> None:
        if id is None:  # no ack asked for: nothing to answer
            return
        internals.send_ack(self.server, eio_sid, namespace, id,
                           [{"ok": False, "status": status, "errors": [message], **extra}])

    # ---------------------------------------------------------------- sessions

    def opened(self, eio_sid: str) -> None:
        # a burst from one client is read a frame at a time between everyone else's work (what
        # it sends while held back dropped unread: turn_away), and the session waits for its
        # pings on a timer
        internals.adopt_session(self.server, eio_sid)
        self.collector.touched()
        if self.idle_timeout > 0:  # a timer too: a greenthread sleeping 10 s per phone is not free
            internals.call_later(self.server, self.idle_timeout, self._close_if_never_connected, eio_sid)

    def closed(self, eio_sid: str) -> None:
        with self.lock:
            self.in_flight.pop(eio_sid, None)
            self.refused.pop(eio_sid, None)
            self.held_until.pop(eio_sid, None)
        self.per_socket.forget(eio_sid)

    def _close_if_never_connected(self, eio_sid: str) -> None:
        if not internals.session_open(self.server, eio_sid):
            return  # already gone
        if internals.eio_sid_to_sid(self.server, eio_sid, NAMESPACE) is None:
            internals.close_session(self.server, eio_sid)
