"""A session's websocket, once upgraded, waits for the phone's next frame without a timeout
(questions/socketio_internals/websocket.py, ``read_untimed``): eventlet armed and cancelled a
timer on every wait. Frames read exactly as eventlet reads them, a silent phone outlives the
socket's timeout, and whatever closes the session ends the reader's wait at once
(``wake_reader_on_close``), so no greenthread waits for ever on a socket that is gone."""
from __future__ import annotations

import json
import socket
import time

import pytest

from questions.socketio_internals import CallitSocket
from questions.socketio_internals import websocket as buffered
from tests.test_socketio_internals import green
from tests.test_websocket_frames import CLIENTS, frame, read_all, split

TIMEOUT = 0.3  # the socket's: ping_interval + ping_timeout below


@pytest.fixture
def buffered_reads(eventlets_reader):
    eventlets_reader(True)


@pytest.mark.parametrize("name", CLIENTS)
def test_frames_read_untimed_exactly_as_eventlet_reads_them(eventlets_reader, name):
    eventlets_reader(True)
    ours = read_all(CLIENTS[name], reads_buffered=True, untimed=True)
    eventlets_reader(False)
    assert read_all(CLIENTS[name], reads_buffered=False) == ours


def test_an_untimed_read_outlives_the_sockets_timeout(buffered_reads):
    """A frame that comes in two parts, the second after twice the socket's timeout."""
    hi = frame(b"hi")
    parts = split(hi, 3)
    slow = [parts[0]] + [parts[1]] * 60 + parts[2:]  # 60 pauses of 5 ms, between the parts
    assert read_all(slow, reads_buffered=True, timeout=0.1, untimed=True, hang_up=True)[0] == ["hi", None]
    assert read_all(slow, reads_buffered=True, timeout=0.1)[0] == ["TimeoutError"]


class Session:
    """A CallitSocket served over a real loopback websocket by python-engineio's own handler
    (``_websocket_handler``: its reader loop and writer greenthread), on a real Engine.IO server;
    ``phone`` is the other end, which sends nothing unless told."""

    def __init__(self):
        import engineio

        eventlet = green()
        self.server = engineio.Server(async_mode="eventlet", ping_interval=TIMEOUT / 2,
                                      ping_timeout=TIMEOUT / 2)
        listener = eventlet.listen(("127.0.0.1", 0))
        self.phone = eventlet.connect(listener.getsockname())
        accepted, _ = listener.accept()
        listener.close()
        ws = eventlet.websocket.RFC6455WebSocket(accepted, {}, version=13)
        self.session = CallitSocket(self.server, "s1")
        self.server.sockets["s1"] = self.session
        self.received: list = []
        self.session.receive = self.received.append  # what the reader hands on
        self.served = eventlet.spawn(self.session._websocket_handler, ws)
        eventlet.sleep(0.01)  # the reader waits for the first frame, the writer on the queue

    def served_within(self, seconds: float) -> bool:
        """Whether the handler (the reader's loop) has ended within ``seconds``."""
        eventlet = green()
        deadline = time.monotonic() + seconds
        while not self.served.dead and time.monotonic() < deadline:
            eventlet.sleep(0.01)
        return self.served.dead

    def end(self):
        self.phone.close()
        self.served.kill()


@pytest.fixture
def session(buffered_reads):
    session = Session()
    yield session
    session.end()


def test_a_silent_phones_reader_waits_past_the_sockets_timeout_then_reads(session):
    assert not session.served_within(3 * TIMEOUT), "the wait for a frame timed out"
    session.phone.sendall(frame(b"4" + json.dumps("late").encode()))
    green().sleep(0.05)
    assert [p.data for p in session.received] == ["late"]
    assert not session.served.dead


def test_closing_the_session_ends_the_readers_wait_at_once(session):
    """What the pinger does to a phone whose pong is late, and the guard to one it closes: the
    writer closes the websocket, and the reader, waiting for a phone that sends nothing, ends."""
    session.session.close(wait=False, abort=False)
    assert session.served_within(1), "the reader still waits on a socket that was closed"
    session.phone.settimeout(1)
    data = b""
    while chunk := session.phone.recv(4096):
        data += chunk
    assert data.endswith(b"\x88\x00"), f"the phone was not sent a close frame last: {data!r}"


def test_a_phone_that_hangs_up_ends_the_reader(session):
    session.phone.shutdown(socket.SHUT_WR)
    assert session.served_within(1)


def test_nothing_waits_on_a_closed_sessions_socket(session):
    """The reader's wait is the one eventlet's hub held for the socket; once the session is
    closed, the hub holds none."""
    hub = green().hubs.get_hub()
    fileno = buffered.raw_socket(session.session.callit_ws).fileno()
    assert fileno in hub.listeners[hub.READ]
    session.session.close(wait=False, abort=False)
    assert session.served_within(1)
    assert fileno not in hub.listeners[hub.READ]
