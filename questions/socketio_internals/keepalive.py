"""Pinging every connected phone: one task for the whole process, not a timer, a greenthread
and a wake-up of the session's writer per ping.

Engine.IO's server pings each session every ``ping_interval`` (25 s) and the phone answers
with a pong; with 10,000 phones that is 400 pings a second for as long as they stay connected,
whatever else happens. python-engineio (with CallitSocket's timer) spent per ping: a timer on
the hub, a greenthread that puts the packet in the session's queue, the session's writer woken
to encode it and write it, and its wait on the queue armed again with a timeout. Measured:
10,000 idle phones kept a server process 21-25 % busy, 17 points of it the pings (the same
process with pings stopped); 2,000 phones pinged every second, 345 µs of server CPU per ping.

Here the sessions waiting for their next ping are kept in one queue, in the order they became
due: a session joins it when it answers a ping, and every session waits the same interval, so
the order of answers is the order of the next pings. One task sleeps until the first is due
(or for ``TICK_SECONDS``, whichever is longer) and pings every session due then, each with
one non-blocking ``send`` of the 3-byte frame straight to its socket when its writer is idle
(``writes.writer_idle``: nothing queued, the writer waiting on the queue): nobody is half-way
through writing a frame there, and nothing runs in between under eventlet; what a full socket
does not take goes to the writer (``writes.write_frame``). Otherwise (the writer busy, the
session not on a websocket) the ping goes through the session's queue as python-engineio sends
it.

The same task closes a session that has not answered its ping within ``ping_timeout`` (a
second queue, in the order the pings went out, so also in deadline order), and forgets closed
sessions (``server.sockets``), which python-engineio's service task did by walking every
session, one ``Event.wait`` each: 500 waits a second for 10,000 phones. ``take_over_monitoring``
turns that task off.

Under eventlet only (``pinger_of`` answers None otherwise): the check and the send must not be
interleaved with another writer, which eventlet guarantees by not switching in between."""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from engineio import packet as engineio_packet

from .writes import write_frame, writer_idle

# A server-to-client websocket frame (not masked): FIN and text, 1 byte, Engine.IO's PING "2"
PING_FRAME = b"\x81\x01" + str(engineio_packet.PING).encode()
BATCH = 200  # pings sent between two yields: 10,000 due at once do not hold the process
# the task wakes at most this often: the pings due meanwhile go out together, a little late
# (nothing next to a 25-second interval), and the process is not woken 400 times a second for
# 10,000 phones, as it was with a timer per ping
TICK_SECONDS = 0.1


class Pinger:
    """The sessions of one Engine.IO server waiting for a ping, and the task that sends them.

    Relies on (python-engineio's socket): ``last_ping`` (set when a ping is sent, checked by
    ``check_ping_timeout``), ``closing``/``closed``, what ``writes.writer_idle`` reads,
    ``send(packet)``, ``sid`` and ``close(wait=, abort=, reason=)``; on the server: ``ping_interval``, ``ping_timeout``,
    ``sockets`` (sid -> socket), ``reason.PING_TIMEOUT``, ``sleep`` and
    ``start_background_task``."""

    def __init__(self, server: Any, clock: Callable[[], float] = time.monotonic):
        self.server, self.clock = server, clock
        self.due: deque[tuple[float, Any]] = deque()
        # (when its pong is late, the session, its last_ping when pinged)
        self.awaiting: deque[tuple[float, Any, float]] = deque()
        self.running = False
        self.timed_out = 0
        self.written = self.queued = 0  # pings written past the queue, and sent through it

    def schedule(self, socket: Any) -> None:
        """Ping ``socket`` ``ping_interval`` seconds from now."""
        self.due.append((self.clock() + self.server.ping_interval, socket))
        if not self.running:
            self.running = True
            self.server.start_background_task(self._run)

    def _run(self) -> None:
        try:
            while self.due or self.awaiting:
                first = min(queue[0][0] for queue in (self.due, self.awaiting) if queue)
                wait = first - self.clock()
                if wait > 0:  # nothing due before the first in either queue
                    self.server.sleep(max(wait, TICK_SECONDS))
                    continue
                self.expire(BATCH)
                self.ping_due(BATCH)
                self.server.sleep(0)
        finally:
            self.running = False  # the next schedule starts the task again

    def expire(self, at_most: int) -> int:
        """Close up to ``at_most`` sessions whose pong is late (python-engineio's
        ``check_ping_timeout``); how many pings were looked at."""
        awaiting, now, looked = self.awaiting, self.clock(), 0
        while awaiting and looked < at_most and awaiting[0][0] <= now:
            _, socket, pinged = awaiting.popleft()
            looked += 1
            if not socket.closing and not socket.closed and socket.last_ping == pinged:
                self.timed_out += 1  # not answered (a pong sets last_ping to None)
                socket.close(wait=False, abort=False, reason=self.server.reason.PING_TIMEOUT)
            self.forget(socket)
        return looked

    def ping_due(self, at_most: int) -> int:
        """Ping up to ``at_most`` of the sessions due now; how many were."""
        due, now, sent = self.due, self.clock(), 0
        while due and sent < at_most and due[0][0] <= now:
            self.ping(due.popleft()[1])
            sent += 1
        return sent

    def forget(self, socket: Any) -> None:
        """Drop a closed session from the server's (as python-engineio's service task did)."""
        if socket.closed and self.server.sockets.get(socket.sid) is socket:
            del self.server.sockets[socket.sid]

    def ping(self, socket: Any) -> None:
        if socket.closing or socket.closed:
            self.forget(socket)
            return
        socket.last_ping = pinged = time.time()  # the pong must come within ping_timeout of this
        self.awaiting.append((self.clock() + self.server.ping_timeout, socket, pinged))
        if write_ping(socket):
            self.written += 1
            return
        self.queued += 1
        socket.send(engineio_packet.Packet(engineio_packet.PING))


def write_ping(socket: Any) -> bool:
    """Write the ping frame straight to ``socket``'s websocket if its writer is idle (what a
    full socket does not take, the writer finishes: ``writes.write_frame``); False when it must
    go through the queue as a packet instead."""
    if not writer_idle(socket):
        return False
    write_frame(socket, PING_FRAME)
    return True


def take_over_monitoring(server: Any) -> None:
    """Under eventlet, the pinger closes sessions that stop answering and forgets closed ones:
    python-engineio's service task, which walks every session doing the same, is not started.
    ``server``: the Socket.IO server. Relies on: ``Server.eio`` and its ``start_service_task``,
    which ``_handle_connect`` reads before starting the task."""
    if server.eio.async_mode == "eventlet":
        server.eio.start_service_task = False


def pinger_of(server: Any) -> Pinger | None:
    """The Engine.IO ``server``'s pinger (made on first use), or None when not under eventlet."""
    if server.async_mode != "eventlet":
        return None
    pinger = getattr(server, "callit_pinger", None)
    if pinger is None:
        pinger = server.callit_pinger = Pinger(server)
    return pinger
