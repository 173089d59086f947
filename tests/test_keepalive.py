"""Engine.IO's pings, sent by one task per process (questions/socketio_internals/keepalive.py):
in the order sessions became due, straight to an idle websocket, through the session's queue
when its writer is busy or its socket full; and, against the real server, a phone answering
its pings stays connected however long nothing else is sent, and one that stops answering is
disconnected."""
from __future__ import annotations

import json
import socket
import time

import pytest
import websocket
from engineio import packet as engineio_packet

from questions.socketio_internals import keepalive
from questions.socketio_internals.keepalive import PING_FRAME, Pinger, pinger_of, write_ping
from questions.socketio_internals.writes import Unsent
from tests.test_socketio_internals import green


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Server:
    """What the pinger reads of python-engineio's server."""
    async_mode = "eventlet"

    reason = type("Reason", (), {"PING_TIMEOUT": "ping timeout"})

    def __init__(self, interval: float = 1.0, timeout: float = 2.0):
        self.ping_interval, self.ping_timeout = interval, timeout
        self.sockets: dict = {}

    def sleep(self, seconds: float = 0) -> None:
        green().sleep(seconds)

    def start_background_task(self, task):
        return green().spawn(task)


class Session:
    """What the pinger reads of python-engineio's socket: the eventlet queue python-engineio
    gives it, a real socket (one end of a pair) and ``send`` for what goes through the queue."""

    def __init__(self, name: str, writer_idle: bool = True):
        eventlet = green()
        self.name, self.closing, self.closed, self.upgraded, self.upgrading = name, False, False, True, False
        self.sid, self.closed_for = name, None
        self.last_ping = None
        self.queue = eventlet.queue.Queue()
        self.sent: list = []  # what went through the queue's path
        self.callit_raw_socket, self.phone = self.ends = socket.socketpair()
        self.callit_raw_socket.setblocking(False)
        self.callit_ws = type("Websocket", (), {"_sendlock": eventlet.semaphore.Semaphore()})()
        self.writer = eventlet.spawn(self.queue.get) if writer_idle else None
        eventlet.sleep(0)  # the writer is now waiting on the queue

    def send(self, pkt) -> None:
        self.sent.append(pkt)

    def received(self) -> bytes:
        self.phone.settimeout(0.2)
        try:
            return self.phone.recv(4096)
        except TimeoutError:
            return b""

    def close(self, wait=True, abort=False, reason=None) -> None:
        self.closed, self.closed_for = True, reason

    def stop(self) -> None:
        if self.writer is not None:
            self.writer.kill()
        for end in self.ends:
            end.close()


@pytest.fixture
def sessions():
    made: list[Session] = []

    def make(*names: str, **kwargs) -> list[Session]:
        made.extend(Session(name, **kwargs) for name in names)
        return made[-len(names):]

    yield make
    for session in made:
        session.stop()


def test_pings_go_out_in_the_order_sessions_became_due(sessions):
    clock = Clock()
    pinger = Pinger(Server(interval=1.0), clock=clock)
    pinger.running = True  # the task is driven by hand here
    a, b, c = sessions("a", "b", "c")
    for session in (a, b, c):
        pinger.schedule(session)
        clock.now += 0.1
    clock.now = 100.0 + 1.15  # a and b are due (100+1.0, 100.1+1.0), c not yet (100.2+1.0)
    assert pinger.ping_due(keepalive.BATCH) == 2
    assert a.received() == PING_FRAME and b.received() == PING_FRAME and c.received() == b""
    assert a.last_ping and b.last_ping and c.last_ping is None
    assert (pinger.written, pinger.queued, a.sent) == (2, 0, [])
    clock.now += 0.1
    assert pinger.ping_due(keepalive.BATCH) == 1 and c.received() == PING_FRAME


