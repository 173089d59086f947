"""What stands between a Socket.IO client and the event handlers: hostile or broken clients
cost the server a bounded amount, and everyone else stays served.

- Only the app's own event names run a handler: a client emitting ``connect`` or
  ``disconnect`` as an ordinary event, or a name that is not a string, is answered 400 and
  never re-runs the connect handler. An unknown event with an ack id is answered 404, so no
  client waits for an ack that will never come.
- Each socket has a small bucket of events (``SOCKET_EVENT_BURST``, refilled at
  ``SOCKET_EVENTS_PER_SECOND``) and at most ``MAX_IN_FLIGHT`` events being handled at once;
  each address (a whole NAT) has a larger bucket. An event over a limit is answered
  ``{"ok": false, "status": 429, ...}`` at once, before any database work; a socket that keeps
  sending after ``CLOSE_AFTER_REFUSALS`` refusals in a row is disconnected.
- An Engine.IO session that has not sent its Socket.IO ``connect`` within
  ``IDLE_TIMEOUT_SECONDS`` of opening is closed, so connections that only answer pings cannot
  fill the server.

python-socketio has no hooks for these, so the guard wraps four of its server's methods."""
from __future__ import annotations

import logging
import threading

from socketio import packet

from ..config import Settings
from ..throttle import TokenBuckets

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 2  # a phone has at most a get_state and a submit_picks on their way
CLOSE_AFTER_REFUSALS = 50
NAMESPACE = "/"


class SocketGuard:
    def __init__(self, server, settings: Settings):
        self.server = server
        self.idle_timeout = settings.idle_timeout_seconds
        self.per_socket = TokenBuckets(settings.socket_event_burst, settings.socket_events_per_second)
        self.per_address = TokenBuckets(settings.address_event_burst, settings.address_events_per_second)
        self.in_flight: dict[str, int] = {}  # eio sid -> events being handled
        self.refused: dict[str, int] = {}    # eio sid -> refusals since the last accepted event
        self.lock = threading.Lock()

    def install(self) -> None:
        server = self.server
        handle_event, handle_internal = server._handle_event, server._handle_event_internal
        eio_connect, eio_disconnect = server._handle_eio_connect, server._handle_eio_disconnect

        def guarded_event(eio_sid, namespace, id, data):
            if self.admit(eio_sid, namespace or NAMESPACE, id, data):
                handle_event(eio_sid, namespace, id, data)

        def counted_internal(srv, sid, eio_sid, data, namespace, id):
            try:
                handle_internal(srv, sid, eio_sid, data, namespace, id)
            finally:
                with self.lock:
                    if eio_sid in self.in_flight:
                        self.in_flight[eio_sid] = max(0, self.in_flight[eio_sid] - 1)

        def opened(eio_sid, environ):
            result = eio_connect(eio_sid, environ)
            if self.idle_timeout > 0:
                server.start_background_task(self._close_if_never_connected, eio_sid)
            return result

        def closed(eio_sid, reason=None):
            with self.lock:
                self.in_flight.pop(eio_sid, None)
                self.refused.pop(eio_sid, None)
            self.per_socket.forget(eio_sid)
            return eio_disconnect(eio_sid, reason)

        server._handle_event = guarded_event
        server._handle_event_internal = counted_internal
        server._handle_eio_connect = opened
        server._handle_eio_disconnect = closed
        # Engine.IO keeps the bound methods it was given at construction: give it ours
        server.eio.on("connect", opened)
        server.eio.on("disconnect", closed)

    # ---------------------------------------------------------------- events

    def admit(self, eio_sid: str, namespace: str, id, data) -> bool:
        name = data[0] if isinstance(data, list) and data else None
        if not isinstance(name, str) or name in self.server.reserved_events:
            self._answer(eio_sid, namespace, id, 400, "Not an event a client may send")
            return False
        if name not in self.server.handlers.get(namespace, {}):
            self._answer(eio_sid, namespace, id, 404, f"Unknown event: {name[:64]}")
            return False
        address = (self.server.environ.get(eio_sid) or {}).get("REMOTE_ADDR", "-")
        with self.lock:
            busy = self.in_flight.get(eio_sid, 0) >= MAX_IN_FLIGHT
        wait = 0.0 if busy else self.per_socket.take(eio_sid) or self.per_address.take(address)
        if busy or wait:
            with self.lock:
                refusals = self.refused[eio_sid] = self.refused.get(eio_sid, 0) + 1
            if refusals > CLOSE_AFTER_REFUSALS:
                log.warning("Closing socket %s (%s): %d events refused in a row", eio_sid, address,
                            refusals)
                self.server.eio.disconnect(eio_sid)  # its queued frames are dropped with it
                return False
            self._answer(eio_sid, namespace, id, 429,
                         "Too many events from this device; wait a moment and try again",
                         retry_after=max(1, round(wait)) if wait else 1)
            return False
        with self.lock:
            self.refused.pop(eio_sid, None)
            self.in_flight[eio_sid] = self.in_flight.get(eio_sid, 0) + 1
        return True

    def _answer(self, eio_sid, namespace, id, status: int, message: str, **extra) -> None:
        if id is None:  # no ack asked for: nothing to answer
            return
        self.server._send_packet(eio_sid, self.server.packet_class(
            packet.ACK, namespace=namespace, id=id,
            data=[{"ok": False, "status": status, "errors": [message], **extra}]))

    # ---------------------------------------------------------------- idle sessions

    def _close_if_never_connected(self, eio_sid: str) -> None:
        self.server.sleep(self.idle_timeout)
        if eio_sid not in self.server.environ:
            return  # already gone
        if self.server.manager.sid_from_eio_sid(eio_sid, NAMESPACE) is None:
            self.server.eio.disconnect(eio_sid)
