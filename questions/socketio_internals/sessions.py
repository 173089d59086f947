"""python-engineio's sockets (one per Engine.IO session) and the background tasks that wait on
their behalf: what each connected phone costs between two messages.

Under eventlet a waiting greenthread keeps its stack (≈ 8 KB resident, more the deeper it
waits), and python-engineio keeps one per session that only sleeps until the next ping (25 s);
Callit's guard kept another for 10 s after each session opened. ``call_later`` waits on a timer
of eventlet's hub instead (a small object) and starts the task only when it is due."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from engineio import exceptions as engineio_exceptions
from engineio import packet as engineio_packet
from engineio import socket as engineio_socket
from socketio import packet as socketio_packet

from .keepalive import pinger_of
from .websocket import raw_socket, read_untimed, wake_reader_on_close
from .writes import Unsent, next_is_unsent, write_now, write_unsent, writer_idle

EVENT = str(socketio_packet.EVENT)  # how a Socket.IO event's text starts
PONGS_UNYIELDED = 8


def turn_away_events(server: Any, turn_away: Callable[[str], bool]) -> None:
    """Ask ``turn_away(eio_sid)`` about each Socket.IO event (not connects, disconnects or acks)
    a ``CallitSocket`` of this server receives, before python-socketio decodes it: True drops it
    unread (no JSON decoding, no handler, no ack). Kept on the Engine.IO server, not on each
    socket: nothing per phone. Relies on: ``Server.eio``, the Engine.IO server each socket
    knows as ``socket.server``; an Engine.IO ``MESSAGE`` packet's ``data`` holding the Socket.IO
    packet as sent, text that starts with its type (``socketio.packet.EVENT``)."""
    server.eio.callit_turn_away = turn_away


def call_later(server: Any, seconds: float, task: Callable[..., Any], *args: Any) -> None:
    """``task(*args)`` in a background task of its own, ``seconds`` from now. ``server``: the
    Socket.IO or Engine.IO server (its ``async_mode``, ``sleep``, ``start_background_task``).
    Relies on: eventlet's ``hub.schedule_call_global(seconds, callback, *args)`` calling
    ``callback`` in the hub, where ``eventlet.spawn_n`` starts the task without blocking."""
    if server.async_mode == "eventlet":
        from eventlet import hubs, spawn_n
        hubs.get_hub().schedule_call_global(seconds, spawn_n, task, *args)
        return

    def later():
        server.sleep(seconds)
        task(*args)

    server.start_background_task(later)


class CallitSocket(engineio_socket.Socket):
    """python-engineio's socket, with these changes:

    - on a websocket whose writer is idle, a packet sent is written at once by the sender
      (``writes.write_now``), not handed to the writer greenthread through the queue;

    - its reader hands the CPU to others after each message (but pongs, up to
      ``PONGS_UNYIELDED`` in a row), and stops once the session is
      closed. python-engineio's websocket reader loops ``receive`` over the frames that have
      arrived, and eventlet's recv returns buffered data without yielding: a client that sends
      thousands of frames in one burst would be read to the end before anyone else runs (and
      read on after the guard has closed it), while every other player waits;
    - under eventlet it waits for its next ping in the process's one queue of sessions due a
      ping (``keepalive.Pinger``), which writes the ping straight to its websocket when its
      writer is idle; otherwise on a timer (``call_later``), not in a sleeping greenthread;
    - the events ``turn_away_events`` says to are dropped before they are decoded;
    - once a websocket is upgraded, its reads wait for the phone without a timeout, and its
      writer's close ends that wait (``websocket.read_untimed``, ``wake_reader_on_close``).

    Relies on: the reader (websocket and long-polling alike) calling ``socket.receive(pkt)``;
    ``Socket.closed`` and ``engineio.exceptions.SocketIsClosedError`` ending the reader's loop;
    ``schedule_ping()`` being how python-engineio schedules every ping (after the connect, and
    after each pong), and ``_send_ping()`` being ``sleep(ping_interval)`` then
    ``ping_due()``'s body (tests/test_socketio_internals.py compares its source); and
    ``_websocket_handler(ws)`` being where a session's websocket is served, for as long as it
    is open."""

    last_ping: float | None  # python-engineio's (for mypy: it cannot tell its type)
    callit_ws: Any = None  # eventlet's websocket while it is served, for writing past the queue
    callit_raw_socket: Any = None  # its own socket
    callit_reads_untimed = False  # its websocket's reads wait without a timeout
    callit_unyielded = 0  # pongs read since the reader last gave up its turn

    def _websocket_handler(self, ws):
        self.callit_ws, self.callit_raw_socket = ws, raw_socket(ws)
        wake_reader_on_close(ws)
        if not self.connected:  # a websocket from the start: no upgrade to wait for
            self._read_untimed()
        try:
            return super()._websocket_handler(ws)
        finally:
            self.callit_ws = self.callit_raw_socket = None

    def send(self, pkt):
        if not writer_idle(self):
            return super().send(pkt)
        if self.check_ping_timeout():  # as python-engineio's send: a session timed out closes
            write_now(self, pkt)

    def receive(self, pkt):
        if self.closed:
            raise engineio_exceptions.SocketIsClosedError()
        data = pkt.data
        if not (pkt.packet_type == engineio_packet.MESSAGE and isinstance(data, str)
                and data[:1] == EVENT and self._turned_away()):
            super().receive(pkt)
        # a pong asks for nothing but the next ping's place in the queue: no turn to give up
        # (the yield was an eighth of a ping's cost), but at least every PONGS_UNYIELDED-th
        # message yields, so a client sending nothing but pongs still takes turns
        if pkt.packet_type == engineio_packet.PONG and self.callit_unyielded < PONGS_UNYIELDED:
            self.callit_unyielded += 1
            return
        self.callit_unyielded = 0
        self.server.sleep(0)

    def _turned_away(self) -> bool:
        turn_away = getattr(self.server, "callit_turn_away", None)
        return turn_away is not None and turn_away(self.sid)

    def poll(self):
        """What the websocket's writer sends next, waiting for as long as it takes: the pinger
        writes pings past the queue, so it may stay empty longer than python-engineio's wait
        (``ping_interval + ping_timeout``), whose end closes the websocket. A session whose
        phone stops answering is closed by its ping timeout (``check_ping_timeout``), which
        puts None in the queue and so ends this wait. Long-polling waits as before."""
        if self.callit_ws is None or not self.upgraded:
            return super().poll()
        if not self.callit_reads_untimed:  # the writer's first wait: an upgrade is done
            self._read_untimed()
        queue = self.queue
        while True:  # the end of a frame written past the queue goes first (writes.Unsent)
            first = queue.get()
            queue.task_done()
            if first is None:
                return []
            if not isinstance(first, Unsent):
                break
            if not write_unsent(self, first):
                return []  # the connection broke: the writer ends the websocket
        packets = [first]
        # python-engineio's: everything queued meanwhile, up to a None (or an Unsent, though
        # one is only ever queued into an empty queue)
        while queue.qsize() and not next_is_unsent(queue):
            pkt = queue.get(block=False)
            queue.task_done()
            if pkt is None:
                queue.put(None)
                break
            packets.append(pkt)
        return packets

    def _read_untimed(self) -> None:
        """The websocket's reads wait without a timeout from now on (``websocket.read_untimed``);
        until then (the upgrade's probe and its confirmation) they keep python-engineio's."""
        read_untimed(self.callit_ws)
        self.callit_reads_untimed = True

    def schedule_ping(self):
        # only schedule a new ping if the previous ping wait cycle completed (python-engineio's)
        if self.last_ping:
            self.last_ping = None
            pinger = pinger_of(self.server)
            if pinger is not None:
                pinger.schedule(self)
            else:
                call_later(self.server, self.server.ping_interval, self.ping_due)

    def ping_due(self) -> None:
        if not self.closing and not self.closed:
            self.last_ping = time.time()
            self.send(engineio_packet.Packet(engineio_packet.PING))


def adopt_session(server: Any, eio_sid: str) -> None:
    """Make the Engine.IO session's socket a ``CallitSocket`` (its class changes; the object,
    and everything python-engineio holds of it, stays). Relies on: ``eio.sockets`` (sid ->
    socket), each an ``engineio.socket.Socket`` (the threading and eventlet modes' class)."""
    socket = server.eio.sockets.get(eio_sid)
    if type(socket) is engineio_socket.Socket:
        socket.__class__ = CallitSocket