def test_a_busy_writer_gets_the_ping_through_its_queue(sessions):
    """Something queued, or the writer not waiting on the queue (it is writing): the ping must
    not go between two parts of another frame."""
    clock = Clock()
    pinger = Pinger(Server(), clock=clock)
    pinger.running = True
    queued, writing = sessions("queued")[0], sessions("writing", writer_idle=False)[0]
    queued.writer.kill()  # holds no waiter: put a packet in as python-engineio would
    queued.writer = green().spawn(lambda: None)
    queued.queue.put("an event")
    for session in (queued, writing):
        pinger.schedule(session)
    clock.now += 1.0
    pinger.ping_due(keepalive.BATCH)
    for session in (queued, writing):
        assert session.received() == b"", "written past a busy writer"
        assert [p.packet_type for p in session.sent] == [engineio_packet.PING]
    assert (pinger.written, pinger.queued) == (0, 2)


def test_a_full_socket_gets_its_ping_through_the_queue(sessions):
    session = sessions("full")[0]
    try:
        while True:  # a phone that stopped reading: fill its socket's buffers
            session.callit_raw_socket.send(b"x" * 65536)
    except BlockingIOError:
        pass
    write_ping(session)
    assert not session.closed
    queued = [session.queue.get(block=False) for _ in range(session.queue.qsize())]
    assert [type(item) for item in queued] == [Unsent] and queued[0].data == PING_FRAME, \
        "the ping did not wait, whole, for the writer"


def test_a_session_not_on_a_websocket_or_closed_is_not_written_to(sessions):
    polling, upgrading, closed = sessions("polling", "upgrading", "closed")
    polling.callit_ws = None
    upgrading.upgrading = True
    assert write_ping(polling) is False and write_ping(upgrading) is False
    clock = Clock()
    pinger = Pinger(Server(), clock=clock)
    pinger.running = True
    closed.closed = True
    pinger.schedule(closed)
    clock.now += 1.0
    pinger.ping_due(keepalive.BATCH)
    assert closed.received() == b"" and closed.sent == [] and closed.last_ping is None


def test_the_task_pings_every_due_session_then_stops(sessions):
    """More than a batch due at once, on eventlet's clock: all pinged, and the task ends when
    nobody waits for a ping or a pong (the next schedule starts it again)."""
    crowd = sessions(*[f"p{i}" for i in range(keepalive.BATCH + 50)])
    pinger = Pinger(Server(interval=0.05, timeout=0.2))
    for session in crowd:
        pinger.schedule(session)
    assert pinger.running
    green().sleep(0.15)
    assert pinger.written == len(crowd) and not pinger.due and pinger.running, "waiting for pongs"
    assert all(session.received() == PING_FRAME for session in crowd[:5])
    for session in crowd:
        session.last_ping = None  # every pong came
    green().sleep(0.3)
    assert not pinger.running and not pinger.awaiting and pinger.timed_out == 0
    pinger.schedule(crowd[0])
    assert pinger.running
    green().sleep(0.15)
    assert pinger.written == len(crowd) + 1


def test_a_session_that_does_not_answer_in_time_is_closed_and_forgotten(sessions):
    """python-engineio's check_ping_timeout, done by the pinger in the order pings went out:
    no pong within ping_timeout closes the session; a pong (last_ping back to None) or a later
    ping (a new last_ping) keeps it; a closed session leaves the server's sessions."""
    clock = Clock()
    server = Server(interval=1.0, timeout=2.0)
    pinger = Pinger(server, clock=clock)
    pinger.running = True
    silent, answering, gone = sessions("silent", "answering", "gone")
    server.sockets.update({s.sid: s for s in (silent, answering, gone)})
    for session in (silent, answering, gone):
        pinger.schedule(session)
    clock.now += 1.0
    pinger.ping_due(keepalive.BATCH)
    answering.last_ping = None  # its pong came
    gone.closed = True  # it left meanwhile
    clock.now += 1.9
    assert pinger.expire(keepalive.BATCH) == 0, "timed out before ping_timeout"
    clock.now += 0.2
    assert pinger.expire(keepalive.BATCH) == 3
    assert silent.closed and silent.closed_for == "ping timeout"
    assert not answering.closed and answering.closed_for is None
    assert pinger.timed_out == 1
    assert set(server.sockets) == {"answering"}


def test_python_engineios_monitoring_task_is_left_to_the_pinger_under_eventlet():
    def socketio_server(mode):
        eio = type("Eio", (), {"async_mode": mode, "start_service_task": True})()
        return type("Server", (), {"eio": eio})()

    eventlet_server, threaded = socketio_server("eventlet"), socketio_server("threading")
    keepalive.take_over_monitoring(eventlet_server)
    keepalive.take_over_monitoring(threaded)
    assert eventlet_server.eio.start_service_task is False
    assert threaded.eio.start_service_task is True


def test_only_eventlet_servers_get_a_pinger():
    assert pinger_of(type("Threaded", (), {"async_mode": "threading"})()) is None
    server = Server()
    assert pinger_of(server) is pinger_of(server) is not None


# ---------------------------------------------------------------- the real server

INTERVAL, TIMEOUT = 1, 1  # whole seconds (python-engineio announces the interval rounded down)


@pytest.fixture(scope="module")
def pinged_server(start_server):
    return start_server(env={"PING_INTERVAL_SECONDS": str(INTERVAL), "PING_TIMEOUT_SECONDS": str(TIMEOUT),
                             "IDLE_TIMEOUT_SECONDS": "30"})


def engineio_websocket(server):
    ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket",
                                     timeout=5)
    opened = ws.recv()
    assert opened.startswith("0{"), opened
    assert json.loads(opened[1:])["pingInterval"] == int(INTERVAL * 1000)
    return ws


@pytest.mark.live
def test_a_phone_answering_its_pings_stays_connected_with_nothing_else_sent(pinged_server):
    """Pings alone for over twice ping_interval + ping_timeout (python-engineio's writer gave
    up on its queue after that long), answered each time, with messages from the writer in
    between: every frame arrives whole and the connection stays open."""
    ws = engineio_websocket(pinged_server)
    answered = time.monotonic()
    gaps = []
    replies = 0
    try:
        while len(gaps) < 2 * (INTERVAL + TIMEOUT) / INTERVAL + 1:
            frame = ws.recv()
            if frame == "2":
                gaps.append(time.monotonic() - answered)
                ws.send("3")
                answered = time.monotonic()
                if len(gaps) % 2 == 0:  # the writer's turn: a Socket.IO connect is answered
                    ws.send("40")
            else:
                assert frame.startswith("4"), f"neither a ping nor a Socket.IO answer: {frame!r}"
                replies += 1
    finally:
        ws.close()
    assert replies >= 2, "the messages sent between pings were not answered"
    assert min(gaps) >= INTERVAL * 0.8, f"pinged before ping_interval: {gaps}"
    assert max(gaps) <= INTERVAL + 0.7, f"a ping came late: {gaps}"


@pytest.mark.live
def test_a_phone_that_stops_answering_is_disconnected(pinged_server):
    ws = engineio_websocket(pinged_server)
    assert ws.recv() == "2"  # ... and never answered
    silent = time.monotonic()
    ws.settimeout(INTERVAL + TIMEOUT + 5)
    closed = False
    try:
        while not closed:
            frame = ws.recv()
            closed = frame in ("", "1")  # the connection ended, or Engine.IO's close packet
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        closed = True
    finally:
        ws.close()
    assert closed and time.monotonic() - silent <= INTERVAL + TIMEOUT + 4


def test_pongs_are_read_without_giving_up_the_turn_but_not_forever():
    """A pong costs only its place in the queue: the reader goes on without yielding, except
    every PONGS_UNYIELDED-th one in a row; any other message yields as before."""
    import logging

    from questions.socketio_internals import CallitSocket
    from questions.socketio_internals.sessions import PONGS_UNYIELDED

    slept: list[float] = []
    messages: list = []
    server = type("Server", (), {"logger": logging.getLogger("test"), "async_mode": "threading",
                                 "async_handlers": False,
                                 "sleep": lambda self, seconds=0: slept.append(seconds),
                                 "_trigger_event": lambda self, *args, **kw: messages.append(args)})()
    session = CallitSocket.__new__(CallitSocket)  # what receive reads of a session, no more
    session.server, session.sid, session.closed, session.last_ping = server, "s1", False, None
    for _ in range(3 * (PONGS_UNYIELDED + 1)):
        session.receive(engineio_packet.Packet(engineio_packet.PONG))
    assert len(slept) == 3
    session.receive(engineio_packet.Packet(engineio_packet.MESSAGE, data="0"))  # not a pong: yields
    assert len(slept) == 4 and len(messages) == 1
